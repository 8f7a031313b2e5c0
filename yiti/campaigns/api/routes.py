"""The campaigns API's endpoints (see the package docstring); schemas are in ``schemas.py``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Model
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from yiti.campaigns import outcomes, segments, selectors, services
from yiti.campaigns.api.schemas import (
    CallOut,
    CallPage,
    CallQuery,
    CampaignBrief,
    CampaignDetailOut,
    CampaignIn,
    CampaignOut,
    CampaignPage,
    CampaignPatch,
    CampaignQuery,
    ChecklistItemOut,
    ComplaintCount,
    ConflictOut,
    ConversionIn,
    CountIn,
    DeliveryDetailOut,
    DeliveryOut,
    DeliveryPage,
    DeliveryQuery,
    FunnelOut,
    NoteIn,
    NotReadyOut,
    OfferDetailOut,
    OfferIn,
    OfferOut,
    OfferPage,
    OfferPatch,
    OfferQuery,
    OfferRef,
    OpOut,
    OptionalReasonIn,
    OptionOut,
    OutcomeIn,
    PageQuery,
    PlanQuery,
    ReadinessOut,
    ReasonCount,
    ReasonIn,
    Ref,
    ResponseIn,
    RuleFieldOut,
    RuleLanguageOut,
    SegmentCountOut,
    SegmentDetailOut,
    SegmentIn,
    SegmentOut,
    SegmentPage,
    SegmentPatch,
    WaveFunnelOut,
    WaveIn,
    WaveOut,
    WavePatch,
    WavePlanIn,
    WavePlanOut,
    WaveRef,
)
from yiti.campaigns.conflicts import conflict_accept, conflicts_check, conflicts_of
from yiti.campaigns.errors import NotReady
from yiti.campaigns.models import Offer, Segment, Wave
from yiti.campaigns.planning import wave_plan
from yiti.campaigns.rules import (
    can_manage,
    can_record,
    can_work,
    require_manage,
    require_view,
)
from yiti.core.errors import ValidationFailed
from yiti.core.pagination import Page, paginate
from yiti.customers.models import Order, Product
from yiti.org.access import access_for
from yiti.org.api import UnitRef
from yiti.org.models import OrgUnit, User

router = Router(tags=["campaigns"])


# --- helpers --------------------------------------------------------------------------------


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _paging(page: Page[Any]) -> dict[str, Any]:
    return {"page": page.number, "page_size": page.size, "has_next": page.has_next}


def _one(
    model: type[Model], ref: Ref, *, field: str, code: str, message: str, by: str = "code"
) -> Any:
    """The row ``ref`` names — its id, or its ``by`` (code) — else a 422 naming ``field``."""
    text = str(ref).strip()
    manager = model._default_manager
    found = manager.filter(**{by: text}).first() if by and isinstance(ref, str) else None
    if found is None and text.isdigit():
        found = manager.filter(pk=int(text)).first()
    if found is None:
        raise ValidationFailed(message % {"ref": text}, field=field, code=code)
    return found


def _unit(ref: Ref, field: str) -> OrgUnit:
    message = _("No unit with the id or code %(ref)s.")
    return _one(OrgUnit, ref, field=field, code="unknown_unit", message=message)


def _units(refs: Sequence[Ref], field: str) -> list[OrgUnit]:
    return [_unit(r, f"{field}.{i}") for i, r in enumerate(refs)]


def _offer(ref: Ref, field: str) -> Offer:
    message = _("No offer with the id or code %(ref)s.")
    return _one(Offer, ref, field=field, code="unknown_offer", message=message)


def _offers(refs: Sequence[Ref], field: str) -> list[Offer]:
    return [_offer(r, f"{field}.{i}") for i, r in enumerate(refs)]


def _user_ref(ref: int, field: str) -> User:
    user = User.objects.filter(pk=ref, is_active=True).first()
    if user is None:
        raise ValidationFailed(
            _("No active user with the id %(ref)s.") % {"ref": ref},
            field=field,
            code="unknown_user",
        )
    return user


def _segment(ref: int) -> Segment:
    message = _("No segment with the id %(ref)s.")
    return _one(Segment, ref, field="segment", code="unknown_segment", message=message, by="")


@contextmanager
def _rule_errors_under(name: str) -> Iterator[None]:
    """The rule language names its errors ``rules.…``; an offer's rule is its ``eligibility``."""
    try:
        yield
    except ValidationFailed as exc:
        if exc.field == "rules" or (exc.field or "").startswith("rules."):
            exc.field = name + (exc.field or "")[len("rules") :]
        raise


