"""Writes for campaigns: offers and their gift stock, segments, campaigns and their launch
checklist, waves, and the campaign's life (submit, sign, launch, pause, resume, complete).

Every write is a keyword-only service inside one transaction, audited. Planning a wave lives
in ``planning.py``, sending in ``sending.py``, answers and conversions in ``outcomes.py``,
the conflict check in ``conflicts.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.campaigns import segments
from yiti.campaigns.choices import (
    BROADCAST_CHANNELS,
    AgentRole,
    BenefitKind,
    CampaignStatus,
    ChecklistKind,
    ConflictStatus,
    DeliveryStatus,
    ReservationStatus,
    WaveChannel,
    WaveKind,
    WaveSource,
    WaveStatus,
)
from yiti.campaigns.errors import NotReady
from yiti.campaigns.models import (
    Campaign,
    ChecklistItem,
    Conflict,
    Delivery,
    Offer,
    OfferReservation,
    Segment,
    Wave,
)
from yiti.campaigns.planning import plan_drop
from yiti.campaigns.rules import require_manage, require_sign
from yiti.core.audit import audit_record, diff, snapshot
from yiti.core.errors import Conflict as ConflictError
from yiti.core.errors import ValidationFailed
from yiti.customers.models import Customer, Product
from yiti.org.models import OrgUnit, User
from yiti.org.services import notify

# --- helpers ---------------------------------------------------------------------------------


def _text(value: Any, field_name: str, *, max_length: int, required: bool = True) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise ValidationFailed(_("This field is required."), field=field_name)
    if len(text) > max_length:
        raise ValidationFailed(_("At most %(n)d characters.") % {"n": max_length}, field=field_name)
    return text


def _code(value: Any, field_name: str = "code") -> str:
    code = _text(value, field_name, max_length=40)
    if not all(c.isascii() and (c.isalnum() or c in "-_") for c in code):
        raise ValidationFailed(
            _("Use letters, digits, hyphens and underscores only."), field=field_name
        )
    return code


def _decimal(value: Any, field_name: str, *, low: Decimal = Decimal(0)) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(
            _("%(v)s is not a number.") % {"v": value}, field=field_name
        ) from None
    if not number.is_finite() or number < low:
        raise ValidationFailed(_("Must be at least %(low)s.") % {"low": low}, field=field_name)
    return number


def _whole(value: Any, field_name: str, *, low: int = 0, high: int = 2_000_000_000) -> int:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        raise ValidationFailed(
            _("%(v)s is not a whole number.") % {"v": value}, field=field_name
        ) from None
    if not low <= number <= high:
        raise ValidationFailed(
            _("Must be between %(low)d and %(high)d.") % {"low": low, "high": high},
            field=field_name,
        )
    return number


def _unique_code(model: type[Any], code: str, *, exclude_pk: int | None = None) -> None:
    qs = model.objects.filter(code=code)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    if qs.exists():
        raise ValidationFailed(_("This code is already used."), field="code")


# --- offers ----------------------------------------------------------------------------------

OFFER_FIELDS = (
    "code",
    "name",
    "product",
    "benefit",
    "benefit_value",
    "gift_name",
    "stock_total",
    "eligibility",
    "terms",
    "faq",
    "active",
)


def _offer_clean(data: dict[str, Any], *, offer: Offer | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "code" in data:
        out["code"] = _code(data["code"])
        _unique_code(Offer, out["code"], exclude_pk=offer.pk if offer else None)
    if "name" in data:
        out["name"] = _text(data["name"], "name", max_length=120)
    if "product" in data:
        product = data["product"]
        if not isinstance(product, Product):
            product = Product.objects.filter(pk=product).first()
        if product is None:
            raise ValidationFailed(_("Choose a product."), field="product")
        out["product"] = product
    if "benefit" in data:
        if data["benefit"] not in BenefitKind.values:
            raise ValidationFailed(
                _("Choose a benefit: discount, gift or credit."), field="benefit"
            )
        out["benefit"] = data["benefit"]
    if "benefit_value" in data:
        out["benefit_value"] = _decimal(data["benefit_value"] or 0, "benefit_value")
    if "gift_name" in data:
        out["gift_name"] = _text(data["gift_name"], "gift_name", max_length=120, required=False)
    if "stock_total" in data:
        out["stock_total"] = _whole(data["stock_total"] or 0, "stock_total")
    if "eligibility" in data:
        out["eligibility"] = segments.rules_clean(data["eligibility"])
    for name in ("terms", "faq"):
        if name in data:
            out[name] = _text(data[name], name, max_length=20_000, required=False)
    if "active" in data:
        out["active"] = bool(data["active"])
    benefit = out.get("benefit", offer.benefit if offer else "")
    if benefit == BenefitKind.GIFT:
        gift = out.get("gift_name", offer.gift_name if offer else "")
        if not gift:
            raise ValidationFailed(_("Name the gift."), field="gift_name")
    if benefit == BenefitKind.DISCOUNT and out.get("benefit_value", Decimal(0)) > 100:
        raise ValidationFailed(_("A discount is at most 100 per cent."), field="benefit_value")
    if offer is not None and "stock_total" in out and out["stock_total"] < offer.stock_reserved:
        raise ValidationFailed(
            _("%(n)d gifts are already reserved; the stock cannot be lower.")
            % {"n": offer.stock_reserved},
            field="stock_total",
        )
    return out


@transaction.atomic
def offer_create(
    *,
    actor: User | None,
    code: str,
    name: str,
    product: Product | int,
    benefit: str,
    benefit_value: Any = 0,
    gift_name: str = "",
    stock_total: int = 0,
    eligibility: Any = None,
    terms: str = "",
    faq: str = "",
    incompatible_with: Iterable[Offer] = (),
) -> Offer:
    require_manage(actor)
    data = _offer_clean(
        {
            "code": code,
            "name": name,
            "product": product,
            "benefit": benefit,
            "benefit_value": benefit_value,
            "gift_name": gift_name,
            "stock_total": stock_total,
            "eligibility": eligibility,
            "terms": terms,
            "faq": faq,
        }
    )
    offer = Offer.objects.create(**data)
    others = list(incompatible_with)
    if others:
        offer.incompatible_with.set(others)
    audit_record(
        actor=actor,
        action="offer.create",
        obj=offer,
        changes={**snapshot(offer, OFFER_FIELDS), "incompatible_with": [o.pk for o in others]},
    )
    return offer


@transaction.atomic
def offer_update(
    *,
    actor: User | None,
    offer: Offer,
    incompatible_with: Iterable[Offer] | None = None,
    **changes: Any,
) -> Offer:
    require_manage(actor)
    offer = Offer.objects.select_for_update().get(pk=offer.pk)
    unknown = set(changes) - set(OFFER_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown field: %(f)s") % {"f": sorted(unknown)[0]})
    before = snapshot(offer, OFFER_FIELDS)
    for name, value in _offer_clean(changes, offer=offer).items():
        setattr(offer, name, value)
    offer.save()
    after = snapshot(offer, OFFER_FIELDS)
    changed = diff(before, after)
    if incompatible_with is not None:
        old = sorted(offer.incompatible_with.values_list("pk", flat=True))
        new = sorted({o.pk for o in incompatible_with if o.pk != offer.pk})
        if old != new:
            offer.incompatible_with.set(new)
            changed["incompatible_with"] = [old, new]
    if changed:
        audit_record(actor=actor, action="offer.update", obj=offer, changes=changed)
    return offer


def _matches(rules: dict[str, Any], customer: Customer) -> bool:
    return segments.audience(rules).filter(pk=customer.pk).exists()


@transaction.atomic
def offer_reserve(
    *,
    actor: User | None,
    offer: Offer,
    customer: Customer,
    unit: OrgUnit | None = None,
    delivery: Delivery | None = None,
    source: str = "",
) -> OfferReservation | None:
    """Hold a gift for a customer who accepted the offer (None for an offer without a gift).

    Refused when the offer is inactive, the customer is not eligible, already holds one, or
    the stock is used up. The stock is taken with one conditional UPDATE, so two agents
    accepting the last gift at once cannot both get it.
    """
    if not offer.active:
        raise ValidationFailed(_("This offer is no longer active."), code="offer_inactive")
    if offer.eligibility.get("conditions") and not _matches(offer.eligibility, customer):
        raise ValidationFailed(
            _("The customer is not eligible for this offer."), code="not_eligible"
        )
    if offer.benefit != BenefitKind.GIFT:
        return None
    taken = Offer.objects.filter(pk=offer.pk, stock_reserved__lt=F("stock_total")).update(
        stock_reserved=F("stock_reserved") + 1
    )
    if not taken:
        raise ConflictError(_("The gift of this offer is out of stock."), code="out_of_stock")
    try:
        with transaction.atomic():
            reservation = OfferReservation.objects.create(
                offer=offer,
                customer=customer,
                delivery=delivery,
                unit=unit,
                actor=actor if getattr(actor, "pk", None) else None,
                source=source[:32],
            )
    except IntegrityError:
        raise ConflictError(
            _("A gift of this offer is already reserved for this customer."),
            code="already_reserved",
        ) from None
    offer.refresh_from_db(fields=["stock_reserved"])
    audit_record(
        actor=actor,
        action="offer.reserve",
        obj=reservation,
        customer_id=customer.pk,
        changes={"offer": offer.pk, "stock_reserved": offer.stock_reserved, "source": source},
    )
    return reservation


@transaction.atomic
def reservation_release(
    *, actor: User | None, reservation: OfferReservation, reason: str = ""
) -> OfferReservation:
    """Give the gift back to the stock (the acceptance was cancelled)."""
    reservation = OfferReservation.objects.select_for_update().get(pk=reservation.pk)
    if reservation.status != ReservationStatus.RESERVED:
        raise ValidationFailed(_("This reservation is not held any more."), code="not_reserved")
    reservation.status = ReservationStatus.RELEASED
    reservation.released_at = timezone.now()
    reservation.save(update_fields=["status", "released_at", "updated_at"])
    Offer.objects.filter(pk=reservation.offer_id, stock_reserved__gt=0).update(
        stock_reserved=F("stock_reserved") - 1
    )
    audit_record(
        actor=actor,
        action="offer.release",
        obj=reservation,
        customer_id=reservation.customer_id,
        changes={"offer": reservation.offer_id, "reason": reason[:200]},
    )
    return reservation


# --- segments --------------------------------------------------------------------------------


@transaction.atomic
def segment_create(
    *,
    actor: User | None,
    name: str,
    rules: Any,
    unit: OrgUnit,
    description: str = "",
) -> Segment:
    require_manage(actor)
    name = _text(name, "name", max_length=120)
    if Segment.objects.filter(name=name).exists():
        raise ValidationFailed(_("A segment with this name exists."), field="name")
    segment = Segment.objects.create(
        name=name,
        rules=segments.rules_clean(rules),
        unit=unit,
        description=_text(description, "description", max_length=5000, required=False),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    audit_record(
        actor=actor,
        action="segment.create",
        obj=segment,
        changes={"name": segment.name, "rules": segment.rules},
    )
    return segment


@transaction.atomic
def segment_update(
    *,
    actor: User | None,
    segment: Segment,
    name: str | None = None,
    rules: Any = None,
    description: str | None = None,
) -> Segment:
    require_manage(actor)
    before = snapshot(segment, ("name", "rules", "description"))
    if name is not None:
        name = _text(name, "name", max_length=120)
        if Segment.objects.filter(name=name).exclude(pk=segment.pk).exists():
            raise ValidationFailed(_("A segment with this name exists."), field="name")
        segment.name = name
    if rules is not None:
        segment.rules = segments.rules_clean(rules)
    if description is not None:
        segment.description = _text(description, "description", max_length=5000, required=False)
    segment.save()
    changed = diff(before, snapshot(segment, ("name", "rules", "description")))
    if changed:
        audit_record(actor=actor, action="segment.update", obj=segment, changes=changed)
    return segment


def segment_count(rules: Any, *, unit_ids: Sequence[int] | None = None) -> int:
    """The number of active customers a rule selects: one ``COUNT(*)`` in SQL."""
    return segments.audience(segments.rules_clean(rules), unit_ids=unit_ids).count()


def segment_recount(*, segment: Segment) -> int:
    """Count the segment now and keep the figure on it (lists show it without counting)."""
    n = segments.audience(segment.rules).count()
    Segment.objects.filter(pk=segment.pk).update(last_count=n, last_counted_at=timezone.now())
    segment.last_count, segment.last_counted_at = n, timezone.now()
    return n


# --- campaigns -------------------------------------------------------------------------------

CAMPAIGN_FIELDS = (
    "code",
    "name",
    "description",
    "owner_unit",
    "owner",
    "service_unit",
    "stock_unit",
    "segment",
    "starts_on",
    "ends_on",
    "priority",
    "goal",
    "goal_conversions",
    "expected_take_up",
    "lead_days",
    "complaint_threshold",
    "complaint_min_contacts",
    "attribution_days",
)
AUDITED = (*CAMPAIGN_FIELDS, "status")
EDITABLE_STATUSES = (CampaignStatus.DRAFT,)


def _as_date(value: Any, field_name: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed(_("Enter a date as YYYY-MM-DD."), field=field_name) from None


def _campaign_clean(data: dict[str, Any], *, campaign: Campaign | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "code" in data:
        out["code"] = _code(data["code"])
        _unique_code(Campaign, out["code"], exclude_pk=campaign.pk if campaign else None)
    if "name" in data:
        out["name"] = _text(data["name"], "name", max_length=120)
    if "description" in data:
        out["description"] = _text(
            data["description"], "description", max_length=20_000, required=False
        )
    if "goal" in data:
        out["goal"] = _text(data["goal"], "goal", max_length=255, required=False)
    for name in ("owner_unit", "service_unit"):
        if name in data and not isinstance(data[name], OrgUnit):
            raise ValidationFailed(_("Choose a unit."), field=name)
        if name in data:
            out[name] = data[name]
    if "stock_unit" in data:
        if data["stock_unit"] is not None and not isinstance(data["stock_unit"], OrgUnit):
            raise ValidationFailed(_("Choose a unit."), field="stock_unit")
        out["stock_unit"] = data["stock_unit"]
    if "owner" in data:
        if not isinstance(data["owner"], User):
            raise ValidationFailed(_("Choose the campaign owner."), field="owner")
        out["owner"] = data["owner"]
    if "segment" in data:
        if not isinstance(data["segment"], Segment):
            raise ValidationFailed(_("Choose a segment."), field="segment")
        out["segment"] = data["segment"]
    if "starts_on" in data:
        out["starts_on"] = _as_date(data["starts_on"], "starts_on")
    if "ends_on" in data:
        out["ends_on"] = _as_date(data["ends_on"], "ends_on")
    if "priority" in data:
        out["priority"] = _whole(data["priority"], "priority", low=1, high=10)
    for name in ("goal_conversions", "complaint_min_contacts"):
        if name in data:
            out[name] = _whole(data[name] or 0, name)
    if "lead_days" in data:
        out["lead_days"] = _whole(data["lead_days"] or 0, "lead_days", high=365)
    if "attribution_days" in data:
        out["attribution_days"] = _whole(
            data["attribution_days"], "attribution_days", low=1, high=365
        )
    if "expected_take_up" in data:
        rate = _decimal(data["expected_take_up"], "expected_take_up")
        if rate > 1:
            raise ValidationFailed(_("A rate is between 0 and 1."), field="expected_take_up")
        out["expected_take_up"] = rate
    if "complaint_threshold" in data:
        out["complaint_threshold"] = _decimal(data["complaint_threshold"], "complaint_threshold")
    starts = out.get("starts_on", campaign.starts_on if campaign else None)
    ends = out.get("ends_on", campaign.ends_on if campaign else None)
    if starts and ends and ends < starts:
        raise ValidationFailed(_("The campaign cannot end before it starts."), field="ends_on")
    return out


def _check_offers(offers: Sequence[Offer]) -> list[Offer]:
    offers = list(offers)
    if not offers:
        raise ValidationFailed(_("Choose at least one offer."), field="offers")
    inactive = [o for o in offers if not o.active]
    if inactive:
        raise ValidationFailed(
            _("The offer %(o)s is not active.") % {"o": inactive[0]}, field="offers"
        )
    return offers


def _check_units(units: Sequence[OrgUnit]) -> list[OrgUnit]:
    units = list(units)
    if not units:
        raise ValidationFailed(
            _("Choose at least one participating unit."), field="participating_units"
        )
    return units


@transaction.atomic
def campaign_create(
    *,
    actor: User | None,
    code: str,
    name: str,
    owner_unit: OrgUnit,
    segment: Segment,
    offers: Sequence[Offer],
    participating_units: Sequence[OrgUnit],
    service_unit: OrgUnit,
    starts_on: Any,
    ends_on: Any,
    owner: User | None = None,
    **options: Any,
) -> Campaign:
    """A draft campaign. ``options``: description, stock_unit, priority, goal,
    goal_conversions, expected_take_up, lead_days, complaint_threshold, complaint_min_contacts,
    attribution_days."""
    require_manage(actor)
    unknown = set(options) - set(CAMPAIGN_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown field: %(f)s") % {"f": sorted(unknown)[0]})
    owner = owner or actor
    if owner is None:
        raise ValidationFailed(_("Choose the campaign owner."), field="owner")
    data = _campaign_clean(
        {
            "code": code,
            "name": name,
            "owner_unit": owner_unit,
            "owner": owner,
            "segment": segment,
            "service_unit": service_unit,
            "starts_on": starts_on,
            "ends_on": ends_on,
            **options,
        }
    )
    campaign = Campaign(**data)
    require_manage(actor, campaign)
    campaign.save()
    campaign.offers.set(_check_offers(offers))
    campaign.participating_units.set(_check_units(participating_units))
    audit_record(
        actor=actor,
        action="campaign.create",
        obj=campaign,
        changes={
            **snapshot(campaign, AUDITED),
            "offers": [o.pk for o in offers],
            "participating_units": [u.pk for u in participating_units],
        },
    )
    return campaign


def _lock(campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update().get(pk=campaign.pk)


@transaction.atomic
def campaign_update(
    *,
    actor: User | None,
    campaign: Campaign,
    offers: Sequence[Offer] | None = None,
    participating_units: Sequence[OrgUnit] | None = None,
    **changes: Any,
) -> Campaign:
    """Change a draft campaign (a campaign in review goes back to draft first)."""
    require_manage(actor, campaign)
    campaign = _lock(campaign)
    if campaign.status not in EDITABLE_STATUSES:
        raise ValidationFailed(
            _("Only a draft can be changed; return the campaign to draft first."),
            code="not_draft",
        )
    unknown = set(changes) - set(CAMPAIGN_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown field: %(f)s") % {"f": sorted(unknown)[0]})
    before = snapshot(campaign, AUDITED)
    for name, value in _campaign_clean(changes, campaign=campaign).items():
        setattr(campaign, name, value)
    require_manage(actor, campaign)
    campaign.save()
    changed = diff(before, snapshot(campaign, AUDITED))
    if offers is not None:
        old = sorted(campaign.offers.values_list("pk", flat=True))
        new = sorted(o.pk for o in _check_offers(offers))
        if old != new:
            campaign.offers.set(new)
            changed["offers"] = [old, new]
    if participating_units is not None:
        old = sorted(campaign.participating_units.values_list("pk", flat=True))
        new = sorted(u.pk for u in _check_units(participating_units))
        if old != new:
            campaign.participating_units.set(new)
            changed["participating_units"] = [old, new]
    if changed:
        audit_record(actor=actor, action="campaign.update", obj=campaign, changes=changed)
    return campaign


def campaign_audience(campaign: Campaign) -> Any:
    """The campaign's customers: its segment within its participating units (a queryset)."""
    unit_ids = list(campaign.participating_units.values_list("pk", flat=True))
    return segments.audience(campaign.segment.rules, unit_ids=unit_ids)


