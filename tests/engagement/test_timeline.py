"""One timeline: every contact lands on the customer, newest first, append-only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import CustomerFactory
from yiti.core.errors import NotFound, PermissionDenied, ValidationFailed
from yiti.engagement.models import Interaction
from yiti.engagement.selectors import TimelineFilters, timeline
from yiti.engagement.services import InteractionRow, interaction_record, interactions_record_bulk


@pytest.fixture
def customer(org):
    return CustomerFactory(unit=org.hz, owner=org.users["am_hz"])


def test_contacts_from_every_department_land_on_one_timeline_newest_first(org, customer):
    now = timezone.now()
    interaction_record(
        actor=org.users["am_hz"],
        customer=customer,
        channel="visit",
        direction="out",
        purpose="sales",
        occurred_at=now - timedelta(days=3),
    )
    interaction_record(
        actor=org.users["svc_east"],
        customer=customer,
        channel="call",
        direction="in",
        purpose="service",
        occurred_at=now - timedelta(days=1),
        ticket_id=42,
        check_access=False,  # as the service desk records its ticket's contacts
    )
    interaction_record(
        actor=org.users["rm_east"],
        customer=customer,
        channel="sms",
        direction="out",
        purpose="marketing",
        occurred_at=now - timedelta(days=2),
        campaign_id=7,
        check_access=False,  # as campaign sending records its deliveries
    )
    rows = list(timeline(customer))
    assert [r.purpose for r in rows] == ["service", "marketing", "sales"]
    assert rows[0].ticket_id == 42 and rows[1].campaign_id == 7
    assert [r.channel for r in timeline(customer, TimelineFilters(channel="sms"))] == ["sms"]
    assert [r.purpose for r in timeline(customer, TimelineFilters(purpose="sales"))] == ["sales"]
    customer.refresh_from_db()
    assert customer.last_contact_at == rows[0].occurred_at


def test_interactions_cannot_be_edited(org, customer):
    row = interaction_record(
        actor=org.users["am_hz"], customer=customer, channel="call", direction="out", purpose="care"
    )
    row.subject = "changed"
    with pytest.raises(ValueError):
        row.save()


def test_recording_is_validated_and_scoped(org, customer):
    with pytest.raises(ValidationFailed):
        interaction_record(
            actor=org.users["am_hz"],
            customer=customer,
            channel="pigeon",
            direction="out",
            purpose="care",
        )
    with pytest.raises(ValidationFailed):
        interaction_record(
            actor=org.users["am_hz"],
            customer=customer,
            channel="call",
            direction="out",
            purpose="care",
            occurred_at=timezone.now() + timedelta(days=1),
        )
    with pytest.raises(NotFound):
        interaction_record(
            actor=org.users["am_bj"],
            customer=customer,
            channel="call",
            direction="out",
            purpose="care",
        )
    with pytest.raises(PermissionDenied):
        interaction_record(
            actor=org.users["analyst"],
            customer=customer,
            channel="call",
            direction="out",
            purpose="care",
        )
    assert Interaction.objects.count() == 0


def test_bulk_recording_moves_last_contact_forward_in_constant_queries(
    org, django_assert_max_num_queries
):
    customers = CustomerFactory.create_batch(200, unit=org.hz)
    base = timezone.now() - timedelta(days=10)
    rows = [
        InteractionRow(
            customer_id=c.pk,
            channel="email",
            direction="out",
            purpose="marketing",
            outcome="sent",
            occurred_at=base + timedelta(minutes=i),
        )
        for i, c in enumerate(customers)
    ]
    with django_assert_max_num_queries(12):
        interactions_record_bulk(rows=rows)
    assert Interaction.objects.count() == 200
    last = customers[-1]
    last.refresh_from_db()
    assert last.last_contact_at == base + timedelta(minutes=199)
