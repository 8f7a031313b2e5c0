"""The agent's call list in the pages: only his calls, best expected value first, the offer's
terms and FAQ, the phone masked until revealed (audited), the outcome recorded through the page
(the call shows its new state), account managers' visits in the same list, and a query count
that does not grow with the calls."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.campaigns.conftest import at_ten, consent, launched, sign_all
from yiti.campaigns import services
from yiti.campaigns.choices import CallOutcome, DeliveryStatus, WaveStatus
from yiti.campaigns.models import Delivery, OfferReservation
from yiti.campaigns.outcomes import delivery_work
from yiti.campaigns.planning import wave_plan
from yiti.campaigns.sending import wave_start
from yiti.core.models import AuditEvent
from yiti.customers.models import CustomerValue
from yiti.customers.services import ContactInput, customer_create
from yiti.org.services import membership_grant, user_create

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def html(response) -> str:
    return response.content.decode()


def valued(world) -> None:
    for i, customer in enumerate(world.customers):
        consent(customer, "call")
        consent(customer, "visit")
        CustomerValue.objects.create(
            customer=customer,
            tier="mvc" if i < 2 else "standard",
            clv=5000.0 if i < 2 else 100.0 * (i + 1),
            expected_purchases=1,
            p_alive=0.9,
            churn_risk=0.1,
            cost_to_serve=0,
            net_value=1,
            fit_id=1,
            computed_at=timezone.now(),
        )


def add_call_wave(campaign, cm, *, hours_later: int = 0, agents: int = 1):
    """An outbound call wave five days from now, 10:00 to 18:00 (plus ``hours_later``)."""
    start = at_ten(5) + timedelta(hours=hours_later)
    return services.wave_create(
        actor=cm,
        campaign=campaign,
        name="外呼",
        kind="call",
        scheduled_at=start,
        ends_at=start + timedelta(hours=8),
        agents=agents,
        hours=4,
        calls_per_agent_hour=10,
    )


def call_wave(world, make_campaign, *, agents: int = 2):
    """A running campaign whose call wave (wave 2) is open, split between svc_east and svc_east2."""
    org, cm = world.org, world.org.users["cm"]
    second = user_create(username="svc_east2", password="pw-Secret-123", display_name="svc_east2")
    membership_grant(user=second, unit=org.east, role="service_agent")
    org.users["svc_east2"] = second
    valued(world)
    campaign = make_campaign()
    wave = add_call_wave(campaign, cm, agents=agents)
    launched(campaign, org)
    wave_plan(actor=cm, wave=wave)
    wave_start(wave=wave)
    return campaign, wave


def call_ids(page: str) -> list[int]:
    return [
        int(x) for x in re.findall(r'<article class="card call-card[^"]*" id="call-(\d+)"', page)
    ]


def test_the_call_list_shows_only_the_agents_own_calls_best_first(world, make_campaign, as_user):
    _campaign, wave = call_wave(world, make_campaign)
    mine = list(
        Delivery.objects.filter(wave=wave, assignee=world.org.users["svc_east"]).order_by("rank")
    )
    assert (
        mine and Delivery.objects.filter(wave=wave, assignee=world.org.users["svc_east2"]).exists()
    )

    page = html(as_user("svc_east").get("/campaigns/calls/"))

    assert call_ids(page) == [d.pk for d in mine]
    ranks = [int(r) for r in re.findall(r'<div class="call-rank"[^>]*>(\d+)</div>', page)]
    assert ranks == sorted(ranks)
    first = mine[0]
    card = page[page.index(f'id="call-{first.pk}"') :]
    card = card[: card.index("</article>")]
    assert first.customer.name in card and first.customer.unit.name in card
    assert "宽带送路由器" in card and "办理宽带300M包年即送千兆路由器一台。" in card
    assert "开通后7日内上门安装" in card  # the FAQ
    assert first.customer.primary_phone not in card
    assert f"{first.customer.primary_phone[:3]}****{first.customer.primary_phone[-4:]}" in card


def test_an_agent_without_calls_sees_an_explained_empty_list(world, as_user):
    page = html(as_user("care_east").get("/campaigns/calls/"))
    assert "No calls to make now." in page


def test_the_phone_is_revealed_on_demand_and_audited(world, make_campaign, as_user):
    _campaign, wave = call_wave(world, make_campaign)
    delivery = Delivery.objects.filter(wave=wave, assignee=world.org.users["svc_east"]).first()

    response = as_user("svc_east").post(f"/campaigns/calls/{delivery.pk}/reveal/", **HTMX)

    assert response.status_code == 200
    card = html(response)
    assert card.lstrip().startswith(f'<article class="card call-card" id="call-{delivery.pk}"')
    assert f'data-phone="full">{delivery.customer.primary_phone}<' in card
    assert AuditEvent.objects.filter(
        action="pii.reveal", customer_id=delivery.customer_id, actor=world.org.users["svc_east"]
    ).exists()


def test_recording_outcomes_through_the_page(world, make_campaign, as_user):
    _campaign, wave = call_wave(world, make_campaign)
    calls = list(
        Delivery.objects.filter(wave=wave, assignee=world.org.users["svc_east"]).order_by("rank")
    )
    client = as_user("svc_east")
    first, second = calls[0], calls[1]

    no_answer = client.post(
        f"/campaigns/calls/{second.pk}/outcome/", {f"call-{second.pk}-outcome": "no_answer"}, **HTMX
    )
    card = html(no_answer)
    assert 'data-status="planned"' in card and "1 attempt" in card  # still open, tried once
    assert 'data-action="record"' in card

    accepted = client.post(
        f"/campaigns/calls/{first.pk}/outcome/",
        {f"call-{first.pk}-outcome": "accepted", f"call-{first.pk}-note": "客户同意办理"},
        **HTMX,
    )
    assert accepted.status_code == 200
    card = html(accepted)
    assert 'data-status="done"' in card and "Accepted the offer" in card and "客户同意办理" in card
    assert 'data-action="record"' not in card
    first.refresh_from_db()
    assert (first.status, first.outcome, first.response) == (
        DeliveryStatus.DONE,
        "accepted",
        "accepted",
    )
    assert first.order is not None and first.converted_at is not None
    assert OfferReservation.objects.filter(delivery=first, status="reserved").exists()
    # the worked call leaves the list
    assert first.pk not in call_ids(html(client.get("/campaigns/calls/")))
    assert second.pk in call_ids(html(client.get("/campaigns/calls/")))


def test_an_outcome_must_be_chosen(world, make_campaign, as_user):
    _campaign, wave = call_wave(world, make_campaign)
    delivery = Delivery.objects.filter(wave=wave, assignee=world.org.users["svc_east"]).first()

    response = as_user("svc_east").post(f"/campaigns/calls/{delivery.pk}/outcome/", {}, **HTMX)

    assert response.status_code == 422
    assert "This field is required." in html(response)
    delivery.refresh_from_db()
    assert delivery.attempts == 0


def test_others_cannot_work_the_call(world, make_campaign, as_user):
    _campaign, wave = call_wave(world, make_campaign)
    delivery = Delivery.objects.filter(wave=wave, assignee=world.org.users["svc_east"]).first()
    data = {f"call-{delivery.pk}-outcome": "declined"}

    # Beijing's account manager does not even see the customer
    assert (
        as_user("am_bj").post(f"/campaigns/calls/{delivery.pk}/outcome/", data).status_code == 404
    )
    # the care agent sees him but does not work service calls
    refused = as_user("care_east").post(f"/campaigns/calls/{delivery.pk}/outcome/", data, **HTMX)
    assert refused.status_code == 403
    # the campaign manager plans calls but does not make them
    assert as_user("cm").post(f"/campaigns/calls/{delivery.pk}/outcome/", data).status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PLANNED and delivery.attempts == 0


def test_account_managers_visits_appear_in_their_list(world, make_campaign, as_user):
    org, cm = world.org, world.org.users["cm"]
    campaign, calls = call_wave(world, make_campaign, agents=1)
    follow = services.wave_create(
        actor=cm,
        campaign=campaign,
        name="跟进：客户经理上门",
        kind="follow_up",
        scheduled_at=at_ten(7),
        source="not_reached",
        source_wave=calls,
        channels=["sms"],
        message="{name}您好，未能联系上您……",
        visit_min_value=1000,
    )
    for d in Delivery.objects.filter(wave=calls, status="planned"):
        worker = d.assignee
        for _attempt in range(3):
            delivery_work(actor=worker, delivery=d, outcome=CallOutcome.NO_ANSWER)
    calls.refresh_from_db()
    calls.status = WaveStatus.DONE
    calls.save()
    wave_plan(actor=cm, wave=follow)
    wave_start(wave=follow)
    visits = list(Delivery.objects.filter(wave=follow, channel="visit", status="planned"))
    assert visits and all(v.assignee == org.users["am_hz"] for v in visits)

    page = html(as_user("am_hz").get("/campaigns/calls/"))

    assert sorted(call_ids(page)) == sorted(v.pk for v in visits)
    assert "Account-manager visit" in page


def test_the_call_list_costs_the_same_queries_for_few_or_many_calls(world, make_campaign, as_user):
    org, cm = world.org, world.org.users["cm"]
    call_wave(world, make_campaign, agents=1)
    client = as_user("svc_east")
    client.get("/campaigns/calls/")
    with CaptureQueriesContext(connection) as few:
        page = html(client.get("/campaigns/calls/"))
    n_few = len(call_ids(page))
    assert n_few == 4  # half of the eight, the other agent has the rest

    for i in range(12):
        customer = customer_create(
            actor=None,
            name=f"新客户{i}",
            unit=org.nb,
            contacts=[ContactInput("phone", f"1390574{i:04d}", primary=True)],
        )
        consent(customer, "call")
    other = make_campaign("bb-more", offers=[world.discount_offer])
    more = add_call_wave(other, cm, hours_later=1)
    launched(other, org)
    wave_plan(actor=cm, wave=more)
    wave_start(wave=more)
    with CaptureQueriesContext(connection) as many:
        page = html(client.get("/campaigns/calls/"))
    assert len(call_ids(page)) == n_few + 10  # and half of the twenty of another campaign

    assert len(many.captured_queries) == len(few.captured_queries)


def test_calls_no_agent_holds_are_in_the_team_list_of_the_territory(world, make_campaign, as_user):
    org, cm = world.org, world.org.users["cm"]
    beijing = []
    for i in range(2):
        customer = customer_create(
            actor=None,
            name=f"北京客户{i}",
            unit=org.bj,
            contacts=[ContactInput("phone", f"1391000{i:04d}", primary=True)],
        )
        consent(customer, "call")
        beijing.append(customer)
    campaign = make_campaign(units=[org.north])
    wave = add_call_wave(campaign, cm)
    services.campaign_submit(actor=cm, campaign=campaign)
    training = campaign.checklist.get(kind="training")
    services.checklist_sign(actor=org.users["rm_north"], item=training)
    sign_all(campaign, org)
    services.campaign_launch(actor=cm, campaign=campaign)
    wave_plan(actor=cm, wave=wave)
    wave_start(wave=wave)
    calls = list(Delivery.objects.filter(wave=wave, status="planned"))
    assert len(calls) == 2 and all(
        d.assignee is None for d in calls
    )  # no service agent in the North
    client = as_user("rm_north")

    assert call_ids(html(client.get("/campaigns/calls/"))) == []
    team = html(client.get("/campaigns/calls/", {"scope": "team"}))
    assert sorted(call_ids(team)) == sorted(d.pk for d in calls)
    assert call_ids(html(as_user("rm_east").get("/campaigns/calls/", {"scope": "team"}))) == []
    worked = client.post(
        f"/campaigns/calls/{calls[0].pk}/outcome/",
        {f"call-{calls[0].pk}-outcome": "declined"},
        **HTMX,
    )
    assert worked.status_code == 200 and 'data-status="done"' in html(worked)


@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("svc_east", 200),
        ("am_hz", 200),
        ("rm_east", 200),
        ("care_east", 200),
        ("cm", 403),
        ("analyst", 403),
        ("fin", 403),
    ],
)
def test_the_call_list_is_for_roles_that_work_calls(world, as_user, username, status):
    client = as_user(username)
    assert client.get("/campaigns/calls/").status_code == status
    assert ('id="nav-calls"' in html(client.get("/customers/"))) == (status == 200)
