"""The next best action over the API and on the pages: scoped, explained, audited."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from tests.factories import ProductFactory
from yiti.campaigns.services import offer_create
from yiti.core.models import AuditEvent
from yiti.customers.services import consent_record, customer_create
from yiti.decisions import nba
from yiti.decisions.models import NbaOutcome, Propensity
from yiti.engagement.models import Interaction
from yiti.engagement.services import suppression_set
from yiti.org.services import token_create
from yiti.service.services import ticket_create


@pytest.fixture
def served(org):
    product = ProductFactory(
        code="bb", name="宽带", category="broadband", price=1000, margin_rate="0.4000"
    )
    offer = offer_create(
        actor=org.users["cm"],
        code="bb-gift",
        name="宽带送路由器",
        product=product,
        benefit="gift",
        benefit_value=50,
        gift_name="路由器",
        stock_total=2,
    )
    customer = customer_create(
        actor=org.users["am_hz"], name="李娜", unit=org.hz, owner=org.users["am_hz"]
    )
    consent_record(
        actor=org.users["am_hz"],
        customer=customer,
        channel="call",
        purpose="marketing",
        granted=True,
    )
    return customer, offer


def test_api_ranks_actions_with_parts_and_reasons(api_as, served):
    customer, offer = served
    res = api_as("svc_east").post(
        "/decisions/next-best-action",
        {"customer_id": customer.pk, "context": {"channel": "call", "reason": "billing"}},
    )
    assert res.status_code == 200, res.content
    body = res.json()
    assert body["actions"][0]["key"] == f"offer:{offer.pk}"
    first = body["actions"][0]
    parts = first["parts"]
    assert first["score"] == pytest.approx(
        parts["propensity"] * parts["value"] * parts["priority_weight"] * parts["context_weight"]
    )
    assert len(first["reasons"]) == 4
    assert {d["key"] for d in body["dropped"]} == {"care:retention"}
    assert body["dropped"][0]["code"] == "not_eligible"


def test_api_hides_customers_outside_the_users_units(api_as, served):
    customer, _offer = served
    res = api_as("am_bj").post("/decisions/next-best-action", {"customer_id": customer.pk})
    assert res.status_code == 404
    assert res.json()["code"] == "not_found"
    res = api_as("am_bj").post(
        "/decisions/next-best-action/outcome",
        {"customer_id": customer.pk, "action": "care:follow_up", "result": "accepted"},
    )
    assert res.status_code == 404


def test_api_bad_context_is_a_clear_error(api_as, served):
    customer, _offer = served
    res = api_as("svc_east").post(
        "/decisions/next-best-action",
        {"customer_id": customer.pk, "context": {"channel": "telepathy"}},
    )
    assert res.status_code == 422
    assert res.json()["code"] == "validation_error" and "telepathy" in res.json()["message"]
    res = api_as("svc_east").post(
        "/decisions/next-best-action/outcome",
        {"customer_id": customer.pk, "action": "offer:999999", "result": "accepted"},
    )
    assert res.status_code == 404 and res.json()["code"] == "unknown_action"
    res = api_as("svc_east").post(
        "/decisions/next-best-action/outcome",
        {"customer_id": customer.pk, "action": "care:follow_up", "result": "maybe"},
    )
    assert res.status_code == 422


def test_api_outcome_records_updates_and_is_audited(api_as, served, org):
    customer, offer = served
    res = api_as("svc_east").post(
        "/decisions/next-best-action/outcome",
        {
            "customer_id": customer.pk,
            "action": f"offer:{offer.pk}",
            "result": "accepted",
            "context": {"channel": "call", "reason": "billing"},
        },
    )
    assert res.status_code == 201, res.content
    body = res.json()
    assert body["order_id"] and body["reservation_id"] and body["interaction_id"]
    assert body["unit_id"] == org.east.pk
    assert body["propensity"]["successes"] == 1 and body["propensity"]["failures"] == 0
    assert body["propensity_after"] > body["propensity_before"]
    assert AuditEvent.objects.filter(action="nba.outcome", customer_id=customer.pk).count() == 1

    # the propensities API shows the update: prior, successes, failures, posterior, updated
    res = api_as("analyst").get("/decisions/propensities", {"action": f"offer:{offer.pk}"})
    assert res.status_code == 200
    (row,) = res.json()
    assert row["segment"] == "unscored" and row["successes"] == 1
    assert row["prior_mean"] == pytest.approx(nba.DEFAULT_TAKE_UP)
    assert row["posterior_mean"] == pytest.approx(
        (row["prior_alpha"] + 1) / (row["prior_alpha"] + row["prior_beta"] + 1)
    )
    assert row["updated_at"]
    # and is for the roles of the value page
    assert api_as("svc_east").get("/decisions/propensities").status_code == 403


def test_api_refuses_an_offer_to_a_suppressed_customer(api_as, served):
    customer, offer = served
    suppression_set(
        actor=None, customer=customer, reason="open_complaint", source_type="ticket", source_id=3
    )
    res = api_as("svc_east").post(
        "/decisions/next-best-action/outcome",
        {"customer_id": customer.pk, "action": f"offer:{offer.pk}", "result": "accepted"},
    )
    assert res.status_code == 409 and res.json()["code"] == "suppressed"
    assert not NbaOutcome.objects.exists()


def test_the_customer_page_shows_the_panel_and_htmx_accepts(client, org, served):
    customer, offer = served
    client.force_login(org.users["svc_east"])
    page = client.get(f"/customers/{customer.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="nba"' in html and f'data-action-key="offer:{offer.pk}"' in html

    # the agent changes the context: the panel comes back for it
    part = client.get(
        f"/value/nba/{customer.pk}/",
        {"channel": "call", "reason": "complaint"},
        headers={"HX-Request": "true"},
    )
    assert part.status_code == 200 and 'id="nba"' in part.content.decode()
    assert "<html" not in part.content.decode()

    res = client.post(
        f"/value/nba/{customer.pk}/outcome/",
        {
            "action": f"offer:{offer.pk}",
            "result": "accepted",
            "channel": "call",
            "reason": "billing",
        },
        headers={"HX-Request": "true"},
    )
    assert res.status_code == 200
    assert 'id="nba-message"' in res.content.decode()
    assert Interaction.objects.filter(customer=customer, outcome="accepted").exists()
    assert Propensity.objects.get(action=f"offer:{offer.pk}").successes == 1


def test_the_ticket_page_shows_only_service_actions_for_a_complaint(client, org, served):
    customer, offer = served
    ticket = ticket_create(
        actor=org.users["svc_east"],
        customer=customer,
        kind="complaint",
        subject="投诉",
        complaint_class="offer_design",
    )
    client.force_login(org.users["svc_east"])
    html = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert 'id="nba"' in html
    assert 'data-kind="offer"' not in html
    assert 'data-kind="care"' in html
    assert f'data-action-key="offer:{offer.pk}" data-code="suppressed"' in html


def test_the_propensity_page(client, org, served):
    client.force_login(org.users["analyst"])
    assert client.get("/value/propensities/").status_code == 200
    client.force_login(org.users["svc_east"])
    assert client.get("/value/propensities/").status_code == 403


def test_the_panel_without_offers_shows_care_and_says_why(client, org):
    customer = customer_create(actor=org.users["am_hz"], name="周", unit=org.hz)
    client.force_login(org.users["am_hz"])
    html = client.get(f"/customers/{customer.pk}/").content.decode()
    assert 'id="nba-no-offers"' in html and 'data-action-key="care:follow_up"' in html


def test_api_answer_is_compact_unless_all_is_asked(api_as, served, org):
    # given a customer for whom many offers are dropped for different reasons
    customer, _offer = served
    product = ProductFactory(code="tv", name="IPTV", category="value_added", price=100)
    for i in range(8):
        offer_create(
            actor=org.users["cm"],
            code=f"rule-{i}",
            name=f"北京专享 {i}",
            product=product,
            benefit="credit",
            benefit_value=5,
            eligibility={
                "match": "all",
                "conditions": [{"field": "city", "op": "in", "value": ["北京"]}],
            },
        )
    api = api_as("svc_east")
    # when the agent asks for the next best action
    body = api.post("/decisions/next-best-action", {"customer_id": customer.pk}).json()
    # then the drops are counted per reason and only a few are detailed
    assert body["dropped_counts"] == {"not_eligible": 9}
    assert body["dropped_total"] == 9
    assert len(body["dropped"]) == 5
    assert all(d["reason"] for d in body["dropped"])
    # and with explain=all every dropped candidate comes with its reason
    full = api.post(
        "/decisions/next-best-action", {"customer_id": customer.pk, "explain": "all"}
    ).json()
    assert len(full["dropped"]) == 9
    assert {d["key"] for d in full["dropped"]} >= {"care:retention"}
    assert full["actions"] == body["actions"]
    bad = api.post("/decisions/next-best-action", {"customer_id": customer.pk, "explain": "some"})
    assert bad.status_code == 422 and bad.json()["field"] == "explain"


# --- the API's hot path (yiti.api.hot) ------------------------------------------------------


def _nba(client, body, **headers):
    return client.post(
        "/api/v1/decisions/next-best-action",
        json.dumps(body),
        content_type="application/json",
        headers=headers,
    )


def test_the_hot_path_answers_a_bearer_call_ahead_of_the_url_resolver(served, client):
    """With no URL route at all, a bearer call is still answered: by the hot path."""
    customer, offer = served
    _token, raw = token_create(user=served_user(customer), name="hot")
    with override_settings(ROOT_URLCONF="tests.no_urls"):
        hot = _nba(client, {"customer_id": customer.pk}, Authorization=f"Bearer {raw}")
    assert hot.status_code == 200, hot.content
    assert hot.json()["actions"][0]["key"] == f"offer:{offer.pk}"


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_hot_path_answers_as_the_operation_does(served, client, language):
    """The same customer and context give the same answer, headers included, whether the
    hot path (bearer) or the ninja operation (session) answers — in both languages."""
    customer, _offer = served
    user = served_user(customer)
    _token, raw = token_create(user=user, name="hot")
    body = {"customer_id": customer.pk, "context": {"channel": "counter", "reason": "billing"}}
    hot = _nba(client, body, Authorization=f"Bearer {raw}", Accept_Language=language)
    client.force_login(user)
    operation = _nba(client, body, Accept_Language=language)
    assert hot.status_code == operation.status_code == 200
    assert hot.json() == operation.json()
    for header in ("Content-Type", "Content-Language", "X-Content-Type-Options"):
        assert hot.headers[header] == operation.headers[header], header
    assert hot.headers["Vary"] == "Accept-Language"  # the session caller's adds Cookie
    reasons = " ".join(hot.json()["actions"][0]["reasons"])
    assert ("倾向" in reasons) == (language == "zh-hans"), reasons


def test_the_hot_path_leaves_errors_to_the_operation(served, client):
    """A wrong token, a body that does not validate and an unknown customer get the API's
    JSON errors, as from the operation."""
    customer, _offer = served
    _token, raw = token_create(user=served_user(customer), name="hot")
    bearer = f"Bearer {raw}"
    wrong = _nba(client, {"customer_id": customer.pk}, Authorization="Bearer yiti_nope")
    assert wrong.status_code == 401 and wrong.json()["code"] == "unauthenticated"
    missing = _nba(client, {"context": {"channel": "call"}}, Authorization=bearer)
    assert missing.status_code == 422 and missing.json()["field"] == "customer_id"
    unknown = _nba(client, {"customer_id": 987654321}, Authorization=bearer)
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"


def served_user(customer):
    """The East service agent, who may see the served Hangzhou customer."""
    from yiti.org.models import User

    return User.objects.get(username="svc_east")


def test_an_offer_is_explained_in_each_callers_language_one_after_the_other(served, client):
    """The sentences on an offer's value and priority are written once per catalogue and
    language: a Chinese caller after an English one still reads Chinese, and back."""
    customer, offer = served
    _token, raw = token_create(user=served_user(customer), name="hot")
    body = {"customer_id": customer.pk}
    answers = {}
    for language in ("en", "zh-hans", "en"):
        got = _nba(client, body, Authorization=f"Bearer {raw}", Accept_Language=language)
        action = got.json()["actions"][0]
        assert action["key"] == f"offer:{offer.pk}"
        value, priority = action["reasons"][1], action["reasons"][2]
        if language == "en":
            assert value.startswith("Value ") and priority.startswith("Priority "), action
        else:
            assert "价值" in value and "优先" in priority, action
        answers.setdefault(language, action["reasons"])
        assert answers[language] == action["reasons"]