def _checklist_plan(campaign: Campaign) -> list[tuple[str, OrgUnit]]:
    plan: list[tuple[str, OrgUnit]] = [(ChecklistKind.SERVICE_REVIEW, campaign.service_unit)]
    plan += [
        (ChecklistKind.TRAINING, unit) for unit in campaign.participating_units.order_by("path")
    ]
    plan.append((ChecklistKind.MATERIALS, campaign.owner_unit))
    if any(o.benefit == BenefitKind.GIFT for o in campaign.offers.all()):
        plan.append((ChecklistKind.GIFT_STOCK, campaign.stock_unit or campaign.owner_unit))
    plan.append((ChecklistKind.CONFLICT_CHECK, campaign.owner_unit))
    return plan


@transaction.atomic
def campaign_submit(
    *, actor: User | None, campaign: Campaign, now: datetime | None = None
) -> Campaign:
    """Send a draft for review: the checklist is drawn up for the responsible units, the
    front line receives the offer (its lead time starts ``now``) and conflicts are checked."""
    from yiti.campaigns.conflicts import conflicts_check

    require_manage(actor, campaign)
    campaign = _lock(campaign)
    if campaign.status != CampaignStatus.DRAFT:
        raise ValidationFailed(_("Only a draft can be submitted."), code="not_draft")
    if not campaign.waves.exists():
        raise ValidationFailed(_("Add at least one wave before submitting."), code="no_waves")
    now = now or timezone.now()
    ChecklistItem.objects.filter(campaign=campaign).delete()
    ChecklistItem.objects.bulk_create(
        [
            ChecklistItem(campaign=campaign, kind=kind, unit=unit)
            for kind, unit in _checklist_plan(campaign)
        ]
    )
    campaign.status = CampaignStatus.IN_REVIEW
    campaign.submitted_at = now
    campaign.save(update_fields=["status", "submitted_at", "updated_at"])
    audit_record(
        actor=actor,
        action="campaign.submit",
        obj=campaign,
        changes={"status": [CampaignStatus.DRAFT, CampaignStatus.IN_REVIEW]},
    )
    conflicts_check(actor=actor, campaign=campaign)
    signers = _signers_to_tell(campaign)
    if signers:
        notify(
            users=signers,
            title=_("Campaign “%(c)s” needs your sign-off") % {"c": campaign.name},
            body=_("Review the offer terms, training, material and stock before the launch."),
            link=f"/campaigns/{campaign.pk}/",
            kind="campaign.review",
        )
    return campaign


