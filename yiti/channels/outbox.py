"""The outbox: messages queued with the change they tell about, sent by the worker.

``outbox_enqueue`` is called inside the caller's transaction: the row commits with the
change, and after commit the send task is enqueued (``channels.tasks``). Nothing is sent in
the request thread, so an SMTP outage never turns a committed change into an error.

``outbox_deliver`` claims a due row (a conditional UPDATE, so two workers never send it at
once), sends it through the channel's adapter with the row's idempotency key, and records
the result: ``sent`` (then the hook registered for the row's ``kind`` runs, in the same
transaction), ``rejected`` (the provider refused it; no retry), or a failure, retried after
``RETRY_DELAYS`` by the periodic sweep (``outbox_deliver_due``) until ``gave_up``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from yiti.channels.base import OutboundMessage
from yiti.channels.choices import Channel, OutboxStatus, SendStatus
from yiti.channels.models import OutboxMessage

logger = logging.getLogger("yiti.channels")

# delay before each retry; after the last one the message is given up (about a day in all)
RETRY_DELAYS: Sequence[timedelta] = tuple(
    timedelta(minutes=m) for m in (1, 2, 5, 10, 30, 60, 120, 240, 480, 720)
)
# how long a worker may take to send one message before another may try it again
CLAIM_SECONDS = 300

OnSent = Callable[[OutboxMessage], None]
_on_sent: dict[str, OnSent] = {}


def register_on_sent(kind: str, hook: OnSent) -> None:
    """Run ``hook(row)`` when a message of ``kind`` is sent (in the transaction that marks it)."""
    _on_sent[kind] = hook


def outbox_enqueue(
    *,
    channel: str,
    to: str,
    body: str,
    idempotency_key: str,
    subject: str = "",
    kind: str = "",
    metadata: dict[str, Any] | None = None,
) -> OutboxMessage:
    """Queue one message (idempotent: a second call with the same key returns the first row)."""
    OutboundMessage(  # validates the channel and the key the adapter will carry
        channel=Channel(channel), to=to, body=body, idempotency_key=idempotency_key
    )
    with transaction.atomic():
        row, created = OutboxMessage.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults={
                "channel": channel,
                "to": to[:254],
                "subject": subject[:255],
                "body": body,
                "kind": kind,
                "metadata": metadata or {},
                "next_attempt_at": timezone.now(),
            },
        )
        if created:
            row_id = row.pk
            transaction.on_commit(lambda: _enqueue_send(row_id))
    return row


def _enqueue_send(row_id: int) -> None:
    from yiti.channels.tasks import outbox_send_task

    try:
        outbox_send_task.enqueue(message_id=row_id)
    except Exception:  # the sweep sends it later; a broken queue must not fail the change
        logger.exception("could not enqueue outbox message %s; the sweep will send it", row_id)


def _claim(row_id: int, now: datetime) -> bool:
    from django.db.models import Q

    return bool(
        OutboxMessage.objects.filter(
            pk=row_id, status=OutboxStatus.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + timedelta(seconds=CLAIM_SECONDS), updated_at=now)
    )


def outbox_deliver(*, message_id: int, now: datetime | None = None) -> str:
    """Send one due message; answers its status afterwards (``sent``, ``pending`` for a retry
    to come, ``rejected``, ``gave_up``) or ``skipped`` when it was not due or not pending."""
    from yiti.channels.registry import adapter_for

    now = now or timezone.now()
    if not _claim(message_id, now):
        return "skipped"
    row = OutboxMessage.objects.get(pk=message_id)
    try:
        result = adapter_for(row.channel).send(
            OutboundMessage(
                channel=Channel(row.channel),
                to=row.to,
                subject=row.subject,
                body=row.body,
                idempotency_key=row.idempotency_key,
                metadata=dict(row.metadata or {}),
            )
        )
        status, provider_id, error = result.status, result.provider_id, result.error
    except Exception as exc:  # an adapter bug or misconfiguration: retried like a failure
        logger.exception("outbox message %s: the adapter raised", message_id)
        status, provider_id, error = SendStatus.FAILED, "", f"{type(exc).__name__}: {exc}"
    with transaction.atomic():
        row = OutboxMessage.objects.select_for_update().get(pk=message_id)
        row.attempts += 1
        row.claimed_until = None
        row.last_error = error[:2000]
        if status == SendStatus.SENT:
            row.status, row.sent_at, row.provider_id = OutboxStatus.SENT, now, provider_id[:255]
        elif status == SendStatus.REJECTED:
            row.status = OutboxStatus.REJECTED
        elif row.attempts > len(RETRY_DELAYS):
            row.status = OutboxStatus.GAVE_UP
        else:
            row.next_attempt_at = now + RETRY_DELAYS[row.attempts - 1]
        row.save(
            update_fields=[
                "attempts",
                "claimed_until",
                "last_error",
                "status",
                "sent_at",
                "provider_id",
                "next_attempt_at",
                "updated_at",
            ]
        )
        if row.status == OutboxStatus.SENT and row.kind in _on_sent:
            try:  # the message is out: a failing hook must not make it look unsent (a resend)
                with transaction.atomic():
                    _on_sent[row.kind](row)
            except Exception:
                logger.exception("outbox message %s sent; its %s hook failed", row.pk, row.kind)
    if row.status != OutboxStatus.SENT:
        logger.warning(
            "outbox message %s (%s) not sent, attempt %s: %s", row.pk, row.kind, row.attempts, error
        )
    return str(row.status)


def outbox_deliver_due(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Send every pending message whose time has come (first tries the queue lost, and
    retries); answers how many ended in each status."""
    now = now or timezone.now()
    ids = list(
        OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    counts: dict[str, int] = {}
    for row_id in ids:
        status = outbox_deliver(message_id=row_id, now=now)
        counts[status] = counts.get(status, 0) + 1
    return counts
