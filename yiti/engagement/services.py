"""Writes for the timeline. Every contact on any channel goes through here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.core.audit import audit_record, diff, snapshot
from yiti.core.errors import PermissionDenied, ValidationFailed
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
from yiti.engagement.references import references_check
from yiti.org.access import access_for
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
        # what a user names must exist, be in the user's scope and be this customer's
        # (the service desk and care, calling with check_access=False, pass their own objects)
        references_check(
            actor=actor,
            customer=customer,
            refs={"ticket_id": ticket_id, "campaign_id": campaign_id, "wave_id": wave_id},
        )
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
    if existing and existing.active:
        return existing
    if existing:  # expired but never lifted: close it at its expiry, then start a new one
        existing.lifted_at = existing.expires_at
        existing.save(update_fields=["lifted_at"])
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
#
# Who: administrators and campaign managers (``org.manage`` or ``campaign.manage``) change the
# rules, quiet hours and every kind of suppression. Staff who talk to customers and may change
# their consent (``consent.change``: account managers, service and care agents) may also put a
# customer they see on the do-not-disturb list, or take him off it, because that is the
# customer's own wish, like a withdrawn consent. A suppression for an open complaint belongs
# to its ticket: it is set and lifted by the service desk only.

MAX_WINDOW_DAYS = 366
MAX_WEIGHT = Decimal(10)
MANUAL = "manual"  # ``source_type`` of entries made by hand, through the API or an import


def can_manage_policy(actor: User | None) -> bool:
    if actor is None:
        return True
    access = access_for(actor)
    return access.has(Perm.ORG_MANAGE) or access.has(Perm.CAMPAIGN_MANAGE)


def require_policy_manage(actor: User | None) -> None:
    if not can_manage_policy(actor):
        raise PermissionDenied(
            _("Only administrators and campaign managers may change the contact policy.")
        )


def can_suppress(actor: User | None, reason: str) -> bool:
    """Whether ``actor`` may add or lift a hand-made suppression with this ``reason``."""
    if reason == SuppressionReason.OPEN_COMPLAINT:
        return False
    if can_manage_policy(actor):
        return True
    return reason == SuppressionReason.DO_NOT_DISTURB and access_for(actor).has(Perm.CONSENT_CHANGE)


def _codes(values: Any, vocabulary: Sequence[str], field: str) -> list[str]:
    if isinstance(values, str):
        values = [values]
    items = [str(v) for v in (values or [])]
    unknown = [v for v in items if v not in vocabulary]
    if unknown:
        raise ValidationFailed(_("Unknown value: %(v)s") % {"v": unknown[0]}, field=field)
    return [v for v in vocabulary if v in items]  # the vocabulary's order, no repeats


def _int_in(value: Any, low: int, high: int | None, field: str) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationFailed(_("Enter a whole number."), field=field) from None
    if number < low:
        raise ValidationFailed(_("Must be at least %(low)s.") % {"low": low}, field=field)
    if high is not None and number > high:
        raise ValidationFailed(_("Must be at most %(high)s.") % {"high": high}, field=field)
    return number


def _weights(weights: Any) -> dict[str, float]:
    """Weights per purpose, 0 to 10 with at most three decimals (counted in thousandths)."""
    if weights is None:
        return {}
    if not isinstance(weights, dict):
        raise ValidationFailed(_("Give a weight per purpose."), field="weights")
    clean: dict[str, float] = {}
    for purpose in InteractionPurpose.values:
        if purpose not in weights or weights[purpose] in (None, ""):
            continue
        raw = weights[purpose]
        try:
            number = Decimal(str(raw).strip())
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite():
            raise ValidationFailed(
                _("%(v)s is not a number.") % {"v": raw}, field=f"weights.{purpose}"
            )
        if number < 0 or number > MAX_WEIGHT:
            raise ValidationFailed(_("A weight is between 0 and 10."), field=f"weights.{purpose}")
        if number != number.quantize(Decimal("0.001")):
            raise ValidationFailed(
                _("A weight has at most three decimals."), field=f"weights.{purpose}"
            )
        clean[purpose] = float(number)
    unknown = [k for k in weights if k not in InteractionPurpose.values]
    if unknown:
        raise ValidationFailed(_("Unknown value: %(v)s") % {"v": unknown[0]}, field="weights")
    return clean


def _rule_name(name: Any, *, exclude: int | None = None) -> str:
    text = str(name or "").strip()
    if not text or len(text) > 80:
        raise ValidationFailed(_("Name the rule (at most 80 characters)."), field="name")
    taken = ContactPolicyRule.objects.filter(name=text)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise ValidationFailed(_("A rule with this name exists."), field="name")
    return text


_RULE_FIELDS = (
    "name", "max_contacts", "window_days", "calendar_days", "purposes", "channels", "weights",
    "active",
)  # fmt: skip


def contact_rule_clean(
    *,
    name: Any,
    max_contacts: Any,
    window_days: Any,
    purposes: Any = (),
    channels: Any = (),
    weights: Any = None,
    calendar_days: Any = False,
    exclude: int | None = None,
) -> dict[str, Any]:
    """The rule's fields checked and normalised (raises ``ValidationFailed`` naming the field);
    what the impact preview evaluates before anything is saved."""
    return {
        "name": _rule_name(name, exclude=exclude),
        "max_contacts": _int_in(max_contacts, 1, None, "max_contacts"),
        "window_days": _int_in(window_days, 1, MAX_WINDOW_DAYS, "window_days"),
        "purposes": _codes(purposes, InteractionPurpose.values, "purposes"),
        "channels": _codes(channels, InteractionChannel.values, "channels"),
        "weights": _weights(weights),
        "calendar_days": _yes_no(calendar_days, "calendar_days"),
    }


def _yes_no(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed(_("Choose yes or no."), field=field)
    return value


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
    calendar_days: bool = False,
) -> ContactPolicyRule:
    """A contact cap: at most ``max_contacts`` weighted contacts in any ``window_days`` days
    of the purposes and channels in scope (empty: all), e.g. 2 marketing contacts a week.

    The window is every span of ``window_days`` × 24 hours; ``calendar_days`` counts whole
    local days instead (ADR 0006 §5)."""
    require_policy_manage(actor)
    values = contact_rule_clean(
        name=name,
        max_contacts=max_contacts,
        window_days=window_days,
        purposes=purposes,
        channels=channels,
        weights=weights,
        calendar_days=calendar_days,
    )
    rule = ContactPolicyRule.objects.create(**values)
    audit_record(
        actor=actor,
        action="policy.rule_create",
        obj=rule,
        changes=snapshot(rule, _RULE_FIELDS),
    )
    return rule


_UNSET: Any = object()


@transaction.atomic
def contact_rule_update(
    *,
    actor: User | None,
    rule: ContactPolicyRule,
    name: Any = _UNSET,
    max_contacts: Any = _UNSET,
    window_days: Any = _UNSET,
    purposes: Any = _UNSET,
    channels: Any = _UNSET,
    weights: Any = _UNSET,
    calendar_days: Any = _UNSET,
    active: Any = _UNSET,
) -> ContactPolicyRule:
    """Change some of a rule's fields (those given); the next plan applies it."""
    require_policy_manage(actor)
    rule = ContactPolicyRule.objects.select_for_update().get(pk=rule.pk)
    before = snapshot(rule, _RULE_FIELDS)
    given = {
        "name": name,
        "max_contacts": max_contacts,
        "window_days": window_days,
        "purposes": purposes,
        "channels": channels,
        "weights": weights,
        "calendar_days": calendar_days,
    }
    merged = {k: (before[k] if v is _UNSET else v) for k, v in given.items()}
    values = contact_rule_clean(**merged, exclude=rule.pk)
    if active is not _UNSET:
        if not isinstance(active, bool):
            raise ValidationFailed(_("Choose yes or no."), field="active")
        values["active"] = active
    for key, value in values.items():
        setattr(rule, key, value)
    changes = diff(before, snapshot(rule, _RULE_FIELDS))
    if changes:
        rule.save(update_fields=[*changes, "updated_at"])
        audit_record(actor=actor, action="policy.rule_update", obj=rule, changes=changes)
    return rule