def _signers_to_tell(campaign: Campaign) -> list[User]:
    """One notification per user who can sign some pending item (few users, few queries)."""
    from yiti.campaigns.selectors import signers_for

    users: dict[int, User] = {}
    for item in campaign.checklist.select_related("unit").filter(signed_at__isnull=True):
        for user in signers_for(item):
            users[user.pk] = user
    return list(users.values())


@transaction.atomic
def campaign_return_to_draft(
    *, actor: User | None, campaign: Campaign, reason: str = ""
) -> Campaign:
    """Take a campaign in review (or ready) back to draft; every signature is withdrawn."""
    require_manage(actor, campaign)
    campaign = _lock(campaign)
    if campaign.status not in (CampaignStatus.IN_REVIEW, CampaignStatus.READY):
        raise ValidationFailed(_("Only a campaign in review or ready can return to draft."))
    before = campaign.status
    ChecklistItem.objects.filter(campaign=campaign).delete()
    campaign.status = CampaignStatus.DRAFT
    campaign.submitted_at = None
    campaign.save(update_fields=["status", "submitted_at", "updated_at"])
    audit_record(
        actor=actor,
        action="campaign.to_draft",
        obj=campaign,
        changes={"status": [before, CampaignStatus.DRAFT], "reason": reason[:200]},
    )
    return campaign


