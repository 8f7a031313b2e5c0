"""Sending a wave's e-mails, SMS, web pushes and portal messages in background batches.

Starting a wave cuts its planned electronic deliveries into batches of consecutive ids
(``SendBatch``) and enqueues one task per batch. A batch is claimed by one worker, which
beats the batch's heartbeat while it sends; the dispatch job hands a batch whose worker
stopped beating (killed, crashed, the machine rebooted) to a new task.

Exactly once, as far as a channel allows it. Each delivery moves planned → sending (committed
before the channel is called) → sent (committed together with the timeline entry). A re-run
skips what is sent, so it never sends twice what it knows it sent. The only message a crash
can leave in doubt is the one in flight (status ``sending``): it is sent again **with the same
idempotency key**, which the channel uses to recognise the repeat — the SMS gateway drops a
request whose ``Idempotency-Key`` it has seen, the portal inbox stores one row per key, and an
e-mail carries the key as its ``Message-ID``, by which mail clients and archives show one
message. Every ``sending`` left by a crash is counted on the batch (``runs`` > 1).

At send time the two things that can change after planning are checked again, set-based for
the whole batch: a withdrawn marketing consent and an open complaint (or other suppression)
exclude the contact with that reason. A paused campaign stops a batch before its next message.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.campaigns.choices import (
    BROADCAST_CHANNELS,
    CampaignStatus,
    DeliveryStatus,
    WaveChannel,
    WaveKind,
    WaveStatus,
)
from yiti.campaigns.models import Campaign, Delivery, SendBatch, Wave
from yiti.channels.base import ChannelAdapter, OutboundMessage, SendResult
from yiti.channels.choices import Channel, SendStatus
from yiti.channels.mail import EmailAdapter
from yiti.channels.registry import adapter_for
from yiti.core.audit import audit_record
from yiti.customers.choices import Purpose
from yiti.customers.models import ConsentState
from yiti.customers.services import customers_touch
from yiti.engagement.choices import Direction, InteractionPurpose, Outcome
from yiti.engagement.models import Interaction, Suppression
from yiti.engagement.policy import OPTED_OUT

log = logging.getLogger("yiti.campaigns")

MAX_ATTEMPTS = 3
ELECTRONIC = tuple(c.value for c in BROADCAST_CHANNELS)
ADAPTER_CHANNEL: dict[str, Channel] = {
    WaveChannel.EMAIL: Channel.EMAIL,
    WaveChannel.SMS: Channel.SMS,
    WaveChannel.PUSH: Channel.PUSH,
    WaveChannel.PORTAL: Channel.INBOX,
}
# channels whose adapter stores the message where the customer reads it: delivered at once
DELIVERED_ON_SEND = frozenset({WaveChannel.PUSH, WaveChannel.PORTAL, WaveChannel.EMAIL})
# consent is recorded for these; the portal inbox needs none (the customer reads it there)
CONSENT_CHANNELS = frozenset({WaveChannel.EMAIL, WaveChannel.SMS, WaveChannel.PUSH})
TOKEN_SALT = "yiti.campaigns.delivery"  # noqa: S105 - a signing salt, not a secret


def batch_size() -> int:
    return max(1, int(getattr(settings, "YITI_SEND_BATCH_SIZE", 200)))


def lease_seconds() -> int:
    return max(1, int(getattr(settings, "YITI_SEND_LEASE_SECONDS", 120)))


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:64]


def delivery_token(delivery_id: int) -> str:
    """The signed token of a delivery's response link and open pixel."""
    return signing.dumps(delivery_id, salt=TOKEN_SALT, compress=True)


def delivery_from_token(token: str) -> int | None:
    try:
        return int(signing.loads(token, salt=TOKEN_SALT, max_age=timedelta(days=180)))
    except (signing.BadSignature, ValueError, TypeError):
        return None


# --- starting a wave -------------------------------------------------------------------------


