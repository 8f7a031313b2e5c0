"""Timeline views: the panel partial that htmx filters and pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from yiti.core.pagination import paginate, parse_page
from yiti.customers.selectors import customer_get_for
from yiti.engagement.choices import InteractionChannel, InteractionPurpose
from yiti.engagement.selectors import TimelineFilters, timeline


def timeline_context(request: HttpRequest, customer: Any) -> dict[str, Any]:
    filters = TimelineFilters.from_mapping(request.GET)
    page = paginate(timeline(customer, filters), page=parse_page(request.GET.get("page")), size=settings.YITI_PAGE_SIZE)
    return {
        "customer": customer,
        "page": page,
        "filters": filters,
        "channels": InteractionChannel.choices,
        "purposes": InteractionPurpose.choices,
    }


@login_required
def customer_timeline(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = customer_get_for(request.user, customer_id)
    return render(request, "engagement/_timeline_panel.html", timeline_context(request, customer))