def expected_acceptances(campaign: Campaign, *, audience_size: int | None = None) -> int:
    size = campaign_audience(campaign).count() if audience_size is None else audience_size
    return int((Decimal(size) * campaign.expected_take_up).to_integral_value())


def _stock_shortfalls(campaign: Campaign, *, audience_size: int | None = None) -> list[str]:
    gifts = [o for o in campaign.offers.all() if o.benefit == BenefitKind.GIFT]
    if not gifts:
        return []
    need = expected_acceptances(campaign, audience_size=audience_size)
    return [
        _(
            "The stock of %(gift)s (%(left)d left) does not cover the %(need)d acceptances "
            "expected (%(rate)s%% of the audience)."
        )
        % {
            "gift": o.gift_name or o.name,
            "left": o.stock_available or 0,
            "need": need,
            "rate": f"{campaign.expected_take_up * 100:g}",
        }
        for o in gifts
        if (o.stock_available or 0) < need
    ]


@transaction.atomic
def checklist_sign(
    *, actor: User | None, item: ChecklistItem, note: str = "", now: datetime | None = None
) -> ChecklistItem:
    """Sign one line of the checklist. The gift-stock line checks the stock, the conflict
    line runs the conflict check; the campaign is ready once every line is signed."""
    from yiti.campaigns.conflicts import conflicts_check, open_conflicts

    item = (
        ChecklistItem.objects.select_for_update().select_related("campaign", "unit").get(pk=item.pk)
    )
    campaign = _lock(item.campaign)
    require_sign(actor, item.kind, item.unit)
    if campaign.status not in (CampaignStatus.IN_REVIEW, CampaignStatus.READY):
        raise ValidationFailed(_("This campaign is not in review."), code="not_in_review")
    if item.signed:
        raise ValidationFailed(_("This item is already signed."), code="already_signed")
    if item.kind == ChecklistKind.GIFT_STOCK:
        short = _stock_shortfalls(campaign)
        if short:
            raise ValidationFailed(" ".join(short), code="stock_short")
    if item.kind == ChecklistKind.CONFLICT_CHECK:
        conflicts_check(actor=actor, campaign=campaign)
        pending = open_conflicts(campaign)
        if pending:
            raise ValidationFailed(
                _("%(n)d conflict(s) with other campaigns are open: resolve or accept them first.")
                % {"n": len(pending)},
                code="conflicts_open",
            )
    item.signed_by = actor if getattr(actor, "pk", None) else None
    item.signed_at = now or timezone.now()
    item.note = _text(note, "note", max_length=500, required=False)
    item.save(update_fields=["signed_by", "signed_at", "note", "updated_at"])
    audit_record(
        actor=actor,
        action="campaign.sign",
        obj=item,
        changes={
            "campaign": campaign.pk,
            "kind": item.kind,
            "unit": item.unit_id,
            "note": item.note,
        },
    )
    if not campaign.checklist.filter(signed_at__isnull=True).exists():
        campaign.status = CampaignStatus.READY
        campaign.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=actor,
            action="campaign.ready",
            obj=campaign,
            changes={"status": [CampaignStatus.IN_REVIEW, CampaignStatus.READY]},
        )
    return item


