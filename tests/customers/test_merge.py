"""Merging duplicate customers loses nothing and keeps history."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.factories import ProductFactory
from yiti.core.errors import Conflict, PermissionDenied, ValidationFailed
from yiti.core.models import AuditEvent
from yiti.customers.choices import ContactKind, CustomerStatus
from yiti.customers.models import (
    Assignment,
    ConsentEvent,
    ConsentState,
    ContactPoint,
    Customer,
    Order,
)
from yiti.customers.services import (
    ContactInput,
    consent_record,
    customer_create,
    customer_merge,
    customer_reassign,
    duplicate_groups_by_phone,
    order_create,
)
from yiti.engagement.models import Interaction
from yiti.engagement.services import interaction_record


@pytest.fixture
def duplicates(org):
    am = org.users["am_hz"]
    a = customer_create(
        actor=am,
        name="王小明",
        unit=org.hz,
        owner=am,
        external_id="EXT-A",
        contacts=[ContactInput("phone", "13812345678"), ContactInput("email", "wxm@example.com")],
    )
    b = customer_create(
        actor=am,
        name="王小明",
        unit=org.hz,
        external_id="EXT-B",
        contacts=[
            ContactInput("phone", "+86 138 1234 5678"),
            ContactInput("phone", "13900001111"),
            ContactInput("wechat", "wxm_1988"),
        ],
    )
    product = ProductFactory()
    order_create(actor=am, customer=b, product=product, amount=199)
    consent_record(actor=am, customer=b, channel="sms", purpose="marketing", granted=False)
    interaction_record(
        actor=am, customer=b, channel="call", direction="out", purpose="care", subject="回访"
    )
    interaction_record(actor=am, customer=a, channel="visit", direction="out", purpose="sales")
    return a, b


def test_duplicates_are_found_by_normalised_phone(duplicates):
    a, b = duplicates
    assert [a.pk, b.pk] in duplicate_groups_by_phone()


def test_merge_moves_every_contact_point_order_interaction_and_consent(org, duplicates):
    # given two records of the same person, the second holding an order, a consent and a call
    target, source = duplicates
    rm = org.users["rm_east"]
    contacts_before = {
        (c.kind, c.normalized) for c in ContactPoint.objects.filter(customer__in=[target, source])
    }
    interactions_before = Interaction.objects.filter(customer__in=[target, source]).count()

    # when the region manager merges them
    customer_merge(actor=rm, source=source, target=target, reason="same phone")

    # then the survivor holds every distinct contact point, the order, the call and the consent
    contacts_after = {(c.kind, c.normalized) for c in ContactPoint.objects.filter(customer=target)}
    assert contacts_after == contacts_before
    assert (
        ContactPoint.objects.filter(
            customer=target, kind=ContactKind.PHONE, is_primary=True
        ).count()
        == 1
    )
    assert Order.objects.filter(customer=target).count() == 1
    assert Interaction.objects.filter(customer=target).count() == interactions_before
    assert ConsentEvent.objects.filter(customer=target).count() == 1
    assert (
        ConsentState.objects.get(customer=target, channel="sms", purpose="marketing").granted
        is False
    )
    # and the duplicate is a tombstone pointing at the survivor, keeping its external id
    source.refresh_from_db()
    assert source.status == CustomerStatus.MERGED and source.merged_into_id == target.pk
    assert source.external_id == "EXT-B"
    assert not ContactPoint.objects.filter(customer=source).exists()
    # and the merge is audited on both customers
    assert AuditEvent.objects.filter(action="customer.merge", customer_id=target.pk).exists()
    assert AuditEvent.objects.filter(action="customer.merged_into", customer_id=source.pk).exists()


def test_merge_keeps_assignment_history(org, duplicates):
    target, source = duplicates
    customer_reassign(
        actor=org.users["rm_east"], customer=source, to_user=org.users["am_hz2"], reason="cover"
    )
    history_before = Assignment.objects.filter(customer__in=[target, source]).count()
    customer_merge(actor=org.users["rm_east"], source=source, target=target)
    assert Assignment.objects.filter(customer=target).count() == history_before


def test_merge_refuses_self_repeat_and_unauthorised(org, duplicates):
    target, source = duplicates
    with pytest.raises(ValidationFailed):
        customer_merge(actor=org.users["admin"], source=target, target=target)
    with pytest.raises(PermissionDenied):
        customer_merge(actor=org.users["am_hz"], source=source, target=target)
    customer_merge(actor=org.users["admin"], source=source, target=target)
    with pytest.raises(Conflict):
        customer_merge(
            actor=org.users["admin"], source=Customer.objects.get(pk=source.pk), target=target
        )


def test_merged_customer_takes_no_new_contacts(org, duplicates):
    target, source = duplicates
    customer_merge(actor=org.users["admin"], source=source, target=target)
    source.refresh_from_db()
    with pytest.raises(ValidationFailed):
        interaction_record(
            actor=org.users["admin"],
            customer=source,
            channel="sms",
            direction="out",
            purpose="service",
            occurred_at=timezone.now(),
        )
