"""Planning a wave: every customer of the audience planned or excluded with its reason, the
contact policy across campaigns, arbitration that displaces a lower-ranked campaign's planned
contact, call lists sized by capacity and split among agents, follow-ups of an outcome."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.campaigns.conftest import at_ten, consent, first_wave, sign_all
from yiti.campaigns import exclusions, services
from yiti.campaigns.choices import CallOutcome, DeliveryStatus, WaveStatus
from yiti.campaigns.exclusions import decisions
from yiti.campaigns.models import Delivery, PlanExclusion
from yiti.campaigns.planning import wave_plan
from yiti.core.errors import ValidationFailed
from yiti.customers.models import CustomerValue
from yiti.customers.services import ContactInput, customer_create
from yiti.engagement.models import ContactPolicyRule, Interaction, QuietHours
from yiti.engagement.services import suppression_set

pytestmark = pytest.mark.django_db


def submitted(make_campaign, world, **kwargs):
    campaign = make_campaign(**kwargs)
    services.campaign_submit(actor=world.org.users["cm"], campaign=campaign)
    return campaign


def reasons(wave) -> dict[int, str]:
    return decisions(wave.pk)


def test_a_dry_run_counts_everything_and_writes_nothing(world, make_campaign):
    campaign = make_campaign()  # a draft can be dry-run

    result = wave_plan(actor=world.org.users["cm"], wave=first_wave(campaign), dry_run=True)

    assert result.audience == 8
    assert result.planned == 5
    assert result.excluded == {"opted_out": 3}
    assert result.channels == {"email": 5}
    assert result.as_dict()["outcomes"] == {"planned": 5, "excluded": 3}
    assert not Delivery.objects.exists()


def test_a_plan_writes_one_delivery_per_customer_with_its_reason(world, make_campaign):
    campaign = submitted(make_campaign, world)
    wave = first_wave(campaign)

    result = wave_plan(actor=world.org.users["cm"], wave=wave)

    rows = list(Delivery.objects.filter(wave=wave).order_by("customer_id"))
    planned = [d for d in rows if d.status == DeliveryStatus.PLANNED]
    assert planned == rows  # the final exclusions are packed, not delivery rows
    assert [d.customer.name for d in planned] == [f"客户{i}" for i in range(5)]
    assert all(d.channel == "email" for d in planned)
    decided = reasons(wave)
    assert len(decided) == 8
    assert {r for r in decided.values() if r} == {"opted_out"}
    packed = PlanExclusion.objects.get(wave=wave)
    assert (packed.reason, packed.count) == ("opted_out", 3)
    assert sorted(exclusions.unpack(packed).tolist()) == sorted(
        c for c, r in decided.items() if r == "opted_out"
    )
    wave.refresh_from_db()
    assert wave.status == WaveStatus.PLANNED and wave.plan_summary["audience"] == 8
    assert result.planned == 5
    # planning again replaces the plan, it does not add to it
    wave_plan(actor=world.org.users["cm"], wave=wave)
    assert Delivery.objects.filter(wave=wave).count() == 5
    assert PlanExclusion.objects.get(wave=wave).count == 3
    assert reasons(wave) == decided


def test_the_first_consented_reachable_channel_is_chosen(world, make_campaign):
    c5 = world.customers[5]
    consent(c5, "sms")  # SMS only
    no_mail = customer_create(
        actor=None,
        name="无邮箱",
        unit=world.org.hz,
        contacts=[ContactInput("phone", "13905719999")],
    )
    consent(no_mail, "email")  # consents to e-mail but has no address
    nothing = customer_create(actor=None, name="无联系方式", unit=world.org.hz)
    campaign = make_campaign(channels=["email", "sms"])

    result = wave_plan(actor=world.org.users["cm"], wave=first_wave(campaign), dry_run=True)

    assert result.channels == {"email": 5, "sms": 1}
    assert result.excluded["no_contact_point"] == 1  # ``nothing``
    assert result.excluded["opted_out"] == 3  # c6, c7 and no_mail (SMS reachable, no consent)
    del nothing


def test_policy_reasons_suppression_cap_quiet_hours_and_eligibility(world, make_campaign):
    org = world.org
    c = world.customers
    suppression_set(
        actor=None, customer=c[0], reason="open_complaint", source_type="ticket", source_id=1
    )
    ContactPolicyRule.objects.create(
        name="每周两次营销", max_contacts=2, window_days=7, purposes=["marketing"]
    )
    for hours_ago in (1, 20):
        Interaction.objects.create(
            customer=c[1],
            occurred_at=timezone.now() - timedelta(hours=hours_ago),
            channel="sms",
            direction="out",
            purpose="marketing",
        )
    services.offer_update(
        actor=org.users["cm"],
        offer=world.gift_offer,
        eligibility={"conditions": [{"field": "unit", "op": "in", "value": [str(org.hz.pk)]}]},
    )
    consent(c[6], "email")  # Ningbo: consents, but the offer is for Hangzhou only
    campaign = make_campaign()
    wave = first_wave(campaign)
    services.wave_update(actor=org.users["cm"], wave=wave, offer=world.gift_offer)

    result = wave_plan(actor=org.users["cm"], wave=wave, dry_run=True)

    assert result.excluded == {
        "suppressed:open_complaint": 1,
        "cap:每周两次营销": 1,
        "opted_out": 1,  # c5
        "not_eligible": 2,  # c6 and c7, in Ningbo
    }
    assert result.planned == 3  # c2, c3, c4

    QuietHours.objects.create(name="午间", days=list(range(7)), start=time(9), end=time(11))
    result = wave_plan(actor=org.users["cm"], wave=wave, dry_run=True)
    assert result.excluded["quiet_hours"] == 4 and result.planned == 0  # before caps


def test_arbitration_displaces_the_lower_ranked_campaigns_planned_contacts(world, make_campaign):
    org, cm = world.org, world.org.users["cm"]
    ContactPolicyRule.objects.create(
        name="每周一次营销", max_contacts=1, window_days=7, purposes=["marketing"]
    )
    low = submitted(make_campaign, world, code="low", priority=2, offers=[world.discount_offer])
    wave_plan(actor=cm, wave=first_wave(low))
    assert Delivery.objects.filter(wave=first_wave(low), status="planned").count() == 5

    # a higher-priority campaign the same week takes the customers' one marketing contact
    high = submitted(make_campaign, world, code="high", priority=8, wave_in=6)
    result = wave_plan(actor=cm, wave=first_wave(high))

    assert result.planned == 5
    assert result.displaced == {"low": 5}
    lost = set(reasons(first_wave(low)).values())
    assert lost == {"opted_out", f"lost_arbitration:{high.pk}"}
    # the displaced contacts stay delivery rows: planning another wave may revive them
    assert (
        Delivery.objects.filter(wave=first_wave(low), reason=f"lost_arbitration:{high.pk}").count()
        == 5
    )
    # and a third, lower campaign cannot take them back
    later = submitted(
        make_campaign, world, code="later", priority=1, offers=[world.discount_offer], wave_in=7
    )
    result = wave_plan(actor=cm, wave=first_wave(later))
    assert result.planned == 0 and result.excluded[f"lost_arbitration:{high.pk}"] == 5
    assert Delivery.objects.filter(wave=first_wave(high), status="planned").count() == 5
    del org


def test_a_call_wave_is_sized_by_capacity_best_value_first_and_split_among_agents(
    world, make_campaign
):
    org, cm = world.org, world.org.users["cm"]
    for i, customer in enumerate(world.customers):
        consent(customer, "call")
        CustomerValue.objects.create(
            customer=customer,
            tier="standard",
            clv=100.0 * (i + 1),
            expected_purchases=1,
            p_alive=0.9,
            churn_risk=0.1,
            cost_to_serve=0,
            net_value=100.0 * (i + 1),
            fit_id=1,
            computed_at=timezone.now(),
        )
    campaign = make_campaign()
    wave = services.wave_create(
        actor=cm,
        campaign=campaign,
        name="第二波：外呼",
        kind="call",
        scheduled_at=at_ten(6),
        ends_at=at_ten(6) + timedelta(hours=8),
        agent_role="service_agent",
        agents=1,
        hours=2,
        calls_per_agent_hour=2,
    )
    services.campaign_submit(actor=cm, campaign=campaign)

    result = wave_plan(actor=cm, wave=wave)

    assert result.capacity == 4
    assert result.planned == 4 and result.excluded == {"capacity": 4}
    calls = list(Delivery.objects.filter(wave=wave, status="planned").order_by("rank"))
    assert [d.customer.name for d in calls] == [
        "客户7",
        "客户6",
        "客户5",
        "客户4",
    ]  # highest value first
    assert [d.rank for d in calls] == [1, 2, 3, 4]
    assert {d.assignee.username for d in calls} == {
        "svc_east"
    }  # East's agent for Hangzhou and Ningbo
    assert result.assigned == {"svc_east": 4}
    del org


def test_a_follow_up_addresses_those_the_calls_did_not_reach_and_sends_the_best_to_a_visit(
    world, make_campaign
):
    org, cm = world.org, world.org.users["cm"]
    for i, customer in enumerate(world.customers):
        consent(customer, "call")
        consent(customer, "visit")
        CustomerValue.objects.create(
            customer=customer,
            tier="mvc" if i < 2 else "standard",
            clv=5000.0 if i < 2 else 50.0,
            expected_purchases=1,
            p_alive=0.9,
            churn_risk=0.1,
            cost_to_serve=0,
            net_value=1,
            fit_id=1,
            computed_at=timezone.now(),
        )
    campaign = make_campaign()
    calls = services.wave_create(
        actor=cm,
        campaign=campaign,
        name="外呼",
        kind="call",
        scheduled_at=at_ten(6),
        ends_at=at_ten(6) + timedelta(hours=8),
        agents=2,
        hours=4,
        calls_per_agent_hour=10,
    )
    follow = services.wave_create(
        actor=cm,
        campaign=campaign,
        name="跟进",
        kind="follow_up",
        scheduled_at=at_ten(8),
        source="not_reached",
        source_wave=calls,
        channels=["sms"],
        message="{name}您好，未能联系上您……",
        visit_min_value=1000,
    )
    services.campaign_submit(actor=cm, campaign=campaign)
    sign_all(campaign, org)
    services.campaign_launch(actor=cm, campaign=campaign)
    wave_plan(actor=cm, wave=calls)
    with pytest.raises(ValidationFailed) as early:  # the calls are not done yet
        wave_plan(actor=cm, wave=follow)
    assert early.value.code == "source_not_done"

    # the calls are made: customers 0, 1 and 2 do not answer, the rest are reached
    from yiti.campaigns.outcomes import delivery_work
    from yiti.campaigns.sending import wave_start

    wave_start(wave=calls)
    for d in Delivery.objects.filter(wave=calls, status="planned").select_related("customer"):
        outcome = (
            CallOutcome.NO_ANSWER if d.customer in world.customers[:3] else CallOutcome.DECLINED
        )
        for _attempt in range(3 if outcome == CallOutcome.NO_ANSWER else 1):
            delivery_work(actor=org.users["svc_east"], delivery=d, outcome=outcome)
    calls.refresh_from_db()
    calls.status = WaveStatus.DONE
    calls.save()

    result = wave_plan(actor=cm, wave=follow)

    assert result.audience == 3
    rows = {
        d.customer.name: d
        for d in Delivery.objects.filter(wave=follow).select_related("customer", "assignee")
    }
    assert set(rows) == {"客户0", "客户1", "客户2"}
    assert (
        rows["客户0"].channel == rows["客户1"].channel == "visit"
    )  # worth 5,000: the account manager visits
    assert rows["客户0"].assignee.username == "am_hz"
    assert rows["客户2"].channel == "sms" and rows["客户2"].status == "planned"


def test_planning_costs_the_same_number_of_queries_for_ten_or_a_hundred_customers(
    world, make_campaign
):
    cm = world.org.users["cm"]
    ContactPolicyRule.objects.create(
        name="每周两次营销", max_contacts=2, window_days=7, purposes=["marketing"]
    )
    other = submitted(make_campaign, world, code="other", priority=2, offers=[world.discount_offer])
    wave_plan(actor=cm, wave=first_wave(other))
    campaign = submitted(make_campaign, world, code="mine")
    wave = first_wave(campaign)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            wave_plan(actor=cm, wave=wave)
        return len(queries)

    small = count()
    for i in range(90):
        customer = customer_create(
            actor=None,
            name=f"批量{i}",
            unit=world.org.nb,
            contacts=[ContactInput("email", f"bulk{i}@example.com")],
        )
        consent(customer, "email")
    big = count()
    assert len(reasons(wave)) == 98
    assert big == small


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query plan")
def test_the_competitors_are_read_from_the_partial_index_alone():
    """Given another wave's plan, when a wave is planned, the competitors' query reads the
    covering partial index delivery_held (its condition repeated with the same literals)
    rather than every delivery row of the other wave."""
    from yiti.campaigns.planning import _held_sql

    sql = (
        "EXPLAIN QUERY PLAN SELECT customer_id, channel, status, reason, expected_value "  # noqa: S608
        f"FROM campaigns_delivery WHERE wave_id = %s AND {_held_sql()}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [1])
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())

    assert "COVERING INDEX delivery_held" in plan


# --- issue 18: the portal inbox as the consent-free channel, capacity on revival -------------


def _phone_customer(world, name: str, phone: str, *, sms: bool):
    customer = customer_create(
        actor=None,
        name=name,
        unit=world.org.hz,
        city="温州",
        contacts=[ContactInput("phone", phone, primary=True)],
    )
    if sms:
        consent(customer, "sms")
    return customer


def _only(world):
    """A segment of the customers made by ``_phone_customer`` (in 温州; the fixture's eight
    customers stay out of it)."""
    return services.segment_create(
        actor=world.org.users["cm"],
        name="温州客户",
        rules={"conditions": [{"field": "city", "op": "in", "value": ["温州"]}]},
        unit=world.org.marketing,
    )


def _channels_of(wave) -> dict[str, tuple[str, str]]:
    rows = Delivery.objects.filter(wave=wave).select_related("customer")
    return {d.customer.name: (d.channel, d.status) for d in rows}


def test_sms_then_portal_plans_the_customer_without_sms_consent_on_the_portal(world, make_campaign):
    """Given a marketing cap of 2 in 7 days, A (phone, no SMS consent) and B (phone, SMS
    consent) in one segment, when a broadcast wave ["sms", "portal"] is planned, A gets the
    portal inbox (it needs no recorded opt-in, ADR 0006 §4) and B an SMS."""
    ContactPolicyRule.objects.create(
        name="每周两次营销", max_contacts=2, window_days=7, purposes=["marketing"]
    )
    _phone_customer(world, "甲", "13905710001", sms=False)
    _phone_customer(world, "乙", "13905710002", sms=True)
    campaign = submitted(make_campaign, world, segment=_only(world), channels=["sms", "portal"])
    wave = first_wave(campaign)

    result = wave_plan(actor=world.org.users["cm"], wave=wave)

    assert result.excluded == {}
    assert result.channels == {"portal": 1, "sms": 1}
    assert _channels_of(wave) == {"甲": ("portal", "planned"), "乙": ("sms", "planned")}


def test_portal_then_sms_plans_everyone_reachable_on_the_portal(world, make_campaign):
    """Given the same two customers, when the wave prefers the portal (["portal", "sms"]),
    both get the portal inbox: SMS consent does not override the wave's first channel."""
    _phone_customer(world, "甲", "13905710001", sms=False)
    _phone_customer(world, "乙", "13905710002", sms=True)
    campaign = submitted(make_campaign, world, segment=_only(world), channels=["portal", "sms"])
    wave = first_wave(campaign)

    result = wave_plan(actor=world.org.users["cm"], wave=wave)

    assert result.channels == {"portal": 2}
    assert _channels_of(wave) == {"甲": ("portal", "planned"), "乙": ("portal", "planned")}