@transaction.atomic
def checklist_unsign(*, actor: User | None, item: ChecklistItem, reason: str) -> ChecklistItem:
    """Withdraw a signature (e.g. the posters did not arrive after all)."""
    item = (
        ChecklistItem.objects.select_for_update().select_related("campaign", "unit").get(pk=item.pk)
    )
    campaign = _lock(item.campaign)
    require_sign(actor, item.kind, item.unit)
    if campaign.status not in (CampaignStatus.IN_REVIEW, CampaignStatus.READY):
        raise ValidationFailed(_("This campaign is not in review."), code="not_in_review")
    if not item.signed:
        raise ValidationFailed(_("This item is not signed."))
    reason = _text(reason, "reason", max_length=500)
    item.signed_by, item.signed_at, item.note = None, None, reason
    item.save(update_fields=["signed_by", "signed_at", "note", "updated_at"])
    if campaign.status == CampaignStatus.READY:
        campaign.status = CampaignStatus.IN_REVIEW
        campaign.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action="campaign.unsign",
        obj=item,
        changes={"campaign": campaign.pk, "kind": item.kind, "reason": reason},
    )
    return item


@dataclass
class Readiness:
    """What stands between a campaign and its launch, one sentence each."""

    missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing


def campaign_readiness(campaign: Campaign, *, today: date | None = None) -> Readiness:
    """Everything the launch requires: every checklist line signed, no open conflict, the
    front line's lead time, waves inside the period, gift stock, a period not yet over."""
    from yiti.campaigns.conflicts import open_conflicts

    today = today or timezone.localdate()
    missing: list[str] = []
    if campaign.status not in (CampaignStatus.IN_REVIEW, CampaignStatus.READY):
        missing.append(_("The campaign has not been submitted for review."))
    for item in campaign.checklist.select_related("unit").filter(signed_at__isnull=True):
        missing.append(
            _("Not signed: %(item)s (%(unit)s).")
            % {"item": item.get_kind_display(), "unit": item.unit}
        )
    for conflict in open_conflicts(campaign):
        other = conflict.other if conflict.campaign_id == campaign.pk else conflict.campaign
        missing.append(
            _("Open conflict with “%(other)s”: %(kind)s, %(n)d customers in both.")
            % {"other": other, "kind": conflict.get_kind_display(), "n": conflict.overlap_customers}
        )
    if campaign.submitted_at is not None and campaign.lead_days:
        handed = timezone.localtime(campaign.submitted_at).date()
        earliest = handed + timedelta(days=campaign.lead_days)
        if campaign.starts_on < earliest:
            missing.append(
                _(
                    "The front line received the offer on %(handed)s but needs %(days)d days to "
                    "learn it: move the start to %(earliest)s or later."
                )
                % {"handed": handed, "days": campaign.lead_days, "earliest": earliest}
            )
    if campaign.ends_on < today:
        missing.append(_("The campaign period is over."))
    waves = list(campaign.waves.all())
    if not waves:
        missing.append(_("The campaign has no wave."))
    for wave in waves:
        local = timezone.localtime(wave.scheduled_at).date()
        if not campaign.starts_on <= local <= campaign.ends_on:
            missing.append(
                _("Wave %(n)d is scheduled on %(d)s, outside the campaign period.")
                % {"n": wave.number, "d": local}
            )
    missing += _stock_shortfalls(campaign)
    return Readiness(missing=missing)


