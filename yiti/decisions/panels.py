"""Panels of decisions on pages of lower apps.

* ``customer360`` / "value": tier, lifetime value, P(active) and churn risk, cost to serve, and
  the customer's tier history.
* ``customer360`` / "nba" and ``ticket`` / "nba": the next best actions for the current
  context (on a ticket: its channel, its kind as the reason for contact, the ticket itself).

The pages have already checked that the user sees the customer.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string

from yiti.core.panels import register_panel
from yiti.decisions import selectors
from yiti.decisions.nba import Context
from yiti.decisions.nba_views import panel_html
from yiti.decisions.rules import can_view_value
from yiti.engagement.choices import InteractionChannel
from yiti.org.access import access_for

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
    context = Context(
        channel=TICKET_CHANNEL.get(ticket.channel, InteractionChannel.CALL).value,
        reason=ticket.kind,
        ticket_id=ticket.pk,
    )
    return panel_html(request, ticket.customer_id, context)


def register() -> None:
    register_panel("customer360", "nba", render_nba_customer, order=5)
    register_panel("customer360", "value", render_value, order=10)
    register_panel("ticket", "nba", render_nba_ticket, order=10)