def contact_rule_deactivate(*, actor: User | None, rule: ContactPolicyRule) -> ContactPolicyRule:
    """Stop applying a rule (kept for the exclusions that name it)."""
    return contact_rule_update(actor=actor, rule=rule, active=False)


def _quiet_snapshot(quiet: QuietHours) -> dict[str, Any]:
    return {
        "name": quiet.name,
        "days": list(quiet.days),
        "start": quiet.start.isoformat("minutes"),
        "end": quiet.end.isoformat("minutes"),
        "channels": list(quiet.channels),
        "active": quiet.active,
    }


def _time(value: Any, field: str) -> time:
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    if isinstance(value, str):
        try:
            return time.fromisoformat(value.strip()).replace(second=0, microsecond=0)
        except ValueError:
            pass
    raise ValidationFailed(_("Enter the time as HH:MM."), field=field)


def quiet_hours_clean(
    *, name: Any, start: Any, end: Any, days: Any = (0, 1, 2, 3, 4, 5, 6), channels: Any = ()
) -> dict[str, Any]:
    text = str(name or "").strip()
    if not text or len(text) > 80:
        raise ValidationFailed(_("Name the quiet hours (at most 80 characters)."), field="name")
    try:
        day_list = sorted({int(d) for d in (days or ())})
    except (TypeError, ValueError):
        raise ValidationFailed(_("Choose the days of the week."), field="days") from None
    if not day_list or any(d not in Weekday.values for d in day_list):
        raise ValidationFailed(_("Choose the days of the week."), field="days")
    return {
        "name": text,
        "days": day_list,
        "start": _time(start, "start"),
        "end": _time(end, "end"),
        "channels": _codes(channels, InteractionChannel.values, "channels"),
    }


