"""The internal channels: web push and the portal inbox store an InboxMessage row."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from yiti.channels.base import OutboundMessage, SendResult
from yiti.channels.models import InboxMessage


class InboxAdapter:
    """Stores the message for customer ``int(message.to)``; a retry with the same key
    returns the row stored the first time (provider id ``inbox:<id>``) and adds none."""

    def send(self, message: OutboundMessage) -> SendResult:
        try:
            customer_id = int(message.to)
        except ValueError:
            return SendResult.rejected(f"not a customer id: {message.to!r}")
        row = InboxMessage.objects.filter(idempotency_key=message.idempotency_key).first()
        if row is None:
            try:
                with transaction.atomic():
                    row = InboxMessage.objects.create(
                        customer_id=customer_id,
                        channel=message.channel,
                        subject=message.subject[:255],
                        body=message.body,
                        idempotency_key=message.idempotency_key,
                        metadata=message.metadata,
                    )
            except IntegrityError:  # a concurrent send with the same key won
                row = InboxMessage.objects.get(idempotency_key=message.idempotency_key)
        if row.customer_id != customer_id:
            return SendResult.rejected(
                f"idempotency key {message.idempotency_key!r} already used for another customer"
            )
        return SendResult.sent(f"inbox:{row.pk}")
