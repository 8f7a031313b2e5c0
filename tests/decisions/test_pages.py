"""The value page, "Refit now", the settings page, the customer panel, the API, the CLI and
the weekly schedule — and who may use each."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from tests.decisions.conftest import END
from yiti.core.models import AuditEvent
from yiti.core.scheduling import scheduler_tick, schedules
from yiti.customers.choices import ValueTier
from yiti.customers.models import CustomerValue, Order
from yiti.decisions.choices import CostItem, FitStatus, FitTrigger
from yiti.decisions.models import ServiceCost, TierChange, ValueModelFit, ValueSettings
from yiti.decisions.services import value_refit
from yiti.decisions.weights import ContextWeights
from yiti.org.services import token_create

API = "/api/v1"


def _tasks(backend: str) -> dict:
    return {
        "default": {
            "BACKEND": f"django_tasks.backends.{backend}",
            "QUEUES": ["default", "sending", "reports"],
        }
    }


@pytest.fixture
def web(org):
    def client_for(username: str) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(org.users[username])
        return client

    return client_for


@pytest.fixture
def api(org):
    def client_for(username: str) -> Client:
        _token, raw = token_create(user=org.users[username], name="t")
        return Client(headers={"Authorization": f"Bearer {raw}", "Accept-Language": "en"})

    return client_for


@pytest.fixture
def fitted(book):
    made = book(150)
    first = value_refit(end=END)
    ValueSettings.objects.update_or_create(pk=1, defaults={"mvc_share": 0.3})
    second = value_refit(end=END)
    assert first.status == second.status == FitStatus.SUCCEEDED
    return made, second


def test_the_value_page_shows_the_fit_tier_counts_and_migration_to_analysts(web, fitted):
    _made, fit = fitted
    page = web("analyst").get("/value/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="fit-params"' in html and f"r={fit.bgnbd_r:.4f}" in html
    assert 'id="migration-matrix"' in html and 'data-from="new"' in html
    mvc = CustomerValue.objects.filter(tier=ValueTier.MVC).count()
    assert f'<tr data-tier="mvc"><td>Most valuable</td><td class="num">{mvc}</td>' in html
    # analysts refit; only administrators change the settings
    assert 'id="refit-now"' in html and 'id="value-settings-link"' not in html
    assert 'id="nav-value"' in html


@pytest.mark.parametrize("username", ["cm", "admin"])
def test_campaign_managers_and_admins_see_the_value_page(web, fitted, username):
    html = web(username).get("/value/").content.decode()
    assert 'id="tier-counts"' in html
    assert ('id="refit-now"' in html) == (username == "admin")


@pytest.mark.parametrize("username", ["am_hz", "svc_east", "rm_east", "fin"])
def test_other_roles_do_not_see_the_value_page(web, fitted, username):
    assert web(username).get("/value/").status_code == 403
    assert web(username).post("/value/refit/").status_code == 403
    assert 'id="nav-value"' not in web(username).get("/customers/").content.decode()


def test_refit_now_queues_a_fit_that_the_worker_runs(
    web, book, settings, django_capture_on_commit_callbacks
):
    book(80)
    settings.TASKS = _tasks("immediate.ImmediateBackend")
    with django_capture_on_commit_callbacks(execute=True):
        response = web("analyst").post("/value/refit/", {"end": "2026-06-30"})
    assert response.status_code == 302
    fit = ValueModelFit.objects.get()
    assert fit.status == FitStatus.SUCCEEDED, fit.error
    assert fit.trigger == FitTrigger.MANUAL and fit.task_id
    assert fit.window_end.isoformat() == "2026-06-30"
    assert AuditEvent.objects.filter(action="decisions.value_refit_request").exists()
    assert CustomerValue.objects.count() == 80


def test_refit_now_is_refused_while_a_fit_is_queued(web, settings):
    settings.TASKS = _tasks("dummy.DummyBackend")
    web("admin").post("/value/refit/")
    assert ValueModelFit.objects.get().status == FitStatus.QUEUED
    again = web("admin").post("/value/refit/", follow=True)
    assert b"queued or running already" in again.content
    assert ValueModelFit.objects.count() == 1
    # while busy, the fits table polls for its status
    assert b'hx-trigger="every 3s"' in web("admin").get("/value/fits/status/").content


def test_admins_edit_unit_costs_and_thresholds_and_the_change_is_audited(web):
    page = web("admin").get("/value/settings/")
    assert page.status_code == 200
    data = {f"c-{item}": "10.00" for item in CostItem.values}
    data["c-visit"] = "88.50"
    fields = {
        "horizon_months": 24,
        "discount_rate": 0.02,
        "window_months": 36,
        "holdout_months": 3,
        "mvc_share": 0.05,
        "mgc_share": 0.1,
        "peer_percentile": 75,
        "min_peers": 20,
        "trend_months": 6,
        "trend_rise": 0.5,
        "churn_threshold": 0.6,
        "cost_lookback_months": 12,
        "undo_minutes": 15,  # how long an agent may undo an acceptance
    }
    data.update({f"s-{k}": v for k, v in fields.items()})
    data["s-no_offer_tiers"] = ["bz", "standard"]  # tiers proposed care actions only
    response = web("admin").post("/value/settings/", data)
    assert response.status_code == 302
    rules = ValueSettings.objects.get(pk=1)
    assert rules.undo_minutes == 15 and rules.no_offer_tiers == ["bz", "standard"]
    assert ServiceCost.objects.get(item=CostItem.VISIT).cost == pytest.approx(88.5)
    values = ValueSettings.objects.get(pk=1)
    assert values.horizon_months == 24 and values.mvc_share == 0.05
    audited = AuditEvent.objects.get(action="decisions.value_settings_update")
    assert audited.changes["mvc_share"] == [0.1, 0.05]
    costs = AuditEvent.objects.get(action="decisions.service_costs_update")
    assert costs.changes["visit"] == ["60.00", "88.50"]
    # a share above 100% is refused next to its field, nothing saved
    data["s-mvc_share"] = "1.5"
    refused = web("admin").post("/value/settings/", data)
    assert refused.status_code == 422 and b"has-error" in refused.content
    assert ValueSettings.objects.get(pk=1).mvc_share == 0.05
    # analysts may not
    assert web("analyst").get("/value/settings/").status_code == 403


def _settings_form(page) -> dict[str, str]:
    """Every input of the settings form as the browser would send it back."""
    html = page.content.decode()
    return {
        m.group(1): m.group(2)
        for m in re.finditer(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html)
        if m.group(1) != "csrfmiddlewaretoken"
    }


def test_admins_set_the_context_weights_on_the_settings_page(web):
    page = web("admin").get("/value/settings/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-weights="reason"' in html and 'data-weights="channel"' in html
    data = _settings_form(page)
    assert data["w-offer__complaint"] == "0.30" and data["w-channel__counter"] == "1.20"
    data["w-offer__complaint"] = "0.10"
    data["w-channel__sms"] = ""  # blank: the default
    saved = web("admin").post("/value/settings/", data)
    assert saved.status_code == 302
    weights = ContextWeights.of(ValueSettings.objects.get(pk=1).context_weights)
    assert weights.reason_weight("offer", "complaint") == 0.1
    assert weights.channel_weight("sms") == 0.6
    event = AuditEvent.objects.get(action="decisions.context_weights_update")
    assert event.changes == {"offer:complaint": [0.3, 0.1]}
    again = _settings_form(web("admin").get("/value/settings/"))
    assert again["w-offer__complaint"] == "0.10"
    # a weight above 5 is refused next to its field, nothing saved
    again["w-care__repair"] = "7"
    refused = web("admin").post("/value/settings/", again)
    assert refused.status_code == 422
    body = refused.content.decode()
    cell = body[body.index('name="w-care__repair"') - 400 : body.index('name="w-care__repair"')]
    assert "has-error" in cell
    assert ContextWeights.of(ValueSettings.objects.get(pk=1).context_weights).reason_weight(
        "care", "repair"
    ) == pytest.approx(1.4)


def test_the_customer_page_shows_the_value_panel_with_the_tier_history(web, fitted):
    made, fit = fitted
    changed = TierChange.objects.filter(fit=fit).values_list("customer_id", flat=True).first()
    customer_id = changed or made.ids[0]
    value = CustomerValue.objects.get(customer_id=customer_id)
    html = web("admin").get(f"/customers/{customer_id}/").content.decode()
    assert 'data-panel="value"' in html
    assert f'data-tier="{value.tier}"' in html and 'id="value-history"' in html
    assert (
        html.count('<li class="small" data-to=')
        == TierChange.objects.filter(customer_id=customer_id).count()
    )


def test_a_customer_without_orders_shows_as_such(web, book):
    made = book(40, without_orders=2)
    value_refit(end=END)
    html = web("admin").get(f"/customers/{made.ids[-1]}/").content.decode()
    assert 'id="value-no-orders"' in html


def test_api_lists_fits_for_the_value_roles_only(api, fitted):
    _made, fit = fitted
    listed = api("analyst").get(f"{API}/value/fits")
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert items[0]["id"] == fit.pk and items[0]["bgnbd"]["r"] == pytest.approx(fit.bgnbd_r)
    assert items[0]["tier_counts"] == fit.tier_counts
    refused = api("am_hz").get(f"{API}/value/fits")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"


def test_api_customer_value_is_scoped_to_visible_customers(api, fitted, org):
    made, _fit = fitted
    hz_customer = made.customers[0]  # the book alternates Hangzhou, Beijing
    bj_customer = made.customers[1]
    assert hz_customer.unit_id == org.hz.pk and bj_customer.unit_id == org.bj.pk
    mine = api("am_hz").get(f"{API}/customers/{hz_customer.pk}/value")
    assert mine.status_code == 200
    body = mine.json()
    value = CustomerValue.objects.get(customer=hz_customer)
    assert body["scored"] and body["tier"] == value.tier
    assert body["clv"] == pytest.approx(value.clv) and body["history"]
    assert api("am_hz").get(f"{API}/customers/{bj_customer.pk}/value").status_code == 404
    # the analyst's department holds no customers: aggregates yes, a customer's scores no
    assert api("analyst").get(f"{API}/customers/{hz_customer.pk}/value").status_code == 404


def test_api_refit_now_answers_202_with_the_queued_fit(api, settings):
    settings.TASKS = _tasks("dummy.DummyBackend")
    response = api("admin").post(f"{API}/value/fits", {}, content_type="application/json")
    assert response.status_code == 202 and response.json()["status"] == "queued"
    busy = api("admin").post(f"{API}/value/fits", {}, content_type="application/json")
    assert busy.status_code == 409 and busy.json()["code"] == "refit_busy"
    assert (
        api("cm").post(f"{API}/value/fits", {}, content_type="application/json").status_code == 403
    )


def test_cli_refit_prints_the_fit_and_fails_clearly(book):
    book(100)
    out = io.StringIO()
    call_command("value", "refit", "--end", "2026-06-30", "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["status"] == "succeeded" and result["customers"] == 100
    assert result["window_end"] == "2026-06-30"
    assert ValueModelFit.objects.get(pk=result["id"]).trigger == FitTrigger.COMMAND
    summary = io.StringIO()
    call_command("value", "refit", "--end", "2026-06-30", stdout=summary)
    assert "BG/NBD:" in summary.getvalue() and "Tiers:" in summary.getvalue()
    Order.objects.update(status="cancelled")
    with pytest.raises(CommandError, match="failed, the previous scores stay"):
        call_command("value", "refit", stdout=io.StringIO())
    with pytest.raises(CommandError, match="not a date"):
        call_command("value", "refit", "--end", "30/06/2026", stdout=io.StringIO())


def test_the_refit_is_scheduled_every_monday_at_three(book, settings):
    schedule = next(s for s in schedules() if s.name == "decisions.value_refit")
    assert schedule.cron == "0 3 * * mon"
    settings.TASKS = _tasks("immediate.ImmediateBackend")
    book(60)
    monday = datetime(2026, 7, 6, 3, 5, tzinfo=END.tzinfo)
    fired = scheduler_tick(now=monday)
    assert "decisions.value_refit" in fired
    fit = ValueModelFit.objects.get()
    assert fit.trigger == FitTrigger.SCHEDULE and fit.status == FitStatus.SUCCEEDED


def test_customers_can_be_listed_by_value_tier_on_the_web_and_the_api(web, api, fitted):
    mvc = set(
        CustomerValue.objects.filter(tier=ValueTier.MVC).values_list("customer_id", flat=True)
    )
    assert mvc
    html = web("admin").get("/customers/", {"tier": "mvc", "status": "all"}).content.decode()
    assert 'id="f-tier"' in html
    listed = (
        api("admin")
        .get(f"{API}/customers", {"tier": "mvc", "status": "all", "page_size": 200})
        .json()
    )
    assert {c["id"] for c in listed["items"]} == mvc
    bad = api("admin").get(f"{API}/customers", {"tier": "gold"})
    assert bad.status_code == 422