def _offer_args(data: dict[str, Any]) -> dict[str, Any]:
    if data.get("product") is not None:
        data["product"] = _one(
            Product,
            data["product"],
            field="product",
            code="unknown_product",
            message=_("No product with the id or code %(ref)s."),
        )
    if data.get("incompatible_with") is not None:
        data["incompatible_with"] = _offers(data["incompatible_with"], "incompatible_with")
    return data


def _offer_detail(user: Any, offer_id: int) -> OfferDetailOut:
    offer = selectors.offer_get(user, offer_id)
    return OfferDetailOut(
        **OfferOut.of(offer).model_dump(),
        eligibility_summary=segments.describe(offer.eligibility or {}),
    )


def _segment_detail(user: Any, segment_id: int) -> SegmentDetailOut:
    segment = selectors.segment_get(user, segment_id)
    return SegmentDetailOut(
        **SegmentOut.fields_of(segment), summary=segments.describe(segment.rules or {})
    )


_CAMPAIGN_UNITS = ("owner_unit", "service_unit", "stock_unit")


def _campaign_args(data: dict[str, Any]) -> dict[str, Any]:
    """Ids and codes of the body made into the rows the services take."""
    for name in _CAMPAIGN_UNITS:
        if data.get(name) is not None:
            data[name] = _unit(data[name], name)
    if data.get("owner") is not None:
        data["owner"] = _user_ref(data["owner"], "owner")
    if data.get("segment") is not None:
        data["segment"] = _segment(data["segment"])
    if data.get("offers") is not None:
        data["offers"] = _offers(data["offers"], "offers")
    if data.get("participating_units") is not None:
        data["participating_units"] = _units(data["participating_units"], "participating_units")
    return data


def _campaign_detail(user: Any, campaign_id: int) -> CampaignDetailOut:
    c = selectors.campaign_get(user, campaign_id)
    readiness = services.campaign_readiness(c)
    return CampaignDetailOut(
        **CampaignOut.fields_of(c),
        description=c.description,
        participating_units=[UnitRef.of(u) for u in c.participating_units.order_by("path")],
        service_unit=UnitRef.of(c.service_unit),
        stock_unit=UnitRef.of(c.stock_unit) if c.stock_unit else None,
        offers=[o for o in map(OfferRef.of, c.offers.order_by("code")) if o is not None],
        goal_conversions=c.goal_conversions,
        expected_take_up=Decimal(c.expected_take_up),
        lead_days=c.lead_days,
        complaint_threshold=Decimal(c.complaint_threshold),
        complaint_min_contacts=c.complaint_min_contacts,
        attribution_days=c.attribution_days,
        submitted_at=c.submitted_at,
        paused_at=c.paused_at,
        pause_reason=c.pause_reason,
        conflicts_checked_at=c.conflicts_checked_at,
        readiness=ReadinessOut(ok=readiness.ok, missing=readiness.missing),
        waves=[WaveOut.of(w) for w in selectors.waves_of(c)],
        can_manage=can_manage(access_for(user), c),
    )


