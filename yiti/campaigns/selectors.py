"""Reads for campaigns: lists, the funnel per wave, complaints by class, the agents' call
lists, a customer's campaign contacts. Funnels and complaints are aggregates (a couple of
grouped queries per campaign, whatever its size); lists of deliveries show only customers
the user may see."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from yiti.campaigns.choices import (
    CONTACTED_STATUSES,
    CampaignStatus,
    DeliveryStatus,
    WaveChannel,
    WaveStatus,
)
from yiti.campaigns.models import Campaign, ChecklistItem, Delivery, Offer, Segment, Wave
from yiti.campaigns.rules import can_view
from yiti.core.errors import NotFound, PermissionDenied
from yiti.customers.rules import visible_q
from yiti.org.access import access_for
from yiti.org.models import Membership, User
from yiti.org.roles import CHECKLIST_SIGNERS
from yiti.service.choices import ComplaintClass, TicketKind
from yiti.service.models import Ticket


def _require_view(user: Any) -> None:
    if not can_view(access_for(user)):
        raise PermissionDenied(_("Campaigns are not open to your role."))


@dataclass(frozen=True)
class CampaignFilters:
    q: str = ""
    status: str = ""

    @classmethod
    def from_mapping(cls, data: Any) -> CampaignFilters:
        status = data.get("status") or ""
        return cls(
            q=(data.get("q") or "").strip()[:100],
            status=status if status in CampaignStatus.values else "",
        )


def campaigns_list(user: Any, filters: CampaignFilters | None = None) -> QuerySet[Campaign]:
    _require_view(user)
    qs = Campaign.objects.select_related("owner_unit", "owner", "segment")
    if filters and filters.q:
        qs = qs.filter(Q(name__icontains=filters.q) | Q(code__icontains=filters.q))
    if filters and filters.status:
        qs = qs.filter(status=filters.status)
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
            pk__in=Membership.objects.filter(role__in=roles, unit_id__in=ancestors).values(
                "user_id"
            ),
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
    contacted = Q(status__in=CONTACTED_STATUSES)
    rows = (
        Delivery.objects.filter(campaign=campaign)
        .order_by()
        .values("wave_id")
        .annotate(
            audience=Count("id"),
            excluded=Count("id", filter=Q(status=DeliveryStatus.EXCLUDED)),
            planned=Count("id", filter=~Q(status=DeliveryStatus.EXCLUDED)),
            sent=Count("id", filter=Q(sent_at__isnull=False)),
            delivered=Count(
                "id",
                filter=Q(delivered_at__isnull=False)
                | (
                    Q(channel__in=(WaveChannel.CALL, WaveChannel.VISIT))
                    & Q(responded_at__isnull=False)
                )
                | Q(outcome="reached"),
            ),
            opened=Count("id", filter=Q(opened_at__isnull=False)),
            responded=Count("id", filter=Q(responded_at__isnull=False)),
            accepted=Count("id", filter=Q(response="accepted")),
            converted=Count("id", filter=Q(converted_at__isnull=False) & contacted),
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
    for row in (
        Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.EXCLUDED)
        .order_by()
        .values("wave_id", "reason")
        .annotate(n=Count("id"))
        .order_by("wave_id", "-n", "reason")
    ):
        f = funnels.get(row["wave_id"])
        if f is not None:
            f.reasons.append((row["reason"], row["n"]))
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


def deliveries_of_wave(user: Any, wave: Wave, *, status: str = "") -> QuerySet[Delivery]:
    """A wave's deliveries of the customers the user may see (admins: all)."""
    access = access_for(user)
    qs = Delivery.objects.filter(wave=wave).select_related("customer", "assignee")
    if not access.is_admin:
        qs = qs.filter(visible_q(access, prefix="customer__"))
    if status in DeliveryStatus.values:
        qs = qs.filter(status=status)
    return qs.order_by("rank", "id")


def delivery_get_for(user: Any, delivery_id: int) -> Delivery:
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


def deliveries_of_customer(customer: Any, *, limit: int = 20) -> list[Delivery]:
    return list(
        Delivery.objects.filter(customer=customer)
        .select_related("campaign", "wave")
        .order_by("-planned_for", "-id")[:limit]
    )
