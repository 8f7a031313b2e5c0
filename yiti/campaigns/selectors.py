"""Reads for campaigns: lists, the funnel per wave, complaints by class, the agents' call
lists, a customer's campaign contacts. Funnels and complaints are aggregates (a couple of
grouped queries per campaign, whatever its size); lists of deliveries show only customers
the user may see."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from yiti.campaigns import exclusions
from yiti.campaigns.choices import (
    CONTACTED_STATUSES,
    CampaignStatus,
    DeliveryStatus,
    WaveChannel,
    WaveStatus,
)
from yiti.campaigns.models import (
    Campaign,
    ChecklistItem,
    Conflict,
    Delivery,
    Offer,
    Segment,
    Wave,
)
from yiti.campaigns.rules import can_view
from yiti.core.arrays import int_rows
from yiti.core.errors import NotFound, PermissionDenied
from yiti.core.ids import parse_id
from yiti.customers.models import Customer
from yiti.customers.rules import visible_q
from yiti.org.access import access_for
from yiti.org.models import Membership, User
from yiti.org.roles import CHECKLIST_SIGNERS
from yiti.service.choices import ComplaintClass, TicketKind
from yiti.service.models import Ticket


def _require_view(user: Any) -> None:
    """``None`` is the system (commands and tasks), as for the services."""
    if user is not None and not can_view(access_for(user)):
        raise PermissionDenied(_("Campaigns are not open to your role."))


@dataclass(frozen=True)
class CampaignFilters:
    q: str = ""
    status: str = ""
    mine: bool = False  # only the campaigns the acting user owns

    @classmethod
    def from_mapping(cls, data: Any) -> CampaignFilters:
        status = data.get("status") or ""
        return cls(
            q=(data.get("q") or "").strip()[:100],
            status=status if status in CampaignStatus.values else "",
            mine=str(data.get("mine") or "").lower() in {"1", "true", "on", "yes"},
        )


def campaigns_list(user: Any, filters: CampaignFilters | None = None) -> QuerySet[Campaign]:
    _require_view(user)
    qs = Campaign.objects.select_related("owner_unit", "owner", "segment")
    if filters and filters.q:
        qs = qs.filter(Q(name__icontains=filters.q) | Q(code__icontains=filters.q))
    if filters and filters.status:
        qs = qs.filter(status=filters.status)
    if filters and filters.mine:
        qs = qs.filter(owner_id=access_for(user).user_id)
    return qs.order_by("-starts_on", "-id")


def campaign_get(user: Any, campaign_id: int) -> Campaign:
    _require_view(user)
    campaign = (
        Campaign.objects.select_related(
            "owner_unit", "owner", "segment", "service_unit", "stock_unit"
        )
        .filter(pk=campaign_id)
        .first()
    )
    if campaign is None:
        raise NotFound(_("Campaign not found."))
    return campaign


def offers_list(user: Any, *, active_only: bool = False) -> QuerySet[Offer]:
    _require_view(user)
    qs = Offer.objects.select_related("product").prefetch_related("incompatible_with")
    if active_only:
        qs = qs.filter(active=True)
    return qs.order_by("code")


def offer_get(user: Any, offer_id: int) -> Offer:
    _require_view(user)
    offer = Offer.objects.select_related("product").filter(pk=offer_id).first()
    if offer is None:
        raise NotFound(_("Offer not found."))
    return offer


def segments_list(user: Any) -> QuerySet[Segment]:
    _require_view(user)
    return Segment.objects.select_related("unit", "created_by").order_by("name")


def segment_get(user: Any, segment_id: int) -> Segment:
    _require_view(user)
    segment = Segment.objects.select_related("unit").filter(pk=segment_id).first()
    if segment is None:
        raise NotFound(_("Segment not found."))
    return segment


def wave_get(user: Any, wave_id: int) -> Wave:
    _require_view(user)
    wave = (
        Wave.objects.select_related("campaign", "offer", "source_wave").filter(pk=wave_id).first()
    )
    if wave is None:
        raise NotFound(_("Wave not found."))
    return wave


def checklist_of(campaign: Campaign) -> list[ChecklistItem]:
    return list(campaign.checklist.select_related("unit", "signed_by").order_by("id"))


def signers_for(item: ChecklistItem) -> list[User]:
    """Users who may sign the item: a signer role in its unit or a unit above it."""
    ancestors = [int(p) for p in item.unit.path.strip("/").split("/") if p]
    roles = CHECKLIST_SIGNERS.get(item.kind, frozenset())
    return list(
        User.objects.filter(
            is_active=True,
            pk__in=Membership.objects.current()
            .filter(role__in=roles, unit_id__in=ancestors)
            .values("user_id"),
        ).order_by("username")
    )


# --- the funnel ------------------------------------------------------------------------------


@dataclass
class WaveFunnel:
    wave: Wave
    audience: int = 0
    excluded: int = 0
    planned: int = 0
    sent: int = 0
    delivered: int = 0
    opened: int = 0
    responded: int = 0
    accepted: int = 0
    converted: int = 0
    failed: int = 0
    reasons: list[tuple[str, int]] = field(default_factory=list)

    @property
    def steps(self) -> list[tuple[str, str, int]]:
        """(key, label, count) in funnel order, for charts and tables."""
        return [
            ("audience", _("Audience"), self.audience),
            ("planned", _("Planned"), self.planned),
            ("sent", _("Sent / called"), self.sent),
            ("delivered", _("Delivered / reached"), self.delivered),
            ("responded", _("Responded"), self.responded),
            ("converted", _("Converted"), self.converted),
        ]


def campaign_funnel(campaign: Campaign) -> list[WaveFunnel]:
    """The funnel of every wave: two grouped queries for the whole campaign."""
    waves = list(campaign.waves.select_related("offer", "source_wave").order_by("number"))
    funnels = {w.pk: WaveFunnel(wave=w) for w in waves}
    # Each step counts the contacts that got at least that far, so a funnel only narrows: a
    # reply proves the message arrived (a portal or push message has no delivery receipt, a
    # call that was answered no "delivered" time), a conversion counts as the strongest reply.
    converted = Q(converted_at__isnull=False) & Q(status__in=CONTACTED_STATUSES)
    responded = Q(responded_at__isnull=False) | converted
    delivered = (
        Q(delivered_at__isnull=False)
        | Q(opened_at__isnull=False)
        | Q(outcome="reached")
        | responded
    )
    rows = (
        Delivery.objects.filter(campaign=campaign)
        .order_by()
        .values("wave_id")
        .annotate(
            audience=Count("id"),
            excluded=Count("id", filter=Q(status=DeliveryStatus.EXCLUDED)),
            planned=Count("id", filter=~Q(status=DeliveryStatus.EXCLUDED)),
            sent=Count("id", filter=Q(sent_at__isnull=False) | delivered),
            delivered=Count("id", filter=delivered),
            opened=Count("id", filter=Q(opened_at__isnull=False) | responded),
            responded=Count("id", filter=responded),
            accepted=Count("id", filter=Q(response="accepted")),
            converted=Count("id", filter=converted),
            failed=Count(
                "id", filter=Q(status__in=(DeliveryStatus.FAILED, DeliveryStatus.REJECTED))
            ),
        )
    )
    for counts in rows:
        values: dict[str, Any] = dict(counts)
        f = funnels.get(values.pop("wave_id"))
        if f is not None:
            for key, value in values.items():
                setattr(f, key, value)
    packed = exclusions.counts(funnels)
    reasons: dict[tuple[int, str], int] = dict(packed)
    for wave_id, reason, n in (
        Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.EXCLUDED)
        .order_by()
        .values("wave_id", "reason")
        .annotate(n=Count("id"))
        .values_list("wave_id", "reason", "n")
    ):
        reasons[(wave_id, reason)] = reasons.get((wave_id, reason), 0) + n
    for (wave_id, reason), n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0][1])):
        f = funnels.get(wave_id)
        if f is not None:
            f.reasons.append((reason, n))
    for (wave_id, _reason), n in packed.items():
        f = funnels.get(wave_id)
        if f is not None:  # packed exclusions are part of the audience too
            f.audience += n
            f.excluded += n
    return [funnels[w.pk] for w in waves]


def reason_label(reason: str, campaign_names: dict[int, str] | None = None) -> str:
    """A stored exclusion reason in words (``lost_arbitration:12`` names the campaign)."""
    from yiti.engagement.choices import SuppressionReason

    head, _sep, tail = reason.partition(":")
    labels: dict[str, str] = {
        "opted_out": _("No consent (opted out)"),
        "quiet_hours": _("Quiet hours"),
        "no_contact_point": _("No address on file"),
        "not_eligible": _("Not eligible for the offer"),
        "capacity": _("Beyond the agents' capacity"),
        "campaign_completed": _("Campaign completed"),
        "not_called": _("Not called in time"),
        "holdout": _("Held out (control group)"),
    }
    if head == "cap":
        return _("Contact cap: %(rule)s") % {"rule": tail}
    if head == "suppressed":
        try:
            what = str(SuppressionReason(tail).label)
        except ValueError:
            what = tail
        return _("Suppressed: %(why)s") % {"why": what}
    if head == "lost_arbitration":
        name = (campaign_names or {}).get(int(tail)) if tail.isdigit() else None
        return _("Lost to a higher-ranked campaign: %(c)s") % {"c": name or tail}
    return str(labels.get(reason, reason))


def arbitration_names(funnels: list[WaveFunnel]) -> dict[int, str]:
    ids = {
        int(r.split(":", 1)[1])
        for f in funnels
        for r, _n in f.reasons
        if r.startswith("lost_arbitration:") and r.split(":", 1)[1].isdigit()
    }
    return dict(Campaign.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}


def campaign_complaints(campaign: Campaign) -> list[tuple[str, str, int]]:
    """Complaints about the campaign by class: (class, label, count), all three classes."""
    counts = dict(
        Ticket.objects.filter(campaign_id=campaign.pk, kind=TicketKind.COMPLAINT)
        .order_by()
        .values_list("complaint_class")
        .annotate(n=Count("id"))
        .values_list("complaint_class", "n")
    )
    return [(value, str(label), counts.get(value, 0)) for value, label in ComplaintClass.choices]


# --- the agents' lists -----------------------------------------------------------------------


def call_list(user: Any, *, mine_only: bool = True) -> QuerySet[Delivery]:
    """Calls and visits to make now: open waves of running campaigns, best first."""
    access = access_for(user)
    qs = Delivery.objects.filter(
        status=DeliveryStatus.PLANNED,
        channel__in=(WaveChannel.CALL, WaveChannel.VISIT),
        wave__status=WaveStatus.SENDING,
        campaign__status=CampaignStatus.RUNNING,
    ).select_related("customer", "customer__unit", "wave", "campaign", "wave__offer", "assignee")
    if mine_only:
        qs = qs.filter(assignee_id=access.user_id)
    else:
        qs = qs.filter(Q(assignee_id=access.user_id) | Q(assignee__isnull=True)).filter(
            visible_q(access, prefix="customer__")
        )
    return qs.order_by("wave__scheduled_at", "rank", "id")


class WaveContacts:
    """A wave's deliveries (best first) followed by its packed exclusions, sliceable like a
    queryset for ``paginate``. A packed exclusion reads as an unsaved ``Delivery`` (no id)
    with the status ``excluded`` and its reason."""

    def __init__(
        self, wave: Wave, deliveries: QuerySet[Delivery], excluded: list[tuple[str, Any]]
    ) -> None:
        self.wave, self.deliveries = wave, deliveries
        self.excluded = [(reason, ids) for reason, ids in excluded if len(ids)]

    def __getitem__(self, part: slice) -> list[Delivery]:
        start, stop = part.start or 0, part.stop
        assert stop is not None and part.step is None
        rows = list(self.deliveries[start:stop])
        if len(rows) == stop - start or not self.excluded:
            return rows
        before = start + len(rows) if rows or not start else self.deliveries.count()
        picked: list[tuple[str, int]] = []
        lo, hi = max(start - before, 0), stop - before
        for reason, ids in self.excluded:
            if hi <= 0:
                break
            picked += [(reason, int(i)) for i in ids[max(lo, 0) : hi]]
            lo, hi = lo - len(ids), hi - len(ids)
        customers = Customer.objects.in_bulk([i for _r, i in picked])
        rows += [
            packed_as_delivery(self.wave, customers[i], reason)
            for reason, i in picked
            if i in customers
        ]
        return rows


def packed_as_delivery(wave: Wave, customer: Any, reason: str) -> Delivery:
    """A packed exclusion as an unsaved delivery (no id), for the lists and pages that show
    a wave's contacts."""
    return Delivery(
        wave=wave,
        campaign=wave.campaign,  # cached on the wave: no query per row
        customer=customer,
        channel="",
        status=DeliveryStatus.EXCLUDED,
        reason=reason,
        planned_for=wave.scheduled_at,
    )