@transaction.atomic
def wave_start(*, wave: Wave, now: datetime | None = None) -> list[SendBatch]:
    """Open a planned wave of a running campaign: batches for its messages (enqueued after
    commit), its calls and visits released to the agents' lists."""
    now = now or timezone.now()
    wave = Wave.objects.select_for_update().select_related("campaign").get(pk=wave.pk)
    if wave.status != WaveStatus.PLANNED or wave.campaign.status != CampaignStatus.RUNNING:
        return []
    ids = list(
        Delivery.objects.filter(wave=wave, status=DeliveryStatus.PLANNED, channel__in=ELECTRONIC)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    size = batch_size()
    batches = [
        SendBatch(
            wave=wave,
            number=i // size + 1,
            first_id=ids[i],
            last_id=ids[min(i + size, len(ids)) - 1],
            size=min(size, len(ids) - i),
            enqueued_at=now,
        )
        for i in range(0, len(ids), size)
    ]
    SendBatch.objects.bulk_create(batches)
    created = list(SendBatch.objects.filter(wave=wave).order_by("number"))
    wave.status = WaveStatus.SENDING
    wave.sending_started_at = now
    wave.save(update_fields=["status", "sending_started_at", "updated_at"])
    audit_record(
        actor=None,
        action="wave.start",
        obj=wave,
        changes={"batches": len(created), "messages": len(ids)},
    )
    batch_ids = [b.pk for b in created]

    def enqueue_all() -> None:
        for batch_id in batch_ids:
            batch_enqueue(batch_id)

    transaction.on_commit(enqueue_all)
    if not batch_ids and wave.kind != WaveKind.CALL and not _has_worked_contacts(wave):
        _wave_done(wave, now)
    return created


def batch_enqueue(batch_id: int, *, run_after: datetime | None = None) -> None:
    """Hand the batch to a background task, and remember which (for the recovery sweep)."""
    from yiti.campaigns.tasks import send_batch_task

    task = send_batch_task.using(run_after=run_after) if run_after else send_batch_task
    result = task.enqueue(batch_id=batch_id)
    SendBatch.objects.filter(pk=batch_id).update(task_id=str(result.id), enqueued_at=timezone.now())


def _has_worked_contacts(wave: Wave) -> bool:
    return Delivery.objects.filter(
        wave=wave, status=DeliveryStatus.PLANNED, channel__in=(WaveChannel.CALL, WaveChannel.VISIT)
    ).exists()


def _wave_done(wave: Wave, now: datetime) -> None:
    Wave.objects.filter(pk=wave.pk).exclude(status=WaveStatus.DONE).update(
        status=WaveStatus.DONE, done_at=now
    )


# --- one batch -------------------------------------------------------------------------------


@dataclass
class BatchResult:
    batch_id: int
    status: str = ""
    sent: int = 0
    failed: int = 0
    rejected: int = 0
    excluded: int = 0
    resent_in_doubt: int = 0
    retry: bool = False
    delivery_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch": self.batch_id,
            "status": self.status,
            "sent": self.sent,
            "failed": self.failed,
            "rejected": self.rejected,
            "excluded": self.excluded,
            "resent_in_doubt": self.resent_in_doubt,
            "retry": self.retry,
        }


def _claim(batch_id: int, worker: str, now: datetime) -> bool:
    stale = now - timedelta(seconds=lease_seconds())
    return bool(
        SendBatch.objects.filter(pk=batch_id)
        .filter(Q(status="pending") | Q(status="running", heartbeat_at__lt=stale))
        .update(status="running", claimed_by=worker, heartbeat_at=now, runs=F("runs") + 1)
    )


def _render(text: str, values: dict[str, str]) -> str:
    """``{name}``, ``{offer}``, ``{gift}``, ``{link}`` in a wave's subject or message."""

    class _Keep(dict):  # an unknown placeholder stays as it is written
        def __missing__(self, key: str) -> str:
            return "{" + key + "}"

    try:
        return text.format_map(_Keep(values))
    except (ValueError, IndexError):  # a stray brace: send the text as written
        return text


