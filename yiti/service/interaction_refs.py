"""The check of an interaction's ``ticket_id`` (registered in ``engagement.references``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from yiti.engagement.references import register_reference
from yiti.service.selectors import tickets_visible


def ticket_reference(
    actor: Any, customer: Any, value: int, refs: Mapping[str, int | None]
) -> str | None:
    """A ticket the actor may see, of this customer; otherwise why not (existence is not told
    apart from scope, so a ticket of another branch is as unknown as one that never was)."""
    ticket = tickets_visible(actor).filter(pk=value).values("customer_id").first()
    if ticket is None:
        return _("No such ticket.")
    if ticket["customer_id"] != customer.pk:
        return _("This ticket is another customer's.")
    return None


def register() -> None:
    register_reference("ticket_id", ticket_reference)
