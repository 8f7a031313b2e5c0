"""Loading the contact policy's inputs from the database: right rows, constant query count."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import CustomerFactory
from yiti.customers.models import ConsentState, Customer
from yiti.engagement import policy_data
from yiti.engagement.models import ContactPolicyRule, Interaction, QuietHours, Suppression
from yiti.engagement.policy import (
    CHANNELS,
    PURPOSES,
    SUPPRESSION_REASONS,
    Candidates,
    evaluate,
    plan_counts,
)
from yiti.engagement.policy_data import audience_ids, policy_inputs

SH = ZoneInfo("Asia/Shanghai")
PLAN = datetime(2026, 3, 12, 10, 0, tzinfo=SH)


def contact(customer, at, *, channel="sms", purpose="marketing", direction="out"):
    Interaction.objects.create(
        customer=customer,
        occurred_at=at,
        channel=channel,
        direction=direction,
        purpose=purpose,
    )


def consent(customer, channel, purpose, granted):
    ConsentState.objects.create(
        customer=customer, channel=channel, purpose=purpose, granted=granted, since=timezone.now()
    )


@pytest.fixture
def weekly(db):
    return ContactPolicyRule.objects.create(
        name="weekly", max_contacts=1, window_days=7, weights={"service": 0.5}
    )


@pytest.mark.django_db
def test_history_is_outbound_contacts_per_instant_within_the_reach_of_the_longest_window(
    org, weekly
):
    # given a customer contacted twice in one second late at night (local), called in by him,
    # and long ago
    me, other = CustomerFactory(unit=org.hz), CustomerFactory(unit=org.hz)
    late = datetime(2026, 3, 10, 23, 30, 0, 400_000, tzinfo=SH)  # 15:30 UTC, the 10th locally
    contact(me, late)
    contact(me, late.replace(microsecond=900_000))
    contact(me, late.replace(minute=45), channel="call", purpose="service")
    contact(me, late, direction="in", purpose="service")  # his call to us: no pressure
    contact(me, datetime(2026, 3, 4, 23, 59, tzinfo=SH))  # before the week around the plan
    early = datetime(2026, 3, 5, 0, 1, tzinfo=SH)  # on the first day a window can reach
    contact(me, early)
    contact(other, late)  # not in the audience
    # when the inputs are loaded for an audience of one planned on the 12th at 10:00
    inputs = policy_inputs(customers=Customer.objects.filter(pk=me.pk), first=PLAN, last=PLAN)
    # then the history holds his outbound contacts at their instants (to the second), counted
    rows = sorted(
        zip(
            inputs.history.customer_id.tolist(),
            inputs.history.at.tolist(),
            [CHANNELS[c] for c in inputs.history.channel.tolist()],
            [PURPOSES[p] for p in inputs.history.purpose.tolist()],
            inputs.history.count.tolist(),
            strict=True,
        )
    )
    second = int(late.timestamp())
    assert rows == sorted(
        [
            (me.pk, int(early.timestamp()), "sms", "marketing", 1),
            (me.pk, second, "sms", "marketing", 2),
            (me.pk, second + 15 * 60, "call", "service", 1),
        ]
    )
    assert inputs.utc_offset == 8 * 3600
    assert [r.name for r in inputs.rules] == ["weekly"]
    assert inputs.rules[0].weight_of("service") == 500


@pytest.mark.django_db
def test_consent_reads_the_rows_that_differ_from_the_default_and_suppression_the_active_ones(
    org, weekly
):
    a, b, c = (CustomerFactory(unit=org.hz) for _ in range(3))
    consent(a, "sms", "marketing", True)
    consent(b, "email", "care", False)
    consent(c, "sms", "marketing", False)  # same as no row
    consent(c, "sms", "service", True)  # same as no row
    consent(a, "portal", "marketing", True)  # the portal inbox needs no opt-in: same as no row
    consent(b, "portal", "marketing", False)  # but a refusal of it counts
    Suppression.objects.create(customer=a, reason="open_complaint", source_type="ticket")
    Suppression.objects.create(
        customer=b, reason="do_not_disturb", lifted_at=timezone.now()
    )  # lifted
    outsider = CustomerFactory(unit=org.hz)
    consent(outsider, "sms", "marketing", True)
    Suppression.objects.create(customer=outsider, reason="legal")

    inputs = policy_inputs(
        customers=Customer.objects.filter(pk__in=[a.pk, b.pk, c.pk]), first=PLAN, last=PLAN
    )

    got = sorted(
        zip(
            inputs.consent.customer_id.tolist(),
            [CHANNELS[x] for x in inputs.consent.channel.tolist()],
            [PURPOSES[x] for x in inputs.consent.purpose.tolist()],
            inputs.consent.granted.tolist(),
            strict=True,
        )
    )
    assert got == sorted(
        [
            (a.pk, "sms", "marketing", True),
            (b.pk, "email", "care", False),
            (b.pk, "portal", "marketing", False),
        ]
    )
    assert inputs.suppressed.customer_id.tolist() == [a.pk]
    assert [SUPPRESSION_REASONS[r] for r in inputs.suppressed.reason.tolist()] == ["open_complaint"]


def _book_of_200(org):
    QuietHours.objects.create(name="night", days=list(range(7)), start=time(21), end=time(8))
    customers = [CustomerFactory(unit=org.hz) for _ in range(200)]
    for i, cust in enumerate(customers):
        contact(cust, datetime(2026, 3, 10, 9, tzinfo=SH))
        consent(cust, "sms", "marketing", i % 2 == 0)
        if i % 7 == 0:
            Suppression.objects.create(customer=cust, reason="open_complaint")
    return customers


@pytest.mark.django_db
@pytest.mark.parametrize("scan_share", [0.0, 2.0], ids=["scanned", "filtered-in-sql"])
def test_loading_takes_the_same_number_of_queries_for_10_and_200_customers(
    org, weekly, monkeypatch, scan_share
):
    # given 200 customers with history, consent and suppressions, read either way
    monkeypatch.setattr(policy_data, "SCAN_SHARE", scan_share)
    customers = _book_of_200(org)
    counts = {}
    for form in ("queryset", "ids"):
        for size in (10, 200):
            ids = [c.pk for c in customers[:size]]
            audience = Customer.objects.filter(pk__in=ids) if form == "queryset" else np.array(ids)
            with CaptureQueriesContext(connection) as captured:
                inputs = policy_inputs(customers=audience, first=PLAN, last=PLAN)
            counts[form, size] = len(captured.captured_queries)
            assert len(inputs.history) == size
            assert sorted(inputs.consent.customer_id.tolist()) == ids[::2]
            assert sorted(inputs.suppressed.customer_id.tolist()) == ids[::7]
    # rules, quiet hours, the id range, history, consent, suppressions (+ the queryset's ids)
    assert counts["ids", 10] == counts["ids", 200] == 6
    assert counts["queryset", 10] == counts["queryset", 200] == 7
    with CaptureQueriesContext(connection) as captured:
        everyone = policy_inputs(customers=None, first=PLAN, last=PLAN)
    assert len(captured.captured_queries) == 5
    assert len(everyone.history) == 200


@pytest.mark.django_db
def test_an_audience_read_whole_book_or_filtered_in_sql_gets_the_same_inputs(
    org, weekly, monkeypatch
):
    # given a book where only some customers are in the audience
    customers = _book_of_200(org)
    for cust in customers[:50]:
        contact(cust, datetime(2026, 3, 11, 20, tzinfo=SH), channel="call", purpose="care")
        consent(cust, "call", "care", False)
    ids = np.array([c.pk for c in customers[3:170:3]])

    def rows(*columns):
        return sorted(zip(*(a.tolist() for a in columns), strict=True))

    def load(share):
        monkeypatch.setattr(policy_data, "SCAN_SHARE", share)
        inputs = policy_inputs(customers=ids, first=PLAN, last=PLAN)
        h, c, s = inputs.history, inputs.consent, inputs.suppressed
        return (
            rows(h.customer_id, h.at, h.channel, h.purpose, h.count),
            rows(c.customer_id, c.channel, c.purpose, c.granted),
            rows(s.customer_id, s.reason),
        )

    # when it is read whole-book and filtered in numpy, or filtered by id in SQL
    scanned, filtered = load(0.0), load(2.0)
    # then both read the same rows, and only the audience's
    assert scanned == filtered
    history, consents, _ = scanned
    assert {row[0] for row in history} == set(ids.tolist())
    assert {row[0] for row in consents} <= set(ids.tolist())
    assert len(history) == len(ids) + len([i for i in ids if i <= customers[49].pk])


@pytest.mark.django_db
def test_audience_ids_reads_a_querysets_ids_sorted(org):
    customers = [CustomerFactory(unit=org.hz) for _ in range(5)]
    wanted = sorted(c.pk for c in customers[1:4])
    assert audience_ids(Customer.objects.filter(pk__in=wanted).order_by("-pk")).tolist() == wanted
    assert audience_ids(Customer.objects.filter(pk__in=wanted).values("id")).tolist() == wanted
    assert audience_ids().tolist() == sorted(c.pk for c in customers)
    assert audience_ids(Customer.objects.none()).tolist() == []


@pytest.mark.django_db
def test_loaded_inputs_plan_a_wave(org, weekly):
    # given three customers: one consented and quiet, one contacted this week, one not consented
    fresh, busy, silent = (CustomerFactory(unit=org.hz) for _ in range(3))
    for cust in (fresh, busy):
        consent(cust, "sms", "marketing", True)
    contact(busy, datetime(2026, 3, 9, 11, tzinfo=SH))
    ids = [fresh.pk, busy.pk, silent.pk]
    inputs = policy_inputs(customers=Customer.objects.filter(pk__in=ids), first=PLAN, last=PLAN)
    # when a marketing SMS is planned for each on the 12th
    candidates = Candidates.of(
        customer_id=ids,
        campaign_id=[1, 1, 1],
        wave_id=[1, 1, 1],
        channel=["sms"] * 3,
        purpose=["marketing"] * 3,
        planned_at=[int(PLAN.timestamp())] * 3,
        priority=[1, 1, 1],
        expected_value=[1, 1, 1],
    )
    decision = evaluate(
        candidates,
        inputs.history,
        inputs.rules,
        inputs.quiet,
        inputs.consent,
        inputs.suppressed,
        utc_offset=inputs.utc_offset,
    )
    # then only the fresh one is kept
    assert decision.labels() == ["", "cap:weekly", "opted_out"]
    assert plan_counts(decision) == {
        "audience": 3,
        "kept": 1,
        "excluded": {"cap:weekly": 1, "opted_out": 1},
    }
    assert np.array_equal(decision.keep, [True, False, False])