def deliveries_of_wave(
    user: Any, wave: Wave, *, status: str = "", reason: str = ""
) -> WaveContacts:
    """A wave's contacts of the customers the user may see (admins: all): its deliveries,
    then the customers its plan excluded for good. ``reason`` is an exclusion reason
    (``opted_out``) or its head (``cap`` matches every ``cap:<rule>``)."""
    access = access_for(user)
    qs = Delivery.objects.filter(wave=wave).select_related("customer", "assignee")
    if not access.is_admin:
        qs = qs.filter(visible_q(access, prefix="customer__"))
    if status in DeliveryStatus.values:
        qs = qs.filter(status=status)
    if reason:
        qs = qs.filter(exclusions.reason_q(reason))
    packed: list[tuple[str, Any]] = []
    if status in ("", DeliveryStatus.EXCLUDED):
        packed = exclusions.customers_of(wave, reason=reason)
        if packed and not access.is_admin:
            visible = int_rows(
                Customer.objects.filter(visible_q(access)).order_by().values_list("pk"), 1
            )[:, 0]
            packed = [(r, ids[np.isin(ids, visible)]) for r, ids in packed]
    return WaveContacts(wave, qs.order_by("rank", "id"), packed)


def deliveries_of_customer(customer: Any, *, limit: int = 20) -> list[Delivery]:
    """The customer's latest campaign contacts, and the waves that left him out for good."""
    rows = list(
        Delivery.objects.filter(customer=customer)
        .select_related("campaign", "wave")
        .order_by("-planned_for", "-id")[:limit]
    )
    rows += [
        packed_as_delivery(e.wave, customer, e.reason)
        for e in exclusions.of_customer(customer.pk, limit=limit)
    ]
    rows.sort(key=lambda d: (d.planned_for, d.pk or 0), reverse=True)
    return rows[:limit]


