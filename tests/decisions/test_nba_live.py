"""The next best action while the customer is on the line, and care actions that make calls.

Quiet hours keep Yiti from disturbing a customer; they do not stop an agent from proposing an
offer to a customer who called in or stands at the counter. Caps, consent and suppressions
still apply. Accepting a follow-up or a retention call puts the call on the care queue.
"""

from __future__ import annotations

from datetime import time

import pytest
from django.utils import timezone

from tests.decisions.conftest import most_valuable_at_risk
from tests.factories import ProductFactory
from yiti.campaigns.services import offer_create
from yiti.care.models import CareTask
from yiti.core.models import AuditEvent
from yiti.customers.services import consent_record, customer_create
from yiti.decisions import selectors
from yiti.decisions.nba import Context
from yiti.decisions.outcomes import nba_outcome_record
from yiti.engagement.models import ContactPolicyRule, QuietHours
from yiti.engagement.services import interaction_record, suppression_set
from yiti.service.services import ticket_create


@pytest.fixture
def offer(org):
    product = ProductFactory(
        code="bb", name="宽带", category="broadband", price=1000, margin_rate="0.4000"
    )
    return offer_create(
        actor=org.users["cm"],
        code="bb-10",
        name="宽带九折",
        product=product,
        benefit="discount",
        benefit_value=10,
    )


@pytest.fixture
def customer(org):
    customer = customer_create(
        actor=org.users["am_hz"], name="李娜", unit=org.hz, owner=org.users["am_hz"]
    )
    for channel in ("call", "visit", "im"):
        consent_record(
            actor=org.users["am_hz"],
            customer=customer,
            channel=channel,
            purpose="marketing",
            granted=True,
        )
    return customer


@pytest.fixture
def quiet_all_day():
    # start == end: the whole day, every day, every channel
    return QuietHours.objects.create(
        name="全天免打扰", days=list(range(7)), start=time(0, 0), end=time(0, 0), channels=[]
    )


def _decide(org, customer, context: Context):
    return selectors.next_best_for(org.users["svc_east"], customer.pk, context)


def _codes(best) -> dict[int | None, str]:
    return {d.offer_id: d.code for d in best.dropped if d.kind == "offer"}


@pytest.mark.parametrize("channel", ["call", "counter", "im"])
def test_quiet_hours_do_not_block_an_offer_while_the_customer_is_on_the_line(
    org, offer, customer, quiet_all_day, channel
):
    # when the customer called in (is at the counter, in the chat) during quiet hours
    best = _decide(org, customer, Context(channel=channel, direction="in"))
    # then the offer is proposed, and the reason says why quiet hours did not apply
    action = next(a for a in best.actions if a.offer_id == offer.pk)
    assert "quiet hours do not apply" in action.reasons[-1]
    assert not best.marketing_blocked


def test_quiet_hours_still_block_an_outbound_proposal(org, offer, customer, quiet_all_day):
    best = _decide(org, customer, Context(channel="call", direction="out"))
    assert _codes(best)[offer.pk] == "quiet_hours"
    assert "Quiet hours" in best.marketing_blocked
    # and an e-mail exchange is no live conversation: quiet hours apply to it
    consent_record(
        actor=None, customer=customer, channel="email", purpose="marketing", granted=True
    )
    by_email = _decide(org, customer, Context(channel="email", direction="in"))
    assert _codes(by_email)[offer.pk] == "quiet_hours"


def test_on_the_line_consent_caps_and_suppressions_still_apply(org, offer, customer, quiet_all_day):
    live = Context(channel="call", direction="in")
    # the customer withdrew his marketing consent in the chat
    consent_record(actor=None, customer=customer, channel="im", purpose="marketing", granted=False)
    assert _codes(_decide(org, customer, Context(channel="im")))[offer.pk] == "consent"
    # a cap: marketing at most once a week, already used today
    ContactPolicyRule.objects.create(
        name="marketing once a week",
        purposes=["marketing"],
        channels=[],
        max_contacts=1,
        window_days=7,
    )
    interaction_record(
        actor=None,
        customer=customer,
        channel="sms",
        direction="out",
        purpose="marketing",
        subject="promo",
        occurred_at=timezone.now(),
        check_access=False,
    )
    assert _codes(_decide(org, customer, live))[offer.pk] == "policy_cap"
    ContactPolicyRule.objects.all().delete()
    assert offer.pk not in _codes(_decide(org, customer, live))
    # an open complaint: service and care actions only
    suppression_set(
        actor=None, customer=customer, reason="open_complaint", source_type="ticket", source_id=1
    )
    best = _decide(org, customer, live)
    assert _codes(best)[offer.pk] == "suppressed"
    assert [a.kind for a in best.actions] == ["care"]