def _act(request: HttpRequest, campaign_id: int, service: Any, **kwargs: Any) -> CampaignDetailOut:
    """One step of the campaign's life (a service taking ``actor`` and ``campaign``)."""
    user = _user(request)
    service(actor=user, campaign=selectors.campaign_get(user, campaign_id), **kwargs)
    return _campaign_detail(user, campaign_id)


def _wave_args(data: dict[str, Any]) -> dict[str, Any]:
    if "source_wave" in data:
        ref = data["source_wave"]
        data["source_wave"] = (
            None
            if ref is None
            else _one(
                Wave,
                ref,
                field="source_wave",
                code="unknown_wave",
                message=_("No wave %(ref)s."),
                by="",
            )
        )
    if "offer" in data:
        data["offer"] = None if data["offer"] is None else _offer(data["offer"], "offer")
    if data.get("channels") is not None:
        data["channels"] = [str(c) for c in data["channels"]]
    for name in ("scheduled_at", "ends_at"):
        if isinstance(data.get(name), datetime) and timezone.is_naive(data[name]):
            data[name] = timezone.make_aware(data[name])  # a time without offset is local time
    return data


def _delivery_detail(user: Any, delivery_id: int) -> DeliveryDetailOut:
    d = selectors.delivery_get_for(user, delivery_id)
    return DeliveryDetailOut(
        **DeliveryOut.fields_of(d, selectors.reason_labels([d.reason])),
        **CallOut.context_of(d),
        can_work=can_work(user, d),
        can_record=can_record(user, d),
    )


# --- offers ---------------------------------------------------------------------------------


@router.get("/offers", response=OfferPage, summary="Offers (a product with a benefit)")
def offers_list(request: HttpRequest, query: Query[OfferQuery]) -> OfferPage:
    qs = selectors.offers_list(_user(request), active_only=query.active)
    page = paginate(qs, page=query.page, size=query.page_size)
    return OfferPage(
        items=[OfferOut.of(o) for o in page.items],
        **_paging(page),
    )


@router.post(
    "/offers",
    response={201: OfferDetailOut},
    summary="Create an offer",
    description="Campaign managers. A gift names the gift and its stock; the eligibility is a "
    "segment rule the customer must match to be offered it.",
)
def offers_create(request: HttpRequest, payload: OfferIn) -> Status[OfferDetailOut]:
    user = _user(request)
    args = _offer_args(payload.model_dump())
    with _rule_errors_under("eligibility"):
        offer = services.offer_create(actor=user, **args)
    return Status(201, _offer_detail(user, offer.pk))


@router.get("/offers/{int:offer_id}", response=OfferDetailOut, summary="One offer")
def offers_get(request: HttpRequest, offer_id: int) -> OfferDetailOut:
    return _offer_detail(_user(request), offer_id)


@router.patch(
    "/offers/{int:offer_id}",
    response=OfferDetailOut,
    summary="Change an offer (only the fields sent)",
    description="The stock cannot go below the gifts already reserved; `active: false` retires "
    "the offer (no new campaign may use it).",
)
def offers_update(request: HttpRequest, offer_id: int, payload: OfferPatch) -> OfferDetailOut:
    user = _user(request)
    offer = selectors.offer_get(user, offer_id)
    args = _offer_args(payload.model_dump(exclude_unset=True))
    with _rule_errors_under("eligibility"):
        services.offer_update(actor=user, offer=offer, **args)
    return _offer_detail(user, offer_id)


# --- segments -------------------------------------------------------------------------------


