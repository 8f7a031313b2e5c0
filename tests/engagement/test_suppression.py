"""The marketing suppression list: set per source, lifted per source, suppressed while any is active."""

from __future__ import annotations

import pytest

from tests.factories import CustomerFactory
from yiti.core.errors import ValidationFailed
from yiti.core.models import AuditEvent
from yiti.engagement.models import Suppression
from yiti.engagement.selectors import is_suppressed, suppressed_customer_ids
from yiti.engagement.services import suppression_lift, suppression_set


def test_customer_stays_suppressed_until_the_last_complaint_is_lifted(org):
    customer = CustomerFactory(unit=org.hz)
    agent = org.users["svc_east"]
    suppression_set(
        actor=agent, customer=customer, reason="open_complaint", source_type="ticket", source_id=1
    )
    suppression_set(
        actor=agent, customer=customer, reason="open_complaint", source_type="ticket", source_id=2
    )
    # setting again for the same complaint does not duplicate
    suppression_set(
        actor=agent, customer=customer, reason="open_complaint", source_type="ticket", source_id=2
    )
    assert Suppression.objects.filter(customer=customer, lifted_at__isnull=True).count() == 2
    assert list(suppressed_customer_ids().values_list("customer_id", flat=True)) == [customer.pk]

    assert (
        suppression_lift(
            actor=agent,
            customer=customer,
            reason="open_complaint",
            source_type="ticket",
            source_id=1,
        )
        == 1
    )
    assert is_suppressed(customer)
    suppression_lift(
        actor=agent, customer=customer, reason="open_complaint", source_type="ticket", source_id=2
    )
    assert not is_suppressed(customer)
    assert (
        AuditEvent.objects.filter(action="suppression.lift", customer_id=customer.pk).count() == 2
    )


def test_unknown_reason_is_refused(org):
    with pytest.raises(ValidationFailed):
        suppression_set(actor=None, customer=CustomerFactory(unit=org.hz), reason="bored")