@transaction.atomic
def campaign_launch(
    *, actor: User | None, campaign: Campaign, now: datetime | None = None
) -> Campaign:
    """Start a ready campaign (at ``now``); refused with the list of what is missing."""
    require_manage(actor, campaign)
    now = now or timezone.now()
    campaign = _lock(campaign)
    readiness = campaign_readiness(campaign, today=timezone.localdate(now))
    if not readiness.ok:
        raise NotReady(
            _("The campaign cannot launch yet: %(missing)s")
            % {"missing": " ".join(readiness.missing)},
            missing=readiness.missing,
        )
    before = campaign.status
    campaign.status = CampaignStatus.RUNNING
    campaign.launched_at = now
    campaign.save(update_fields=["status", "launched_at", "updated_at"])
    audit_record(
        actor=actor,
        action="campaign.launch",
        obj=campaign,
        changes={"status": [before, CampaignStatus.RUNNING]},
    )
    from yiti.campaigns.tasks import dispatch_campaigns

    transaction.on_commit(lambda: dispatch_campaigns.enqueue())
    return campaign


@transaction.atomic
def campaign_pause(
    *,
    actor: User | None,
    campaign: Campaign,
    reason: str,
    automatic: bool = False,
    now: datetime | None = None,
) -> Campaign:
    """Stop sending: running batches stop before their next message; planned contacts wait."""
    if not automatic:
        require_manage(actor, campaign)
    campaign = _lock(campaign)
    if campaign.status != CampaignStatus.RUNNING:
        raise ValidationFailed(_("Only a running campaign can be paused."), code="not_running")
    reason = _text(reason, "reason", max_length=255)
    campaign.status = CampaignStatus.PAUSED
    campaign.paused_at = now or timezone.now()
    campaign.pause_reason = reason
    campaign.save(update_fields=["status", "paused_at", "pause_reason", "updated_at"])
    audit_record(
        actor=actor,
        action="campaign.pause",
        obj=campaign,
        changes={"status": [CampaignStatus.RUNNING, CampaignStatus.PAUSED], "reason": reason},
        summary="automatic" if automatic else "",
    )
    return campaign


