"""Offer pages: the list with gift stock (total, reserved, available) and the offer form with
its eligibility in the segment rule editor."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from yiti.campaigns import rules, segments, selectors, services
from yiti.campaigns.forms import OfferForm
from yiti.campaigns.segment_views import editor_context, form_with_rules
from yiti.campaigns.views import require_manage, require_view
from yiti.core.pagination import paginate, parse_page
from yiti.core.web import yiti_errors
from yiti.org.access import access_for
from yiti.org.web import acting_user


@login_required
@yiti_errors
@require_GET
def offer_list(request: HttpRequest) -> HttpResponse:
    require_view(request)
    page = paginate(
        selectors.offers_list(request.user),
        page=parse_page(request.GET.get("page")),
        size=settings.YITI_PAGE_SIZE,
    )
    rows = [(o, segments.describe(o.eligibility or {})) for o in page.items]
    return render(
        request,
        "campaigns/offers.html",
        {"page": page, "rows": rows, "can_manage": rules.can_manage(access_for(request.user))},
    )


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def offer_edit(request: HttpRequest, offer_id: int | None = None) -> HttpResponse:
    offer = selectors.offer_get(request.user, offer_id) if offer_id else None
    require_manage(request)
    initial = OfferForm.initial_for(offer) if offer else {}
    form = OfferForm(request.POST or None, initial=initial, offer=offer)

    def save(rule: dict[str, Any]) -> None:
        data = dict(form.cleaned_data)
        incompatible = list(data.pop("incompatible_with"))
        if offer is None:
            services.offer_create(
                actor=acting_user(request),
                eligibility=rule,
                incompatible_with=incompatible,
                **data,
            )
        else:
            services.offer_update(
                actor=acting_user(request),
                offer=offer,
                eligibility=rule,
                incompatible_with=incompatible,
                **data,
            )

    editor, status = form_with_rules(request, form, offer.eligibility if offer else None, save)
    if status is None:
        messages.success(request, _("Offer saved."))
        return redirect("campaigns:offers")
    context = {"form": form, "offer": offer, **editor_context(editor, _("Eligibility"))}
    return render(request, "campaigns/offer_form.html", context, status=status)