@transaction.atomic
def quiet_hours_create(
    *,
    actor: User | None,
    name: str,
    start: time | str,
    end: time | str,
    days: Sequence[int] = (0, 1, 2, 3, 4, 5, 6),
    channels: Sequence[str] = (),
) -> QuietHours:
    """A time of day when nothing is planned on these channels (empty: all), running over
    midnight when ``end`` is before ``start`` (21:00–09:00)."""
    require_policy_manage(actor)
    values = quiet_hours_clean(name=name, start=start, end=end, days=days, channels=channels)
    quiet = QuietHours.objects.create(**values)
    audit_record(
        actor=actor,
        action="policy.quiet_create",
        obj=quiet,
        changes=_quiet_snapshot(quiet),
    )
    return quiet


@transaction.atomic
def quiet_hours_update(
    *,
    actor: User | None,
    quiet: QuietHours,
    name: Any = _UNSET,
    start: Any = _UNSET,
    end: Any = _UNSET,
    days: Any = _UNSET,
    channels: Any = _UNSET,
    active: Any = _UNSET,
) -> QuietHours:
    """Change some of the quiet hours' fields (those given)."""
    require_policy_manage(actor)
    quiet = QuietHours.objects.select_for_update().get(pk=quiet.pk)
    before = _quiet_snapshot(quiet)
    current = {
        "name": quiet.name,
        "start": quiet.start,
        "end": quiet.end,
        "days": quiet.days,
        "channels": quiet.channels,
    }
    given = {"name": name, "start": start, "end": end, "days": days, "channels": channels}
    values = quiet_hours_clean(**{k: (current[k] if v is _UNSET else v) for k, v in given.items()})
    if active is not _UNSET:
        if not isinstance(active, bool):
            raise ValidationFailed(_("Choose yes or no."), field="active")
        values["active"] = active
    for key, value in values.items():
        setattr(quiet, key, value)
    changes = diff(before, _quiet_snapshot(quiet))
    if changes:
        quiet.save(update_fields=[*changes, "updated_at"])
        audit_record(actor=actor, action="policy.quiet_update", obj=quiet, changes=changes)
    return quiet


