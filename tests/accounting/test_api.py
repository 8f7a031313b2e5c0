"""/api/v1/accounting: economics, budgets and cost lines, results and scorecards, scoped,
with typed errors."""

from __future__ import annotations

from tests.accounting.conftest import bj, credit, order


def test_economics_budget_and_cost_lines(world, make_campaign, api_as):
    org = world.org
    campaign = make_campaign(units=[org.hz, org.nb])
    cm = api_as("cm")
    r = cm.post(
        f"/accounting/campaigns/{campaign.pk}/budgets", {"unit": org.hz.pk, "amount": "1000"}
    )
    assert r.status_code == 200 and r.json()["amount"] == "1000.00"
    r = cm.post(
        f"/accounting/campaigns/{campaign.pk}/cost-lines",
        {
            "unit": org.hz.pk,
            "kind": "materials",
            "description": "单页",
            "quantity": "100",
            "unit_cost": "0.5",
            "incurred_on": "2026-11-20",
        },
    )
    assert r.status_code == 201 and r.json()["amount"] == "50.00"
    o = order(world.customers[0], world.broadband, amount=960, margin=384, at=bj(2026, 11, 21))
    credit(o, campaign, org.hz, share=1.0)
    e = cm.get(f"/accounting/campaigns/{campaign.pk}/economics").json()
    assert e["provisional"] is False
    hz = next(u for u in e["units"] if u["unit"]["code"] == "hz")
    assert hz == {
        **hz,
        "budget": "1000.00",
        "cost": "50.00",
        "margin": "384.00",
        "roi": 6.68,
        "cost_per_conversion": "50.00",
    }
    assert e["uplift"] == []
    # typed refusals
    bad = cm.post(
        f"/accounting/campaigns/{campaign.pk}/budgets", {"unit": org.bj.pk, "amount": "1"}
    )
    assert bad.status_code == 422 and bad.json()["code"] == "unit_not_in_campaign"
    bad = cm.post(
        f"/accounting/campaigns/{campaign.pk}/budgets", {"unit": org.hz.pk, "amount": "-5"}
    )
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_amount"
    denied = api_as("am_hz").post(
        f"/accounting/campaigns/{campaign.pk}/budgets", {"unit": org.hz.pk, "amount": "1"}
    )
    assert denied.status_code == 403 and denied.json()["code"] == "accounting_not_allowed"


def test_results_and_scorecards_scoped(world, scorecard_book, api_as):
    org = world.org
    period = {"start": "2026-11-01", "end": "2026-11-30"}
    rm = api_as("rm_east").get("/accounting/results", period)
    assert rm.status_code == 200
    body = rm.json()
    assert [u["unit"]["code"] for u in body["units"]] == ["east", "hz", "nb"]
    assert body["units"][0]["total"]["revenue"] == body["total"]["revenue"]
    assert api_as("am_hz").get("/accounting/results", period).status_code == 403
    hidden = api_as("rm_north").get("/accounting/results", {**period, "unit": org.hz.pk})
    assert hidden.status_code == 404 and hidden.json()["code"] == "unit_not_visible"
    wrong = api_as("rm_east").get(
        "/accounting/results", {"start": "2026-11-30", "end": "2026-11-01"}
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "invalid_period"

    cards = api_as("rm_east").get("/accounting/scorecards", period).json()
    assert {c["user"]["username"] for c in cards} == {"am_hz", "am_hz2", "am_nb"}
    mine = api_as("am_hz").get("/accounting/scorecards", period).json()
    assert [c["user"]["username"] for c in mine] == ["am_hz"]
    assert mine[0]["sold_margin"] == "484.00" and mine[0]["out_of"] == 2
    assert api_as("cm").get("/accounting/scorecards", period).status_code == 403
    assert api_as("am_hz").get("/accounting/scorecards/weeks/2026-11-02").json() == []


def test_wave_holdout_over_the_campaigns_api(world, make_campaign, api_as):
    campaign = make_campaign()
    wave = campaign.waves.get(number=1)
    cm = api_as("cm")
    r = cm.patch(f"/campaigns/waves/{wave.pk}", {"holdout_share": "0.2"})
    assert r.status_code == 200
    assert r.json()["holdout_share"] == "0.200" and r.json()["holdout_seed"] is None
    too_much = cm.patch(f"/campaigns/waves/{wave.pk}", {"holdout_share": "0.6"})
    assert too_much.status_code == 422 and too_much.json()["field"] == "holdout_share"