@transaction.atomic
def campaign_resume(*, actor: User | None, campaign: Campaign) -> Campaign:
    require_manage(actor, campaign)
    campaign = _lock(campaign)
    if campaign.status != CampaignStatus.PAUSED:
        raise ValidationFailed(_("Only a paused campaign can resume."), code="not_paused")
    campaign.status = CampaignStatus.RUNNING
    campaign.pause_reason = ""
    campaign.save(update_fields=["status", "pause_reason", "updated_at"])
    audit_record(
        actor=actor,
        action="campaign.resume",
        obj=campaign,
        changes={"status": [CampaignStatus.PAUSED, CampaignStatus.RUNNING]},
    )
    from yiti.campaigns.tasks import dispatch_campaigns

    transaction.on_commit(lambda: dispatch_campaigns.enqueue())
    return campaign


@transaction.atomic
def campaign_complete(
    *, actor: User | None, campaign: Campaign, now: datetime | None = None
) -> Campaign:
    """End the campaign: contacts still planned are cancelled, conflicts lapse."""
    require_manage(actor, campaign)
    now = now or timezone.now()
    campaign = _lock(campaign)
    if campaign.status not in (CampaignStatus.RUNNING, CampaignStatus.PAUSED):
        raise ValidationFailed(_("Only a running or paused campaign can be completed."))
    before = campaign.status
    cancelled = Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.PLANNED).update(
        status=DeliveryStatus.CANCELLED, reason="campaign_completed"
    )
    campaign.waves.exclude(status__in=(WaveStatus.DONE, WaveStatus.CANCELLED)).update(
        status=WaveStatus.DONE, done_at=now
    )
    campaign.status = CampaignStatus.COMPLETED
    campaign.completed_at = now
    campaign.save(update_fields=["status", "completed_at", "updated_at"])
    Conflict.objects.filter(status=ConflictStatus.OPEN, campaign=campaign).update(
        status=ConflictStatus.RESOLVED
    )
    Conflict.objects.filter(status=ConflictStatus.OPEN, other=campaign).update(
        status=ConflictStatus.RESOLVED
    )
    audit_record(
        actor=actor,
        action="campaign.complete",
        obj=campaign,
        changes={"status": [before, CampaignStatus.COMPLETED], "cancelled_contacts": cancelled},
    )
    return campaign


# --- waves -----------------------------------------------------------------------------------

WAVE_FIELDS = (
    "name",
    "kind",
    "channels",
    "source",
    "source_wave",
    "offer",
    "scheduled_at",
    "ends_at",
    "subject",
    "message",
    "agent_role",
    "agents",
    "hours",
    "calls_per_agent_hour",
    "visit_min_value",
    "holdout_share",
)


def _wave_clean(
    campaign: Campaign, data: dict[str, Any], *, wave: Wave | None = None
) -> dict[str, Any]:
    def current(name: str) -> Any:
        return data[name] if name in data else getattr(wave, name, None)

    out: dict[str, Any] = {}
    if "name" in data:
        out["name"] = _text(data["name"], "name", max_length=120)
    kind = current("kind")
    if kind not in WaveKind.values:
        raise ValidationFailed(_("Choose a kind of wave."), field="kind")
    out["kind"] = kind
    channels = list(current("channels") or [])
    if kind == WaveKind.CALL:
        channels = [WaveChannel.CALL]
    allowed = (
        set(BROADCAST_CHANNELS)
        if kind == WaveKind.BROADCAST
        else {*BROADCAST_CHANNELS, WaveChannel.CALL}
    )
    if kind != WaveKind.CALL:
        if not channels:
            raise ValidationFailed(_("Choose at least one channel."), field="channels")
        bad = [c for c in channels if c not in allowed]
        if bad:
            raise ValidationFailed(
                _("A %(kind)s wave cannot use the channel %(c)s.")
                % {"kind": WaveKind(kind).label, "c": bad[0]},
                field="channels",
            )
    out["channels"] = list(dict.fromkeys(channels))
    source = current("source") or WaveSource.AUDIENCE
    if source not in WaveSource.values:
        raise ValidationFailed(_("Choose whom the wave addresses."), field="source")
    out["source"] = source
    source_wave = current("source_wave")
    if source == WaveSource.AUDIENCE:
        out["source_wave"] = None
        if kind == WaveKind.FOLLOW_UP:
            raise ValidationFailed(
                _("A follow-up wave addresses an outcome of an earlier wave."), field="source"
            )
    else:
        if not isinstance(source_wave, Wave) or source_wave.campaign_id != campaign.pk:
            raise ValidationFailed(
                _("Choose an earlier wave of this campaign."), field="source_wave"
            )
        if wave is not None and source_wave.number >= wave.number:
            raise ValidationFailed(_("The source must be an earlier wave."), field="source_wave")
        out["source_wave"] = source_wave
    offer = current("offer")
    if offer is not None and not campaign.offers.filter(pk=offer.pk).exists():
        raise ValidationFailed(
            _("The wave's offer must be one of the campaign's offers."), field="offer"
        )
    out["offer"] = offer
    scheduled = current("scheduled_at")
    if not isinstance(scheduled, datetime):
        raise ValidationFailed(_("Enter when the wave starts."), field="scheduled_at")
    out["scheduled_at"] = scheduled
    ends = current("ends_at")
    if kind == WaveKind.CALL:
        if not isinstance(ends, datetime) or ends <= scheduled:
            raise ValidationFailed(_("A call wave ends after it starts."), field="ends_at")
        out["agent_role"] = current("agent_role") or AgentRole.SERVICE_AGENT
        if out["agent_role"] not in AgentRole.values:
            raise ValidationFailed(_("Choose who works the calls."), field="agent_role")
        out["agents"] = _whole(current("agents") or 0, "agents", low=1, high=10_000)
        out["hours"] = _decimal(current("hours") or 0, "hours", low=Decimal("0.5"))
        out["calls_per_agent_hour"] = _whole(
            current("calls_per_agent_hour") or 0, "calls_per_agent_hour", low=1, high=200
        )
    else:
        out["ends_at"] = None
    if kind == WaveKind.CALL:
        out["ends_at"] = ends
    for name, length in (("subject", 200), ("message", 5000)):
        if name in data:
            out[name] = _text(data[name], name, max_length=length, required=False)
    needs_text = kind != WaveKind.CALL and any(c != WaveChannel.CALL for c in out["channels"])
    if needs_text and not (out.get("message", getattr(wave, "message", "")) or "").strip():
        raise ValidationFailed(_("Write the message the customers will receive."), field="message")
    vmv = current("visit_min_value")
    if vmv not in (None, ""):
        if kind != WaveKind.FOLLOW_UP:
            raise ValidationFailed(
                _("Only a follow-up wave routes customers to visits."), field="visit_min_value"
            )
        out["visit_min_value"] = _decimal(vmv, "visit_min_value")
    else:
        out["visit_min_value"] = None
    if "holdout_share" in data:
        share = data["holdout_share"]
        try:
            share = Decimal(str(share if share not in (None, "") else 0))
        except ArithmeticError:
            raise ValidationFailed(
                _("Enter the share to hold out as a number."), field="holdout_share"
            ) from None
        if not share.is_finite() or share < 0 or share > Decimal("0.5"):
            raise ValidationFailed(
                _("Hold out between none and half of the audience."), field="holdout_share"
            )
        out["holdout_share"] = share.quantize(Decimal("0.001"))
    return out