def _recheck(batch: SendBatch, rows: list[tuple[Any, ...]]) -> dict[int, str]:
    """Deliveries that may no longer be sent: consent withdrawn or the customer suppressed
    since planning. Two queries for the batch."""
    customer_ids = {r[1] for r in rows}
    suppressed: dict[int, str] = {}
    for customer_id, reason in (
        Suppression.objects.active()
        .filter(customer_id__in=customer_ids)
        .order_by("reason")
        .values_list("customer_id", "reason")
    ):
        suppressed.setdefault(customer_id, reason)
    granted = set(
        ConsentState.objects.filter(
            customer_id__in=customer_ids, purpose=Purpose.MARKETING, granted=True
        ).values_list("customer_id", "channel")
    )
    out: dict[int, str] = {}
    for delivery_id, customer_id, channel, *_rest in rows:
        if channel in CONSENT_CHANNELS and (customer_id, channel) not in granted:
            out[delivery_id] = OPTED_OUT
        elif customer_id in suppressed:
            out[delivery_id] = f"suppressed:{suppressed[customer_id]}"
    return out


def _address(channel: str, customer_id: int, email: str, phone: str) -> str:
    if channel == WaveChannel.EMAIL:
        return email
    if channel == WaveChannel.SMS:
        return phone
    return str(customer_id)


def batch_send(
    batch_id: int, *, worker: str | None = None, now: datetime | None = None
) -> BatchResult:
    """Send one batch (see the module docstring). Safe to run any number of times.

    ``now`` fixes the batch's clock (sent times, timeline entries, heartbeats) instead of the
    time of each message, e.g. to replay a past wave in the demo seed."""
    worker = worker or worker_name()
    result = BatchResult(batch_id=batch_id)
    if not _claim(batch_id, worker, now or timezone.now()):
        result.status = "skipped"
        return result
    batch = SendBatch.objects.select_related("wave", "wave__campaign", "wave__offer").get(
        pk=batch_id
    )
    wave, campaign = batch.wave, batch.wave.campaign
    rows = list(
        Delivery.objects.filter(
            wave=wave,
            pk__gte=batch.first_id,
            pk__lte=batch.last_id,
            status__in=(DeliveryStatus.PLANNED, DeliveryStatus.SENDING),
            channel__in=ELECTRONIC,
        )
        .order_by("pk")
        .values_list(
            "pk",
            "customer_id",
            "channel",
            "status",
            "attempts",
            "customer__primary_email",
            "customer__primary_phone",
            "customer__name",
        )
    )
    blocked = _recheck(batch, rows)
    if blocked:
        _exclude(blocked)
        result.excluded = len(blocked)
    offer = wave.offer or campaign.offers.first()
    base = getattr(settings, "YITI_BASE_URL", "http://localhost:8000").rstrip("/")
    adapters: dict[str, ChannelAdapter] = {}
    mail = EmailAdapter()
    sent_customers: list[int] = []
    todo = [row for row in rows if row[0] not in blocked]
    hot = _Hot()
    marked = hot.mark(todo[0][0]) if todo else False
    with mail:
        for index, (
            delivery_id,
            customer_id,
            channel,
            status,
            attempts,
            email,
            phone,
            name,
        ) in enumerate(todo):
            if index % 25 == 0 and _campaign_status(campaign.pk) != CampaignStatus.RUNNING:
                Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.SENDING).update(
                    status=DeliveryStatus.PLANNED, attempts=F("attempts") - 1
                )
                SendBatch.objects.filter(pk=batch_id, claimed_by=worker).update(
                    status="pending", claimed_by=""
                )
                result.status = "paused"
                return result
            if not marked and not hot.mark(delivery_id):
                continue  # handled meanwhile by another run
            if status == DeliveryStatus.SENDING:
                result.resent_in_doubt += 1
            token = delivery_token(delivery_id)
            values = {
                "name": name,
                "offer": offer.name if offer else "",
                "gift": offer.gift_name if offer else "",
                "link": f"{base}/c/{token}/",
            }
            message = OutboundMessage(
                channel=ADAPTER_CHANNEL[channel],
                to=_address(channel, customer_id, email, phone),
                subject=_render(wave.subject or campaign.name, values),
                body=_render(wave.message, values)
                + (f"\n\n{values['link']}" if "{link}" not in wave.message else ""),
                idempotency_key=f"yiti-d{delivery_id}",
                metadata={"campaign": campaign.pk, "wave": wave.pk, "delivery": delivery_id},
            )
            adapter: ChannelAdapter = (
                mail
                if channel == WaveChannel.EMAIL
                else adapters.setdefault(channel, adapter_for(ADAPTER_CHANNEL[channel]))
            )
            if not message.to:
                outcome = SendResult.rejected("no address on file")
            else:
                outcome = adapter.send(message)
            following = todo[index + 1][0] if index + 1 < len(todo) else None
            owned, marked = _record(
                hot,
                batch_id,
                worker,
                wave,
                delivery_id,
                customer_id,
                channel,
                attempts + 1,
                message,
                outcome,
                result,
                following,
                at=now,
            )
            if outcome.status == SendStatus.SENT:
                sent_customers.append(customer_id)
            if not owned:  # the batch was handed to another worker: stop here
                result.status = "lost"
                break
    if sent_customers:
        customers_touch(customer_ids=sent_customers, at=now or timezone.now())
    if result.status == "lost":
        return result
    _finish(batch_id, worker, wave, result, at=now)
    return result


