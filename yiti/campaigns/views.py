"""Campaign pages: the list, the campaign form, and the campaign page with its life (submit,
sign, launch, pause, resume, complete), checklist, conflicts, waves and funnels.

Thin: forms read the input, selectors scope the reads, services decide and change. Waves are
in ``wave_views.py``, offers in ``offer_views.py``, segments in ``segment_views.py``, the call
list in ``call_views.py``, the customer's response link in ``public_views.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yiti.campaigns import conflicts, rules, selectors, services
from yiti.campaigns.charts import funnel_chart
from yiti.campaigns.choices import CampaignStatus, WaveStatus
from yiti.campaigns.errors import NotReady
from yiti.campaigns.forms import (
    CampaignFilterForm,
    CampaignForm,
    ConflictAcceptForm,
    ReasonForm,
    SignForm,
)
from yiti.campaigns.models import Campaign, ChecklistItem, Conflict
from yiti.campaigns.planning import PlanResult
from yiti.core.errors import Conflict as ConflictError
from yiti.core.errors import NotFound, ValidationFailed
from yiti.core.htmx import render_page_or_partial
from yiti.core.pagination import paginate, parse_page
from yiti.core.panels import render_panels
from yiti.core.web import yiti_errors
from yiti.org.access import access_for
from yiti.org.forms import apply_error
from yiti.org.selectors import units_visible
from yiti.org.web import acting_user

REVIEW_STATUSES = (CampaignStatus.IN_REVIEW, CampaignStatus.READY)
OPEN_WAVE_STATUSES = (WaveStatus.DRAFT, WaveStatus.PLANNED)


def require_view(request: HttpRequest) -> None:
    if not rules.can_view(access_for(request.user)):
        raise DjangoPermissionDenied(_("Campaigns are not open to your role."))


def require_manage(request: HttpRequest, campaign: Campaign | None = None) -> None:
    if not rules.can_manage(access_for(request.user), campaign):
        raise DjangoPermissionDenied(
            _("Only campaign managers of the owner unit may change this campaign.")
            if campaign is not None
            else _("Only campaign managers may do this.")
        )


# --- list ------------------------------------------------------------------------------------


@login_required
@yiti_errors
@require_GET
def campaign_list(request: HttpRequest) -> HttpResponse:
    """Campaigns by status and search; htmx swaps only the results."""
    require_view(request)
    filters = selectors.CampaignFilters.from_mapping(request.GET)
    page = paginate(
        selectors.campaigns_list(request.user, filters),
        page=parse_page(request.GET.get("page")),
        size=settings.YITI_PAGE_SIZE,
    )
    context = {
        "page": page,
        "filters": filters,
        "filter_form": CampaignFilterForm(initial={"q": filters.q, "status": filters.status}),
        "can_manage": rules.can_manage(access_for(request.user)),
    }
    return render_page_or_partial(
        request, "campaigns/list.html", "campaigns/_list_results.html", context
    )


# --- the campaign form -----------------------------------------------------------------------

# what the form edits besides the code, offers and units (the owner is whoever creates it)
CAMPAIGN_FORM_FIELDS = tuple(f for f in services.CAMPAIGN_FIELDS if f not in ("code", "owner"))


def _owner_units(request: HttpRequest) -> Any:
    return units_visible(request.user)


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def campaign_edit(request: HttpRequest, campaign_id: int | None = None) -> HttpResponse:
    """A new draft campaign, or changes to a draft (the service refuses any other status)."""
    campaign = selectors.campaign_get(request.user, campaign_id) if campaign_id else None
    require_manage(request, campaign)
    initial = CampaignForm.initial_for(campaign) if campaign else {}
    form = CampaignForm(request.POST or None, initial=initial, owner_units=_owner_units(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        fields = {name: data[name] for name in CAMPAIGN_FORM_FIELDS}
        try:
            if campaign is None:
                campaign = services.campaign_create(
                    actor=acting_user(request),
                    code=data["code"],
                    offers=list(data["offers"]),
                    participating_units=list(data["participating_units"]),
                    **fields,
                )
                messages.success(request, _("Campaign created as a draft. Add its waves."))
            else:
                services.campaign_update(
                    actor=acting_user(request),
                    campaign=campaign,
                    code=data["code"],
                    offers=list(data["offers"]),
                    participating_units=list(data["participating_units"]),
                    **fields,
                )
                messages.success(request, _("Campaign saved."))
        except (ValidationFailed, ConflictError) as exc:
            apply_error(form, exc)
        else:
            return redirect("campaigns:detail", campaign_id=campaign.pk)
    return render(
        request,
        "campaigns/campaign_form.html",
        {"form": form, "campaign": campaign},
        status=422 if request.method == "POST" else 200,
    )


# --- the campaign page -----------------------------------------------------------------------


def page_context(
    request: HttpRequest,
    campaign: Campaign,
    *,
    bound: dict[str, Form] | None = None,
    launch_missing: list[str] | None = None,
    action_error: str = "",
    previews: dict[int, PlanResult] | None = None,
) -> dict[str, Any]:
    """Everything the campaign page shows; a fixed number of queries whatever the number of
    contacts (the funnels and complaints are grouped counts)."""
    user = request.user
    access = access_for(user)
    bound = bound or {}
    previews = previews or {}
    manage = rules.can_manage(access, campaign)
    funnels = selectors.campaign_funnel(campaign)
    names = selectors.arbitration_names(funnels)
    in_review = campaign.status in REVIEW_STATUSES
    open_campaign = campaign.status != CampaignStatus.COMPLETED
    checklist = [
        {
            "item": item,
            "can_sign": in_review and rules.can_sign(user, item.kind, item.unit),
            "sign_form": bound.get(f"sign-{item.pk}") or SignForm(prefix=f"sign-{item.pk}"),
            "unsign_form": bound.get(f"unsign-{item.pk}") or ReasonForm(prefix=f"unsign-{item.pk}"),
        }
        for item in selectors.checklist_of(campaign)
    ]
    conflict_rows = [
        {
            "conflict": c,
            "other": c.other if c.campaign_id == campaign.pk else c.campaign,
            "form": bound.get(f"accept-{c.pk}") or ConflictAcceptForm(prefix=f"accept-{c.pk}"),
        }
        for c in conflicts.conflicts_of(campaign)
    ]
    waves = [
        {
            "wave": f.wave,
            "funnel": f,
            "chart": funnel_chart(f),
            "reasons": [(r, selectors.reason_label(r, names), n) for r, n in f.reasons],
            "preview": previews.get(f.wave.pk),
            "can_edit": manage and open_campaign and f.wave.status in OPEN_WAVE_STATUSES,
            "can_delete": manage and campaign.status == CampaignStatus.DRAFT,
            "can_preview": manage and open_campaign and f.wave.status in OPEN_WAVE_STATUSES,
            "can_plan": manage
            and campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.COMPLETED)
            and f.wave.status in OPEN_WAVE_STATUSES,
        }
        for f in funnels
    ]
    readiness = services.campaign_readiness(campaign) if in_review else None
    return {
        "campaign": campaign,
        "participating_units": list(campaign.participating_units.order_by("path")),
        "offers": list(campaign.offers.select_related("product").order_by("code")),
        "describe": _describe(campaign),
        "can_manage": manage,
        "checklist": checklist,
        "conflicts": conflict_rows,
        "waves": waves,
        "readiness": readiness,
        "launch_missing": launch_missing,
        "action_error": action_error,
        "complaints": selectors.campaign_complaints(campaign),
        # sections higher apps add (economics, attribution), ``core.panels`` slot "campaign"
        "panels": render_panels("campaign", request, campaign),
        "pause_form": bound.get("pause") or ReasonForm(prefix="pause"),
        "draft_form": bound.get("to_draft") or ReasonForm(prefix="to_draft"),
    }


def _describe(campaign: Campaign) -> list[str]:
    from yiti.campaigns.segments import describe

    return describe(campaign.segment.rules)


def _page(request: HttpRequest, campaign: Campaign, *, status: int = 200, **kw: Any) -> Any:
    return render(
        request, "campaigns/detail.html", page_context(request, campaign, **kw), status=status
    )


@login_required
@yiti_errors
@require_GET
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = selectors.campaign_get(request.user, campaign_id)
    return _page(request, campaign)


def _act(
    request: HttpRequest,
    campaign_id: int,
    do: Callable[[Campaign], str],
    *,
    form_key: str = "",
    form: Form | None = None,
) -> HttpResponse:
    """Run one action of the campaign page: redirect with its message when done, or show the
    page again with the error next to the form (or above the page) when refused."""
    campaign = selectors.campaign_get(request.user, campaign_id)
    if form is not None and not form.is_valid():
        return _page(request, campaign, status=422, bound={form_key: form})
    try:
        done = do(campaign)
    except ValidationFailed as exc:
        campaign = selectors.campaign_get(request.user, campaign_id)
        if isinstance(exc, NotReady):
            return _page(request, campaign, status=422, launch_missing=exc.missing)
        if form is not None and exc.field and exc.field in form.fields:
            apply_error(form, exc)
            return _page(request, campaign, status=422, bound={form_key: form})
        return _page(request, campaign, status=422, action_error=exc.message)
    except ConflictError as exc:
        campaign = selectors.campaign_get(request.user, campaign_id)
        return _page(request, campaign, status=409, action_error=exc.message)
    messages.success(request, done)
    return redirect("campaigns:detail", campaign_id=campaign_id)


@login_required
@yiti_errors
@require_POST
def campaign_submit(request: HttpRequest, campaign_id: int) -> HttpResponse:
    def do(campaign: Campaign) -> str:
        services.campaign_submit(actor=acting_user(request), campaign=campaign)
        return _("Submitted for review: the signers were told.")

    return _act(request, campaign_id, do)


@login_required
@yiti_errors
@require_POST
def campaign_to_draft(request: HttpRequest, campaign_id: int) -> HttpResponse:
    form = ReasonForm(request.POST, prefix="to_draft")

    def do(campaign: Campaign) -> str:
        services.campaign_return_to_draft(
            actor=acting_user(request), campaign=campaign, reason=form.cleaned_data["reason"]
        )
        return _("Back to draft: every signature was withdrawn.")

    return _act(request, campaign_id, do, form_key="to_draft", form=form)


@login_required
@yiti_errors
@require_POST
def campaign_launch(request: HttpRequest, campaign_id: int) -> HttpResponse:
    def do(campaign: Campaign) -> str:
        services.campaign_launch(actor=acting_user(request), campaign=campaign)
        return _("The campaign is running: its waves go out on schedule.")

    return _act(request, campaign_id, do)


@login_required
@yiti_errors
@require_POST
def campaign_pause(request: HttpRequest, campaign_id: int) -> HttpResponse:
    form = ReasonForm(request.POST, prefix="pause")

    def do(campaign: Campaign) -> str:
        services.campaign_pause(
            actor=acting_user(request), campaign=campaign, reason=form.cleaned_data["reason"]
        )
        return _("Paused: nothing more is sent until the campaign resumes.")

    return _act(request, campaign_id, do, form_key="pause", form=form)


@login_required
@yiti_errors
@require_POST
def campaign_resume(request: HttpRequest, campaign_id: int) -> HttpResponse:
    def do(campaign: Campaign) -> str:
        services.campaign_resume(actor=acting_user(request), campaign=campaign)
        return _("Resumed.")

    return _act(request, campaign_id, do)


@login_required
@yiti_errors
@require_POST
def campaign_complete(request: HttpRequest, campaign_id: int) -> HttpResponse:
    def do(campaign: Campaign) -> str:
        services.campaign_complete(actor=acting_user(request), campaign=campaign)
        return _("Completed: contacts still planned were cancelled.")

    return _act(request, campaign_id, do)


@login_required
@yiti_errors
@require_POST
def conflicts_check(request: HttpRequest, campaign_id: int) -> HttpResponse:
    def do(campaign: Campaign) -> str:
        found = conflicts.conflicts_check(actor=acting_user(request), campaign=campaign)
        return _("Conflict check done: %(n)d conflict(s) stand.") % {"n": len(found)}

    return _act(request, campaign_id, do)


@login_required
@yiti_errors
@require_POST
def conflict_accept(request: HttpRequest, campaign_id: int, conflict_id: int) -> HttpResponse:
    form = ConflictAcceptForm(request.POST, prefix=f"accept-{conflict_id}")

    def do(campaign: Campaign) -> str:
        conflict = _conflict_of(campaign, conflict_id)
        conflicts.conflict_accept(
            actor=acting_user(request), conflict=conflict, reason=form.cleaned_data["reason"]
        )
        return _("Conflict accepted with your reason.")

    return _act(request, campaign_id, do, form_key=f"accept-{conflict_id}", form=form)


def _conflict_of(campaign: Campaign, conflict_id: int) -> Conflict:
    for conflict in conflicts.conflicts_of(campaign):
        if conflict.pk == conflict_id:
            return conflict
    raise NotFound(_("Conflict not found."))


def _item_of(campaign: Campaign, item_id: int) -> ChecklistItem:
    item = campaign.checklist.filter(pk=item_id).first()
    if item is None:
        raise NotFound(_("Checklist item not found."))
    return item


@login_required
@yiti_errors
@require_POST
def checklist_sign(request: HttpRequest, campaign_id: int, item_id: int) -> HttpResponse:
    form = SignForm(request.POST, prefix=f"sign-{item_id}")

    def do(campaign: Campaign) -> str:
        item = _item_of(campaign, item_id)
        services.checklist_sign(
            actor=acting_user(request), item=item, note=form.cleaned_data["note"]
        )
        return _("Signed: %(item)s.") % {"item": item.get_kind_display()}

    return _act(request, campaign_id, do, form_key=f"sign-{item_id}", form=form)


@login_required
@yiti_errors
@require_POST
def checklist_unsign(request: HttpRequest, campaign_id: int, item_id: int) -> HttpResponse:
    form = ReasonForm(request.POST, prefix=f"unsign-{item_id}")

    def do(campaign: Campaign) -> str:
        item = _item_of(campaign, item_id)
        services.checklist_unsign(
            actor=acting_user(request), item=item, reason=form.cleaned_data["reason"]
        )
        return _("Signature withdrawn: %(item)s.") % {"item": item.get_kind_display()}

    return _act(request, campaign_id, do, form_key=f"unsign-{item_id}", form=form)
