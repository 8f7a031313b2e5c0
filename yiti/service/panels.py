"""The "Tickets" panel on the customer 360 page (slot ``customer360``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string

from yiti.core.panels import register_panel
from yiti.customers.choices import CustomerStatus
from yiti.service.selectors import open_ticket_count, tickets_of_customer

PANEL_SIZE = 8


def render_tickets(request: HttpRequest, customer: Any) -> str:
    tickets = tickets_of_customer(request.user, customer, limit=PANEL_SIZE + 1)
    context = {
        "customer": customer,
        "tickets": tickets[:PANEL_SIZE],
        "more": len(tickets) > PANEL_SIZE,
        "open_count": open_ticket_count(customer),
        "can_create": customer.status != CustomerStatus.MERGED,
    }
    return render_to_string("service/_customer_tickets_panel.html", context, request=request)


def register() -> None:
    register_panel("customer360", "tickets", render_tickets, order=40)
