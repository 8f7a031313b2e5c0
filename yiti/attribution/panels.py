"""The "Credit per unit" section on the campaign page (slot ``campaign`` of ``core.panels``):
the chosen model and agreement, each unit's stored credit, and the link to the full page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string

from yiti.attribution import selectors
from yiti.campaigns.rules import can_manage
from yiti.core.panels import register_panel
from yiti.org.access import access_for


def render_credit(request: HttpRequest, campaign: Any) -> str:
    credit = selectors.campaign_credit(request.user, campaign)
    context = {
        "campaign": campaign,
        "credit": credit,
        "can_manage": can_manage(access_for(request.user), campaign),
    }
    return render_to_string("attribution/_campaign_panel.html", context, request=request)


def register() -> None:
    register_panel("campaign", "attribution", render_credit, order=20)