def delivery_get_for(user: Any, delivery_id: int) -> Delivery:
    _require_view(user)
    access = access_for(user)
    qs = Delivery.objects.select_related(
        "customer", "customer__unit", "wave", "campaign", "wave__offer"
    )
    if not access.is_admin:
        qs = qs.filter(Q(assignee_id=access.user_id) | visible_q(access, prefix="customer__"))
    delivery = qs.filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFound(_("Delivery not found."))
    return delivery


# --- lookups for the API and the command line ------------------------------------------------


def campaign_find(user: Any, ref: str | int) -> Campaign:
    """A campaign by its code or its id (the command line's ``CAMPAIGN``)."""
    _require_view(user)
    text = str(ref).strip()
    campaign = Campaign.objects.filter(code=text).first()
    if campaign is None and (pk := parse_id(text)) is not None:
        campaign = Campaign.objects.filter(pk=pk).first()
    if campaign is None:
        raise NotFound(_("No campaign with the code or id %(ref)s.") % {"ref": text})
    return campaign


def waves_of(campaign: Campaign) -> QuerySet[Wave]:
    return campaign.waves.select_related("offer", "source_wave").order_by("number")


def wave_by_number(campaign: Campaign, number: int) -> Wave:
    wave = waves_of(campaign).filter(number=number).first()
    if wave is None:
        raise NotFound(_("Campaign %(c)s has no wave %(n)d.") % {"c": campaign.code, "n": number})
    return wave