@router.get(
    "/segments/fields",
    response=RuleLanguageOut,
    summary="The segment rule language: fields, operators and options",
    description='A rule is `{"match": "all"|"any", "conditions": [{"field", "op", "value"'
    ', "days"?}]}`; this lists every field with its label, group, kind, operators and, for '
    "choices, the values it accepts, so that an integration can build rules.",
)
def segment_fields(request: HttpRequest) -> RuleLanguageOut:
    require_view(_user(request))
    return RuleLanguageOut(
        match=["all", "any"],
        max_conditions=segments.MAX_CONDITIONS,
        max_values=segments.MAX_LIST,
        max_days=segments.MAX_DAYS,
        fields=[
            RuleFieldOut(
                name=spec.name,
                label=str(spec.label),
                group=str(spec.group),
                kind=spec.kind,
                ops=[OpOut(code=op.code, label=str(op.label)) for op in spec.ops],
                options=[OptionOut(value=v, label=label) for v, label in spec.options()]
                if spec.options
                else None,
                unit=str(spec.unit) if spec.unit else None,
            )
            for spec in segments.FIELDS.values()
        ],
    )


@router.post(
    "/segments/count",
    response=SegmentCountOut,
    summary="Count the active customers a rule selects",
    description="Campaign managers, while they build a rule. One COUNT in the database. A bad "
    "rule is a 422 whose field names the condition, e.g. `rules.conditions.2.value`.",
)
def segment_count(request: HttpRequest, payload: CountIn) -> SegmentCountOut:
    require_manage(_user(request))
    unit_ids = None if payload.units is None else [u.pk for u in _units(payload.units, "units")]
    return SegmentCountOut(count=services.segment_count(payload.rules, unit_ids=unit_ids))


@router.get("/segments", response=SegmentPage, summary="Saved segments")
def segments_list(request: HttpRequest, query: Query[PageQuery]) -> SegmentPage:
    page = paginate(selectors.segments_list(_user(request)), page=query.page, size=query.page_size)
    return SegmentPage(
        items=[SegmentOut.of(s) for s in page.items],
        **_paging(page),
    )


@router.post("/segments", response={201: SegmentDetailOut}, summary="Save a segment")
def segments_create(request: HttpRequest, payload: SegmentIn) -> Status[SegmentDetailOut]:
    user = _user(request)
    segment = services.segment_create(
        actor=user,
        name=payload.name,
        rules=payload.rules,
        unit=_unit(payload.unit, "unit"),
        description=payload.description,
    )
    return Status(201, _segment_detail(user, segment.pk))


@router.get("/segments/{int:segment_id}", response=SegmentDetailOut, summary="One segment")
def segments_get(request: HttpRequest, segment_id: int) -> SegmentDetailOut:
    return _segment_detail(_user(request), segment_id)


@router.patch("/segments/{int:segment_id}", response=SegmentDetailOut, summary="Change a segment")
def segments_update(
    request: HttpRequest, segment_id: int, payload: SegmentPatch
) -> SegmentDetailOut:
    user = _user(request)
    segment = selectors.segment_get(user, segment_id)
    services.segment_update(actor=user, segment=segment, **payload.model_dump(exclude_unset=True))
    return _segment_detail(user, segment_id)


# --- the call list (before /{campaign_id} so that the paths read in order) -------------------


@router.get(
    "/calls",
    response=CallPage,
    summary="Your call list: calls and visits to make now, best first",
    description="Open waves of running campaigns. Phones are masked; reveal the customer's "
    "contacts with `GET /customers/{id}?reveal=true` (audited) when you call.",
)
def calls_list(request: HttpRequest, query: Query[CallQuery]) -> CallPage:
    qs = selectors.call_list(_user(request), mine_only=query.mine)
    page = paginate(qs, page=query.page, size=query.page_size)
    labels = selectors.reason_labels(d.reason for d in page.items)
    return CallPage(
        items=[
            CallOut(**DeliveryOut.fields_of(d, labels), **CallOut.context_of(d)) for d in page.items
        ],
        **_paging(page),
    )


# --- campaigns ------------------------------------------------------------------------------


@router.get("", response=CampaignPage, summary="Campaigns")
def campaigns_list(request: HttpRequest, query: Query[CampaignQuery]) -> CampaignPage:
    filters = selectors.CampaignFilters.from_mapping(query.model_dump())
    qs = selectors.campaigns_list(_user(request), filters)
    page = paginate(qs, page=query.page, size=query.page_size)
    return CampaignPage(
        items=[CampaignOut.of(c) for c in page.items],
        **_paging(page),
    )