def _wave_editable(campaign: Campaign, wave: Wave | None = None) -> None:
    if campaign.status == CampaignStatus.COMPLETED:
        raise ValidationFailed(_("The campaign is completed."), code="completed")
    if wave is not None and wave.status not in (WaveStatus.DRAFT, WaveStatus.PLANNED):
        raise ValidationFailed(
            _("This wave is being sent or done; it cannot change."), code="wave_locked"
        )


@transaction.atomic
def wave_create(
    *,
    actor: User | None,
    campaign: Campaign,
    name: str,
    kind: str,
    scheduled_at: datetime,
    **options: Any,
) -> Wave:
    require_manage(actor, campaign)
    campaign = _lock(campaign)
    _wave_editable(campaign)
    unknown = set(options) - set(WAVE_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown field: %(f)s") % {"f": sorted(unknown)[0]})
    number = (campaign.waves.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    data = _wave_clean(
        campaign, {"name": name, "kind": kind, "scheduled_at": scheduled_at, **options}
    )
    if data["source_wave"] is not None and data["source_wave"].number >= number:
        raise ValidationFailed(_("The source must be an earlier wave."), field="source_wave")
    wave = Wave.objects.create(campaign=campaign, number=number, **data)
    audit_record(
        actor=actor,
        action="wave.create",
        obj=wave,
        changes=snapshot(wave, ("number", *WAVE_FIELDS)),
    )
    return wave


@transaction.atomic
def wave_update(*, actor: User | None, wave: Wave, **changes: Any) -> Wave:
    require_manage(actor, wave.campaign)
    wave = Wave.objects.select_for_update().get(pk=wave.pk)
    _wave_editable(wave.campaign, wave)
    unknown = set(changes) - set(WAVE_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown field: %(f)s") % {"f": sorted(unknown)[0]})
    before = snapshot(wave, WAVE_FIELDS)
    for name, value in _wave_clean(wave.campaign, changes, wave=wave).items():
        setattr(wave, name, value)
    if wave.status == WaveStatus.PLANNED:  # a changed wave must be planned again
        plan_drop(wave)
        wave.status, wave.planned_at, wave.plan_summary = WaveStatus.DRAFT, None, {}
    wave.save()
    changed = diff(before, snapshot(wave, WAVE_FIELDS))
    if changed:
        audit_record(actor=actor, action="wave.update", obj=wave, changes=changed)
    return wave


@transaction.atomic
def wave_delete(*, actor: User | None, wave: Wave) -> None:
    require_manage(actor, wave.campaign)
    _wave_editable(wave.campaign, wave)
    if Wave.objects.filter(source_wave=wave).exists():
        raise ValidationFailed(_("A later wave follows up this one; change or delete it first."))
    if wave.campaign.status != CampaignStatus.DRAFT:
        raise ValidationFailed(_("Waves can be deleted only while the campaign is a draft."))
    audit_record(
        actor=actor,
        action="wave.delete",
        obj=wave,
        changes=snapshot(wave, ("number", "name", "kind")),
    )
    Delivery.objects.filter(wave=wave).delete()
    wave.delete()
