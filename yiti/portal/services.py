"""What a signed-in customer changes himself: tickets, replies and photos, reopening and rating,
reading messages, consent, accepting offers and his phone or e-mail.

Each write goes through the domain app's own service with ``actor=None`` (the customer is not
a staff user; the portal checked that the record is his), inside one transaction, audited with
the customer's id; the portal's own rows are audited here. Bad input is refused before anything
is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.campaigns.choices import CONTACTED_STATUSES, ResponseKind
from yiti.campaigns.outcomes import delivery_respond
from yiti.care.services import survey_link_create, survey_submit
from yiti.channels.models import InboxMessage
from yiti.core.audit import audit_record
from yiti.core.errors import Conflict, ValidationFailed
from yiti.customers.choices import Channel, ConsentSource, Purpose, SalesChannel
from yiti.customers.models import ConsentState, ContactPoint, Customer, Order
from yiti.customers.services import consent_record, contact_point_add, contact_point_remove
from yiti.decisions.choices import NbaResult
from yiti.decisions.outcomes import nba_outcome_record
from yiti.engagement.choices import Direction, InteractionChannel, InteractionPurpose
from yiti.engagement.services import interaction_record
from yiti.org.services import notify
from yiti.portal import auth, selectors
from yiti.portal.choices import CodePurpose, PortalTicketKind
from yiti.portal.errors import PortalErrorCode as E
from yiti.portal.models import TicketMessage
from yiti.service.choices import ComplaintClass, TicketChannel, TicketKind, TicketStatus
from yiti.service.models import Ticket
from yiti.service.services import ticket_create, ticket_reopen, ticket_transition

MAX_BODY = 4000
# The image types a photo may be, recognised by their first bytes (never by name or header).
IMAGE_SIGNATURES: tuple[tuple[bytes, int, str, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", "png"),
    (b"GIF87a", 0, "image/gif", "gif"),
    (b"GIF89a", 0, "image/gif", "gif"),
    (b"WEBP", 8, "image/webp", "webp"),
)


def photo_max_bytes() -> int:
    return int(getattr(settings, "YITI_PORTAL_PHOTO_MAX_BYTES", 5 * 1024 * 1024))


def photo_check(photo: UploadedFile | None) -> tuple[str, str] | None:
    """The (content type, extension) of an acceptable photo, None without one; refuses a file
    that is too large or is not a JPEG, PNG, GIF or WebP image."""
    if photo is None:
        return None
    limit = photo_max_bytes()
    if (photo.size or 0) > limit:
        raise ValidationFailed(
            _("The photo is larger than %(mb)s MB.") % {"mb": f"{limit / 1048576:g}"},
            field="photo",
            code=E.ATTACHMENT_TOO_LARGE,
        )
    photo.seek(0)
    head = photo.read(16)
    photo.seek(0)
    if (photo.size or 0) == 0:
        raise ValidationFailed(_("The photo is empty."), field="photo", code=E.ATTACHMENT_NOT_IMAGE)
    for magic, offset, content_type, ext in IMAGE_SIGNATURES:
        if head[offset : offset + len(magic)] == magic and (
            content_type != "image/webp" or head[:4] == b"RIFF"
        ):
            return content_type, ext
    raise ValidationFailed(
        _("Only photos can be attached: JPEG, PNG, GIF or WebP."),
        field="photo",
        code=E.ATTACHMENT_NOT_IMAGE,
    )


def _body(text: str, *, required: bool, field: str = "body") -> str:
    text = (text or "").strip()
    if required and not text:
        raise ValidationFailed(_("Write something first."), field=field, code="required")
    if len(text) > MAX_BODY:
        raise ValidationFailed(
            _("Keep it under %(n)d characters.") % {"n": MAX_BODY}, field=field, code="too_long"
        )
    return text


def _message_create(
    *,
    ticket: Ticket,
    customer: Customer,
    body: str,
    photo: UploadedFile | None,
    kind: tuple[str, str] | None,
) -> TicketMessage:
    message = TicketMessage(ticket=ticket, customer=customer, body=body)
    if photo is not None and kind is not None:
        content_type, ext = kind
        message.photo_type, message.photo_size = content_type, int(photo.size or 0)
        message.photo.save(f"{uuid.uuid4().hex}.{ext}", photo, save=False)
    message.save()
    return message


# --- tickets -----------------------------------------------------------------------------------


@transaction.atomic
def ticket_open(
    *,
    customer: Customer,
    kind: str,
    subject: str,
    description: str = "",
    complaint_class: str = "",
    campaign_id: int | None = None,
    photo: UploadedFile | None = None,
) -> Ticket:
    """Open a consultation, repair or complaint from the portal (channel portal): a complaint
    names its class and may name a campaign that reached the customer; a photo may go with it."""
    if kind not in PortalTicketKind.values:
        raise ValidationFailed(_("Choose what you need."), field="kind")
    if kind == TicketKind.COMPLAINT:
        if complaint_class not in ComplaintClass.values:
            raise ValidationFailed(
                _("Say what the complaint is about."), field="complaint_class", code="required"
            )
    else:
        complaint_class = ""
    if campaign_id is not None and campaign_id not in {
        c.id for c in selectors.campaigns_reaching(customer)
    }:
        raise ValidationFailed(_("Choose one of the campaigns that reached you."), field="campaign")
    description = _body(description, required=False, field="description")
    kind_of_photo = photo_check(photo)
    ticket = ticket_create(
        actor=None,
        customer=customer,
        kind=kind,
        subject=subject,
        description=description,
        channel=TicketChannel.PORTAL,
        complaint_class=complaint_class,
        campaign_id=campaign_id,
    )
    if photo is not None:
        message = _message_create(
            ticket=ticket, customer=customer, body="", photo=photo, kind=kind_of_photo
        )
        audit_record(
            actor=None,
            action="portal.ticket_photo",
            obj=message,
            customer_id=customer.pk,
            changes={"ticket": ticket.pk, "type": message.photo_type, "size": message.photo_size},
        )
    audit_record(
        actor=None,
        action="portal.ticket_open",
        obj=ticket,
        customer_id=customer.pk,
        changes={"kind": kind, "campaign_id": campaign_id, "photo": photo is not None},
        summary=ticket.subject,
    )
    return ticket


@transaction.atomic
def ticket_reply(
    *,
    customer: Customer,
    ticket: Ticket,
    body: str,
    photo: UploadedFile | None = None,
    now: datetime | None = None,
) -> TicketMessage:
    """The customer answers on his open ticket (text, a photo or both). A ticket waiting on him
    goes back to work, its SLA clock resuming; the agent is told."""
    ticket = selectors.ticket_for(customer, ticket.pk)
    if ticket.status not in (
        TicketStatus.NEW,
        TicketStatus.ASSIGNED,
        TicketStatus.IN_PROGRESS,
        TicketStatus.WAITING_CUSTOMER,
        TicketStatus.REOPENED,
    ):
        raise ValidationFailed(
            _("This request is closed. Reopen it to write again."), code="ticket_closed"
        )
    body = _body(body, required=photo is None)
    kind_of_photo = photo_check(photo)
    now = now or timezone.now()
    message = _message_create(
        ticket=ticket, customer=customer, body=body, photo=photo, kind=kind_of_photo
    )
    if ticket.status == TicketStatus.WAITING_CUSTOMER:
        ticket_transition(
            actor=None,
            ticket=ticket,
            to_status=TicketStatus.IN_PROGRESS,
            body=_("The customer answered in the portal."),
        )
    interaction_record(
        actor=None,
        customer=customer,
        channel=InteractionChannel.PORTAL,
        direction=Direction.INBOUND,
        purpose=InteractionPurpose.SERVICE,
        subject=(_("Customer wrote on ticket #%(id)s") % {"id": ticket.pk})[:200],
        body=body,
        occurred_at=now,
        unit=ticket.unit,
        campaign_id=ticket.campaign_id,
        ticket_id=ticket.pk,
        check_access=False,
    )
    audit_record(
        actor=None,
        action="portal.ticket_reply",
        obj=message,
        customer_id=customer.pk,
        changes={"ticket": ticket.pk, "photo": bool(message.photo)},
        summary=body[:255],
    )
    if ticket.assignee is not None:
        notify(
            users=[ticket.assignee],
            title=_("The customer wrote on ticket #%(id)s: %(subject)s")
            % {"id": ticket.pk, "subject": ticket.subject},
            body=body[:500],
            link=reverse("service:ticket", args=[ticket.pk]),
            kind="ticket_customer_reply",
        )
    return message


@transaction.atomic
def ticket_reopen_by_customer(
    *, customer: Customer, ticket: Ticket, reason: str, now: datetime | None = None
) -> Ticket:
    """Reopen a resolved or closed request within the allowed days (``YITI_PORTAL_REOPEN_DAYS``,
    seven by default) of its resolution."""
    ticket = selectors.ticket_for(customer, ticket.pk)
    reason = _body(reason, required=True, field="reason")
    now = now or timezone.now()
    until = selectors.reopen_until(ticket)
    if until is None:
        raise ValidationFailed(
            _("Only a resolved or closed request can be reopened."), code=E.NOT_REOPENABLE
        )
    if now > until:
        raise ValidationFailed(
            _("This request was resolved more than %(n)d days ago: open a new one instead.")
            % {"n": selectors.reopen_days()},
            code=E.REOPEN_TOO_LATE,
        )
    ticket = ticket_reopen(actor=None, ticket=ticket, reason=reason, at=now)
    audit_record(
        actor=None,
        action="portal.ticket_reopen",
        obj=ticket,
        customer_id=customer.pk,
        summary=reason[:255],
    )
    return ticket


@transaction.atomic
def ticket_rate(*, customer: Customer, ticket: Ticket, answers: Mapping[int, Any]) -> None:
    """Answer the care survey of the ticket's follow-up (the care rules' questions), as the
    survey link would: once, and a dissatisfied answer opens a complaint there."""
    ticket = selectors.ticket_for(customer, ticket.pk)
    task = selectors.survey_task(ticket)
    if task is None:
        raise ValidationFailed(_("There is nothing to rate yet."), code=E.NO_SURVEY)
    if selectors.survey_answered(task):
        raise Conflict(_("You have rated this already. Thank you!"), code="already_submitted")
    response = survey_link_create(actor=None, task=task)
    survey_submit(response=response, answers=answers)
    audit_record(
        actor=None,
        action="portal.ticket_rate",
        obj=ticket,
        customer_id=customer.pk,
        changes={"survey_response": response.pk},
    )


# --- messages ----------------------------------------------------------------------------------


@transaction.atomic
def message_read(
    *, customer: Customer, message: InboxMessage, now: datetime | None = None
) -> InboxMessage:
    """Mark the customer's message read; a campaign's message counts as opened in its wave's
    funnel (``campaigns.outcomes.delivery_respond``, once)."""
    message = selectors.message_for(customer, message.pk)
    if message.read_at is not None:
        return message
    now = now or timezone.now()
    message.read_at = now
    message.save(update_fields=["read_at", "updated_at"])
    delivery = selectors.delivery_of(message)
    if (
        delivery is not None
        and delivery.opened_at is None
        and delivery.status in CONTACTED_STATUSES
    ):
        delivery_respond(actor=None, delivery=delivery, kind=ResponseKind.OPENED, at=now)
    audit_record(
        actor=None,
        action="portal.message_read",
        obj=message,
        customer_id=customer.pk,
        changes={"delivery": delivery.pk if delivery else None},
    )
    return message


# --- consent -----------------------------------------------------------------------------------


@transaction.atomic
def consent_set(*, customer: Customer, channel: str, purpose: str, granted: bool) -> bool:
    """The customer's own choice for a channel and purpose, written to the consent ledger
    (source portal). Binding at once: the next wave plan leaves him out as ``opted_out`` and
    sending re-checks consent before each message. Returns whether anything changed."""
    if channel not in Channel.values:
        raise ValidationFailed(_("Unknown channel."), field="channel")
    if purpose not in Purpose.values:
        raise ValidationFailed(_("Unknown purpose."), field="purpose")
    current = (
        ConsentState.objects.filter(customer=customer, channel=channel, purpose=purpose)
        .values_list("granted", flat=True)
        .first()
    )
    if current is not None and current == granted:
        return False
    consent_record(
        actor=None,
        customer=customer,
        channel=channel,
        purpose=purpose,
        granted=granted,
        source=ConsentSource.PORTAL,
        note=_("Changed by the customer in the portal"),
        check_access=False,
    )
    return True


# --- offers ------------------------------------------------------------------------------------


@transaction.atomic
def offer_accept(*, customer: Customer, action: str, now: datetime | None = None) -> Order | None:
    """Accept an offer the portal proposes: the next best action's own recording (the gift
    reserved, the order taken through ``service.services.order_take`` as the agent's order form
    does, credited to the customer's unit, sales channel online hall). Refused with the reason
    when the offer is no longer proposed (not eligible, out of stock, the contact policy)."""
    if not action.startswith("offer:"):
        raise ValidationFailed(_("Choose one of the offers."), field="action")
    recorded = nba_outcome_record(
        actor=None,
        customer=customer,
        action=action,
        result=NbaResult.ACCEPTED,
        context=selectors.PORTAL_CONTEXT,
        now=now,
        sales_channel=SalesChannel.ONLINE,
    )
    offer = recorded.outcome.offer
    order = (
        Order.objects.filter(customer=customer, product_id=offer.product_id).order_by("-id").first()
        if offer is not None
        else None
    )
    audit_record(
        actor=None,
        action="portal.offer_accept",
        object_type="customers.order",
        object_id=order.pk if order else None,
        customer_id=customer.pk,
        changes={"action": action},
    )
    return order


@transaction.atomic
def offer_decline(*, customer: Customer, action: str, now: datetime | None = None) -> None:
    """ "Not interested": recorded as the next best action's decline (on the timeline, and the
    offer's acceptance rate in the customer's segment learns from it)."""
    if not action.startswith("offer:"):
        raise ValidationFailed(_("Choose one of the offers."), field="action")
    nba_outcome_record(
        actor=None,
        customer=customer,
        action=action,
        result=NbaResult.DECLINED,
        context=selectors.PORTAL_CONTEXT,
        now=now,
    )
    audit_record(
        actor=None,
        action="portal.offer_decline",
        object_type="customers.customer",
        object_id=customer.pk,
        customer_id=customer.pk,
        changes={"action": action},
    )


# --- profile -----------------------------------------------------------------------------------


def contact_change_confirm(
    *,
    customer: Customer,
    kind: str,
    value: str,
    code: str,
    now: datetime | None = None,
) -> ContactPoint:
    """Replace the customer's primary phone or e-mail with ``value`` once he enters the code
    sent to it. The code is checked first (a wrong one stays counted)."""
    target = auth.contact_target(kind, value)
    auth.code_check(
        purpose=CodePurpose.CONTACT, target=target, code=code, customer=customer, now=now
    )
    with transaction.atomic():
        old = list(ContactPoint.objects.filter(customer=customer, kind=kind, is_primary=True))
        point = contact_point_add(
            actor=None, customer=customer, kind=kind, value=value, primary=True
        )
        for previous in old:
            contact_point_remove(actor=None, point=previous)
        audit_record(
            actor=None,
            action="portal.contact_change",
            obj=point,
            customer_id=customer.pk,
            changes={"kind": kind, "value": [[p.normalized for p in old], point.normalized]},
        )
    return point
