"""The "Economics" panel on the campaign page (slot ``campaign``): budget, cost, attributed
margin, ROI and cost per conversion per unit, and the uplift against each wave's control
group. The campaign page has already checked that the user sees the campaign."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string

from yiti.accounting import rules
from yiti.accounting.economics import campaign_economics
from yiti.core.panels import register_panel
from yiti.org.access import access_for


def render_economics(request: HttpRequest, campaign: Any) -> str:
    context = {
        "campaign": campaign,
        "e": campaign_economics(campaign),
        "can_edit": rules.can_edit_costs(access_for(request.user), campaign),
    }
    return render_to_string("accounting/_campaign_panel.html", context, request=request)


def register() -> None:
    register_panel("campaign", "accounting", render_economics, order=50)
