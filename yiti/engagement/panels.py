"""The timeline panel on the customer 360 page (slot ``customer360``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string

from yiti.core.panels import register_panel


def render_timeline(request: HttpRequest, customer: Any) -> str:
    from yiti.engagement.views import timeline_context

    return render_to_string(
        "engagement/_timeline_panel.html", timeline_context(request, customer), request=request
    )


def register() -> None:
    register_panel("customer360", "timeline", render_timeline, order=50)