def test_a_suppressed_customer_without_sms_consent_is_reported_suppressed(world, make_campaign):
    """Given A without SMS consent under an open complaint, when a wave ["sms", "portal"] is
    planned, A is excluded for the suppression (the portal would reach him), not opted_out;
    with an SMS-only wave he has no channel he agreed to, so opted_out comes first."""
    a = _phone_customer(world, "甲", "13905710001", sms=False)
    suppression_set(
        actor=None, customer=a, reason="open_complaint", source_type="ticket", source_id=1
    )
    segment = _only(world)
    with_portal = make_campaign(code="p", segment=segment, channels=["sms", "portal"])
    sms_only = make_campaign(code="s", segment=segment, channels=["sms"])

    result = wave_plan(actor=world.org.users["cm"], wave=first_wave(with_portal), dry_run=True)
    assert result.excluded == {"suppressed:open_complaint": 1}
    result = wave_plan(actor=world.org.users["cm"], wave=first_wave(sms_only), dry_run=True)
    assert result.excluded == {"opted_out": 1}


def test_a_call_list_revived_by_arbitration_keeps_its_capacity_and_its_agents(world, make_campaign):
    """Given call wave K (priority 1, 1 agent × 0.5 h × 4 calls: capacity 2) whose 4
    customers lost arbitration to broadcast H (priority 9), when the customers withdraw their
    SMS consent and H is planned again, K gets its customers back as first planning would:
    the best 2 planned, ranked and dealt to the territory's agent, the rest beyond capacity."""
    cm = world.org.users["cm"]
    ContactPolicyRule.objects.create(
        name="每周一次营销", max_contacts=1, window_days=7, purposes=["marketing"]
    )
    people = [_phone_customer(world, f"丙{i}", f"1390572000{i}", sms=True) for i in range(4)]
    for i, customer in enumerate(people):
        consent(customer, "call")
        CustomerValue.objects.create(
            customer=customer,
            tier="standard",
            clv=100.0 * (i + 1),
            expected_purchases=1,
            p_alive=0.9,
            churn_risk=0.1,
            cost_to_serve=0,
            net_value=100.0 * (i + 1),
            fit_id=1,
            computed_at=timezone.now(),
        )
    segment = _only(world)
    high = submitted(make_campaign, world, code="h", priority=9, segment=segment, channels=["sms"])
    low = make_campaign(code="k", priority=1, segment=segment, offers=[world.discount_offer])
    calls = services.wave_create(
        actor=cm,
        campaign=low,
        name="外呼",
        kind="call",
        scheduled_at=at_ten(6),
        ends_at=at_ten(6) + timedelta(hours=8),
        agent_role="service_agent",
        agents=1,
        hours=0.5,
        calls_per_agent_hour=4,
    )
    services.campaign_submit(actor=cm, campaign=low)
    wave_plan(actor=cm, wave=first_wave(high))
    lost = wave_plan(actor=cm, wave=calls)
    assert lost.capacity == 2 and lost.planned == 0
    assert lost.excluded == {f"lost_arbitration:{high.pk}": 4}

    for customer in people:
        consent(customer, "sms", granted=False)
    result = wave_plan(actor=cm, wave=first_wave(high))

    assert result.excluded == {"opted_out": 4}
    assert result.revived == {"k": 2}
    rows = {
        d.customer.name: d
        for d in Delivery.objects.filter(wave=calls).select_related("customer", "assignee")
    }
    planned = sorted((d for d in rows.values() if d.status == "planned"), key=lambda d: d.rank)
    assert [d.customer.name for d in planned] == ["丙3", "丙2"]  # the best value first
    assert [d.rank for d in planned] == [1, 2]
    assert {d.assignee.username for d in planned} == {"svc_east"}
    assert reasons(calls) == {
        people[0].pk: "capacity",
        people[1].pk: "capacity",
        people[2].pk: "",
        people[3].pk: "",
    }


