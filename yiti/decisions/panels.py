"""The "Value" panel on the customer 360 page (slot ``customer360``): tier, lifetime value,
P(active) and churn risk, cost to serve, and the customer's tier history. The 360 page has
already checked that the user sees the customer."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string

from yiti.core.panels import register_panel
from yiti.decisions import selectors
from yiti.decisions.rules import can_view_value
from yiti.org.access import access_for

HISTORY = 6


def render_value(request: HttpRequest, customer: Any) -> str:
    view = selectors.customer_value_of(customer, history=HISTORY)
    context = {
        "customer": customer,
        "value": view.value,
        "history": view.history,
        "settings": selectors.value_settings_current(),
        "can_view_model": can_view_value(access_for(request.user)),
    }
    return render_to_string("decisions/_customer_panel.html", context, request=request)


def register() -> None:
    register_panel("customer360", "value", render_value, order=10)
