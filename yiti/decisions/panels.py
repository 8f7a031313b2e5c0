"""Panels of decisions on pages of lower apps.

* ``customer360`` / "value": tier, lifetime value, P(active) and churn risk, cost to serve, and
  the customer's tier history.
* ``customer360`` / "nba" and ``ticket`` / "nba": the next best actions for the current
  context (on a ticket: its channel, its kind as the reason for contact, the ticket itself).
* ``ticket`` / "links": the care calls following the ticket and the care call that opened
  it; ``ticket_campaign``: the name of the campaign a complaint names (the service desk sits
  below campaigns and care, so the app above both renders them).

The pages have already checked that the user sees the customer.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string

from yiti.campaigns.choices import CampaignStatus
from yiti.campaigns.models import Campaign
from yiti.care.models import CareTask
from yiti.core.errors import NotFound
from yiti.core.panels import register_panel
from yiti.decisions import selectors
from yiti.decisions.nba import Context
from yiti.decisions.nba_views import panel_html
from yiti.decisions.rules import can_view_value
from yiti.engagement.choices import InteractionChannel
from yiti.org.access import access_for
from yiti.org.roles import Perm
from yiti.service.pickers import register_choices

HISTORY = 6
# a ticket's channel (service.choices.TicketChannel) as the channel of the contact
TICKET_CHANNEL = {
    "phone": InteractionChannel.CALL,
    "counter": InteractionChannel.COUNTER,
    "portal": InteractionChannel.PORTAL,
    "email": InteractionChannel.EMAIL,
    "im": InteractionChannel.IM,
    "field": InteractionChannel.VISIT,
    "care": InteractionChannel.CALL,
    "sales": InteractionChannel.VISIT,
}


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


def render_nba_customer(request: HttpRequest, customer: Any) -> str:
    return panel_html(request, customer.pk, Context())


def render_nba_ticket(request: HttpRequest, ticket: Any) -> str:
    """The panel beside a ticket; none when the agent may work the ticket (routed to his
    desk) but the customer is outside his scope — selling to him is not his to do."""
    context = Context(
        channel=TICKET_CHANNEL.get(ticket.channel, InteractionChannel.CALL).value,
        reason=ticket.kind,
        ticket_id=ticket.pk,
    )
    try:
        return panel_html(request, ticket.customer_id, context)
    except NotFound:
        return ""


def render_ticket_campaign(request: HttpRequest, ticket: Any) -> str:
    """The campaign a complaint names, by its name (linked for those who see campaigns)."""
    if not ticket.campaign_id:
        return ""
    campaign = Campaign.objects.filter(pk=ticket.campaign_id).only("pk", "name").first()
    if campaign is None:
        return ""
    return render_to_string(
        "decisions/_ticket_campaign.html",
        {
            "campaign": campaign,
            "can_view": access_for(request.user).has(Perm.CAMPAIGN_VIEW),
        },
        request=request,
    )


def render_ticket_links(request: HttpRequest, ticket: Any) -> str:
    """The records a ticket is linked with beyond the service desk: the care calls that follow
    it and the care call whose dissatisfied answer opened it (two-way with the care task page)."""
    following = list(
        CareTask.objects.filter(ticket_id=ticket.pk).select_related("assignee").order_by("due_at")
    )
    opened_by = (
        CareTask.objects.filter(complaint_ticket_id=ticket.pk).select_related("customer").first()
    )
    if not following and opened_by is None:
        return ""
    return render_to_string(
        "decisions/_ticket_links.html",
        {"following": following, "opened_by": opened_by, "ticket": ticket},
        request=request,
    )


def campaign_choices(user: Any) -> list[tuple[int, str]]:
    """Campaigns a complaint may name: those that ran (running, paused, completed) first, by
    name with their status, then the others."""
    rows = Campaign.objects.order_by("-starts_on", "name").values_list("pk", "name", "status")
    labels = dict(CampaignStatus.choices)
    ran = {CampaignStatus.RUNNING, CampaignStatus.PAUSED, CampaignStatus.COMPLETED}
    first = [(pk, f"{name} · {labels.get(st, st)}") for pk, name, st in rows if st in ran]
    rest = [(pk, f"{name} · {labels.get(st, st)}") for pk, name, st in rows if st not in ran]
    return first + rest


def campaign_names(user: Any) -> list[tuple[int, str]]:
    return list(Campaign.objects.values_list("pk", "name"))


def register_pickers() -> None:
    register_choices("campaign", campaign_choices)
    register_choices("campaign_name", campaign_names)


def register() -> None:
    register_panel("ticket_campaign", "campaign", render_ticket_campaign, order=10)
    register_panel("ticket", "links", render_ticket_links, order=5)
    register_panel("customer360", "nba", render_nba_customer, order=5)
    register_panel("customer360", "value", render_value, order=10)
    register_panel("ticket", "nba", render_nba_ticket, order=10)