class _Hot:
    """The three statements every message costs, as SQL prepared once per batch.

    A wave of ten thousand messages runs them ten thousand times; through the ORM their
    compilation was a third of a message's CPU. Table and column names come from the
    models' metadata; every value is a parameter.
    """

    def __init__(self) -> None:
        qn, ops = connection.ops.quote_name, connection.ops
        self.adapt = ops.adapt_datetimefield_value
        d = qn(Delivery._meta.db_table)
        b = qn(SendBatch._meta.db_table)
        planned, sending = DeliveryStatus.PLANNED.value, DeliveryStatus.SENDING.value
        self.mark_sql = (
            f"UPDATE {d} SET status = '{sending}', attempts = attempts + 1 "  # noqa: S608
            f"WHERE id = %s AND status IN ('{planned}', '{sending}')"
        )
        self.sent_sql = (
            f"UPDATE {d} SET status = %s, sent_at = %s, delivered_at = %s, "  # noqa: S608
            f"provider_id = %s, error = '' WHERE id = %s AND status = '{sending}'"
        )
        self.beat_sql = f"UPDATE {b} SET heartbeat_at = %s WHERE id = %s AND claimed_by = %s"  # noqa: S608
        fields = [f for f in Interaction._meta.concrete_fields if not f.primary_key]
        self.columns = [f.attname for f in fields]
        names = ", ".join(qn(str(f.column)) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        self.insert_sql = f"INSERT INTO {qn(Interaction._meta.db_table)} ({names}) VALUES ({marks})"  # noqa: S608

    def mark(self, delivery_id: int) -> bool:
        """planned → sending before the channel is called (the one message a crash leaves
        in doubt); False when another run has handled it meanwhile."""
        with connection.cursor() as cursor:
            cursor.execute(self.mark_sql, [delivery_id])
            return bool(cursor.rowcount)

    def sent(
        self,
        delivery_id: int,
        status: str,
        at: datetime,
        delivered: datetime | None,
        provider_id: str,
    ) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                self.sent_sql,
                [
                    status,
                    self.adapt(at),
                    self.adapt(delivered) if delivered else None,
                    provider_id[:120],
                    delivery_id,
                ],
            )

    def beat(self, batch_id: int, worker: str, at: datetime) -> bool:
        with connection.cursor() as cursor:
            cursor.execute(self.beat_sql, [self.adapt(at), batch_id, worker])
            return bool(cursor.rowcount)

    def interaction(self, **values: Any) -> None:
        defaults = {"body": "", "actor_id": None, "unit_id": None, "ticket_id": None}
        row = {**defaults, **values}
        params = [
            self.adapt(row[c]) if isinstance(row[c], datetime) else row[c] for c in self.columns
        ]
        with connection.cursor() as cursor:
            cursor.execute(self.insert_sql, params)


