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
from django.db import transaction
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
    from yiti.campaigns.tasks import send_batch_task

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
    transaction.on_commit(lambda: [send_batch_task.enqueue(batch_id=b) for b in batch_ids])
    if not batch_ids and wave.kind != WaveKind.CALL and not _has_worked_contacts(wave):
        _wave_done(wave, now)
    return created


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
        Suppression.objects.filter(customer_id__in=customer_ids, lifted_at__isnull=True)
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
    """Send one batch (see the module docstring). Safe to run any number of times."""
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
        ) in enumerate(rows):
            if delivery_id in blocked:
                continue
            if index % 25 == 0 and _campaign_status(campaign.pk) != CampaignStatus.RUNNING:
                SendBatch.objects.filter(pk=batch_id, claimed_by=worker).update(
                    status="pending", claimed_by=""
                )
                result.status = "paused"
                return result
            if not Delivery.objects.filter(
                pk=delivery_id, status__in=(DeliveryStatus.PLANNED, DeliveryStatus.SENDING)
            ).update(status=DeliveryStatus.SENDING, attempts=F("attempts") + 1):
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
            _record(
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
            )
            if outcome.status == SendStatus.SENT:
                sent_customers.append(customer_id)
    if sent_customers:
        customers_touch(customer_ids=sent_customers, at=timezone.now())
    _finish(batch_id, worker, wave, result)
    return result


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
) -> None:
    """The channel's answer, the timeline entry and the heartbeat, in one commit."""
    now = timezone.now()
    with transaction.atomic():
        if outcome.status == SendStatus.SENT:
            delivered = now if channel in DELIVERED_ON_SEND else None
            Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.SENDING).update(
                status=DeliveryStatus.DELIVERED if delivered else DeliveryStatus.SENT,
                sent_at=now,
                delivered_at=delivered,
                provider_id=outcome.provider_id[:120],
                error="",
            )
            Interaction.objects.create(
                customer_id=customer_id,
                occurred_at=now,
                channel=channel,
                direction=Direction.OUTBOUND,
                purpose=InteractionPurpose.MARKETING,
                outcome=Outcome.DELIVERED if delivered else Outcome.SENT,
                subject=message.subject[:200],
                unit_id=None,
                campaign_id=wave.campaign_id,
                wave_id=wave.pk,
                external_ref=message.idempotency_key,
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
        SendBatch.objects.filter(pk=batch_id, claimed_by=worker).update(heartbeat_at=now)


def _finish(batch_id: int, worker: str, wave: Wave, result: BatchResult) -> None:
    from yiti.campaigns.outcomes import complaint_rate_check
    from yiti.campaigns.tasks import send_batch_task

    now = timezone.now()
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
            transaction.on_commit(
                lambda: send_batch_task.using(run_after=later).enqueue(batch_id=batch_id)
            )
        elif (
            not SendBatch.objects.filter(wave=wave).exclude(status="done").exists()
            and wave.kind != WaveKind.CALL
            and not _has_worked_contacts(wave)
        ):
            _wave_done(wave, now)
    result.status = "retry" if result.retry else "done"
    complaint_rate_check(campaign_id=wave.campaign_id)


# --- recovery --------------------------------------------------------------------------------


def batches_recover(*, now: datetime | None = None) -> list[int]:
    """Batches whose worker stopped beating (or that were never picked up): enqueue them again.

    A pending batch counts as lost when it has waited longer than the lease since it was last
    enqueued; a running one when its heartbeat is older than the lease.
    """
    from yiti.campaigns.tasks import send_batch_task

    now = now or timezone.now()
    stale = now - timedelta(seconds=lease_seconds())
    lost = list(
        SendBatch.objects.filter(
            Q(status="running", heartbeat_at__lt=stale)
            | Q(status="pending", enqueued_at__lt=stale),
            wave__campaign__status=CampaignStatus.RUNNING,
        ).values_list("pk", flat=True)
    )
    if lost:
        SendBatch.objects.filter(pk__in=lost).update(enqueued_at=now)
        for batch_id in lost:
            send_batch_task.enqueue(batch_id=batch_id)
        log.warning("re-enqueued %d sending batches whose worker stopped", len(lost))
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