def checklist_item_get(user: Any, item_id: int) -> ChecklistItem:
    _require_view(user)
    item = (
        ChecklistItem.objects.select_related("campaign", "unit", "signed_by")
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        raise NotFound(_("Checklist item not found."))
    return item


def conflict_get(user: Any, conflict_id: int) -> Conflict:
    _require_view(user)
    conflict = (
        Conflict.objects.select_related("campaign", "other", "accepted_by")
        .filter(pk=conflict_id)
        .first()
    )
    if conflict is None:
        raise NotFound(_("Conflict not found."))
    return conflict


def reason_labels(reasons: Any) -> dict[str, str]:
    """Each distinct reason in words, naming the campaigns of ``lost_arbitration:<id>`` with
    one query."""
    distinct = {r for r in reasons if r}
    ids = {
        int(tail)
        for r in distinct
        for head, _sep, tail in [r.partition(":")]
        if head == "lost_arbitration" and tail.isdigit()
    }
    names = dict(Campaign.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    return {r: reason_label(r, names) for r in distinct}


# --- for the web pages -----------------------------------------------------------------------


def wave_reasons(wave: Wave) -> list[tuple[str, int]]:
    """The wave's exclusion reasons with their counts, most frequent first (two queries)."""
    counts = {reason: n for (_w, reason), n in exclusions.counts([wave.pk]).items()}
    for reason, n in (
        Delivery.objects.filter(wave=wave, status=DeliveryStatus.EXCLUDED)
        .order_by()
        .values("reason")
        .annotate(n=Count("id"))
        .values_list("reason", "n")
    ):
        counts[reason] = counts.get(reason, 0) + n
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def delivery_for_response(delivery_id: int) -> Delivery | None:
    """The delivery behind a response link (the link's signature is the access check)."""
    return (
        Delivery.objects.select_related(
            "customer", "campaign", "wave", "wave__offer", "wave__offer__product"
        )
        .filter(pk=delivery_id)
        .first()
    )


def offer_of_delivery(delivery: Delivery) -> Offer | None:
    """The offer a contact is about: its wave's offer, else its campaign's first offer."""
    if delivery.wave.offer_id is not None:
        return delivery.wave.offer
    return delivery.campaign.offers.select_related("product").order_by("code").first()


def offers_by_campaign(campaign_ids: set[int]) -> dict[int, Offer]:
    """Each campaign's first offer (by code) in one query, for lists of contacts."""
    out: dict[int, Offer] = {}
    through = Campaign.offers.through.objects.filter(campaign_id__in=campaign_ids)
    rows = through.select_related("offer", "offer__product").order_by("offer__code")
    for row in rows:
        out.setdefault(row.campaign_id, row.offer)
    return out
