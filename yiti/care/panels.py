"""The "Care" panel on the customer 360 page (slot ``customer360``): open follow-ups and the
latest survey answers. The 360 page has already checked that the user sees the customer."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone

from yiti.care import selectors
from yiti.care.rules import can_use_queue
from yiti.core.panels import register_panel
from yiti.org.access import access_for


def render_care(request: HttpRequest, customer: Any) -> str:
    context = {
        "customer": customer,
        "tasks": list(selectors.open_tasks_of_customer(customer)),
        "responses": list(selectors.recent_responses_of_customer(customer)),
        "can_work": can_use_queue(access_for(request.user)),
        "now": timezone.now(),
    }
    return render_to_string("care/_customer_panel.html", context, request=request)


def register() -> None:
    register_panel("customer360", "care", render_care, order=60)