def test_the_api_takes_the_direction_and_refuses_a_bad_one(api_as, offer, customer, quiet_all_day):
    api = api_as("svc_east")
    live = api.post(
        "/decisions/next-best-action",
        {"customer_id": customer.pk, "context": {"channel": "counter"}},
    )
    assert live.status_code == 200
    assert live.json()["context"]["direction"] == "in"
    assert f"offer:{offer.pk}" in [a["key"] for a in live.json()["actions"]]
    outbound = api.post(
        "/decisions/next-best-action",
        {"customer_id": customer.pk, "context": {"channel": "call", "direction": "out"}},
    )
    # outbound, the offer and the follow-up call wait for the end of the quiet hours
    assert outbound.json()["dropped_counts"] == {"quiet_hours": 2, "not_eligible": 1}
    bad = api.post(
        "/decisions/next-best-action",
        {"customer_id": customer.pk, "context": {"direction": "sideways"}},
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "direction"


# --- accepting a care action makes the care call ---------------------------------------------


def test_accepting_a_follow_up_puts_a_call_on_the_care_queue(org, customer):
    agent = org.users["svc_east"]
    ticket = ticket_create(
        actor=agent, customer=customer, kind="repair", channel="phone", subject="断网"
    )
    context = Context(channel="call", reason="repair", ticket_id=ticket.pk)
    recorded = nba_outcome_record(
        actor=agent, customer=customer, action="care:follow_up", result="accepted", context=context
    )
    task = CareTask.objects.get(customer=customer)
    assert recorded.outcome.care_task_id == task.pk
    assert task.kind == "first" and task.status == "open" and task.ticket_id == ticket.pk
    assert task.rule.trigger == "agent_request"
    # the East care agent works the Hangzhou customer's calls
    assert task.assignee == org.users["care_east"]
    assert task.due_at > timezone.now()
    assert AuditEvent.objects.filter(action="care.task_request", object_id=str(task.pk)).exists()
    # accepting again while the call is open makes no second call
    again = nba_outcome_record(
        actor=agent, customer=customer, action="care:follow_up", result="accepted", context=context
    )
    assert again.outcome.care_task_id == task.pk
    assert CareTask.objects.filter(customer=customer).count() == 1


def test_a_follow_up_without_a_ticket_and_a_declined_one(org, customer):
    agent = org.users["svc_east"]
    nba_outcome_record(
        actor=agent,
        customer=customer,
        action="care:follow_up",
        result="declined",
        context=Context(),
    )
    assert not CareTask.objects.filter(customer=customer).exists()
    nba_outcome_record(
        actor=agent,
        customer=customer,
        action="care:follow_up",
        result="accepted",
        context=Context(),
    )
    task = CareTask.objects.get(customer=customer)
    assert task.ticket_id is None and task.order_id is None and task.kind == "first"
    nba_outcome_record(
        actor=agent,
        customer=customer,
        action="care:follow_up",
        result="accepted",
        context=Context(),
    )
    assert CareTask.objects.filter(customer=customer).count() == 1


def test_accepting_a_retention_call_assigns_it_to_the_account_manager(org, customer):
    most_valuable_at_risk(customer)  # clv 5000, churn risk 0.7
    recorded = nba_outcome_record(
        actor=org.users["svc_east"],
        customer=customer,
        action="care:retention",
        result="accepted",
        context=Context(),
    )
    task = CareTask.objects.get(customer=customer)
    assert recorded.outcome.care_task_id == task.pk
    assert task.kind == "retention" and task.rule.trigger == "value_at_risk"
    assert task.assignee == org.users["am_hz"]


def test_the_api_answers_the_care_task_of_an_accepted_follow_up(api_as, customer):
    res = api_as("svc_east").post(
        "/decisions/next-best-action/outcome",
        {"customer_id": customer.pk, "action": "care:follow_up", "result": "accepted"},
    )
    assert res.status_code == 201, res.content
    assert res.json()["care_task_id"] == CareTask.objects.get(customer=customer).pk


def test_an_offer_and_a_care_call_do_not_compete_for_the_room_of_a_cap(org, offer, customer):
    # given a cap of two contacts a week over every purpose, one of them already used
    ContactPolicyRule.objects.create(name="two a week", max_contacts=2, window_days=7)

    def service_sms() -> None:
        interaction_record(
            actor=None,
            customer=customer,
            channel="sms",
            direction="out",
            purpose="service",
            occurred_at=timezone.now(),
            check_access=False,
        )

    service_sms()
    # then the one contact left allows the offer and the follow-up alike (either may be made)
    best = _decide(org, customer, Context(channel="call", direction="out"))
    assert {a.key for a in best.actions} == {f"offer:{offer.pk}", "care:follow_up"}
    # and once it is used too, both are dropped for the cap
    service_sms()
    capped = _decide(org, customer, Context(channel="call", direction="out"))
    assert not capped.actions
    assert {d.code for d in capped.dropped if d.key != "care:retention"} == {"policy_cap"}


def test_the_panel_lets_the_agent_say_who_made_contact(org, offer, customer, quiet_all_day, client):
    client.force_login(org.users["svc_east"])
    url = f"/value/nba/{customer.pk}/"
    live = client.get(url, {"channel": "call", "reason": "general", "direction": "in"})
    assert live.status_code == 200
    html = live.content.decode()
    assert 'name="direction"' in html and "The customer came to us" in html
    assert f'class="nba-action" data-action-key="offer:{offer.pk}"' in html
    outbound = client.get(url, {"channel": "call", "reason": "general", "direction": "out"})
    html = outbound.content.decode()
    assert "Quiet hours of the contact policy." in html
    assert f'class="nba-action" data-action-key="offer:{offer.pk}"' not in html
    assert f'class="nba-drop" data-action-key="offer:{offer.pk}" data-code="quiet_hours"' in html
