"""Value pages: the model's last fits and diagnostics, tier counts and migration, "Refit now",
and the settings page (unit costs to serve, tier thresholds)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yiti.core.errors import Conflict, ValidationFailed
from yiti.core.web import yiti_errors
from yiti.customers.choices import ValueTier
from yiti.decisions import selectors, services
from yiti.decisions.forms import (
    ContextWeightsForm,
    RefitForm,
    ServiceCostsForm,
    ValueSettingsForm,
)
from yiti.decisions.rules import can_edit_settings, can_refit, can_view_value
from yiti.decisions.weights import ContextWeights
from yiti.org.access import access_for
from yiti.org.forms import apply_error
from yiti.org.web import acting_user as _actor

TIER_LABELS = {t.value: t.label for t in ValueTier}


def _require_view(request: HttpRequest) -> None:
    if not can_view_value(access_for(request.user)):
        raise DjangoPermissionDenied(
            _("The value model is for administrators, analysts and campaign managers.")
        )


def _fits_context() -> dict[str, Any]:
    busy = selectors.fit_busy()
    return {"fits": list(selectors.fits_recent(limit=8)), "busy": busy is not None}


@login_required
@yiti_errors
@require_GET
def value_page(request: HttpRequest) -> HttpResponse:
    _require_view(request)
    access = access_for(request.user)
    last = selectors.fit_latest_succeeded()
    counts = selectors.tier_counts()
    total = sum(counts.values())
    migration = selectors.tier_migration(last) if last else None
    context = {
        "last": last,
        "counts": [
            (tier, TIER_LABELS[tier], n, (n / total) if total else 0) for tier, n in counts.items()
        ],
        "total": total,
        "migration": migration,
        "migration_headers": [(t, TIER_LABELS[t]) for t in migration.tiers] if migration else [],
        "migration_rows": [
            (from_tier, TIER_LABELS.get(from_tier, ""), cells, row_total)
            for from_tier, cells, row_total in migration.rows()
        ]
        if migration
        else [],
        "settings": selectors.value_settings_current(),
        "costs": selectors.service_costs(),
        "can_refit": can_refit(access),
        "can_edit_settings": can_edit_settings(access),
        "refit_form": RefitForm(),
        **_fits_context(),
    }
    return render(request, "decisions/value.html", context)


@login_required
@yiti_errors
@require_GET
def fits_status(request: HttpRequest) -> HttpResponse:
    """The last fits' table, polled by htmx while a fit is queued or running."""
    _require_view(request)
    return render(request, "decisions/_fits.html", _fits_context())


@login_required
@yiti_errors
@require_POST
def refit(request: HttpRequest) -> HttpResponse:
    form = RefitForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a valid date."))
        return redirect("decisions:value")
    try:
        fit = services.value_refit_request(actor=_actor(request), end=form.cleaned_data["end"])
    except (Conflict, ValidationFailed) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Refit #%(id)s queued; it runs in the background.") % {"id": fit.pk},
        )
    return redirect("decisions:value")


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def value_settings(request: HttpRequest) -> HttpResponse:
    if not can_edit_settings(access_for(request.user)):
        raise DjangoPermissionDenied(_("Only administrators change the value settings."))
    current = selectors.value_settings_current()
    costs = selectors.service_costs()
    data = request.POST if request.method == "POST" else None
    form = ValueSettingsForm(data, initial=ValueSettingsForm.initial_for(current), prefix="s")
    cost_form = ServiceCostsForm(data, costs=costs, prefix="c")
    weights_form = ContextWeightsForm(
        data, weights=ContextWeights.of(current.context_weights), prefix="w"
    )
    forms = (form, cost_form, weights_form)
    if data is not None and all(f.is_valid() for f in forms):
        actor = _actor(request)
        try:
            with transaction.atomic():
                services.value_settings_save(actor=actor, **form.cleaned_data)
                services.service_costs_save(actor=actor, costs=cost_form.cleaned_data)
                services.context_weights_save(actor=actor, weights=weights_form.weights())
        except ValidationFailed as exc:
            field = (exc.field or "").replace(":", "__", 1)  # a weight's key: its form field
            target = next((f for f in forms if field in f.fields), form)
            apply_error(target, exc, fields={exc.field or "": field})
        else:
            messages.success(
                request,
                _(
                    "Value settings saved: the next refit uses the model settings and costs; "
                    "next best actions use the context weights at once."
                ),
            )
            return redirect("decisions:value")
    return render(
        request,
        "decisions/settings.html",
        {"form": form, "cost_form": cost_form, "weights_form": weights_form},
        status=422 if any(f.errors for f in forms) else 200,
    )
