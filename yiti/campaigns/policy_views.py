"""The contact policy's pages (/policy/): rules, quiet hours, the do-not-disturb list.

They live in campaigns because saving a rule first shows its impact on the planned waves, a
dry run through the planner (``campaigns.impact``); the settings themselves are engagement's
and are written through ``engagement.services``.

Who: administrators and campaign managers change rules and quiet hours. The do-not-disturb
list is also open to staff who may change a customer's consent (account managers, service and
care agents) for the customers they see: a customer's own "do not call me" (see
``engagement.services``).
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yiti.campaigns.impact import Impact, planned_waves, rule_change_impact, rules_with
from yiti.core.errors import NotFound, ValidationFailed
from yiti.core.htmx import render_page_or_partial
from yiti.core.pagination import paginate, parse_page
from yiti.core.web import yiti_errors
from yiti.customers.selectors import CustomerFilters, customer_list
from yiti.engagement import selectors, services
from yiti.engagement.choices import InteractionChannel, InteractionPurpose, Weekday
from yiti.engagement.forms import (
    ContactRuleForm,
    QuietHoursForm,
    SuppressionAddForm,
    SuppressionFilterForm,
)
from yiti.engagement.models import ContactPolicyRule, QuietHours
from yiti.org.access import access_for
from yiti.org.forms import apply_error
from yiti.org.roles import Perm
from yiti.org.web import acting_user as _actor

PAGE_SIZE = 50
# service error fields -> form fields
RULE_FIELDS = {f"weights.{p}": f"weight_{p}" for p in InteractionPurpose.values}


def _require_policy(request: HttpRequest) -> None:
    if not services.can_manage_policy(_actor(request)):
        raise DjangoPermissionDenied(
            _("Only administrators and campaign managers may change the contact policy.")
        )


def _can_dnd(request: HttpRequest) -> bool:
    user = _actor(request)
    return services.can_manage_policy(user) or access_for(user).has(Perm.CONSENT_CHANGE)


@login_required
@yiti_errors
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    _require_policy(request)
    in_force = selectors.suppressions_for(_actor(request), selectors.SuppressionFilters())
    return render(
        request,
        "campaigns/policy/index.html",
        {
            "rules": [
                {
                    "rule": r,
                    "purposes": _labels(InteractionPurpose, r.purposes),
                    "channels": _labels(InteractionChannel, r.channels),
                    "weights": ", ".join(
                        f"{InteractionPurpose(p).label} ×{w:g}"
                        for p, w in (r.weights or {}).items()
                        if p in InteractionPurpose.values
                    ),
                }
                for r in selectors.contact_rules()
            ],
            "quiet": [
                {
                    "quiet": q,
                    "days": _labels(Weekday, q.days),
                    "channels": _labels(InteractionChannel, q.channels),
                }
                for q in selectors.quiet_hours_all()
            ],
            "dnd_count": in_force.count(),
            "planned_count": len(planned_waves()),
        },
    )


def _labels(choices: Any, values: Any) -> str:
    """Labels of ``values`` in the vocabulary's order ("" when none: every one)."""
    chosen = set(values or ())
    return ", ".join(str(label) for value, label in choices.choices if value in chosen)


def _rule_or_404(rule_id: int | None) -> ContactPolicyRule | None:
    if rule_id is None:
        return None
    rule = ContactPolicyRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("Rule not found."))
    return rule


def _proposal(
    form: ContactRuleForm, rule: ContactPolicyRule | None
) -> tuple[dict[str, Any], bool] | None:
    """The form's rule checked by the service's rules (errors go next to their fields)."""
    if not form.is_valid():
        return None
    try:
        cleaned = services.contact_rule_clean(
            **form.values(), exclude=rule.pk if rule is not None else None
        )
    except ValidationFailed as exc:
        apply_error(cast(forms.Form, form), exc, fields=RULE_FIELDS)
        return None
    return cleaned, bool(form.cleaned_data["active"])


def _impact(cleaned: dict[str, Any], active: bool, rule: ContactPolicyRule | None) -> Impact:
    return rule_change_impact(rules_with({**cleaned, "active": active}, replacing=rule))


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, rule_id: int | None = None) -> HttpResponse:
    _require_policy(request)
    rule = _rule_or_404(rule_id)
    initial = ContactRuleForm.initial_of(rule) if rule is not None else {}
    form = ContactRuleForm(request.POST or None, initial=initial)
    planned = len(planned_waves())
    impact = None
    if request.method == "POST":
        proposal = _proposal(form, rule)
        if proposal is not None:
            cleaned, active = proposal
            if planned and not form.cleaned_data["confirm"]:
                impact = _impact(cleaned, active, rule)
                form.add_error(
                    "confirm",
                    _("Waves are already planned: look at the impact and tick to confirm."),
                )
            else:
                return _save_rule(request, rule, cleaned, active)
    return render(
        request,
        "campaigns/policy/rule_form.html",
        {"form": form, "rule": rule, "impact": impact, "planned": planned},
        status=422 if form.errors else 200,
    )


