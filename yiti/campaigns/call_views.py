"""The agent's call list: calls and visits of running campaigns, best expected value first,
with the offer's terms and FAQ, a phone revealed only on demand (audited) and the outcome
form; htmx replaces one call with its new state."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from yiti.campaigns import outcomes, selectors
from yiti.campaigns.choices import DeliveryStatus
from yiti.campaigns.forms import OutcomeForm
from yiti.campaigns.models import Delivery, Offer
from yiti.core.errors import Conflict, ValidationFailed
from yiti.core.htmx import is_htmx, render_page_or_partial
from yiti.core.pagination import paginate, parse_page
from yiti.core.web import yiti_errors
from yiti.customers.choices import ContactKind
from yiti.customers.services import contacts_reveal
from yiti.org.access import access_for
from yiti.org.forms import apply_error
from yiti.org.roles import Perm
from yiti.org.web import acting_user


def _require_work(request: HttpRequest) -> None:
    if not access_for(request.user).has(Perm.CAMPAIGN_WORK):
        raise DjangoPermissionDenied(_("Call lists are for agents and account managers."))


def _call(
    request: HttpRequest,
    delivery: Delivery,
    offer: Offer | None,
    *,
    phones: list[str] | None = None,
    form: OutcomeForm | None = None,
) -> dict[str, Any]:
    return {
        "d": delivery,
        "offer": offer,
        "phones": phones,
        "open": delivery.status == DeliveryStatus.PLANNED,
        "form": form or OutcomeForm(prefix=f"call-{delivery.pk}"),
        "can_reveal": access_for(request.user).has(Perm.PII_REVEAL),
    }


@login_required
@yiti_errors
@require_GET
def call_list(request: HttpRequest) -> HttpResponse:
    """My calls and visits; ``?scope=team`` adds the unassigned ones of my territory."""
    _require_work(request)
    team = request.GET.get("scope") == "team"
    page = paginate(
        selectors.call_list(request.user, mine_only=not team),
        page=parse_page(request.GET.get("page")),
        size=settings.YITI_PAGE_SIZE,
    )
    offers = selectors.offers_by_campaign({d.campaign_id for d in page.items})
    calls = [
        _call(request, d, d.wave.offer if d.wave.offer_id else offers.get(d.campaign_id))
        for d in page.items
    ]
    context = {"page": page, "calls": calls, "team": team}
    return render_page_or_partial(
        request, "campaigns/calls.html", "campaigns/_calls_results.html", context
    )


def _row(request: HttpRequest, delivery: Delivery, status: int = 200, **kw: Any) -> HttpResponse:
    context = _call(request, delivery, selectors.offer_of_delivery(delivery), **kw)
    return render(request, "campaigns/_call.html", {"call": context}, status=status)


@login_required
@yiti_errors
@require_POST
def call_reveal(request: HttpRequest, delivery_id: int) -> HttpResponse:
    """The customer's phone numbers in full: permitted roles only, and audited."""
    _require_work(request)
    delivery = selectors.delivery_get_for(request.user, delivery_id)
    points = contacts_reveal(
        actor=acting_user(request), customer=delivery.customer, reason=_("call list")
    )
    phones = [p.value for p in points if p.kind == ContactKind.PHONE]
    if is_htmx(request):
        return _row(request, delivery, phones=phones)
    messages.info(
        request,
        _("%(name)s: %(phones)s")
        % {"name": delivery.customer.name, "phones": ", ".join(phones) or "—"},
    )
    return redirect("campaigns:calls")


@login_required
@yiti_errors
@require_POST
def call_outcome(request: HttpRequest, delivery_id: int) -> HttpResponse:
    """Record what the call or visit came to; the call shows its new state."""
    _require_work(request)
    delivery = selectors.delivery_get_for(request.user, delivery_id)
    form = OutcomeForm(request.POST, prefix=f"call-{delivery.pk}")
    if form.is_valid():
        try:
            delivery = outcomes.delivery_work(
                actor=acting_user(request),
                delivery=delivery,
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
            )
        except (ValidationFailed, Conflict) as exc:
            apply_error(form, exc)
        else:
            delivery = selectors.delivery_get_for(request.user, delivery_id)
            if is_htmx(request):
                return _row(request, delivery)
            messages.success(
                request,
                _("%(name)s: %(outcome)s.")
                % {"name": delivery.customer.name, "outcome": delivery.get_outcome_display()},
            )
            return redirect("campaigns:calls")
    if is_htmx(request):
        return _row(request, delivery, status=422, form=form)
    messages.error(request, "; ".join(str(e) for errs in form.errors.values() for e in errs))
    return redirect("campaigns:calls")