def test_a_cap_of_n_in_w_days_holds_over_every_span_of_w_times_24_hours(world, make_campaign):
    """Given "2 marketing contacts in any 7 days" and a customer contacted at 23:30 five days
    before yesterday and at 10:00 yesterday, when a wave at 10:00 the day after tomorrow is
    planned, the third contact is capped: the three would fall within 6 days 10.5 hours
    (issue 18's 12-03 23:30, 12-07 10:00, 12-10 10:00), although no 7 whole local days hold
    all three."""
    ContactPolicyRule.objects.create(
        name="每周两次营销", max_contacts=2, window_days=7, purposes=["marketing"]
    )
    me = _phone_customer(world, "丁", "13905710004", sms=True)
    wave_at = at_ten(2)
    for at in (wave_at - timedelta(days=6, hours=10, minutes=30), wave_at - timedelta(days=3)):
        Interaction.objects.create(
            customer=me, occurred_at=at, channel="sms", direction="out", purpose="marketing"
        )
    campaign = make_campaign(
        segment=_only(world), channels=["sms"], start_in=1, wave_in=2, lead_days=0
    )

    result = wave_plan(actor=world.org.users["cm"], wave=first_wave(campaign), dry_run=True)

    assert result.excluded == {"cap:每周两次营销": 1}
    # a minute later than seven days after the first contact, there is room again
    wave = first_wave(campaign)
    wave.scheduled_at = wave_at + timedelta(hours=13, minutes=31)
    wave.save(update_fields=["scheduled_at"])
    result = wave_plan(actor=world.org.users["cm"], wave=wave, dry_run=True)
    assert result.excluded == {} and result.planned == 1


def test_a_rule_counting_calendar_days_keeps_whole_local_days(world, make_campaign):
    """Given the same contacts under "2 in any 7 days" counted in calendar days, when the
    wave is planned, the third contact goes out: the first contact's day and the wave's day
    are eight local days, no seven of which hold all three."""
    ContactPolicyRule.objects.create(
        name="每周两次营销",
        max_contacts=2,
        window_days=7,
        purposes=["marketing"],
        calendar_days=True,
    )
    me = _phone_customer(world, "丁", "13905710004", sms=True)
    wave_at = at_ten(2)
    for at in (wave_at - timedelta(days=6, hours=10, minutes=30), wave_at - timedelta(days=3)):
        Interaction.objects.create(
            customer=me, occurred_at=at, channel="sms", direction="out", purpose="marketing"
        )
    campaign = make_campaign(
        segment=_only(world), channels=["sms"], start_in=1, wave_in=2, lead_days=0
    )

    result = wave_plan(actor=world.org.users["cm"], wave=first_wave(campaign), dry_run=True)

    assert result.excluded == {} and result.planned == 1
