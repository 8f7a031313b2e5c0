"""Attribution pages: a campaign's credit per unit under its model and agreement (with what
every other model would give, and each order's allocation explained), and the page that
edits the plan. Thin: selectors read, ``services.plan_set`` decides and writes."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from yiti.attribution import selectors, services
from yiti.attribution.attribute import campaign_units, plan_of
from yiti.attribution.forms import PlanForm
from yiti.campaigns.rules import can_manage, require_manage
from yiti.core.errors import ValidationFailed
from yiti.core.htmx import render_page_or_partial
from yiti.core.pagination import parse_page
from yiti.core.web import yiti_errors
from yiti.org.access import access_for
from yiti.org.forms import apply_error
from yiti.org.web import acting_user

ORDERS_PAGE = 25


@login_required
@yiti_errors
@require_GET
def campaign_attribution(request: HttpRequest, campaign_id: int) -> HttpResponse:
    credit = selectors.campaign_credit(request.user, campaign_id)
    campaign = credit.campaign
    orders = selectors.order_allocations(
        request.user, campaign, page=parse_page(request.GET.get("page")), size=ORDERS_PAGE
    )
    context = {
        "campaign": campaign,
        "credit": credit,
        "orders": orders,
        "can_manage": can_manage(access_for(request.user), campaign),
        "launched": services.is_launched(campaign),
    }
    return render_page_or_partial(
        request, "attribution/campaign.html", "attribution/_orders.html", context
    )


@login_required
@yiti_errors
@require_GET
def campaign_models(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """What each unit would get under every model, computed now (loaded by htmx into the
    credit page, or a page of its own)."""
    credit = selectors.campaign_credit(request.user, campaign_id)
    splits = selectors.campaign_compare(request.user, credit.campaign)
    context = {
        "campaign": credit.campaign,
        "splits": splits,
        "comparison": [
            (line.unit, [(s, *s.units.get(line.unit.pk, (0.0, None, None))) for s in splits])
            for line in credit.units
        ],
    }
    return render_page_or_partial(
        request, "attribution/models.html", "attribution/_models.html", context
    )


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def plan_edit(request: HttpRequest, campaign_id: int) -> HttpResponse:
    credit = selectors.campaign_credit(request.user, campaign_id)
    campaign = credit.campaign
    require_manage(acting_user(request), campaign)
    plan = plan_of(campaign)
    form = PlanForm(
        request.POST or None, initial=PlanForm.initial_for(plan), units=campaign_units(campaign)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.plan_set(
                actor=acting_user(request),
                campaign=campaign,
                model=data["model"],
                basis=data["basis"],
                shares=form.shares(),
                touch_weight=data["touch_percent"] / 100,
                lookback_days=data["lookback_days"],
                half_life_days=data["half_life_days"],
                reason=data["reason"],
            )
        except ValidationFailed as exc:
            apply_error(form, exc, fields={"touch_weight": "touch_percent"})
        else:
            messages.success(
                request,
                _("Attribution saved. Tonight's run credits the units under the new terms."),
            )
            return redirect("attribution:campaign", campaign_id=campaign.pk)
    return render(
        request,
        "attribution/plan_form.html",
        {"campaign": campaign, "form": form, "launched": services.is_launched(campaign)},
        status=422 if request.method == "POST" else 200,
    )
