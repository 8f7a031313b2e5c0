"""Wave pages: the wave form (fields by kind), delete, the plan preview (a dry run) and the
plan, and a wave's deliveries (only the customers the user may see, masked)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yiti.campaigns import selectors, services
from yiti.campaigns.choices import DeliveryStatus
from yiti.campaigns.forms import WaveForm
from yiti.campaigns.models import Campaign, Wave
from yiti.campaigns.planning import wave_plan
from yiti.campaigns.views import page_context, require_manage, require_view
from yiti.core.errors import ValidationFailed
from yiti.core.htmx import is_htmx, render_page_or_partial
from yiti.core.pagination import paginate, parse_page
from yiti.core.web import yiti_errors
from yiti.org.forms import apply_error
from yiti.org.web import acting_user

WAVE_ERROR_FIELDS = {"channels": "channel_1"}


def _wave_form_page(
    request: HttpRequest, campaign: Campaign, wave: Wave | None, form: WaveForm, status: int
) -> HttpResponse:
    return render(
        request,
        "campaigns/wave_form.html",
        {"form": form, "campaign": campaign, "wave": wave},
        status=status,
    )


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def wave_create(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = selectors.campaign_get(request.user, campaign_id)
    require_manage(request, campaign)
    form = WaveForm(request.POST or None, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        try:
            services.wave_create(
                actor=acting_user(request),
                campaign=campaign,
                name=data.pop("name"),
                kind=data.pop("kind"),
                scheduled_at=data.pop("scheduled_at"),
                **data,
            )
        except ValidationFailed as exc:
            apply_error(form, exc, fields=WAVE_ERROR_FIELDS)
        else:
            messages.success(request, _("Wave added."))
            return redirect("campaigns:detail", campaign_id=campaign.pk)
    return _wave_form_page(request, campaign, None, form, 422 if request.method == "POST" else 200)


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def wave_edit(request: HttpRequest, wave_id: int) -> HttpResponse:
    wave = selectors.wave_get(request.user, wave_id)
    campaign = wave.campaign
    require_manage(request, campaign)
    form = WaveForm(
        request.POST or None, campaign=campaign, wave=wave, initial=WaveForm.initial_for(wave)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.wave_update(actor=acting_user(request), wave=wave, **form.service_data())
        except ValidationFailed as exc:
            apply_error(form, exc, fields=WAVE_ERROR_FIELDS)
        else:
            messages.success(request, _("Wave saved."))
            return redirect("campaigns:detail", campaign_id=campaign.pk)
    return _wave_form_page(request, campaign, wave, form, 422 if request.method == "POST" else 200)


@login_required
@yiti_errors
@require_POST
def wave_delete(request: HttpRequest, wave_id: int) -> HttpResponse:
    wave = selectors.wave_get(request.user, wave_id)
    campaign = wave.campaign
    try:
        services.wave_delete(actor=acting_user(request), wave=wave)
    except ValidationFailed as exc:
        context = page_context(request, campaign, action_error=exc.message)
        return render(request, "campaigns/detail.html", context, status=422)
    messages.success(request, _("Wave deleted."))
    return redirect("campaigns:detail", campaign_id=campaign.pk)


@login_required
@yiti_errors
@require_POST
def wave_preview(request: HttpRequest, wave_id: int) -> HttpResponse:
    """A dry run of the plan: what planning would do now, nothing written. htmx gets the
    result box, a plain post the campaign page with the box open."""
    wave = selectors.wave_get(request.user, wave_id)
    try:
        result = wave_plan(actor=acting_user(request), wave=wave, dry_run=True)
    except ValidationFailed as exc:
        if is_htmx(request):
            return render(
                request, "campaigns/_plan_result.html", {"wave": wave, "error": exc.message}
            )
        context = page_context(request, wave.campaign, action_error=exc.message)
        return render(request, "campaigns/detail.html", context, status=422)
    context = {"wave": wave, "result": result}
    if is_htmx(request):
        return render(request, "campaigns/_plan_result.html", context)
    return render(
        request,
        "campaigns/detail.html",
        page_context(request, wave.campaign, previews={wave.pk: result}),
    )


@login_required
@yiti_errors
@require_POST
def wave_plan_view(request: HttpRequest, wave_id: int) -> HttpResponse:
    wave = selectors.wave_get(request.user, wave_id)
    try:
        result = wave_plan(actor=acting_user(request), wave=wave)
    except ValidationFailed as exc:
        context = page_context(request, wave.campaign, action_error=exc.message)
        return render(request, "campaigns/detail.html", context, status=422)
    messages.success(
        request,
        _("Wave %(n)d planned: %(planned)d contacts planned, %(excluded)d excluded.")
        % {"n": wave.number, "planned": result.planned, "excluded": sum(result.excluded.values())},
    )
    return redirect("campaigns:detail", campaign_id=wave.campaign_id)


@login_required
@yiti_errors
@require_GET
def wave_deliveries(request: HttpRequest, wave_id: int) -> HttpResponse:
    """The wave's contacts of the customers the user may see, by status and reason."""
    require_view(request)
    wave = selectors.wave_get(request.user, wave_id)
    status = request.GET.get("status", "")
    status = status if status in DeliveryStatus.values else ""
    reasons = selectors.wave_reasons(wave)
    known = {r for r, _n in reasons}
    reason = request.GET.get("reason", "")
    reason = reason if reason in known else ""
    page = paginate(
        selectors.deliveries_of_wave(request.user, wave, status=status, reason=reason),
        page=parse_page(request.GET.get("page")),
        size=settings.YITI_PAGE_SIZE,
    )
    labels = selectors.reason_labels(r for r, _n in reasons)
    context = {
        "wave": wave,
        "campaign": wave.campaign,
        "page": page,
        "status": status,
        "reason": reason,
        "statuses": DeliveryStatus.choices,
        "reasons": [(r, labels[r], n) for r, n in reasons],
        "labels": labels,
    }
    return render_page_or_partial(
        request, "campaigns/deliveries.html", "campaigns/_deliveries_results.html", context
    )
