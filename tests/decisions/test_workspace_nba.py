"""The agent's next best action card (issue 14 item 1): three actions with a plain reason and
an expected value, the arithmetic behind "why"; eligibility by customer kind and value tier as
data; accept → order form → summary → confirm (once per token); undo within the configured
time with a reason, which cancels the order, releases the gift and sets the propensity back."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import ProductFactory
from yiti.campaigns.models import Offer, OfferReservation
from yiti.campaigns.services import offer_create
from yiti.core.errors import Conflict, PermissionDenied, ValidationFailed
from yiti.core.models import AuditEvent
from yiti.customers.models import CustomerValue, Order
from yiti.customers.services import consent_record, customer_create
from yiti.decisions import selectors
from yiti.decisions.models import NbaOutcome, Propensity, ValueSettings
from yiti.decisions.nba import Context
from yiti.decisions.nba import caches_clear as nba_caches_clear
from yiti.decisions.outcomes import nba_outcome_record, nba_outcome_undo
from yiti.service.choices import TicketKind, TicketStatus
from yiti.service.models import Ticket

CALL = Context(channel="call", reason="general")


def _product(code: str, price: int, category: str = "broadband"):  # type: ignore[no-untyped-def]
    return ProductFactory(
        code=code, name=f"P {code}", category=category, price=price, margin_rate="0.4000"
    )


@pytest.fixture
def offers(org):
    cm = org.users["cm"]
    made = {
        "discount": offer_create(
            actor=cm,
            code="bb-10",
            name="Broadband 10% off",
            product=_product("bb", 1000),
            benefit="discount",
            benefit_value=10,
        ),
        "gift": offer_create(
            actor=cm,
            code="plan-gift",
            name="Plan with earbuds",
            product=_product("plan", 800, "mobile_plan"),
            benefit="gift",
            benefit_value=100,
            gift_name="Earbuds",
            stock_total=5,
        ),
        "credit": offer_create(
            actor=cm,
            code="cloud-credit",
            name="Cloud with credit",
            product=_product("cloud", 600, "value_added"),
            benefit="credit",
            benefit_value=20,
        ),
        "enterprise": offer_create(
            actor=cm,
            code="line-5",
            name="Leased line 5% off",
            product=_product("line", 5000),
            benefit="discount",
            benefit_value=5,
            eligibility={
                "match": "all",
                "conditions": [{"field": "kind", "op": "in", "value": ["organisation"]}],
            },
        ),
    }
    return made


def _customer(org, *, kind: str = "person", tier: str | None = None):  # type: ignore[no-untyped-def]
    customer = customer_create(
        actor=None, name="李娜", kind=kind, unit=org.hz, owner=org.users["am_hz"]
    )
    consent_record(
        actor=None,
        customer=customer,
        channel="call",
        purpose="marketing",
        granted=True,
        check_access=False,
    )
    if tier is not None:
        CustomerValue.objects.create(
            customer=customer,
            tier=tier,
            clv=-50 if tier == "bz" else 800,
            expected_purchases=1,
            p_alive=0.5,
            churn_risk=0.2,
            cost_to_serve=100,
            net_value=-150 if tier == "bz" else 700,
            fit_id=1,
            computed_at=timezone.now(),
        )
    return customer


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_the_card_shows_three_actions_each_with_a_plain_reason_and_expected_value(org, offers):
    customer = _customer(org, tier="standard")
    page = _client(org.users["svc_east"]).get(f"/customers/{customer.pk}/").content.decode()
    card = page[page.index('id="nba"') : page.index("</section>", page.index('id="nba"'))]
    # three actions, not five
    assert card.count('class="nba-action"') == 3
    assert card.count("data-expected=") == 3
    # the plain line speaks of what the customer gets, the arithmetic waits behind "Why?"
    assert "instead of ¥1,000" in card  # the 10% discount: ¥900 instead of ¥1,000
    assert card.count("<summary") >= 3 and "Why?" in card
    why = card[card.index('class="nba-why-body') :]
    assert "Score" in why and "×" in why


def test_a_person_is_not_offered_an_organisations_offer(org, offers):
    person = _customer(org, tier="standard")
    best = selectors.next_best_for(org.users["svc_east"], person.pk, CALL, top=100)
    keys = {a.key for a in best.actions}
    assert f"offer:{offers['enterprise'].pk}" not in keys
    assert any(
        d.key == f"offer:{offers['enterprise'].pk}" and d.code == "not_eligible"
        for d in best.dropped
    )
    company = _customer(org, kind="organisation", tier="standard")
    best = selectors.next_best_for(org.users["svc_east"], company.pk, CALL, top=100)
    assert f"offer:{offers['enterprise'].pk}" in {a.key for a in best.actions}


def test_a_below_zero_customer_gets_care_actions_only_as_the_settings_say(org, offers):
    customer = _customer(org, tier="bz")
    best = selectors.next_best_for(org.users["svc_east"], customer.pk, CALL, top=100)
    assert best.actions and all(a.kind == "care" for a in best.actions)
    drop = next(d for d in best.dropped if d.key == f"offer:{offers['discount'].pk}")
    assert drop.code == "not_eligible" and "tier" in drop.reason
    # the rule is data: with no tier excluded, the offers come back
    ValueSettings.objects.update_or_create(pk=1, defaults={"no_offer_tiers": []})
    best = selectors.next_best_for(org.users["svc_east"], customer.pk, CALL, top=100)
    assert any(a.kind == "offer" for a in best.actions)


def _accept_via_web(client: Client, customer, offer, **fields):  # type: ignore[no-untyped-def]
    base = {"action": f"offer:{offer.pk}", "channel": "call", "reason": "general"}
    form = client.get(f"/value/nba/{customer.pk}/accept/", base)
    assert form.status_code == 200
    review = client.post(
        f"/value/nba/{customer.pk}/accept/",
        {**base, "step": "review", "quantity": "2", "sales_channel": "call_centre", **fields},
    )
    assert review.status_code == 200, review.content.decode()[:2000]
    body = review.content.decode()
    token = re.search(r'name="token" value="([0-9a-f]{32})"', body)
    assert token is not None
    return base, body, token.group(1)


def test_accepting_opens_the_order_form_and_confirms_once(org, offers):
    customer = _customer(org, tier="standard")
    agent = org.users["svc_east"]
    client = _client(agent)
    offer = offers["gift"]
    base, summary, token = _accept_via_web(client, customer, offer)
    # the summary shows what will be recorded; nothing is written yet
    assert "¥1,600.00" in summary and "Earbuds" in summary
    assert not Order.objects.exists() and not NbaOutcome.objects.exists()
    confirm = {
        **base,
        "step": "confirm",
        "quantity": "2",
        "amount": "",
        "sales_channel": "call_centre",
        "note": "",
        "token": token,
    }
    response = client.post(f"/value/nba/{customer.pk}/accept/", confirm)
    assert response.status_code == 302 and response["Location"].endswith(
        f"/customers/{customer.pk}/#nba"
    )
    # a double click confirms nothing more
    client.post(f"/value/nba/{customer.pk}/accept/", confirm)
    order = Order.objects.get(customer=customer)
    assert (order.quantity, order.amount, order.sold_by) == (2, Decimal("1600.00"), agent)
    assert NbaOutcome.objects.filter(result="accepted").count() == 1
    assert OfferReservation.objects.filter(offer=offer, status="reserved").count() == 1
    assert Ticket.objects.filter(order=order, kind=TicketKind.ORDER_PROCESSING).count() == 1
    # the card offers to undo it, until the configured time
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert 'class="nba-undo"' in page and "Undo the acceptance" in page


def test_undo_in_time_cancels_the_order_releases_the_gift_and_is_audited(org, offers):
    customer = _customer(org, tier="standard")
    agent = org.users["svc_east"]
    offer = offers["gift"]
    recorded = nba_outcome_record(
        actor=agent, customer=customer, action=f"offer:{offer.pk}", result="accepted", context=CALL
    )
    successes = Propensity.objects.get(action=f"offer:{offer.pk}").successes
    response = _client(agent).post(
        f"/value/nba/undo/{recorded.outcome.pk}/", {"reason": "客户改主意了"}
    )
    assert response.status_code == 302
    outcome = NbaOutcome.objects.get(pk=recorded.outcome.pk)
    assert outcome.undone_at is not None and outcome.undo_reason == "客户改主意了"
    assert outcome.undone_by == agent
    order = Order.objects.get(pk=outcome.order_id)
    assert order.status == "cancelled"
    ticket = Ticket.objects.get(order=order)
    assert ticket.status == TicketStatus.RESOLVED and "客户改主意了" in ticket.resolution
    assert Offer.objects.get(pk=offer.pk).stock_reserved == 0
    assert OfferReservation.objects.get(pk=outcome.reservation_id).status == "released"
    assert Propensity.objects.get(action=f"offer:{offer.pk}").successes == successes - 1
    actions = set(
        AuditEvent.objects.filter(customer_id=customer.pk).values_list("action", flat=True)
    )
    assert {"nba.undo", "order.status", "offer.release"} <= actions
    # and it cannot be undone twice
    with pytest.raises(Conflict):
        nba_outcome_undo(actor=agent, outcome=outcome, reason="again")


def test_undo_needs_a_reason_the_same_agent_and_time(org, offers):
    customer = _customer(org, tier="standard")
    agent = org.users["svc_east"]
    recorded = nba_outcome_record(
        actor=agent,
        customer=customer,
        action=f"offer:{offers['discount'].pk}",
        result="accepted",
        context=CALL,
    )
    outcome = recorded.outcome
    with pytest.raises(ValidationFailed):
        nba_outcome_undo(actor=agent, outcome=outcome, reason="  ")
    with pytest.raises(PermissionDenied):
        nba_outcome_undo(actor=org.users["am_hz"], outcome=outcome, reason="not mine")
    ValueSettings.objects.update_or_create(pk=1, defaults={"undo_minutes": 10})
    now = timezone.now()
    NbaOutcome.objects.filter(pk=outcome.pk).update(created_at=now - timedelta(minutes=11))
    outcome.refresh_from_db()
    with pytest.raises(Conflict) as exc:
        nba_outcome_undo(actor=agent, outcome=outcome, reason="too late", now=now)
    assert exc.value.code == "undo_expired"
    assert Order.objects.get(pk=outcome.order_id).status != "cancelled"
    # within the time it works
    NbaOutcome.objects.filter(pk=outcome.pk).update(created_at=now - timedelta(minutes=8))
    outcome.refresh_from_db()
    nba_outcome_undo(actor=agent, outcome=outcome, reason="wrong customer", now=now)
    assert Order.objects.get(pk=outcome.order_id).status == "cancelled"


def test_the_api_answers_the_plain_line_and_expected_value_too(org, offers, api_as):
    customer = _customer(org, tier="standard")
    response = api_as("svc_east").post(
        "/decisions/next-best-action",
        {"customer_id": customer.pk, "context": {"channel": "call", "reason": "general"}},
    )
    assert response.status_code == 200, response.json()
    first = response.json()["actions"][0]
    assert first["summary"] and first["expected_value"] == pytest.approx(
        first["parts"]["propensity"] * first["parts"]["value"]
    )


def test_a_gift_gone_while_confirming_is_said_and_nothing_is_sold(org, offers):
    customer = _customer(org, tier="standard")
    client = _client(org.users["svc_east"])
    offer = offers["gift"]
    base, _summary, token = _accept_via_web(client, customer, offer)
    Offer.objects.filter(pk=offer.pk).update(stock_reserved=offer.stock_total)
    nba_caches_clear()
    response = client.post(
        f"/value/nba/{customer.pk}/accept/",
        {
            **base,
            "step": "confirm",
            "quantity": "2",
            "sales_channel": "call_centre",
            "token": token,
        },
    )
    # the page says why (no gift left), and nothing is recorded
    assert response.status_code == 409 and "Earbuds" in response.content.decode()
    assert not Order.objects.exists() and not NbaOutcome.objects.exists()
