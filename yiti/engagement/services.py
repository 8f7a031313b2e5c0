"""Writes for the timeline. Every contact on any channel goes through here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.core.audit import audit_record
from yiti.core.errors import ValidationFailed
from yiti.customers.choices import CustomerStatus
from yiti.customers.models import Customer
from yiti.customers.rules import require_perm, require_visible
from yiti.customers.services import customers_touch
from yiti.engagement.choices import (
    Direction,
    InteractionChannel,
    InteractionPurpose,
    Outcome,
    SuppressionReason,
    Weekday,
)
from yiti.engagement.models import ContactPolicyRule, Interaction, QuietHours, Suppression
from yiti.org.models import OrgUnit, User
from yiti.org.roles import Perm


def _validate(channel: str, direction: str, purpose: str, outcome: str) -> None:
    if channel not in InteractionChannel.values:
        raise ValidationFailed(_("Unknown channel: %(v)s") % {"v": channel}, field="channel")
    if direction not in Direction.values:
        raise ValidationFailed(_("Unknown direction: %(v)s") % {"v": direction}, field="direction")
    if purpose not in InteractionPurpose.values:
        raise ValidationFailed(_("Unknown purpose: %(v)s") % {"v": purpose}, field="purpose")
    if outcome not in Outcome.values:
        raise ValidationFailed(_("Unknown outcome: %(v)s") % {"v": outcome}, field="outcome")


@transaction.atomic
def interaction_record(
    *,
    actor: User | None,
    customer: Customer,
    channel: str,
    direction: str,
    purpose: str,
    outcome: str = Outcome.COMPLETED,
    subject: str = "",
    body: str = "",
    occurred_at: datetime | None = None,
    unit: OrgUnit | None = None,
    campaign_id: int | None = None,
    wave_id: int | None = None,
    ticket_id: int | None = None,
    external_ref: str = "",
    check_access: bool = True,
) -> Interaction:
    """Append one contact to the customer's timeline and move ``last_contact_at`` forward."""
    if check_access:
        require_perm(actor, Perm.INTERACTION_CREATE)
        require_visible(actor, customer)
    _validate(channel, direction, purpose, outcome)
    if customer.status == CustomerStatus.MERGED:
        raise ValidationFailed(
            _("This customer was merged; record the contact on the surviving customer.")
        )
    now = timezone.now()
    occurred_at = occurred_at or now
    if occurred_at > now + timedelta(minutes=5):
        raise ValidationFailed(_("A contact cannot be in the future."), field="occurred_at")
    if len(subject) > 200:
        raise ValidationFailed(_("Subject is longer than 200 characters."), field="subject")
    interaction = Interaction.objects.create(
        customer=customer,
        occurred_at=occurred_at,
        channel=channel,
        direction=direction,
        purpose=purpose,
        outcome=outcome,
        subject=subject,
        body=body,
        actor=actor,
        unit=unit or customer.unit,
        campaign_id=campaign_id,
        wave_id=wave_id,
        ticket_id=ticket_id,
        external_ref=external_ref[:64],
    )
    customers_touch(customer_ids=[customer.pk], at=occurred_at)
    audit_record(
        actor=actor,
        action="interaction.record",
        obj=interaction,
        customer_id=customer.pk,
        changes={"channel": channel, "purpose": purpose, "outcome": outcome},
    )
    return interaction


@dataclass(frozen=True)
class InteractionRow:
    customer_id: int
    channel: str
    direction: str
    purpose: str
    outcome: str
    occurred_at: datetime
    subject: str = ""
    unit_id: int | None = None
    actor_id: int | None = None
    campaign_id: int | None = None
    wave_id: int | None = None
    ticket_id: int | None = None
    external_ref: str = ""


def interactions_record_bulk(*, rows: Sequence[InteractionRow], batch_size: int = 5000) -> int:
    """Append many contacts at once (campaign sends, imports): bulk insert, one touch per batch.

    Callers are system processes that already checked their own rules; rows are validated
    for their codes only.
    """
    for row in rows:
        _validate(row.channel, row.direction, row.purpose, row.outcome)
    with transaction.atomic():
        Interaction.objects.bulk_create(
            [
                Interaction(
                    customer_id=r.customer_id,
                    occurred_at=r.occurred_at,
                    channel=r.channel,
                    direction=r.direction,
                    purpose=r.purpose,
                    outcome=r.outcome,
                    subject=r.subject[:200],
                    unit_id=r.unit_id,
                    actor_id=r.actor_id,
                    campaign_id=r.campaign_id,
                    wave_id=r.wave_id,
                    ticket_id=r.ticket_id,
                    external_ref=r.external_ref[:64],
                )
                for r in rows
            ],
            batch_size=batch_size,
        )
        latest: dict[datetime, list[int]] = {}
        for r in rows:
            latest.setdefault(r.occurred_at, []).append(r.customer_id)
        if len(latest) <= 20:
            for at, ids in latest.items():
                customers_touch(customer_ids=ids, at=at)
        else:
            touched = sorted({r.customer_id for r in rows})
            newest = Subquery(
                Interaction.objects.filter(customer_id=OuterRef("pk"))
                .order_by()
                .values("customer_id")
                .annotate(m=Max("occurred_at"))
                .values("m")[:1]
            )
            Customer.objects.filter(pk__in=touched).update(last_contact_at=newest)
    return len(rows)