def _campaign_status(campaign_id: int) -> str:
    return Campaign.objects.filter(pk=campaign_id).values_list("status", flat=True).first() or ""


def _exclude(blocked: dict[int, str]) -> None:
    by_reason: dict[str, list[int]] = {}
    for delivery_id, reason in blocked.items():
        by_reason.setdefault(reason, []).append(delivery_id)
    for reason, ids in by_reason.items():
        Delivery.objects.filter(
            pk__in=ids, status__in=(DeliveryStatus.PLANNED, DeliveryStatus.SENDING)
        ).update(status=DeliveryStatus.EXCLUDED, reason=reason, note=_("at send time"))


def _record(
    hot: _Hot,
    batch_id: int,
    worker: str,
    wave: Wave,
    delivery_id: int,
    customer_id: int,
    channel: str,
    attempts: int,
    message: OutboundMessage,
    outcome: SendResult,
    result: BatchResult,
    following: int | None,
    *,
    at: datetime | None = None,
) -> tuple[bool, bool]:
    """The channel's answer, the timeline entry, the heartbeat and the next message marked
    ``sending``, in one commit. Returns (the batch is still this worker's, the next is marked)."""
    now = at or timezone.now()
    with transaction.atomic():
        if outcome.status == SendStatus.SENT:
            delivered = now if channel in DELIVERED_ON_SEND else None
            status = DeliveryStatus.DELIVERED if delivered else DeliveryStatus.SENT
            hot.sent(delivery_id, status.value, now, delivered, outcome.provider_id)
            hot.interaction(
                customer_id=customer_id,
                occurred_at=now,
                channel=channel,
                direction=Direction.OUTBOUND.value,
                purpose=InteractionPurpose.MARKETING.value,
                outcome=(Outcome.DELIVERED if delivered else Outcome.SENT).value,
                subject=message.subject[:200],
                campaign_id=wave.campaign_id,
                wave_id=wave.pk,
                external_ref=message.idempotency_key,
                created_at=now,
            )
            result.sent += 1
            result.delivery_ids.append(delivery_id)
        elif outcome.status == SendStatus.REJECTED or attempts >= MAX_ATTEMPTS:
            final = (
                DeliveryStatus.REJECTED
                if outcome.status == SendStatus.REJECTED
                else DeliveryStatus.FAILED
            )
            Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.SENDING).update(
                status=final, error=outcome.error[:255]
            )
            if final == DeliveryStatus.REJECTED:
                result.rejected += 1
            else:
                result.failed += 1
        else:  # retryable: back to planned, the batch runs again later
            Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.SENDING).update(
                status=DeliveryStatus.PLANNED, error=outcome.error[:255]
            )
            result.retry = True
        owned = hot.beat(batch_id, worker, now)
        marked = owned and following is not None and hot.mark(following)
    return owned, marked


def _finish(
    batch_id: int, worker: str, wave: Wave, result: BatchResult, *, at: datetime | None = None
) -> None:
    from yiti.campaigns.outcomes import complaint_rate_check

    now = at or timezone.now()
    with transaction.atomic():
        status = "pending" if result.retry else "done"
        SendBatch.objects.filter(pk=batch_id, claimed_by=worker).update(
            status=status,
            done_at=None if result.retry else now,
            sent=F("sent") + result.sent,
            failed=F("failed") + result.failed + result.rejected,
            heartbeat_at=now,
            claimed_by="" if result.retry else worker,
        )
        audit_record(
            actor=None,
            action="wave.batch_sent",
            object_type="campaigns.sendbatch",
            object_id=batch_id,
            changes={**result.as_dict(), "deliveries": result.delivery_ids},
        )
        if result.retry:
            later = now + timedelta(seconds=60)
            transaction.on_commit(lambda: batch_enqueue(batch_id, run_after=later))
        elif (
            not SendBatch.objects.filter(wave=wave).exclude(status="done").exists()
            and wave.kind != WaveKind.CALL
            and not _has_worked_contacts(wave)
        ):
            _wave_done(wave, now)
    result.status = "retry" if result.retry else "done"
    complaint_rate_check(campaign_id=wave.campaign_id, now=at)


