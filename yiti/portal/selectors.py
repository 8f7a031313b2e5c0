"""What a signed-in customer may read: his own records and nothing else.

Every selector takes the acting customer and filters by him; a record of another customer is a
:class:`NotFound` (404), the same answer as one that does not exist, so ids reveal nothing.
Staff data never leaves here: internal notes, staff names, SLA states, scores and exclusion
reasons are not part of any row returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yiti.campaigns.choices import CONTACTED_STATUSES
from yiti.campaigns.models import Campaign, Delivery
from yiti.campaigns.sending import delivery_token
from yiti.care.models import CareTask, SurveyQuestion, SurveyResponse
from yiti.channels.models import InboxMessage
from yiti.core.errors import NotFound
from yiti.core.masking import mask_email, mask_phone
from yiti.customers.choices import Channel, ContactKind, OrderStatus, Purpose
from yiti.customers.models import ConsentState, ContactPoint, Customer, Order
from yiti.decisions import nba
from yiti.decisions.choices import ActionKind
from yiti.engagement.choices import Direction, InteractionChannel
from yiti.portal.models import TicketMessage
from yiti.service.choices import OPEN_STATUSES, TicketEventKind, TicketKind, TicketStatus
from yiti.service.models import Ticket, TicketEvent

# What the customer reads for a ticket's status: his words, not the desk's.
CUSTOMER_STATUS = {
    TicketStatus.NEW: gettext_lazy("Received"),
    TicketStatus.ASSIGNED: gettext_lazy("Received"),
    TicketStatus.IN_PROGRESS: gettext_lazy("Being handled"),
    TicketStatus.WAITING_CUSTOMER: gettext_lazy("Waiting for your answer"),
    TicketStatus.RESOLVED: gettext_lazy("Resolved"),
    TicketStatus.CLOSED: gettext_lazy("Closed"),
    TicketStatus.REOPENED: gettext_lazy("Reopened"),
}
ORDER_STEPS = (OrderStatus.PENDING, OrderStatus.PROCESSING, OrderStatus.FULFILLED)
CUSTOMER_KINDS = (TicketKind.CONSULTATION, TicketKind.REPAIR, TicketKind.COMPLAINT)
PORTAL_CONTEXT = nba.Context(
    channel=InteractionChannel.PORTAL.value, direction=Direction.INBOUND.value
)


def reopen_days() -> int:
    return int(getattr(settings, "YITI_PORTAL_REOPEN_DAYS", 7))


def status_label(status: str) -> str:
    return str(CUSTOMER_STATUS.get(TicketStatus(status), status))


# --- tickets -----------------------------------------------------------------------------------


def tickets_of(customer: Customer) -> QuerySet[Ticket]:
    """The customer's tickets (not the order-processing ones: those are his orders), newest
    first."""
    return (
        Ticket.objects.filter(customer=customer)
        .exclude(kind=TicketKind.ORDER_PROCESSING)
        .order_by("-opened_at", "-id")
    )


def open_tickets_of(customer: Customer, *, limit: int = 5) -> list[Ticket]:
    return list(tickets_of(customer).filter(status__in=OPEN_STATUSES)[:limit])


def ticket_for(customer: Customer, ticket_id: int) -> Ticket:
    ticket = Ticket.objects.filter(pk=ticket_id, customer=customer).first()
    if ticket is None:
        raise NotFound(_("Ticket not found."))
    return ticket


@dataclass(frozen=True)
class ThreadItem:
    """One line of a ticket as the customer follows it: his own words or the service team's
    public answer (never an internal note, never a staff name)."""

    at: datetime
    mine: bool
    text: str
    headline: str = ""
    photo_id: int | None = None


def thread(ticket: Ticket) -> list[ThreadItem]:
    items = [
        ThreadItem(at=ticket.opened_at, mine=True, text=ticket.description, headline=ticket.subject)
    ]
    public = TicketEvent.objects.filter(ticket=ticket, public=True).order_by("at", "id")
    for event in public:
        if event.kind == TicketEventKind.REPLY:
            items.append(ThreadItem(at=event.at, mine=False, text=event.body))
        elif event.kind == TicketEventKind.STATUS and event.to_status:
            items.append(
                ThreadItem(
                    at=event.at,
                    mine=event.to_status == TicketStatus.REOPENED,
                    text=event.body,
                    headline=status_label(event.to_status),
                )
            )
    for message in TicketMessage.objects.filter(ticket=ticket).order_by("created_at", "id"):
        items.append(
            ThreadItem(
                at=message.created_at,
                mine=True,
                text=message.body,
                photo_id=message.pk if message.photo else None,
            )
        )
    return sorted(items, key=lambda i: i.at)


def photo_for(customer: Customer, ticket: Ticket, message_id: int) -> TicketMessage:
    message = (
        TicketMessage.objects.filter(pk=message_id, ticket=ticket, customer=customer)
        .exclude(photo="")
        .first()
    )
    if message is None:
        raise NotFound(_("Not found."))
    return message


def reopen_until(ticket: Ticket) -> datetime | None:
    """Until when the customer may reopen the ticket himself (None: it is not resolved or
    closed, or it is not his kind of ticket)."""
    if ticket.kind not in CUSTOMER_KINDS:
        return None
    if ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        return None
    since = ticket.resolved_at or ticket.closed_at
    if since is None:
        return None
    return since + timedelta(days=reopen_days())


def survey_task(ticket: Ticket) -> CareTask | None:
    """The care follow-up of a resolved ticket whose survey the customer may answer here."""
    if ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        return None
    return (
        CareTask.objects.filter(
            ticket=ticket, customer_id=ticket.customer_id, rule__survey_template__isnull=False
        )
        .select_related("rule__survey_template")
        .order_by("-created_at", "-id")
        .first()
    )


def survey_questions(task: CareTask) -> list[SurveyQuestion]:
    template = task.rule.survey_template
    assert template is not None
    return list(template.questions.order_by("position", "pk"))


def survey_answered(task: CareTask) -> bool:
    return SurveyResponse.objects.filter(task=task, submitted_at__isnull=False).exists()


@dataclass(frozen=True)
class CampaignChoice:
    id: int
    name: str


def campaigns_reaching(customer: Customer) -> list[CampaignChoice]:
    """The campaigns whose messages, calls or visits reached the customer (what a ticket may
    be about), newest first."""
    reached = Delivery.objects.filter(customer=customer, status__in=CONTACTED_STATUSES).values(
        "campaign_id"
    )
    return [
        CampaignChoice(id=pk, name=name)
        for pk, name in Campaign.objects.filter(pk__in=reached)
        .order_by("-starts_on", "-id")
        .values_list("pk", "name")
    ]


# --- orders ------------------------------------------------------------------------------------


@dataclass
class OrderView:
    order: Order
    ticket: Ticket | None
    step: int  # 1 received, 2 being processed, 3 done; 0 cancelled


def orders_of(
    customer: Customer, *, in_progress: bool = False, limit: int = 50, tickets: bool = True
) -> list[OrderView]:
    orders = Order.objects.filter(customer=customer).select_related("product")
    if in_progress:
        orders = orders.filter(status__in=(OrderStatus.PENDING, OrderStatus.PROCESSING))
    rows = list(orders.order_by("-ordered_at", "-id")[:limit])
    by_order = (
        {
            t.order_id: t
            for t in Ticket.objects.filter(
                order_id__in=[o.pk for o in rows], kind=TicketKind.ORDER_PROCESSING
            ).order_by("opened_at")
        }
        if tickets and rows
        else {}
    )
    out = []
    for order in rows:
        step = ORDER_STEPS.index(order.status) + 1 if order.status in ORDER_STEPS else 0
        out.append(OrderView(order=order, ticket=by_order.get(order.pk), step=step))
    return out


def order_for(customer: Customer, order_id: int) -> OrderView:
    order = Order.objects.filter(pk=order_id, customer=customer).select_related("product").first()
    if order is None:
        raise NotFound(_("Order not found."))
    ticket = Ticket.objects.filter(order=order, kind=TicketKind.ORDER_PROCESSING).first()
    step = ORDER_STEPS.index(order.status) + 1 if order.status in ORDER_STEPS else 0
    return OrderView(order=order, ticket=ticket, step=step)


# --- messages ----------------------------------------------------------------------------------


def messages_of(customer: Customer) -> QuerySet[InboxMessage]:
    return InboxMessage.objects.filter(customer_id=customer.pk).order_by("-created_at", "-id")


def unread_count(customer: Customer) -> int:
    return messages_of(customer).filter(read_at__isnull=True).count()


UNREAD_CAP = 99


def unread_of(customer: Customer, *, show: int = 3) -> tuple[int, list[InboxMessage]]:
    """How many messages are unread (counted up to 99, shown as "99+") and the newest few,
    in one query."""
    rows = list(
        messages_of(customer)
        .filter(read_at__isnull=True)
        .only("id", "subject", "created_at", "customer_id")[: UNREAD_CAP + 1]
    )
    return len(rows), rows[:show]


def message_for(customer: Customer, message_id: int) -> InboxMessage:
    message = InboxMessage.objects.filter(pk=message_id, customer_id=customer.pk).first()
    if message is None:
        raise NotFound(_("Message not found."))
    return message


def delivery_of(message: InboxMessage) -> Delivery | None:
    """The campaign contact a message was sent for (only the customer's own)."""
    delivery_id = (message.metadata or {}).get("delivery")
    if not isinstance(delivery_id, int):
        return None
    return (
        Delivery.objects.filter(pk=delivery_id, customer_id=message.customer_id)
        .select_related("campaign")
        .first()
    )


def response_link(message: InboxMessage) -> str:
    """The campaign's response page for a message (accept or decline the offer), or ''."""
    delivery_id = (message.metadata or {}).get("delivery")
    if not isinstance(delivery_id, int):
        return ""
    return reverse("campaign_response:page", args=[delivery_token(delivery_id)])


# --- offers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfferView:
    key: str
    name: str
    reasons: list[str] = field(default_factory=list)


def offers_for(customer: Customer, *, now: datetime | None = None, top: int = 5) -> list[OfferView]:
    """The offers the next best action proposes to the customer on the portal (he came in
    himself: channel portal, inbound) — eligibility, stock, conflicts and the contact policy as
    for an agent; care steps and scores stay with staff."""
    now = now or timezone.now()
    loaded = nba.load(customer.pk, now=now)
    if loaded is None:
        return []
    decision = nba.decide(loaded, PORTAL_CONTEXT, now=now, top=top)
    return [
        OfferView(key=a.key, name=a.name, reasons=[a.detail] if a.detail else [])
        for a in decision.actions
        if a.kind == ActionKind.OFFER
    ]


# --- consent and profile -----------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentCell:
    channel: str
    channel_label: str
    purpose: str
    purpose_label: str
    granted: bool | None  # None: never asked (marketing needs an opt-in; service does not)
    since: datetime | None


def consent_grid(customer: Customer) -> list[list[ConsentCell]]:
    """Every channel × purpose with its current state, one row per channel."""
    states = {(s.channel, s.purpose): s for s in ConsentState.objects.filter(customer=customer)}
    rows = []
    for channel in Channel:
        row = []
        for purpose in Purpose:
            state = states.get((channel.value, purpose.value))
            row.append(
                ConsentCell(
                    channel=channel.value,
                    channel_label=str(channel.label),
                    purpose=purpose.value,
                    purpose_label=str(purpose.label),
                    granted=state.granted if state else None,
                    since=state.since if state else None,
                )
            )
        rows.append(row)
    return rows


@dataclass(frozen=True)
class ContactView:
    kind: str
    kind_label: str
    value: str
    primary: bool


def contacts_of(customer: Customer) -> list[ContactView]:
    """The customer's own contact points, partly masked (a shoulder-surfer learns nothing)."""
    out = []
    for point in ContactPoint.objects.filter(customer=customer).order_by(
        "kind", "-is_primary", "pk"
    ):
        if point.kind == ContactKind.PHONE:
            value = mask_phone(point.value)
        elif point.kind == ContactKind.EMAIL:
            value = mask_email(point.value)
        else:
            value = point.value
        out.append(
            ContactView(
                kind=point.kind,
                kind_label=point.get_kind_display(),
                value=value,
                primary=point.is_primary,
            )
        )
    return out


def account_label(customer: Customer) -> dict[str, Any]:
    """How an account is told apart when a phone has several: name and unit, no ids."""
    return {"name": customer.name, "unit": customer.unit.name if customer.unit_id else ""}
