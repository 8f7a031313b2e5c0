"""Conflicts between campaigns (seed 000: "活动冲突" is a complaint about the offer's design).

Two campaigns conflict when their periods overlap, their audiences overlap, and their offers
are marked incompatible or would offer the same product to the same customers twice. The
check counts the customers in both audiences with one ``COUNT(*)`` per clashing pair (the
two segment rules and unit scopes ANDed in SQL), so it costs a few queries however large
the audiences. A conflict blocks the launch until it is resolved (the clash or the overlap
disappears on a later check) or accepted with a reason.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.campaigns import segments
from yiti.campaigns.choices import ACTIVE_STATUSES, ConflictKind, ConflictStatus
from yiti.campaigns.models import Campaign, Conflict
from yiti.campaigns.rules import require_manage
from yiti.core.audit import audit_record
from yiti.core.errors import ValidationFailed
from yiti.customers.models import Customer
from yiti.org.models import User


def _audience_q(campaign: Campaign) -> Q:
    unit_ids = list(campaign.participating_units.values_list("pk", flat=True))
    return segments.rules_q(campaign.segment.rules) & segments.units_q(unit_ids)


def _clashes(a: Campaign, b: Campaign) -> list[tuple[str, str]]:
    """The kinds of clash between the two campaigns' offers, with a short detail each."""
    offers_a = list(a.offers.select_related("product").prefetch_related("incompatible_with"))
    offers_b = list(b.offers.select_related("product"))
    ids_b = {o.pk for o in offers_b}
    out: list[tuple[str, str]] = []
    pairs = [
        f"{oa.name} × {ob.name}"
        for oa in offers_a
        for ob in offers_b
        if ob.pk in {x.pk for x in oa.incompatible_with.all()} and ob.pk in ids_b
    ]
    if pairs:
        out.append((ConflictKind.INCOMPATIBLE_OFFERS, "; ".join(pairs)[:255]))
    products = {o.product_id: o.product.name for o in offers_a}
    same = sorted({products[o.product_id] for o in offers_b if o.product_id in products})
    if same:
        out.append((ConflictKind.SAME_PRODUCT, "、".join(same)[:255]))
    return out


@transaction.atomic
def conflicts_check(*, actor: User | None, campaign: Campaign) -> list[Conflict]:
    """Refresh the conflicts of ``campaign`` with every other active campaign; returns the
    conflicts that stand (open or accepted)."""
    now = timezone.now()
    others = (
        Campaign.objects.filter(status__in=ACTIVE_STATUSES)
        .exclude(pk=campaign.pk)
        .filter(starts_on__lte=campaign.ends_on, ends_on__gte=campaign.starts_on)
        .select_related("segment")
    )
    found: dict[tuple[int, int, str], tuple[str, int]] = {}
    mine = _audience_q(campaign)
    for other in others:
        clashes = _clashes(campaign, other)
        if not clashes:
            continue
        overlap = Customer.objects.filter(mine & _audience_q(other)).count()
        if not overlap:
            continue
        low, high = sorted((campaign.pk, other.pk))
        for kind, detail in clashes:
            found[(low, high, kind)] = (detail, overlap)
    existing = {
        (c.campaign_id, c.other_id, c.kind): c
        for c in Conflict.objects.select_for_update().filter(
            Q(campaign=campaign) | Q(other=campaign)
        )
    }
    standing: list[Conflict] = []
    for key, (detail, overlap) in found.items():
        conflict = existing.get(key)
        if conflict is None:
            conflict = Conflict.objects.create(
                campaign_id=key[0],
                other_id=key[1],
                kind=key[2],
                detail=detail,
                overlap_customers=overlap,
                checked_at=now,
            )
        else:
            if conflict.status == ConflictStatus.RESOLVED:
                conflict.status, conflict.reason = ConflictStatus.OPEN, ""
                conflict.accepted_by, conflict.accepted_at = None, None
            conflict.detail, conflict.overlap_customers, conflict.checked_at = detail, overlap, now
            conflict.save()
        standing.append(conflict)
    for key, conflict in existing.items():
        if key not in found and conflict.status != ConflictStatus.RESOLVED:
            conflict.status, conflict.checked_at = ConflictStatus.RESOLVED, now
            conflict.save(update_fields=["status", "checked_at", "updated_at"])
    Campaign.objects.filter(pk=campaign.pk).update(conflicts_checked_at=now)
    campaign.conflicts_checked_at = now
    audit_record(
        actor=actor,
        action="campaign.conflicts_check",
        obj=campaign,
        changes={
            "conflicts": [
                {
                    "with": c.other_id if c.campaign_id == campaign.pk else c.campaign_id,
                    "kind": c.kind,
                    "customers": c.overlap_customers,
                    "status": c.status,
                }
                for c in standing
            ]
        },
    )
    return standing


def open_conflicts(campaign: Campaign) -> list[Conflict]:
    return list(
        Conflict.objects.filter(
            Q(campaign=campaign) | Q(other=campaign), status=ConflictStatus.OPEN
        )
        .select_related("campaign", "other")
        .order_by("id")
    )


def conflicts_of(campaign: Campaign) -> Any:
    return (
        Conflict.objects.filter(Q(campaign=campaign) | Q(other=campaign))
        .exclude(status=ConflictStatus.RESOLVED)
        .select_related("campaign", "other", "accepted_by")
        .order_by("id")
    )


@transaction.atomic
def conflict_accept(*, actor: User | None, conflict: Conflict, reason: str) -> Conflict:
    """Accept a conflict knowingly, e.g. "the bundle replaces the broadband offer"."""
    conflict = (
        Conflict.objects.select_for_update().select_related("campaign", "other").get(pk=conflict.pk)
    )
    require_manage(actor, conflict.campaign) if _owns(actor, conflict.campaign) else require_manage(
        actor, conflict.other
    )
    if conflict.status != ConflictStatus.OPEN:
        raise ValidationFailed(_("This conflict is not open."), code="not_open")
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise ValidationFailed(_("Say why the conflict is acceptable."), field="reason")
    conflict.status = ConflictStatus.ACCEPTED
    conflict.reason = reason[:500]
    conflict.accepted_by = actor if getattr(actor, "pk", None) else None
    conflict.accepted_at = timezone.now()
    conflict.save()
    audit_record(
        actor=actor,
        action="campaign.conflict_accept",
        obj=conflict,
        changes={
            "campaign": conflict.campaign_id,
            "other": conflict.other_id,
            "reason": conflict.reason,
        },
    )
    return conflict


def _owns(actor: User | None, campaign: Campaign) -> bool:
    from yiti.campaigns.rules import can_manage
    from yiti.org.access import access_for

    return actor is None or can_manage(access_for(actor), campaign)