# --- recovery --------------------------------------------------------------------------------


def _task_waiting(task_id: str, stale: datetime) -> bool:
    """Whether the batch's task is still to run (queued, or started within the lease)."""
    from django_tasks.base import TaskResultStatus
    from django_tasks.exceptions import TaskResultDoesNotExist

    from yiti.campaigns.tasks import send_batch_task

    if not task_id:
        return False
    try:
        result = send_batch_task.get_result(task_id)
    except TaskResultDoesNotExist:
        return False
    if result.status == TaskResultStatus.READY:
        return True
    started = result.started_at
    return result.status == TaskResultStatus.RUNNING and started is not None and started >= stale


def batches_recover(*, now: datetime | None = None) -> list[int]:
    """Batches of running campaigns that nobody will send: enqueue them again.

    A running batch is lost when its heartbeat is older than the lease (its worker was killed
    or hangs); a pending one when its task is no longer waiting for a worker (it ended —
    e.g. the campaign was paused and has resumed — or died before claiming the batch).
    """
    now = now or timezone.now()
    stale = now - timedelta(seconds=lease_seconds())
    running = SendBatch.objects.filter(wave__campaign__status=CampaignStatus.RUNNING)
    lost = list(
        running.filter(status="running", heartbeat_at__lt=stale).values_list("pk", flat=True)
    )
    for batch_id, task_id in running.filter(status="pending").values_list("pk", "task_id"):
        if not _task_waiting(task_id, stale):
            lost.append(batch_id)
    if lost:
        # the old claim ends here: a worker that was only slow finds its heartbeat refused
        # and stops before its next message
        SendBatch.objects.filter(pk__in=lost).update(status="pending", claimed_by="")
        for batch_id in lost:
            batch_enqueue(batch_id)
        log.warning("re-enqueued %d sending batches nobody was sending", len(lost))
    return lost


def waves_due(*, now: datetime | None = None) -> dict[str, int]:
    """Start the planned waves of running campaigns that are due, plan the due waves that are
    not planned yet (when their source wave is done), close call waves whose time is over."""
    from yiti.campaigns.planning import wave_plan

    now = now or timezone.now()
    started = planned = closed = 0
    running = Wave.objects.filter(campaign__status=CampaignStatus.RUNNING, scheduled_at__lte=now)
    for wave in (
        running.filter(status=WaveStatus.DRAFT)
        .select_related("source_wave")
        .order_by("scheduled_at", "pk")
    ):
        if wave.source_wave is not None and wave.source_wave.status != WaveStatus.DONE:
            continue
        try:
            wave_plan(actor=None, wave=wave)
            planned += 1
        except Exception:  # one bad wave must not stop the others; logged with its trace
            log.exception("planning wave %s failed", wave.pk)
    for wave in running.filter(status=WaveStatus.PLANNED).order_by("scheduled_at", "pk"):
        if (
            wave_start(wave=wave, now=now)
            or Wave.objects.filter(
                pk=wave.pk, status__in=(WaveStatus.SENDING, WaveStatus.DONE)
            ).exists()
        ):
            started += 1
    for wave in Wave.objects.filter(
        status=WaveStatus.SENDING, kind=WaveKind.CALL, ends_at__lte=now
    ):
        # calls not made in time are not reached; they no longer hold a place in the policy
        Delivery.objects.filter(wave=wave, status=DeliveryStatus.PLANNED).update(
            status=DeliveryStatus.CANCELLED, reason="not_called"
        )
        _wave_done(wave, now)
        closed += 1
    for wave in Wave.objects.filter(status=WaveStatus.SENDING).exclude(kind=WaveKind.CALL):
        if not SendBatch.objects.filter(wave=wave).exclude(
            status="done"
        ).exists() and not _has_worked_contacts(wave):
            _wave_done(wave, now)
            closed += 1
    return {"planned": planned, "started": started, "closed": closed}
