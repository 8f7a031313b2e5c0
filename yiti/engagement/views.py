"""Timeline views: the panel partial that htmx filters and pages, and recording a contact."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from yiti.core.errors import ValidationFailed
from yiti.core.htmx import is_htmx, render_page_or_partial
from yiti.core.pagination import paginate, parse_page
from yiti.core.web import yiti_errors
from yiti.customers.choices import CustomerStatus
from yiti.customers.selectors import customer_get_for
from yiti.engagement.choices import InteractionChannel, InteractionPurpose
from yiti.engagement.forms import InteractionForm
from yiti.engagement.selectors import TimelineFilters, timeline
from yiti.engagement.services import interaction_record
from yiti.org.access import access_for
from yiti.org.forms import apply_error
from yiti.org.roles import Perm
from yiti.org.web import acting_user


def timeline_context(
    request: HttpRequest, customer: Any, *, form: InteractionForm | None = None
) -> dict[str, Any]:
    filters = TimelineFilters.from_mapping(request.GET)
    page = paginate(
        timeline(customer, filters),
        page=parse_page(request.GET.get("page")),
        size=settings.YITI_PAGE_SIZE,
    )
    return {
        "customer": customer,
        "page": page,
        "filters": filters,
        "channels": InteractionChannel.choices,
        "purposes": InteractionPurpose.choices,
        "can_record": access_for(request.user).has(Perm.INTERACTION_CREATE)
        and customer.status != CustomerStatus.MERGED,
        "interaction_form": form or InteractionForm(),
    }


@login_required
@yiti_errors
@require_GET
def customer_timeline(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The timeline panel for htmx; opened directly (a link, a bookmark, Back), a full page."""
    customer = customer_get_for(request.user, customer_id)
    return render_page_or_partial(
        request,
        "engagement/timeline_page.html",
        "engagement/_timeline_panel.html",
        timeline_context(request, customer),
    )


@login_required
@yiti_errors
@require_POST
def interaction_create(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Record a contact from the 360 page; htmx gets the refreshed panel back."""
    customer = customer_get_for(request.user, customer_id)
    form = InteractionForm(request.POST)
    if form.is_valid():
        try:
            interaction_record(actor=acting_user(request), customer=customer, **form.cleaned_data)
        except ValidationFailed as exc:
            apply_error(form, exc)
        else:
            if not is_htmx(request):
                messages.success(request, _("Contact recorded on the timeline."))
                return redirect(reverse("customers:detail", args=[customer.pk]) + "#timeline")
            return render(
                request, "engagement/_timeline_panel.html", timeline_context(request, customer)
            )
    if is_htmx(request):
        context = timeline_context(request, customer, form=form)
        return render(request, "engagement/_timeline_panel.html", context, status=422)
    messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect(reverse("customers:detail", args=[customer.pk]) + "#timeline")