@transaction.atomic
def suppression_set(
    *,
    actor: User | None,
    customer: Customer,
    reason: str,
    source_type: str = "",
    source_id: str | int = "",
    note: str = "",
) -> Suppression:
    """Put the customer on the marketing suppression list for this reason and source (idempotent)."""
    if reason not in SuppressionReason.values:
        raise ValidationFailed(_("Unknown suppression reason."), field="reason")
    existing = Suppression.objects.filter(
        customer=customer,
        reason=reason,
        source_type=source_type,
        source_id=str(source_id),
        lifted_at__isnull=True,
    ).first()
    if existing:
        return existing
    row = Suppression.objects.create(
        customer=customer,
        reason=reason,
        source_type=source_type,
        source_id=str(source_id),
        note=note[:255],
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action="suppression.set",
        obj=row,
        customer_id=customer.pk,
        changes={"reason": reason, "source": f"{source_type}:{source_id}"},
    )
    return row


@transaction.atomic
def suppression_lift(
    *,
    actor: User | None,
    customer: Customer,
    reason: str,
    source_type: str = "",
    source_id: str | int = "",
) -> int:
    """Lift the active suppression for this reason and source; returns how many rows were lifted."""
    rows = list(
        Suppression.objects.select_for_update().filter(
            customer=customer,
            reason=reason,
            source_type=source_type,
            source_id=str(source_id),
            lifted_at__isnull=True,
        )
    )
    now = timezone.now()
    for row in rows:
        row.lifted_at, row.lifted_by = now, actor
        row.save(update_fields=["lifted_at", "lifted_by"])
        audit_record(
            actor=actor,
            action="suppression.lift",
            obj=row,
            customer_id=customer.pk,
            changes={"reason": reason, "source": f"{source_type}:{source_id}"},
        )
    return len(rows)


# --- the contact policy (business settings as data) -------------------------------------------


def _codes(values: Any, vocabulary: Sequence[str], field: str) -> list[str]:
    items = [str(v) for v in (values or [])]
    unknown = [v for v in items if v not in vocabulary]
    if unknown:
        raise ValidationFailed(_("Unknown value: %(v)s") % {"v": unknown[0]}, field=field)
    return list(dict.fromkeys(items))


@transaction.atomic
def contact_rule_create(
    *,
    actor: User | None,
    name: str,
    max_contacts: int,
    window_days: int,
    purposes: Sequence[str] = (),
    channels: Sequence[str] = (),
    weights: dict[str, Any] | None = None,
) -> ContactPolicyRule:
    """A contact cap: at most ``max_contacts`` weighted contacts in any ``window_days`` days
    of the purposes and channels in scope (empty: all), e.g. 2 marketing contacts a week."""
    require_perm(actor, Perm.ORG_MANAGE)
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ValidationFailed(_("Name the rule (at most 80 characters)."), field="name")
    if ContactPolicyRule.objects.filter(name=name).exists():
        raise ValidationFailed(_("A rule with this name exists."), field="name")
    if int(max_contacts) < 0:
        raise ValidationFailed(_("Must be at least %(low)s.") % {"low": 0}, field="max_contacts")
    if int(window_days) < 1:
        raise ValidationFailed(_("Must be at least %(low)s.") % {"low": 1}, field="window_days")
    clean_weights: dict[str, float] = {}
    for purpose, weight in (weights or {}).items():
        _codes([purpose], InteractionPurpose.values, "weights")
        try:
            number = float(weight)
        except (TypeError, ValueError):
            raise ValidationFailed(
                _("%(v)s is not a number.") % {"v": weight}, field="weights"
            ) from None
        if number < 0:
            raise ValidationFailed(_("Must be at least %(low)s.") % {"low": 0}, field="weights")
        clean_weights[purpose] = number
    rule = ContactPolicyRule.objects.create(
        name=name,
        max_contacts=int(max_contacts),
        window_days=int(window_days),
        purposes=_codes(purposes, InteractionPurpose.values, "purposes"),
        channels=_codes(channels, InteractionChannel.values, "channels"),
        weights=clean_weights,
    )
    audit_record(
        actor=actor,
        action="policy.rule_create",
        obj=rule,
        changes={
            "name": rule.name,
            "max_contacts": rule.max_contacts,
            "window_days": rule.window_days,
            "purposes": rule.purposes,
            "channels": rule.channels,
            "weights": rule.weights,
        },
    )
    return rule


@transaction.atomic
def quiet_hours_create(
    *,
    actor: User | None,
    name: str,
    start: time,
    end: time,
    days: Sequence[int] = (0, 1, 2, 3, 4, 5, 6),
    channels: Sequence[str] = (),
) -> QuietHours:
    """A time of day when nothing is planned on these channels (empty: all), running over
    midnight when ``end`` is before ``start`` (21:00–09:00)."""
    require_perm(actor, Perm.ORG_MANAGE)
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ValidationFailed(_("Name the quiet hours (at most 80 characters)."), field="name")
    if not isinstance(start, time) or not isinstance(end, time):
        raise ValidationFailed(_("Enter the times as HH:MM."), field="start")
    day_list = sorted({int(d) for d in days})
    if not day_list or any(d not in Weekday.values for d in day_list):
        raise ValidationFailed(_("Choose the days of the week."), field="days")
    quiet = QuietHours.objects.create(
        name=name,
        days=day_list,
        start=start,
        end=end,
        channels=_codes(channels, InteractionChannel.values, "channels"),
    )
    audit_record(
        actor=actor,
        action="policy.quiet_create",
        obj=quiet,
        changes={
            "name": quiet.name,
            "days": day_list,
            "start": start.isoformat("minutes"),
            "end": end.isoformat("minutes"),
            "channels": quiet.channels,
        },
    )
    return quiet