@router.post(
    "",
    response={201: CampaignDetailOut},
    summary="Create a draft campaign",
    description="Campaign managers of the owner unit. Add waves, then submit it for review.",
)
def campaigns_create(request: HttpRequest, payload: CampaignIn) -> Status[CampaignDetailOut]:
    user = _user(request)
    args = _campaign_args(payload.model_dump(exclude_unset=True))
    campaign = services.campaign_create(actor=user, **args)
    return Status(201, _campaign_detail(user, campaign.pk))


@router.get(
    "/{int:campaign_id}",
    response=CampaignDetailOut,
    summary="One campaign with its offers, units, waves and readiness",
)
def campaigns_get(request: HttpRequest, campaign_id: int) -> CampaignDetailOut:
    return _campaign_detail(_user(request), campaign_id)


@router.patch(
    "/{int:campaign_id}",
    response=CampaignDetailOut,
    summary="Change a draft campaign (only the fields sent)",
    description="422 `not_draft` once submitted: return it to draft first.",
)
def campaigns_update(
    request: HttpRequest, campaign_id: int, payload: CampaignPatch
) -> CampaignDetailOut:
    args = _campaign_args(payload.model_dump(exclude_unset=True))
    return _act(request, campaign_id, services.campaign_update, **args)


@router.post(
    "/{int:campaign_id}/submit",
    response=CampaignDetailOut,
    summary="Submit a draft for review",
    description="Draws up the launch checklist for the responsible units, tells the signers, "
    "starts the front line's lead time and checks conflicts with other campaigns.",
)
def campaigns_submit(request: HttpRequest, campaign_id: int) -> CampaignDetailOut:
    return _act(request, campaign_id, services.campaign_submit)


@router.post(
    "/{int:campaign_id}/return-to-draft",
    response=CampaignDetailOut,
    summary="Take a campaign in review back to draft (every signature is withdrawn)",
)
def campaigns_return_to_draft(
    request: HttpRequest, campaign_id: int, payload: OptionalReasonIn
) -> CampaignDetailOut:
    return _act(request, campaign_id, services.campaign_return_to_draft, reason=payload.reason)


@router.post(
    "/{int:campaign_id}/launch",
    response={200: CampaignDetailOut, 422: NotReadyOut},
    summary="Launch a ready campaign",
    description="Refused with 422 `not_ready` while anything is missing: the message says it "
    "all and `missing` lists it, one sentence each (see also `GET .../readiness`).",
)
def campaigns_launch(request: HttpRequest, campaign_id: int) -> CampaignDetailOut:
    try:
        return _act(request, campaign_id, services.campaign_launch)
    except NotReady:
        raise
    except ValidationFailed as exc:  # the documented 422 always carries `missing`
        refusal = NotReady(exc.message, missing=[])
        refusal.code, refusal.field = exc.code, exc.field
        raise refusal from exc


# the Idempotency-Key check (yiti.api.idempotency) answers with these fields too
campaigns_launch.__dict__["error_fields"] = {"missing": []}


@router.post(
    "/{int:campaign_id}/pause",
    response=CampaignDetailOut,
    summary="Pause a running campaign (batches stop before their next message)",
)
def campaigns_pause(request: HttpRequest, campaign_id: int, payload: ReasonIn) -> CampaignDetailOut:
    return _act(request, campaign_id, services.campaign_pause, reason=payload.reason)


@router.post(
    "/{int:campaign_id}/resume", response=CampaignDetailOut, summary="Resume a paused campaign"
)
def campaigns_resume(request: HttpRequest, campaign_id: int) -> CampaignDetailOut:
    return _act(request, campaign_id, services.campaign_resume)


