"""What staff see of the portal on the ticket page: the customer's own messages and photos.

Registered in ``PortalConfig.ready`` for the ticket page's slot (``core.panels``): the service
app cannot read the portal (it sits below), the portal contributes the panel.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from yiti.core.errors import NotFound
from yiti.core.panels import register_panel
from yiti.portal.models import TicketMessage
from yiti.service.selectors import ticket_get_for


def render_messages(request: HttpRequest, ticket: Any) -> str:
    rows = list(TicketMessage.objects.filter(ticket=ticket).order_by("created_at", "id"))
    if not rows:
        return ""
    return render_to_string(
        "portal/_staff_panel.html", {"messages": rows, "ticket": ticket}, request=request
    )


@login_required
@require_GET
def staff_photo(request: HttpRequest, message_id: int) -> FileResponse:
    message = TicketMessage.objects.filter(pk=message_id).exclude(photo="").first()
    if message is None:
        raise Http404
    try:
        ticket_get_for(request.user, message.ticket_id)
    except NotFound as exc:
        raise Http404 from exc
    return FileResponse(message.photo.open("rb"), content_type=message.photo_type)


def register() -> None:
    register_panel("ticket", "portal_messages", render_messages, order=5)