def _expiry(expires_at: Any, now: datetime) -> datetime | None:
    if expires_at in (None, ""):
        return None
    if isinstance(expires_at, date) and not isinstance(expires_at, datetime):
        # a day: the entry runs to the end of it, local time
        expires_at = timezone.make_aware(datetime.combine(expires_at + timedelta(days=1), time()))
    if not isinstance(expires_at, datetime):
        raise ValidationFailed(_("Enter a date."), field="expires_at")
    if timezone.is_naive(expires_at):
        expires_at = timezone.make_aware(expires_at)
    if expires_at <= now:
        raise ValidationFailed(_("The end must be in the future."), field="expires_at")
    return expires_at


@transaction.atomic
def suppression_add(
    *,
    actor: User | None,
    customer: Customer,
    reason: str = SuppressionReason.DO_NOT_DISTURB,
    expires_at: datetime | date | None = None,
    note: str = "",
) -> Suppression:
    """Put a customer on the do-not-disturb (or legal, other) list by hand, until
    ``expires_at`` (a date: to the end of that day) or until lifted. Adding again while an
    entry is active changes its end and note."""
    if reason not in SuppressionReason.values:
        raise ValidationFailed(_("Unknown suppression reason."), field="reason")
    if reason == SuppressionReason.OPEN_COMPLAINT:
        raise ValidationFailed(
            _("A complaint's suppression follows its ticket; it cannot be added by hand."),
            field="reason",
        )
    if not can_suppress(actor, reason):
        raise PermissionDenied(_("You may not change this customer's suppressions."))
    require_visible(actor, customer)
    if len(note or "") > 255:
        raise ValidationFailed(_("At most 255 characters."), field="note")
    now = timezone.now()
    until = _expiry(expires_at, now)
    row = (
        Suppression.objects.select_for_update()
        .filter(
            customer=customer,
            reason=reason,
            source_type=MANUAL,
            source_id="",
            lifted_at__isnull=True,
        )
        .first()
    )
    if row is not None and row.active:
        before = snapshot(row, ("expires_at", "note"))
        row.expires_at, row.note = until, (note or "").strip()
        changes = diff(before, snapshot(row, ("expires_at", "note")))
        if changes:
            row.save(update_fields=["expires_at", "note"])
            audit_record(
                actor=actor,
                action="suppression.update",
                obj=row,
                customer_id=customer.pk,
                changes=changes,
            )
        return row
    if row is not None:  # expired, never lifted
        row.lifted_at = row.expires_at
        row.save(update_fields=["lifted_at"])
    row = Suppression.objects.create(
        customer=customer,
        reason=reason,
        source_type=MANUAL,
        note=(note or "").strip(),
        expires_at=until,
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action="suppression.set",
        obj=row,
        customer_id=customer.pk,
        changes={"reason": reason, "expires_at": until, "note": row.note},
    )
    return row


@transaction.atomic
def suppression_lift_entry(*, actor: User | None, suppression: Suppression) -> Suppression:
    """Lift one hand-made suppression now (a complaint's is lifted when it is resolved)."""
    row = Suppression.objects.select_for_update().select_related("customer").get(pk=suppression.pk)
    if row.reason == SuppressionReason.OPEN_COMPLAINT:
        raise ValidationFailed(
            _("A complaint's suppression is lifted when the complaint is resolved."),
            code="complaint_suppression",
            field="reason",
        )
    if not can_suppress(actor, row.reason):
        raise PermissionDenied(_("You may not change this customer's suppressions."))
    require_visible(actor, row.customer)
    if not row.active:
        raise ValidationFailed(
            _("This entry is no longer active."), code="not_active", field="lifted_at"
        )
    row.lifted_at, row.lifted_by = timezone.now(), actor
    row.save(update_fields=["lifted_at", "lifted_by"])
    audit_record(
        actor=actor,
        action="suppression.lift",
        obj=row,
        customer_id=row.customer_id,
        changes={"reason": row.reason},
    )
    return row
