"""The ranking page, API and "who moved": region managers see their region's units,
administrators and analysts every unit, other roles nothing; the indicator catalogue is edited
by administrators, and a month is computed by the worker or the command."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from tests.conftest import PASSWORD
from tests.quality.conftest import NOVEMBER, nov, sh
from yiti.core.errors import PermissionDenied, ValidationFailed
from yiti.org.services import token_create
from yiti.quality.models import Indicator, QualityRun, UnitScore
from yiti.quality.selectors import ranking
from yiti.quality.services import indicator_save, ranking_compute, slot_period
from yiti.service.models import Ticket

OCTOBER = NOVEMBER.replace(month=10)


def client_for(org, name):
    client = Client()
    assert client.login(username=name, password=PASSWORD)
    return client


def api_for(org, name):
    _token, raw = token_create(user=org.users[name], name="tests")
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def ranked(org, month):
    """October: Hangzhou resolved one complaint in time (scores well); November as in conftest."""
    Ticket.objects.filter(pk=month.tickets["T5"].pk).update(
        sla_state="met", resolution_due_at=sh(2026, 10, 28)
    )
    ranking_compute(month=OCTOBER)
    ranking_compute(month=NOVEMBER)


def test_region_manager_sees_only_his_regions_units(org, ranked):
    view = ranking(org.users["rm_east"], month=NOVEMBER, kind="branch")
    assert [r.unit for r in view.rows] == ["宁波分公司", "杭州分公司"]
    # the ranks are the company's: Beijing (not shown to him) is first
    assert [r.rank for r in view.rows] == [2, 3]
    page = client_for(org, "rm_east").get("/quality/ranking/", {"month": "2026-11"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "杭州分公司" in html and "宁波分公司" in html and "北京分公司" not in html


def test_admins_and_analysts_see_every_unit(org, ranked):
    for name in ("admin", "analyst"):
        view = ranking(org.users[name], month=NOVEMBER, kind="branch")
        assert [r.unit for r in view.rows] == ["北京分公司", "宁波分公司", "杭州分公司"]


@pytest.mark.parametrize("name", ["am_hz", "cm", "fin"])
def test_other_roles_may_not_read_the_ranking(org, ranked, name):
    with pytest.raises(PermissionDenied):
        ranking(org.users[name])
    assert client_for(org, name).get("/quality/ranking/").status_code == 403


def test_who_moved_names_the_indicator_that_moved_the_unit(org, ranked):
    view = ranking(org.users["admin"], month=NOVEMBER, kind="branch")
    hz = next(r for r in view.rows if r.unit == "杭州分公司")
    # October: Hangzhou was the only branch with data, so first; November: third
    assert (hz.previous_rank, hz.rank, hz.moved) == (1, 3, -2)
    assert hz in view.movers
    assert hz.driver is not None and hz.driver_change is not None and hz.driver_change < 0
    assert hz.trend[-2:] == [pytest.approx(hz.previous_score), pytest.approx(hz.score)]
    html = client_for(org, "admin").get("/quality/ranking/", {"month": "2026-11"}).content.decode()
    assert "↓2" in html


def test_the_ranking_api_is_scoped_like_the_page(org, ranked):
    client = Client()
    response = client.get(
        "/api/v1/quality/ranking",
        {"month": "2026-11", "kind": "branch"},
        headers=api_for(org, "rm_east"),
    )
    assert response.status_code == 200
    body = response.json()
    assert [u["unit"] for u in body["units"]] == ["宁波分公司", "杭州分公司"]
    hz = body["units"][1]
    assert hz["moved"] == -2
    parts = {p["code"]: p for p in hz["indicators"]}
    assert parts["sla_attainment"]["value"] == 75.0
    assert (parts["sla_attainment"]["numerator"], parts["sla_attainment"]["denominator"]) == (3, 4)
    assert sum(p["contribution"] or 0 for p in hz["indicators"]) == pytest.approx(
        hz["score"], abs=0.02
    )
    denied = client.get("/api/v1/quality/ranking", headers=api_for(org, "am_hz"))
    assert denied.status_code == 403
    # one unit's months, newest first; another region's unit is not found
    history = client.get(
        f"/api/v1/quality/ranking/units/{org.hz.pk}", headers=api_for(org, "rm_east")
    ).json()
    assert [(h["month"], h["rank"]) for h in history] == [("2026-11-01", 3), ("2026-10-01", 1)]
    other = client.get(
        f"/api/v1/quality/ranking/units/{org.bj.pk}", headers=api_for(org, "rm_east")
    )
    assert other.status_code == 404


def test_changing_a_weight_changes_the_next_computation(org, month):
    indicator = Indicator.objects.get(code="sla_attainment")
    targets = {
        t.unit_kind: {"target": t.target, "floor": t.floor, "weight": t.weight}
        for t in indicator.targets.all()
    }
    targets["branch"]["weight"] = 0
    indicator_save(
        actor=org.users["admin"],
        indicator=indicator,
        direction="higher",
        active=True,
        targets=targets,
    )
    ranking_compute(month=NOVEMBER)
    nb = UnitScore.objects.get(month=NOVEMBER, unit=org.nb)
    # Ningbo's SLA (0 %) no longer weighs: 4500 points over 85 weights
    assert nb.score == pytest.approx(52.94, abs=0.01)
    assert nb.indicators["sla_attainment"]["contribution"] == 0


def test_the_zero_score_line_must_lie_on_the_bad_side(org):
    indicator = Indicator.objects.get(code="reopen_rate")  # lower is better
    with pytest.raises(ValidationFailed) as caught:
        indicator_save(
            actor=org.users["admin"],
            indicator=indicator,
            direction="lower",
            active=True,
            targets={"branch": {"target": 10, "floor": 5, "weight": 10}},
        )
    assert caught.value.code == "quality_target_on_wrong_side"
    with pytest.raises(PermissionDenied):
        indicator_save(
            actor=org.users["rm_east"],
            indicator=indicator,
            direction="lower",
            active=True,
            targets={},
        )


def test_the_indicator_page_edits_the_catalogue(org):
    admin = client_for(org, "admin")
    page = admin.get("/quality/indicators/")
    assert page.status_code == 200 and "First-contact resolution" in page.content.decode()
    form = {
        "direction": "higher",
        "active": "on",
        "note": "",
        "company-target": "90",
        "company-floor": "60",
        "company-weight": "20",
        "region-target": "90",
        "region-floor": "60",
        "region-weight": "20",
        "branch-target": "90",
        "branch-floor": "95",
        "branch-weight": "20",
    }
    refused = admin.post("/quality/indicators/sla_attainment/", form)
    assert refused.status_code == 422
    form["branch-floor"] = "60"
    assert admin.post("/quality/indicators/sla_attainment/", form).status_code == 302
    target = Indicator.objects.get(code="sla_attainment").targets.get(unit_kind="branch")
    assert (target.target, target.floor, target.weight) == (90, 60, 20)
    assert client_for(org, "rm_east").get("/quality/indicators/sla_attainment/").status_code == 403


def test_the_defaults_are_seeded_by_the_migration(db):
    assert Indicator.objects.count() == 9
    assert all(i.targets.count() == 3 for i in Indicator.objects.all())
    for kind in ("company", "region", "branch"):
        weights = [i.targets.get(unit_kind=kind).weight for i in Indicator.objects.all()]
        assert sum(weights) == 100


def test_the_command_computes_a_month(org, month):
    out = StringIO()
    call_command("quality", "rank", "--month", "2026-11", stdout=out)
    assert "Ranking of 2026-11" in out.getvalue()
    assert QualityRun.objects.get(kind="ranking", period_start=NOVEMBER).status == "ready"
    assert UnitScore.objects.filter(month=NOVEMBER, unit=org.bj, rank=1).exists()


def test_the_schedule_computes_last_month_and_last_week(org):
    assert slot_period("ranking", "2026-12-01T05:30:00+08:00") == NOVEMBER
    # a Monday slot: the week before (Mon 23 Nov .. Sun 29 Nov)
    assert slot_period("themes", "2026-11-30T05:30:00+08:00").isoformat() == "2026-11-23"
    # local dates: 1 December 00:10 in Shanghai is still 30 November in UTC
    assert slot_period("ranking", sh(2026, 12, 1, 0, 10)) == NOVEMBER
    # the daily month-to-date run: the slot's own month
    assert slot_period("ranking", "2026-11-18T05:45:00+08:00", current=True) == NOVEMBER


def test_a_month_in_the_future_or_before_2000_is_refused(org):
    with pytest.raises(ValidationFailed):
        ranking_compute(month=nov(1).date().replace(year=2027))
    with pytest.raises(ValidationFailed) as caught:
        ranking_compute(month=nov(1).date().replace(year=1999))
    assert caught.value.code == "quality_period_too_early"


def test_compute_now_runs_in_the_worker(org, month, settings, django_capture_on_commit_callbacks):
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default", "sending", "reports"],
        }
    }
    admin = client_for(org, "admin")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post("/quality/compute/", {"kind": "ranking", "start": "2026-11"})
    assert response.status_code == 302
    assert QualityRun.objects.get(kind="ranking", period_start=NOVEMBER).status == "ready"
    api = Client().post(
        "/api/v1/quality/compute",
        json.dumps({"kind": "ranking", "start": "2026-11-15"}),
        content_type="application/json",
        headers=api_for(org, "analyst"),
    )
    assert api.status_code == 403


def test_every_scheduled_job_runs(org, month, settings):
    """Each registered quality schedule, enqueued as the scheduler does, computes its period."""
    from yiti.core.scheduling import schedules

    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default", "sending", "reports"],
        }
    }
    names = {s.name for s in schedules() if s.name.startswith("quality.")}
    assert names == {"quality.ranking", "quality.ranking_mtd", "quality.themes"}
    for schedule in schedules():
        if schedule.name in names:
            schedule.task.enqueue(**schedule.kwargs, slot="2026-12-01T05:45:00+08:00")
    runs = set(QualityRun.objects.values_list("kind", "period_start", "status"))
    assert ("ranking", NOVEMBER, "ready") in runs
    assert ("ranking", NOVEMBER.replace(month=12), "ready") in runs
    assert ("themes", nov(23).date(), "ready") in runs


def test_a_failed_computation_is_shown_and_the_last_results_stay(org, ranked, monkeypatch):
    from yiti.quality import indicators

    def broken(month):
        raise RuntimeError("database gone")

    monkeypatch.setattr(indicators, "own_counts", broken)
    with pytest.raises(RuntimeError):
        ranking_compute(month=NOVEMBER.replace(month=12))
    run = QualityRun.objects.get(kind="ranking", period_start=NOVEMBER.replace(month=12))
    assert run.status == "failed" and "database gone" in run.error
    html = client_for(org, "admin").get("/quality/ranking/").content.decode()
    assert 'id="run-status"' in html and "alert-error" in html
    assert "杭州分公司" in html  # November's ranking is still shown


def test_the_ranking_exports_to_xlsx_as_the_reader_sees_it(org, ranked):
    from io import BytesIO

    from openpyxl import load_workbook

    response = client_for(org, "rm_east").get(
        "/quality/ranking/export.xlsx", {"month": "2026-11", "kind": "branch"}
    )
    assert response.status_code == 200
    assert "quality-ranking-2026-11-branch.xlsx" in response["Content-Disposition"]
    rows = list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))
    units = [r[1] for r in rows[2:]]
    assert units == ["宁波分公司", "杭州分公司"]  # not Beijing: another region
    hz = rows[3]
    assert hz[0] == 3 and hz[4] == -2  # third, two places down
    assert hz[6] == 75.0  # SLA attainment, then its points
    assert client_for(org, "am_hz").get("/quality/ranking/export.xlsx").status_code == 403
