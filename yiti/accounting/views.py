"""The accounting pages: unit × product results (with XLSX export), scorecards, a campaign's
budget and cost lines, and the contact costs. Thin: forms in, selectors and services out."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from yiti.accounting import rules, selectors, services, xlsx
from yiti.accounting.choices import CostKind
from yiti.accounting.forms import (
    BudgetForm,
    ContactCostForm,
    CostLineForm,
    PeriodForm,
    ScorecardForm,
)
from yiti.accounting.scorecards import DEFAULT_IDLE_DAYS
from yiti.campaigns.choices import WaveChannel
from yiti.campaigns.models import Campaign
from yiti.core.errors import ValidationFailed
from yiti.core.web import yiti_errors
from yiti.org.access import access_for
from yiti.org.forms import apply_error
from yiti.org.models import OrgUnit
from yiti.org.web import acting_user

INDENT = "\u3000"  # an ideographic space per level of the org tree


def _period(form: PeriodForm) -> tuple[date, date, OrgUnit | None]:
    start, end = selectors.default_period()
    unit = None
    if form.is_valid():
        start = form.cleaned_data.get("start") or start
        end = form.cleaned_data.get("end") or end
        unit = form.cleaned_data.get("unit")
    return start, end, unit


@login_required
@yiti_errors
@require_GET
def results(request: HttpRequest) -> HttpResponse:
    access = access_for(request.user)
    if not rules.can_view_results(access) and rules.can_view_scorecards(access):
        return redirect("accounting:scorecards")
    rules.require_results(request.user)
    form = PeriodForm(request.GET or None, units=selectors.visible_units(request.user))
    start, end, unit = _period(form)
    error = ""
    data = None
    try:
        data = selectors.results_for(request.user, start=start, end=end, unit=unit)
    except ValidationFailed as exc:
        apply_error(form, exc)
        error = exc.message
    context = {
        "form": form,
        "start": start,
        "end": end,
        "results": data,
        "rows": [(row, INDENT * row.depth) for row in data.units] if data else [],
        "error": error,
        "query": request.GET.urlencode(),
        "can_scorecards": rules.can_view_scorecards(access),
    }
    return render(request, "accounting/results.html", context, status=422 if error else 200)


@login_required
@yiti_errors
@require_GET
def results_export(request: HttpRequest) -> HttpResponse:
    rules.require_results(request.user)
    form = PeriodForm(request.GET or None, units=selectors.visible_units(request.user))
    start, end, unit = _period(form)
    data = selectors.results_for(request.user, start=start, end=end, unit=unit)
    response = HttpResponse(
        xlsx.results_workbook(data),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="yiti-accounting-{start:%Y%m%d}-{end:%Y%m%d}.xlsx"'
    )
    return response


@login_required
@yiti_errors
@require_GET
def scorecards(request: HttpRequest) -> HttpResponse:
    rules.require_scorecards(request.user)
    access = access_for(request.user)
    units = selectors.visible_units(request.user)
    _scope, own = rules.scorecard_scope(access)
    if own is not None:
        units = units.none()
    form = ScorecardForm(request.GET or None, units=units)
    start, end, unit = _period(form)
    idle = DEFAULT_IDLE_DAYS
    if form.is_valid():
        idle = form.cleaned_data.get("idle_days") or DEFAULT_IDLE_DAYS
    week = request.GET.get("week", "")
    snapshot_rows: list[Any] = []
    week_start = None
    if week:
        try:
            week_start = date.fromisoformat(week)
        except ValueError:
            week_start = None
        if week_start is not None:
            snapshot_rows = list(selectors.snapshots_for(request.user, week_start=week_start))
    error = ""
    cards: list[Any] = []
    try:
        cards = selectors.scorecards_for(
            request.user, start=start, end=end, unit=unit, idle_days=idle
        )
    except ValidationFailed as exc:
        apply_error(form, exc)
        error = exc.message
    context = {
        "form": form,
        "start": start,
        "end": end,
        "idle_days": idle,
        "cards": cards,
        "own_only": own is not None,
        "error": error,
        "weeks": selectors.snapshot_weeks(),
        "week_start": week_start,
        "snapshot_rows": snapshot_rows,
        "can_results": rules.can_view_results(access),
    }
    return render(request, "accounting/scorecards.html", context, status=422 if error else 200)


def _campaign_units(campaign: Campaign) -> Any:
    ids = set(campaign.participating_units.values_list("pk", flat=True)) | {campaign.owner_unit_id}
    return OrgUnit.objects.filter(pk__in=ids).order_by("path")


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def campaign_costs(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The campaign's budget per unit and its cost lines: set a budget, add or remove a line."""
    campaign = selectors.campaign_for_costs(request.user, campaign_id)
    units = _campaign_units(campaign)
    budget_form = BudgetForm(prefix="budget", units=units)
    line_form = CostLineForm(prefix="line", units=units)
    status = 200
    if request.method == "POST":
        actor = acting_user(request)
        action = request.POST.get("action")
        form: Any = None
        try:
            if action == "budget":
                form = budget_form = BudgetForm(request.POST, prefix="budget", units=units)
                if form.is_valid():
                    services.budget_set(
                        actor=actor,
                        campaign=campaign,
                        unit=form.cleaned_data["unit"],
                        amount=form.cleaned_data["amount"],
                        note=form.cleaned_data.get("note") or "",
                    )
                    messages.success(request, _("Budget saved."))
                    return redirect("accounting:campaign_costs", campaign_id=campaign.pk)
            elif action == "line":
                form = line_form = CostLineForm(request.POST, prefix="line", units=units)
                if form.is_valid():
                    d = form.cleaned_data
                    services.cost_line_add(
                        actor=actor,
                        campaign=campaign,
                        unit=d["unit"],
                        kind=d["kind"],
                        description=d["description"],
                        quantity=d["quantity"],
                        unit_cost=d["unit_cost"],
                        incurred_on=d["incurred_on"],
                    )
                    messages.success(request, _("Cost line added."))
                    return redirect("accounting:campaign_costs", campaign_id=campaign.pk)
            elif action == "delete":
                line_id = request.POST.get("line", "")
                line = selectors.cost_line_get(
                    request.user, campaign, int(line_id) if line_id.isdigit() else 0
                )
                services.cost_line_delete(
                    actor=actor, line=line, reason=request.POST.get("reason", "")
                )
                messages.success(request, _("Cost line removed."))
                return redirect("accounting:campaign_costs", campaign_id=campaign.pk)
        except ValidationFailed as exc:
            if form is not None:
                apply_error(form, exc)
            else:
                messages.error(request, exc.message)
        status = 422
    economics = selectors.economics_for(request.user, campaign.pk)
    context = {
        "campaign": campaign,
        "economics": economics,
        "budget_form": budget_form,
        "line_form": line_form,
        "kinds": CostKind.choices,
    }
    return render(request, "accounting/campaign_costs.html", context, status=status)


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def contact_costs(request: HttpRequest) -> HttpResponse:
    """What one contact costs per channel (data used by every campaign's economics)."""
    access = access_for(request.user)
    can_edit = rules.can_set_contact_costs(access)
    if not can_edit and not rules.can_view_results(access):
        rules.require_contact_costs(request.user)
    rows = selectors.contact_cost_rows()
    forms = {
        channel: ContactCostForm(
            prefix=channel,
            initial={"per_contact": c, "agent_minutes": m, "agent_hour_cost": h},
        )
        for channel, c, m, h in rows
    }
    status = 200
    if request.method == "POST":
        channel = request.POST.get("channel", "")
        if channel in forms:
            form = forms[channel] = ContactCostForm(request.POST, prefix=channel)
            if form.is_valid():
                try:
                    services.contact_cost_set(
                        actor=acting_user(request), channel=channel, **form.cleaned_data
                    )
                    messages.success(request, _("Contact cost saved."))
                    return redirect("accounting:contact_costs")
                except ValidationFailed as exc:
                    apply_error(form, exc)
            status = 422
        else:
            status = 422
            messages.error(request, _("Unknown channel."))
    labels = dict(WaveChannel.choices)
    context = {
        "rows": [(channel, labels[channel], forms[channel]) for channel, *_r in rows],
        "can_edit": can_edit,
    }
    return render(request, "accounting/contact_costs.html", context, status=status)