@router.post(
    "/{int:campaign_id}/complete",
    response=CampaignDetailOut,
    summary="Complete a campaign (contacts still planned are cancelled)",
)
def campaigns_complete(request: HttpRequest, campaign_id: int) -> CampaignDetailOut:
    return _act(request, campaign_id, services.campaign_complete)


@router.get(
    "/{int:campaign_id}/readiness",
    response=ReadinessOut,
    summary="What stands between the campaign and its launch",
)
def campaigns_readiness(request: HttpRequest, campaign_id: int) -> ReadinessOut:
    readiness = services.campaign_readiness(selectors.campaign_get(_user(request), campaign_id))
    return ReadinessOut(ok=readiness.ok, missing=readiness.missing)


@router.get(
    "/{int:campaign_id}/funnel",
    response=FunnelOut,
    summary="The funnel of every wave, exclusions by reason, complaints by class",
)
def campaigns_funnel(request: HttpRequest, campaign_id: int) -> FunnelOut:
    campaign = selectors.campaign_get(_user(request), campaign_id)
    funnels = selectors.campaign_funnel(campaign)
    names = selectors.arbitration_names(funnels)
    return FunnelOut(
        campaign=CampaignBrief.of(campaign),
        waves=[
            WaveFunnelOut(
                wave=WaveRef.of(f.wave),
                audience=f.audience,
                excluded=f.excluded,
                planned=f.planned,
                sent=f.sent,
                delivered=f.delivered,
                opened=f.opened,
                responded=f.responded,
                accepted=f.accepted,
                converted=f.converted,
                failed=f.failed,
                excluded_by_reason=[
                    ReasonCount(reason=r, label=selectors.reason_label(r, names), count=n)
                    for r, n in f.reasons
                ],
            )
            for f in funnels
        ],
        complaints=[
            ComplaintCount(complaint_class=value, label=label, count=n)
            for value, label, n in selectors.campaign_complaints(campaign)
        ],
    )


# --- the launch checklist -------------------------------------------------------------------


@router.get(
    "/{int:campaign_id}/checklist",
    response=list[ChecklistItemOut],
    summary="The launch checklist (drawn up when the campaign is submitted)",
)
def checklist_list(request: HttpRequest, campaign_id: int) -> list[ChecklistItemOut]:
    user = _user(request)
    campaign = selectors.campaign_get(user, campaign_id)
    return [ChecklistItemOut.of(item, user) for item in selectors.checklist_of(campaign)]


@router.post(
    "/checklist/{int:item_id}/sign",
    response=ChecklistItemOut,
    summary="Sign a checklist line",
    description="By a signer role of the line's unit or a unit above it. The gift-stock line "
    "checks the stock, the conflict line runs the conflict check; the campaign is ready "
    "once every line is signed.",
)
def checklist_sign(request: HttpRequest, item_id: int, payload: NoteIn) -> ChecklistItemOut:
    user = _user(request)
    item = selectors.checklist_item_get(user, item_id)
    services.checklist_sign(actor=user, item=item, note=payload.note)
    return ChecklistItemOut.of(selectors.checklist_item_get(user, item_id), user)


@router.post(
    "/checklist/{int:item_id}/unsign",
    response=ChecklistItemOut,
    summary="Withdraw a signature, with the reason",
)
def checklist_unsign(request: HttpRequest, item_id: int, payload: ReasonIn) -> ChecklistItemOut:
    user = _user(request)
    item = selectors.checklist_item_get(user, item_id)
    services.checklist_unsign(actor=user, item=item, reason=payload.reason)
    return ChecklistItemOut.of(selectors.checklist_item_get(user, item_id), user)


# --- conflicts ------------------------------------------------------------------------------


@router.get(
    "/{int:campaign_id}/conflicts",
    response=list[ConflictOut],
    summary="Conflicts with other campaigns (open or accepted)",
)
def conflicts_list(request: HttpRequest, campaign_id: int) -> list[ConflictOut]:
    campaign = selectors.campaign_get(_user(request), campaign_id)
    return [ConflictOut.of(c) for c in conflicts_of(campaign)]


