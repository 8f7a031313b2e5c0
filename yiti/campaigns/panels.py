"""The "Campaign contacts" panel on the customer 360 page (slot ``customer360``): the
customer's recent campaign contacts with their status or exclusion reason in words, the
response and the conversion. The 360 page has already checked that the user sees the
customer."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string

from yiti.campaigns import rules, selectors
from yiti.core.panels import register_panel
from yiti.org.access import access_for

RECENT = 10


def render_campaigns(request: HttpRequest, customer: Any) -> str:
    deliveries = selectors.deliveries_of_customer(customer, limit=RECENT)
    labels = selectors.reason_labels(d.reason for d in deliveries)
    context = {
        "customer": customer,
        "rows": [(d, labels.get(d.reason, "")) for d in deliveries],
        "can_view": rules.can_view(access_for(request.user)),
    }
    return render_to_string("campaigns/_customer_panel.html", context, request=request)


def register() -> None:
    register_panel("customer360", "campaigns", render_campaigns, order=70)
