"""The campaigns API (/api/v1/campaigns): building and running a campaign, the launch refusal,
who may see and work what, errors with codes and fields, idempotent retries, OpenAPI.

Customers of ``world``: 客户0–5 in Hangzhou (0–2 owned by am_hz), 客户6–7 in Ningbo; all
consent to calls here, 0–4 also to e-mail and SMS.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.conftest import Api
from tests.campaigns.conftest import at_ten, consent, excluded_at_send_time, first_wave, sign_all
from yiti.campaigns import services
from yiti.campaigns.exclusions import decisions
from yiti.campaigns.models import Campaign, Delivery, Offer, SendBatch
from yiti.campaigns.outcomes import delivery_respond
from yiti.campaigns.planning import wave_plan
from yiti.campaigns.sending import batch_send, wave_start
from yiti.core.models import AuditEvent
from yiti.customers.services import ContactInput, customer_create, order_create
from yiti.engagement.models import Interaction
from yiti.org.services import membership_grant, token_create

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"code", "message", "field"}
MASKED_PHONE = re.compile(r"^\d{3}\*{4}\d{4}$")
HZ = {f"客户{i}" for i in range(6)}
NB = {"客户6", "客户7"}
# who sees which customers' contacts in a wave (their customer scope, ADR 0002)
SEES = {
    "admin": HZ | NB,
    "rm_east": HZ | NB,
    "svc_east": HZ | NB,
    "care_east": HZ | NB,
    "am_hz": HZ,
    "am_hz2": HZ,
    "am_nb": NB,
    "am_bj": set(),
    "rm_north": set(),
    "cm": set(),
    "analyst": set(),
    "fin": set(),
}
VIEWERS = sorted(SEES)  # every role above holds campaign.view
NOT_VIEWERS = ["eng_east"]  # field engineers do not


def assert_error(response, status, code, field=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) >= ERROR_KEYS and body["code"] == code and body["message"], body
    if field is not None:
        assert body["field"] == field, body
    return body


@pytest.fixture
def api_as(world):
    cache: dict[str, Api] = {}

    def make(username: str) -> Api:
        if username not in cache:
            _token, raw = token_create(user=world.org.users[username], name="tests")
            cache[username] = Api(token=raw)
        return cache[username]

    return make


def launched(world, campaign):
    cm = world.org.users["cm"]
    services.campaign_submit(actor=cm, campaign=campaign)
    sign_all(campaign, world.org)
    services.campaign_launch(actor=cm, campaign=campaign)
    return campaign


@pytest.fixture
def calls(world, make_campaign):
    """A running campaign whose second wave, calls worked by svc_east, is open."""
    for customer in world.customers:
        consent(customer, "call")
    campaign = make_campaign()
    wave = services.wave_create(
        actor=world.org.users["cm"],
        campaign=campaign,
        name="第二波：外呼",
        kind="call",
        scheduled_at=at_ten(6),
        ends_at=at_ten(6) + timedelta(hours=8),
        agent_role="service_agent",
        agents=1,
        hours=8,
        calls_per_agent_hour=10,
    )
    launched(world, campaign)
    wave_plan(actor=world.org.users["cm"], wave=wave)
    wave_start(wave=wave)
    wave.refresh_from_db()
    return wave


@pytest.fixture
def sent(world, make_campaign):
    """A running campaign whose first wave (e-mail) was sent to 客户0–4."""
    campaign = launched(world, make_campaign())
    wave = first_wave(campaign)
    wave_plan(actor=world.org.users["cm"], wave=wave)
    wave_start(wave=wave)
    for batch in SendBatch.objects.filter(wave=wave):
        batch_send(batch.pk)
    return wave


def delivery_of(wave, name: str) -> Delivery:
    return Delivery.objects.get(wave=wave, customer__name=name)


# --- building a campaign --------------------------------------------------------------------


def test_a_campaign_manager_builds_submits_signs_and_launches_through_the_api(world, api_as):
    org = world.org
    cm = api_as("cm")
    # an offer, a segment (counted first) and a draft campaign
    offer = cm.post(
        "/campaigns/offers",
        {
            "code": "plan-gift",
            "name": "套餐送耳机",
            "product": "plan-129",
            "benefit": "gift",
            "gift_name": "蓝牙耳机",
            "stock_total": 50,
            "eligibility": {
                "conditions": [{"field": "has_phone", "op": "is", "value": True}],
            },
        },
    )
    assert offer.status_code == 201, offer.content
    assert offer.json()["stock_available"] == 50
    assert offer.json()["eligibility_summary"] == ["Has a phone number is yes"]
    rules = {"conditions": [{"field": "unit", "op": "in", "value": [str(org.hz.pk)]}]}
    count = cm.post("/campaigns/segments/count", {"rules": rules})
    assert count.status_code == 200 and count.json() == {"count": 6}
    in_nb = cm.post("/campaigns/segments/count", {"rules": rules, "units": ["nb"]})
    assert in_nb.json() == {"count": 0}
    segment = cm.post(
        "/campaigns/segments", {"name": "杭州客户", "rules": rules, "unit": "mkt"}
    ).json()
    start = at_ten(5).date()
    created = cm.post(
        "/campaigns",
        {
            "code": "hz-plan",
            "name": "杭州套餐活动",
            "owner_unit": "mkt",
            "segment": segment["id"],
            "offers": ["plan-gift"],
            "participating_units": ["hz"],
            "service_unit": "csc",
            "starts_on": start.isoformat(),
            "ends_on": (start + timedelta(days=20)).isoformat(),
            "priority": 7,
        },
    )
    assert created.status_code == 201, created.content
    campaign = created.json()
    assert campaign["status"] == "draft" and campaign["owner"]["username"] == "cm"
    assert [u["code"] for u in campaign["participating_units"]] == ["hz"]
    assert campaign["offers"][0]["code"] == "plan-gift" and campaign["can_manage"] is True
    cid = campaign["id"]
    wave = cm.post(
        f"/campaigns/{cid}/waves",
        {
            "name": "短信",
            "kind": "broadcast",
            "channels": ["sms", "email"],
            "scheduled_at": at_ten(5).isoformat(),
            "message": "{name}您好，办理套餐送{gift}。",
        },
    )
    assert wave.status_code == 201, wave.content
    assert wave.json()["number"] == 1 and wave.json()["channels"] == ["sms", "email"]

    # a dry run counts, writes nothing
    plan = cm.post(f"/campaigns/waves/{wave.json()['id']}/plan", {"dry_run": True})
    assert plan.status_code == 200, plan.content
    assert plan.json()["audience"] == 6
    assert plan.json()["outcomes"] == {"planned": 5, "excluded": 1}
    assert plan.json()["excluded"] == {"opted_out": 1}
    assert not Delivery.objects.exists()

    # submit: the checklist is drawn up; each line signed by its signer
    assert cm.post(f"/campaigns/{cid}/submit").json()["status"] == "in_review"
    items = cm.get(f"/campaigns/{cid}/checklist").json()
    assert {i["kind"] for i in items} == {
        "service_review",
        "training",
        "materials",
        "gift_stock",
        "conflict_check",
    }
    signer = {
        "service_review": "svc_east",
        "training": "rm_east",
        "materials": "cm",
        "gift_stock": "fin",
        "conflict_check": "cm",
    }
    for item in items:
        api = api_as(signer[item["kind"]])
        mine = {i["id"]: i for i in api.get(f"/campaigns/{cid}/checklist").json()}
        assert mine[item["id"]]["can_sign"] is True
        signed = api.post(f"/campaigns/checklist/{item['id']}/sign", {"note": "已确认"})
        assert signed.status_code == 200, signed.content
        assert signed.json()["signed_by"]["username"] == signer[item["kind"]]
    assert cm.get(f"/campaigns/{cid}/readiness").json() == {"ok": True, "missing": []}

    launched = cm.post(f"/campaigns/{cid}/launch")
    assert launched.status_code == 200, launched.content
    assert launched.json()["status"] == "running" and launched.json()["launched_at"]


def test_the_launch_refusal_lists_what_is_missing(world, make_campaign, api_as):
    campaign = make_campaign()
    cm = api_as("cm")
    cm.post(f"/campaigns/{campaign.pk}/submit")

    refused = cm.post(f"/campaigns/{campaign.pk}/launch")

    body = assert_error(refused, 422, "not_ready", field=None)
    assert set(body) == {*ERROR_KEYS, "missing"}
    assert "Not signed: Service reviewed the offer terms and FAQ (客户服务中心)." in body["missing"]
    assert any(m.startswith("Not signed: Front-line staff trained") for m in body["missing"])
    assert all(m in body["message"] for m in body["missing"])
    readiness = cm.get(f"/campaigns/{campaign.pk}/readiness").json()
    assert readiness == {"ok": False, "missing": body["missing"]}
    campaign.refresh_from_db()
    assert campaign.status == "in_review"


def test_only_campaign_managers_create_and_run_campaigns(world, make_campaign, api_as):
    campaign = make_campaign()
    body = {"code": "x", "name": "x", "product": "bb-300m", "benefit": "discount"}
    for outsider in ("am_hz", "rm_east", "analyst"):
        api = api_as(outsider)
        assert_error(api.post("/campaigns/offers", body), 403, "permission_denied")
        assert_error(api.post(f"/campaigns/{campaign.pk}/submit"), 403, "permission_denied")
        assert_error(api.post(f"/campaigns/{campaign.pk}/launch"), 403, "permission_denied")
        assert_error(api.post("/campaigns/segments/count", {"rules": {}}), 403, "permission_denied")
        detail = api.get(f"/campaigns/{campaign.pk}").json()
        assert detail["can_manage"] is False  # but they see it
    assert not Offer.objects.filter(code="x").exists()
    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_campaign_life_pause_resume_complete_and_return_to_draft(world, make_campaign, api_as):
    cm = api_as("cm")
    draft = make_campaign(code="back")
    cm.post(f"/campaigns/{draft.pk}/submit")
    back = cm.post(f"/campaigns/{draft.pk}/return-to-draft", {"reason": "换赠品"})
    assert back.json()["status"] == "draft" and back.json()["readiness"]["ok"] is False
    assert cm.patch(f"/campaigns/{draft.pk}", {"priority": 9}).json()["priority"] == 9

    running = launched(world, make_campaign(code="run", offers=[world.discount_offer]))
    assert_error(cm.post(f"/campaigns/{running.pk}/pause", {}), 422, "validation_error", "reason")
    paused = cm.post(f"/campaigns/{running.pk}/pause", {"reason": "赠品到货延迟"})
    assert paused.json()["status"] == "paused" and paused.json()["pause_reason"] == "赠品到货延迟"
    assert cm.post(f"/campaigns/{running.pk}/resume").json()["status"] == "running"
    assert cm.post(f"/campaigns/{running.pk}/complete").json()["status"] == "completed"
    assert_error(cm.post(f"/campaigns/{running.pk}/resume"), 422, "not_paused")


def test_a_signature_is_withdrawn_with_a_reason(world, make_campaign, api_as):
    campaign = make_campaign()
    cm = api_as("cm")
    cm.post(f"/campaigns/{campaign.pk}/submit")
    item = next(
        i for i in cm.get(f"/campaigns/{campaign.pk}/checklist").json() if i["kind"] == "materials"
    )
    path = f"/campaigns/checklist/{item['id']}"
    assert cm.post(f"{path}/sign", {}).json()["signed"] is True
    assert_error(cm.post(f"{path}/sign", {}), 422, "already_signed")
    assert_error(
        api_as("rm_east").post(f"{path}/unsign", {"reason": "x"}), 403, "permission_denied"
    )
    withdrawn = cm.post(f"{path}/unsign", {"reason": "海报未到"})
    assert withdrawn.json()["signed"] is False and withdrawn.json()["note"] == "海报未到"


def test_conflicts_are_listed_checked_and_accepted_with_a_reason(world, make_campaign, api_as):
    cm = api_as("cm")
    first = make_campaign(code="first")
    cm.post(f"/campaigns/{first.pk}/submit")
    second = make_campaign(code="second")  # the same router gift to the same customers
    cm.post(f"/campaigns/{second.pk}/submit")

    conflicts = cm.get(f"/campaigns/{second.pk}/conflicts").json()
    assert len(conflicts) == 1 and conflicts[0]["status"] == "open"
    assert conflicts[0]["kind"] == "same_product" and conflicts[0]["overlap_customers"] == 8
    assert {conflicts[0]["campaign"]["code"], conflicts[0]["other"]["code"]} == {"first", "second"}
    missing = cm.get(f"/campaigns/{second.pk}/readiness").json()["missing"]
    assert any("Open conflict" in m for m in missing)
    assert cm.post(f"/campaigns/{second.pk}/conflicts/check").json()[0]["id"] == conflicts[0]["id"]
    assert_error(
        api_as("am_hz").post(f"/campaigns/{second.pk}/conflicts/check"), 403, "permission_denied"
    )

    path = f"/campaigns/conflicts/{conflicts[0]['id']}/accept"
    assert_error(cm.post(path, {"reason": "ok"}), 422, "validation_error", field="reason")
    accepted = cm.post(path, {"reason": "第二个活动替代第一个的宽带优惠"})
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert accepted.json()["accepted_by"]["username"] == "cm"
    missing = cm.get(f"/campaigns/{second.pk}/readiness").json()["missing"]
    assert not any("Open conflict" in m for m in missing)


# --- offers, segments, waves ----------------------------------------------------------------


def test_offers_are_listed_filtered_and_changed(world, api_as):
    cm = api_as("cm")
    listed = cm.get("/campaigns/offers").json()
    assert [o["code"] for o in listed["items"]] == ["bb-router", "plan-20off"]
    assert listed["has_next"] is False
    changed = cm.patch(
        f"/campaigns/offers/{world.discount_offer.pk}",
        {"active": False, "incompatible_with": ["bb-router"]},
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["incompatible_with"] == [world.gift_offer.pk]
    active = api_as("analyst").get("/campaigns/offers", {"active": True}).json()["items"]
    assert [o["code"] for o in active] == ["bb-router"]
    assert api_as("analyst").get(f"/campaigns/offers/{world.gift_offer.pk}").json()["faq"]
    first = cm.get("/campaigns/offers", {"page_size": 1}).json()
    assert len(first["items"]) == 1 and first["has_next"] is True


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        (
            {"conditions": [{"field": "age", "op": "gte", "value": "old"}]},
            "rules.conditions.0.value",
        ),
        (
            {"conditions": [{"field": "shoe_size", "op": "is", "value": 1}]},
            "rules.conditions.0.field",
        ),
        (
            {"conditions": [{}, {"field": "value_tier", "op": "gte", "value": ["mvc"]}]},
            "rules.conditions.0.field",
        ),
        (
            {"conditions": [{"field": "order_count", "op": "gte", "value": 2}]},
            "rules.conditions.0.days",
        ),
        ({"match": "most"}, "rules.match"),
    ],
)
def test_a_bad_rule_is_a_422_naming_the_condition(world, api_as, rules, field):
    response = api_as("cm").post("/campaigns/segments/count", {"rules": rules})
    assert_error(response, 422, "validation_error", field=field)


def test_an_offers_bad_eligibility_names_the_eligibility(world, api_as):
    response = api_as("cm").patch(
        f"/campaigns/offers/{world.gift_offer.pk}",
        {"eligibility": {"conditions": [{"field": "age", "op": "in", "value": 1}]}},
    )
    assert_error(response, 422, "validation_error", field="eligibility.conditions.0.op")


def test_the_rule_language_is_published_for_integrators(world, api_as):
    language = api_as("analyst").get("/campaigns/segments/fields").json()
    fields = {f["name"]: f for f in language["fields"]}
    tier = fields["value_tier"]
    assert tier["kind"] == "choices" and tier["group"] == "Value"
    assert [op["code"] for op in tier["ops"]] == ["in", "not_in"]
    assert "mvc" in {o["value"] for o in tier["options"]}
    assert fields["order_count"]["kind"] == "window"
    assert {o["value"] for o in fields["unit"]["options"]} >= {str(world.org.hz.pk)}
    assert language["match"] == ["all", "any"] and language["max_conditions"] == 30
    assert_error(api_as("eng_east").get("/campaigns/segments/fields"), 403, "permission_denied")


def test_segments_are_saved_listed_and_changed(world, api_as):
    cm = api_as("cm")
    rules = {"match": "any", "conditions": [{"field": "city", "op": "in", "value": ["杭州"]}]}
    created = cm.post("/campaigns/segments", {"name": "杭州", "rules": rules, "unit": "mkt"})
    assert created.status_code == 201 and created.json()["summary"] == ["City is one of 杭州"]
    duplicate = cm.post("/campaigns/segments", {"name": "杭州", "unit": "mkt"})
    assert_error(duplicate, 422, "validation_error", field="name")
    assert_error(
        cm.post("/campaigns/segments", {"name": "x", "unit": "nowhere"}),
        422,
        "unknown_unit",
        "unit",
    )
    sid = created.json()["id"]
    changed = cm.patch(f"/campaigns/segments/{sid}", {"description": "市区"})
    assert changed.json()["description"] == "市区" and changed.json()["rules"]["match"] == "any"
    names = [s["name"] for s in api_as("fin").get("/campaigns/segments").json()["items"]]
    assert names == ["全部客户", "杭州"]


def test_waves_are_added_changed_and_deleted_with_errors_on_the_field(world, make_campaign, api_as):
    cm = api_as("cm")
    campaign = make_campaign()
    path = f"/campaigns/{campaign.pk}/waves"
    call = {
        "name": "外呼",
        "kind": "call",
        "scheduled_at": at_ten(6).isoformat(),
        "agents": 2,
        "hours": "4",
        "calls_per_agent_hour": 10,
    }
    assert_error(cm.post(path, call), 422, "validation_error", field="ends_at")
    call["ends_at"] = (at_ten(6) + timedelta(hours=8)).isoformat()
    created = cm.post(path, call)
    assert created.status_code == 201, created.content
    wave = created.json()
    assert wave["number"] == 2 and wave["capacity"] == 80 and wave["channels"] == ["call"]
    follow = {
        "name": "跟进",
        "kind": "follow_up",
        "scheduled_at": at_ten(8).isoformat(),
        "source": "not_reached",
        "source_wave": wave["id"],
        "channels": ["sms"],
        "message": "{name}您好",
        "offer": "plan-20off",
    }
    assert_error(cm.post(path, follow), 422, "validation_error", field="offer")
    follow["offer"] = "bb-router"
    follow_up = cm.post(path, follow).json()
    assert follow_up["source_wave_id"] == wave["id"] and follow_up["offer"]["code"] == "bb-router"
    assert_error(cm.post(path, {**follow, "offer": 999999}), 422, "unknown_offer", field="offer")

    changed = cm.patch(f"/campaigns/waves/{wave['id']}", {"agents": 3})
    assert changed.json()["capacity"] == 120
    assert [w["number"] for w in cm.get(path).json()] == [1, 2, 3]
    assert_error(cm.delete(f"/campaigns/waves/{wave['id']}"), 422, "validation_error")  # followed
    assert cm.delete(f"/campaigns/waves/{follow_up['id']}").status_code == 204
    assert [w["number"] for w in cm.get(path).json()] == [1, 2]
    assert_error(
        cm.patch(f"/campaigns/waves/{wave['id']}", {"colour": "red"}), 422, "validation_error"
    )


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"participating_units": ["hz", "nowhere"]}, "unknown_unit", "participating_units.1"),
        ({"offers": []}, "validation_error", "offers"),
        ({"segment": 999999}, "unknown_segment", "segment"),
        ({"priority": 11}, "validation_error", "priority"),
        ({"code": "has space"}, "validation_error", "code"),
        ({"ends_on": "2000-01-01"}, "validation_error", "ends_on"),
        ({"owner": 999999}, "unknown_user", "owner"),
        ({"colour": "red"}, "validation_error", "colour"),
    ],
)
def test_bad_campaign_input_names_the_field(world, make_campaign, api_as, changes, code, field):
    campaign = make_campaign()
    response = api_as("cm").patch(f"/campaigns/{campaign.pk}", changes)
    assert_error(response, 422, code, field=field)


def test_a_submitted_campaign_must_return_to_draft_before_it_changes(world, make_campaign, api_as):
    campaign = make_campaign()
    cm = api_as("cm")
    cm.post(f"/campaigns/{campaign.pk}/submit")
    assert_error(cm.patch(f"/campaigns/{campaign.pk}", {"priority": 2}), 422, "not_draft")


def test_a_real_plan_of_a_draft_is_refused_and_a_plan_writes_the_deliveries(
    world, make_campaign, api_as
):
    campaign = make_campaign()
    cm = api_as("cm")
    wave = first_wave(campaign)
    assert_error(cm.post(f"/campaigns/waves/{wave.pk}/plan", {}), 422, "not_submitted")
    assert not Delivery.objects.exists()
    query = cm.post(f"/campaigns/waves/{wave.pk}/plan?dry_run=true", {})
    assert query.json()["dry_run"] is True and not Delivery.objects.exists()
    cm.post(f"/campaigns/{campaign.pk}/submit")

    plan = cm.post(f"/campaigns/waves/{wave.pk}/plan", {})

    assert plan.status_code == 200 and plan.json()["dry_run"] is False
    assert len(decisions(wave.pk)) == 8
    assert cm.get(f"/campaigns/waves/{wave.pk}").json()["plan_summary"]["audience"] == 8
    funnel = cm.get(f"/campaigns/{campaign.pk}/funnel").json()
    first = funnel["waves"][0]
    assert (first["audience"], first["planned"], first["excluded"]) == (8, 5, 3)
    assert first["excluded_by_reason"] == [
        {"reason": "opted_out", "label": "No consent (opted out)", "count": 3}
    ]
    assert {c["complaint_class"]: c["count"] for c in funnel["complaints"]} == {
        "offer_design": 0,
        "staff_conduct": 0,
        "fulfilment": 0,
    }


# --- deliveries: scoping, calls, outcomes, responses ----------------------------------------


@pytest.mark.parametrize("username", VIEWERS)
def test_a_waves_deliveries_show_only_customers_in_scope_masked(username, world, calls, api_as):
    response = api_as(username).get(f"/campaigns/waves/{calls.pk}/deliveries", {"page_size": 200})
    assert response.status_code == 200, response.content
    items = response.json()["items"]
    assert {d["customer"]["name"] for d in items} == SEES[username]
    text = response.content.decode()
    for i in range(8):
        assert f"1390571{i:04d}" not in text and f"c{i}@example.com" not in text
    assert all(MASKED_PHONE.match(d["customer"]["primary_phone"]) for d in items)


@pytest.mark.parametrize("username", VIEWERS + NOT_VIEWERS)
def test_one_delivery_is_shown_in_scope_and_an_indistinguishable_404_outside(
    username, world, calls, api_as
):
    api = api_as(username)
    for name in ("客户0", "客户6"):
        response = api.get(f"/campaigns/deliveries/{delivery_of(calls, name).pk}")
        if username in NOT_VIEWERS:
            assert_error(response, 403, "permission_denied")
        elif name in SEES[username]:
            assert response.status_code == 200, response.content
            assert response.json()["wave"]["kind"] == "call"
        else:
            assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    "path",
    [
        "/campaigns",
        "/campaigns/{campaign}",
        "/campaigns/{campaign}/funnel",
        "/campaigns/{campaign}/readiness",
        "/campaigns/{campaign}/checklist",
        "/campaigns/{campaign}/conflicts",
        "/campaigns/{campaign}/waves",
        "/campaigns/waves/{wave}",
        "/campaigns/offers",
        "/campaigns/segments",
        "/campaigns/segments/{segment}",
    ],
)
def test_campaign_plans_are_open_to_every_viewer_and_closed_to_others(path, world, calls, api_as):
    url = path.format(campaign=calls.campaign_id, wave=calls.pk, segment=world.everyone.pk)
    for username in VIEWERS:
        assert api_as(username).get(url).status_code == 200, (username, url)
    for username in NOT_VIEWERS:
        assert_error(api_as(username).get(url), 403, "permission_denied")


def test_deliveries_filter_by_status_and_reason(world, make_campaign, api_as):
    campaign = make_campaign()
    cm = api_as("cm")
    cm.post(f"/campaigns/{campaign.pk}/submit")
    wave = first_wave(campaign)
    cm.post(f"/campaigns/waves/{wave.pk}/plan", {})
    api = api_as("rm_east")
    path = f"/campaigns/waves/{wave.pk}/deliveries"
    excluded = api.get(path, {"status": "excluded"}).json()["items"]
    assert {d["customer"]["name"] for d in excluded} == {"客户5", "客户6", "客户7"}
    assert {d["reason_label"] for d in excluded} == {"No consent (opted out)"}
    assert len(api.get(path, {"reason": "opted_out"}).json()["items"]) == 3
    assert api.get(path, {"reason": "cap"}).json()["items"] == []
    planned = api.get(path, {"status": "planned"}).json()["items"]
    assert [d["rank"] for d in planned] == sorted(d["rank"] for d in planned)
    assert_error(api.get(path, {"status": "lost"}), 422, "validation_error", field="status")


def test_the_deliveries_pages_run_on_from_the_contacts_into_the_packed_exclusions(
    world, make_campaign, api_as
):
    campaign = make_campaign()
    api_as("cm").post(f"/campaigns/{campaign.pk}/submit")
    wave = first_wave(campaign)
    api_as("cm").post(f"/campaigns/waves/{wave.pk}/plan", {})
    path = f"/campaigns/waves/{wave.pk}/deliveries"
    api = api_as("admin")

    pages = [api.get(path, {"page": n, "page_size": 3}).json() for n in (1, 2, 3)]

    assert [len(p["items"]) for p in pages] == [3, 3, 2]
    assert [p["has_next"] for p in pages] == [True, True, False]
    items = [d for p in pages for d in p["items"]]
    names = [d["customer"]["name"] for d in items]
    assert sorted(names) == sorted(f"客户{i}" for i in range(8))  # each once
    assert [d["status"] for d in items] == ["planned"] * 5 + ["excluded"] * 3
    assert all(d["id"] is None and d["reason"] == "opted_out" for d in items[5:])
    assert all(isinstance(d["id"], int) for d in items[:5])
    assert api.get(path, {"page": 4, "page_size": 3}).json()["items"] == []


def test_the_agent_works_his_call_list_and_an_acceptance_reserves_the_gift(world, calls, api_as):
    svc = api_as("svc_east")
    listed = svc.get("/campaigns/calls").json()["items"]
    assert len(listed) == 8 and [c["rank"] for c in listed] == list(range(1, 9))
    assert listed[0]["campaign"]["code"] == "bb-winter" and listed[0]["wave"]["kind"] == "call"
    assert api_as("am_hz").get("/campaigns/calls").json()["items"] == []
    target = delivery_of(calls, "客户0")
    assert svc.get(f"/campaigns/deliveries/{target.pk}").json()["can_work"] is True

    worked = svc.post(
        f"/campaigns/deliveries/{target.pk}/outcome", {"outcome": "accepted", "note": "办理包年"}
    )

    assert worked.status_code == 200, worked.content
    body = worked.json()
    assert body["status"] == "done" and body["response"] == "accepted"
    assert body["converted_at"] and body["order_id"] and body["note"] == "办理包年"
    world.gift_offer.refresh_from_db()
    assert world.gift_offer.stock_reserved == 1
    assert len(svc.get("/campaigns/calls").json()["items"]) == 7
    assert_error(
        svc.post(f"/campaigns/deliveries/{target.pk}/outcome", {"outcome": "declined"}),
        422,
        "not_open",
    )
    assert_error(
        svc.post(f"/campaigns/deliveries/{target.pk}/outcome", {"outcome": "maybe"}),
        422,
        "validation_error",
        field="outcome",
    )


def test_an_account_manager_of_another_branch_cannot_see_or_work_a_call(world, calls, api_as):
    hangzhou = delivery_of(calls, "客户0")
    ningbo = delivery_of(calls, "客户6")
    am_nb = api_as("am_nb")
    assert_error(am_nb.get(f"/campaigns/deliveries/{hangzhou.pk}"), 404, "not_found")
    assert_error(
        am_nb.post(f"/campaigns/deliveries/{hangzhou.pk}/outcome", {"outcome": "reached"}),
        404,
        "not_found",
    )
    # his own branch's call he sees, but the wave is worked by service agents
    assert am_nb.get(f"/campaigns/deliveries/{ningbo.pk}").json()["can_work"] is False
    assert_error(
        am_nb.post(f"/campaigns/deliveries/{ningbo.pk}/outcome", {"outcome": "reached"}),
        403,
        "permission_denied",
    )
    hangzhou.refresh_from_db()
    ningbo.refresh_from_db()
    assert hangzhou.attempts == ningbo.attempts == 0


def test_an_sms_gateway_forwards_a_reply_and_the_acceptance_converts(world, sent, api_as):
    delivery = delivery_of(sent, "客户1")
    assert delivery.status == "delivered"
    gateway = api_as("rm_east")  # an integration's token of a user who works campaigns
    answered = gateway.post(
        f"/campaigns/deliveries/{delivery.pk}/responses",
        {"kind": "accepted", "note": "回复：办理"},
    )
    assert answered.status_code == 201, answered.content
    body = answered.json()
    assert body["response"] == "accepted" and body["responded_at"] and body["order_id"]
    assert Interaction.objects.filter(
        customer=delivery.customer, direction="in", outcome="accepted", wave_id=sent.pk
    ).exists()
    assert_error(
        gateway.post(f"/campaigns/deliveries/{delivery.pk}/responses", {"kind": "declined"}),
        422,
        "already_answered",
    )
    assert_error(
        gateway.post(f"/campaigns/deliveries/{delivery.pk}/responses", {"kind": "loved"}),
        422,
        "validation_error",
        field="kind",
    )


def test_who_may_record_a_response(world, sent, api_as):
    delivery = delivery_of(sent, "客户2")
    path = f"/campaigns/deliveries/{delivery.pk}/responses"
    assert_error(api_as("eng_east").post(path, {"kind": "opened"}), 403, "permission_denied")
    assert_error(api_as("am_nb").post(path, {"kind": "opened"}), 404, "not_found")
    assert_error(api_as("cm").post(path, {"kind": "opened"}), 404, "not_found")  # no customers
    assert api_as("am_hz").post(path, {"kind": "opened"}).status_code == 201
    excluded = excluded_at_send_time(sent, "客户4")
    assert_error(
        api_as("admin").post(f"/campaigns/deliveries/{excluded.pk}/responses", {"kind": "opened"}),
        422,
        "not_contacted",
    )


def test_seeing_the_customer_is_not_enough_to_record_a_response(world, sent, api_as):
    # given finance staff of the East region: they see its customers and view campaigns,
    # but neither work campaign contacts nor manage campaigns
    membership_grant(user=world.org.users["fin"], unit=world.org.east, role="finance")
    delivery = delivery_of(sent, "客户0")
    fin = api_as("fin")
    assert fin.get(f"/campaigns/deliveries/{delivery.pk}").json()["can_record"] is False

    refused = fin.post(f"/campaigns/deliveries/{delivery.pk}/responses", {"kind": "accepted"})

    assert_error(refused, 403, "permission_denied")
    delivery.refresh_from_db()
    assert delivery.response == "" and delivery.converted_at is None
    # the customer's own answer through the response link (no user) is still recorded
    delivery_respond(actor=None, delivery=delivery, kind="interested")
    delivery.refresh_from_db()
    assert delivery.response == "interested"


def test_an_order_is_linked_to_the_contact_that_led_to_it(world, sent, api_as):
    delivery = delivery_of(sent, "客户3")
    order = order_create(actor=None, customer=delivery.customer, product=world.broadband)
    other = order_create(actor=None, customer=world.customers[4], product=world.broadband)
    api = api_as("svc_east")
    path = f"/campaigns/deliveries/{delivery.pk}/conversion"
    assert_error(api.post(path, {"order": other.pk}), 422, "validation_error", field="order")
    assert_error(api.post(path, {"order": 999999}), 422, "unknown_order", field="order")

    linked = api.post(path, {"order": order.pk})

    assert linked.status_code == 200 and linked.json()["order_id"] == order.pk
    assert_error(api.post(path, {"order": order.pk}), 422, "already_converted")


def test_the_deliveries_list_costs_the_same_queries_for_few_or_many_customers(
    world, make_campaign, api_as
):
    campaign = make_campaign()
    cm = world.org.users["cm"]
    services.campaign_submit(actor=cm, campaign=campaign)
    wave = first_wave(campaign)
    api = api_as("admin")
    path = f"/campaigns/waves/{wave.pk}/deliveries"

    def count() -> int:
        wave_plan(actor=cm, wave=wave)
        with CaptureQueriesContext(connection) as queries:
            assert api.get(path, {"page_size": 200}).status_code == 200
        return len(queries)

    count()  # the first request also stamps the token's last use
    few = count()
    for i in range(30):
        customer = customer_create(
            actor=None,
            name=f"批量{i}",
            unit=world.org.nb,
            contacts=[ContactInput("email", f"bulk{i}@example.com")],
        )
        consent(customer, "email")
    assert count() == few
    assert len(decisions(wave.pk)) == 38


# --- idempotency and the schema ------------------------------------------------------------


def test_a_retried_post_with_the_same_key_answers_the_same_without_writing_again(
    world, calls, api_as, make_campaign
):
    svc = api_as("svc_east")
    target = delivery_of(calls, "客户1")
    key = {"Idempotency-Key": "call-1-attempt-1"}
    path = f"/campaigns/deliveries/{target.pk}/outcome"
    first = svc.post(path, {"outcome": "no_answer"}, headers=key)
    retry = svc.post(path, {"outcome": "no_answer"}, headers=key)
    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json() and retry["Idempotent-Replayed"] == "true"
    target.refresh_from_db()
    assert target.attempts == 1
    assert Interaction.objects.filter(external_ref=f"yiti-d{target.pk}").count() == 1

    cm = api_as("cm")
    body = {
        "code": "retry-me",
        "name": "重试",
        "owner_unit": "mkt",
        "segment": world.everyone.pk,
        "offers": ["plan-20off"],
        "participating_units": ["east"],
        "service_unit": "csc",
        "starts_on": at_ten(5).date().isoformat(),
        "ends_on": at_ten(30).date().isoformat(),
    }
    made = cm.post("/campaigns", body, headers={"Idempotency-Key": "new-campaign"})
    again = cm.post("/campaigns", body, headers={"Idempotency-Key": "new-campaign"})
    assert made.status_code == again.status_code == 201 and again.json() == made.json()
    assert Campaign.objects.filter(code="retry-me").count() == 1
    assert (
        AuditEvent.objects.filter(
            action="campaign.create", object_id=str(made.json()["id"])
        ).count()
        == 1
    )
    assert_error(
        cm.post(
            "/campaigns", {**body, "name": "别的"}, headers={"Idempotency-Key": "new-campaign"}
        ),
        409,
        "idempotency_key_reused",
    )


def test_the_openapi_schema_documents_the_campaign_endpoints(world, api_as):
    schema = Api(token=None).get("/openapi.json").json()
    paths = schema["paths"]
    expected = {
        "/api/v1/campaigns": {"get", "post"},
        "/api/v1/campaigns/{campaign_id}": {"get", "patch"},
        "/api/v1/campaigns/{campaign_id}/launch": {"post"},
        "/api/v1/campaigns/{campaign_id}/readiness": {"get"},
        "/api/v1/campaigns/{campaign_id}/funnel": {"get"},
        "/api/v1/campaigns/{campaign_id}/waves": {"get", "post"},
        "/api/v1/campaigns/checklist/{item_id}/sign": {"post"},
        "/api/v1/campaigns/conflicts/{conflict_id}/accept": {"post"},
        "/api/v1/campaigns/offers": {"get", "post"},
        "/api/v1/campaigns/segments/count": {"post"},
        "/api/v1/campaigns/segments/fields": {"get"},
        "/api/v1/campaigns/waves/{wave_id}": {"get", "patch", "delete"},
        "/api/v1/campaigns/waves/{wave_id}/plan": {"post"},
        "/api/v1/campaigns/waves/{wave_id}/deliveries": {"get"},
        "/api/v1/campaigns/deliveries/{delivery_id}/outcome": {"post"},
        "/api/v1/campaigns/deliveries/{delivery_id}/responses": {"post"},
        "/api/v1/campaigns/deliveries/{delivery_id}/conversion": {"post"},
        "/api/v1/campaigns/calls": {"get"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) == methods, path
        for operation in paths[path].values():
            assert operation["summary"] and operation["tags"] == ["campaigns"]
    launch = paths["/api/v1/campaigns/{campaign_id}/launch"]["post"]
    assert "missing" in launch["description"] and "422" in launch["responses"]
    plan_params = [
        p["name"] for p in paths["/api/v1/campaigns/waves/{wave_id}/plan"]["post"]["parameters"]
    ]
    assert "Idempotency-Key" in plan_params and "dry_run" in plan_params