@router.post(
    "/{int:campaign_id}/conflicts/check",
    response=list[ConflictOut],
    summary="Check the conflicts again now",
    description="Overlapping periods and audiences with clashing offers; a conflict whose "
    "clash or overlap disappeared is resolved.",
)
def conflicts_refresh(request: HttpRequest, campaign_id: int) -> list[ConflictOut]:
    user = _user(request)
    campaign = selectors.campaign_get(user, campaign_id)
    conflicts_check(actor=user, campaign=campaign)
    return [ConflictOut.of(c) for c in conflicts_of(campaign)]


@router.post(
    "/conflicts/{int:conflict_id}/accept",
    response=ConflictOut,
    summary="Accept a conflict knowingly, with the reason",
)
def conflicts_accept(request: HttpRequest, conflict_id: int, payload: ReasonIn) -> ConflictOut:
    user = _user(request)
    conflict = selectors.conflict_get(user, conflict_id)
    conflict_accept(actor=user, conflict=conflict, reason=payload.reason)
    return ConflictOut.of(selectors.conflict_get(user, conflict_id))


# --- waves and plans ------------------------------------------------------------------------


@router.get(
    "/{int:campaign_id}/waves", response=list[WaveOut], summary="The campaign's waves in order"
)
def waves_list(request: HttpRequest, campaign_id: int) -> list[WaveOut]:
    campaign = selectors.campaign_get(_user(request), campaign_id)
    return [WaveOut.of(w) for w in selectors.waves_of(campaign)]


@router.post(
    "/{int:campaign_id}/waves",
    response={201: WaveOut},
    summary="Add a wave (numbered after the last one)",
    description="A broadcast sends on the first channel each customer can be reached on and "
    "consented to; a call wave is sized by agents × hours × calls per agent-hour; a follow-up "
    "addresses an outcome of an earlier wave (`source`, `source_wave`).",
)
def waves_create(request: HttpRequest, campaign_id: int, payload: WaveIn) -> Status[WaveOut]:
    user = _user(request)
    campaign = selectors.campaign_get(user, campaign_id)
    args = _wave_args(payload.model_dump(exclude_unset=True))
    wave = services.wave_create(actor=user, campaign=campaign, **args)
    return Status(201, WaveOut.of(selectors.wave_get(user, wave.pk)))


@router.get("/waves/{int:wave_id}", response=WaveOut, summary="One wave")
def waves_get(request: HttpRequest, wave_id: int) -> WaveOut:
    return WaveOut.of(selectors.wave_get(_user(request), wave_id))


@router.patch(
    "/waves/{int:wave_id}",
    response=WaveOut,
    summary="Change a wave (only the fields sent)",
    description="Until it starts sending; a planned wave returns to not planned.",
)
def waves_update(request: HttpRequest, wave_id: int, payload: WavePatch) -> WaveOut:
    user = _user(request)
    wave = selectors.wave_get(user, wave_id)
    services.wave_update(
        actor=user, wave=wave, **_wave_args(payload.model_dump(exclude_unset=True))
    )
    return WaveOut.of(selectors.wave_get(user, wave_id))


@router.delete(
    "/waves/{int:wave_id}",
    response={204: None},
    summary="Delete a wave of a draft campaign",
)
def waves_delete(request: HttpRequest, wave_id: int) -> Status[None]:
    user = _user(request)
    services.wave_delete(actor=user, wave=selectors.wave_get(user, wave_id))
    return Status(204, None)