def _save_rule(
    request: HttpRequest, rule: ContactPolicyRule | None, cleaned: dict[str, Any], active: bool
) -> HttpResponse:
    actor = _actor(request)
    if rule is None:
        created = services.contact_rule_create(actor=actor, **cleaned)
        if not active:
            services.contact_rule_deactivate(actor=actor, rule=created)
    else:
        services.contact_rule_update(actor=actor, rule=rule, **cleaned, active=active)
    messages.success(request, _("Contact rule saved; the next plan applies it."))
    return redirect("policy:index")


@login_required
@yiti_errors
@require_POST
def rule_impact(request: HttpRequest, rule_id: int | None = None) -> HttpResponse:
    """htmx: the impact of the rule as it stands in the form (nothing is saved)."""
    _require_policy(request)
    rule = _rule_or_404(rule_id)
    form = ContactRuleForm(request.POST)
    proposal = _proposal(form, rule)
    context: dict[str, Any] = {"form": form, "impact": None}
    if proposal is not None:
        context["impact"] = _impact(*proposal, rule)
    return render(
        request,
        "campaigns/policy/_impact.html",
        context,
        status=422 if form.errors else 200,
    )


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def quiet_edit(request: HttpRequest, quiet_id: int | None = None) -> HttpResponse:
    _require_policy(request)
    quiet = QuietHours.objects.filter(pk=quiet_id).first() if quiet_id is not None else None
    if quiet_id is not None and quiet is None:
        raise NotFound(_("Quiet hours not found."))
    initial: dict[str, Any] = {"days": [0, 1, 2, 3, 4, 5, 6], "active": True}
    if quiet is not None:
        initial = {
            "name": quiet.name,
            "days": quiet.days,
            "start": quiet.start,
            "end": quiet.end,
            "channels": quiet.channels,
            "active": quiet.active,
        }
    form = QuietHoursForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        active = data.pop("active")
        actor = _actor(request)
        try:
            if quiet is None:
                quiet = services.quiet_hours_create(actor=actor, **data)
                if not active:
                    services.quiet_hours_update(actor=actor, quiet=quiet, active=False)
            else:
                services.quiet_hours_update(actor=actor, quiet=quiet, **data, active=active)
        except ValidationFailed as exc:
            apply_error(cast(forms.Form, form), exc)
        else:
            messages.success(request, _("Quiet hours saved; the next plan applies them."))
            return redirect("policy:index")
    return render(
        request,
        "campaigns/policy/quiet_form.html",
        {"form": form, "quiet": quiet},
        status=422 if form.errors else 200,
    )


# --- do not disturb ---------------------------------------------------------------------------


def _dnd_page(
    request: HttpRequest, add_form: SuppressionAddForm | None = None, status: int = 200
) -> HttpResponse:
    if not _can_dnd(request):
        raise DjangoPermissionDenied(_("The do-not-disturb list is not open to your role."))
    filters = selectors.SuppressionFilters.from_mapping(request.GET)
    page = paginate(
        selectors.suppressions_for(_actor(request), filters),
        page=parse_page(request.GET.get("page")),
        size=PAGE_SIZE,
    )
    user = _actor(request)
    context = {
        "page": page,
        "filters": filters,
        "filter_form": SuppressionFilterForm(initial=filters.__dict__),
        "add_form": add_form or SuppressionAddForm(),
        "can_lift": {s.pk: s.active and services.can_suppress(user, s.reason) for s in page.items},
        "base_url": reverse("policy:dnd"),
        "can_manage": services.can_manage_policy(user),
    }
    if status != 200:
        response = render(request, "campaigns/policy/dnd.html", context, status=status)
        return response
    return render_page_or_partial(
        request, "campaigns/policy/dnd.html", "campaigns/policy/_dnd_results.html", context
    )


@login_required
@yiti_errors
@require_GET
def dnd(request: HttpRequest) -> HttpResponse:
    return _dnd_page(request)


@login_required
@yiti_errors
@require_POST
def dnd_add(request: HttpRequest) -> HttpResponse:
    if not _can_dnd(request):
        raise DjangoPermissionDenied(_("The do-not-disturb list is not open to your role."))
    form = SuppressionAddForm(request.POST)
    user = _actor(request)
    if form.is_valid():
        query = form.cleaned_data["customer"].strip()
        found = list(customer_list(user, CustomerFilters(q=query))[:2])
        if not found:
            form.add_error("customer", _("No customer you can see matches."))
        elif len(found) > 1:
            form.add_error(
                "customer", _("Several customers match: enter the full phone or external id.")
            )
        else:
            try:
                services.suppression_add(
                    actor=user,
                    customer=found[0],
                    reason=form.cleaned_data["reason"],
                    expires_at=form.cleaned_data["expires_at"],
                    note=form.cleaned_data["note"],
                )
            except ValidationFailed as exc:
                apply_error(cast(forms.Form, form), exc)
            else:
                messages.success(
                    request,
                    _("%(name)s is on the do-not-disturb list.") % {"name": found[0].name},
                )
                return redirect("policy:dnd")
    return _dnd_page(request, add_form=form, status=422)


@login_required
@yiti_errors
@require_POST
def dnd_lift(request: HttpRequest, suppression_id: int) -> HttpResponse:
    user = _actor(request)
    row = selectors.suppression_get_for(user, suppression_id)
    services.suppression_lift_entry(actor=user, suppression=row)
    messages.success(request, _("Lifted for %(name)s.") % {"name": row.customer.name})
    return redirect("policy:dnd")