@router.post(
    "/waves/{int:wave_id}/plan",
    response=WavePlanOut,
    summary="Plan a wave, or count it with dry_run",
    description="Every customer of the audience is planned on a channel or excluded with one "
    "reason, under the contact policy and against competing campaigns. `dry_run` (in the body "
    "or the query) counts everything and writes nothing, and works on a draft; a real plan "
    "needs the campaign submitted (422 `not_submitted`). Send a JSON body, `{}` or "
    '`{"dry_run": true}`.',
)
def waves_plan(
    request: HttpRequest, wave_id: int, query: Query[PlanQuery], payload: WavePlanIn
) -> dict[str, Any]:
    user = _user(request)
    wave = selectors.wave_get(user, wave_id)
    dry_run = query.dry_run or payload.dry_run
    return wave_plan(actor=user, wave=wave, dry_run=dry_run).as_dict()


# --- deliveries -----------------------------------------------------------------------------


@router.get(
    "/waves/{int:wave_id}/deliveries",
    response=DeliveryPage,
    summary="A wave's contacts, of the customers you may see",
    description="Planned, excluded with the reason, sent, answered and converted; best first. "
    "Phones and e-mails are masked.",
)
def deliveries_list(
    request: HttpRequest, wave_id: int, query: Query[DeliveryQuery]
) -> DeliveryPage:
    user = _user(request)
    wave = selectors.wave_get(user, wave_id)
    qs = selectors.deliveries_of_wave(
        user, wave, status=query.status or "", reason=query.reason.strip()
    )
    page = paginate(qs, page=query.page, size=query.page_size)
    labels = selectors.reason_labels(d.reason for d in page.items)
    return DeliveryPage(
        items=[DeliveryOut(**DeliveryOut.fields_of(d, labels)) for d in page.items],
        **_paging(page),
    )


@router.get("/deliveries/{int:delivery_id}", response=DeliveryDetailOut, summary="One contact")
def deliveries_get(request: HttpRequest, delivery_id: int) -> DeliveryDetailOut:
    return _delivery_detail(_user(request), delivery_id)


@router.post(
    "/deliveries/{int:delivery_id}/outcome",
    response=DeliveryDetailOut,
    summary="Record what a call or visit came to",
    description="By the agent it is assigned to (or who may work it). Three unanswered "
    "attempts close it; an acceptance reserves the offer's gift and records the order, "
    "credited to your unit.",
)
def deliveries_outcome(
    request: HttpRequest, delivery_id: int, payload: OutcomeIn
) -> DeliveryDetailOut:
    user = _user(request)
    delivery = selectors.delivery_get_for(user, delivery_id)
    outcomes.delivery_work(
        actor=user, delivery=delivery, outcome=payload.outcome, note=payload.note
    )
    return _delivery_detail(user, delivery_id)


@router.post(
    "/deliveries/{int:delivery_id}/responses",
    response={201: DeliveryDetailOut},
    summary="Record the customer's response to a message",
    description="For integrations such as an SMS gateway forwarding a reply, or an agent "
    "noting one. The first answer counts (`interested` may still turn into another); an "
    "acceptance reserves the gift and records the order.",
)
def deliveries_respond(
    request: HttpRequest, delivery_id: int, payload: ResponseIn
) -> Status[DeliveryDetailOut]:
    user = _user(request)
    delivery = selectors.delivery_get_for(user, delivery_id)
    outcomes.delivery_respond(
        actor=user, delivery=delivery, kind=payload.kind, at=payload.at, note=payload.note
    )
    return Status(201, _delivery_detail(user, delivery_id))


@router.post(
    "/deliveries/{int:delivery_id}/conversion",
    response=DeliveryDetailOut,
    summary="Link the order this contact led to",
)
def deliveries_convert(
    request: HttpRequest, delivery_id: int, payload: ConversionIn
) -> DeliveryDetailOut:
    user = _user(request)
    delivery = selectors.delivery_get_for(user, delivery_id)
    message = _("No order %(ref)s.")
    order = _one(Order, payload.order, field="order", code="unknown_order", message=message, by="")
    outcomes.delivery_convert(actor=user, delivery=delivery, order=order)
    return _delivery_detail(user, delivery_id)
