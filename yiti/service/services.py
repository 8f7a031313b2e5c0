"""Writes for the service desk: tickets and their lifecycle, SLA policies, calendars, routing.

Every change is a call here, inside one transaction, audited (with the customer's id), and
recorded as a :class:`TicketEvent`. The flows that cross domains are explicit calls:
a complaint puts the customer on the marketing suppression list
(``engagement.services.suppression_set``) and resolving or closing it lifts that row, so the
customer is unsuppressed when the last open complaint ends; creation, public replies,
resolution and reopening land on the customer's timeline (``interaction_record``); an order
taken by sales opens an order-processing ticket for the service unit.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yiti.channels.choices import Channel as OutboxChannel
from yiti.channels.outbox import outbox_enqueue
from yiti.core.audit import audit_record, diff, snapshot
from yiti.core.errors import PermissionDenied, ValidationFailed
from yiti.customers.choices import Channel, CustomerStatus, OrderStatus, Purpose, SalesChannel
from yiti.customers.models import ConsentState, Customer, Order, Product
from yiti.customers.rules import is_visible, require_visible
from yiti.customers.services import order_by_key, order_create, order_set_status
from yiti.engagement.choices import (
    Direction,
    InteractionChannel,
    InteractionPurpose,
    Outcome,
    SuppressionReason,
)
from yiti.engagement.services import interaction_record, suppression_lift, suppression_set
from yiti.org.access import access_for
from yiti.org.choices import Role
from yiti.org.models import Membership, OrgUnit, User
from yiti.org.roles import Perm
from yiti.org.services import notify
from yiti.service import workflow
from yiti.service.calendars import (
    DAYS,
    NO_HOURS_MESSAGE,
    has_weekly_hours,
    hours_from_json,
    spec_of,
)
from yiti.service.choices import (
    COMPLAINT_REASON_CLASS,
    OPEN_STATUSES,
    ComplaintClass,
    ComplaintReason,
    Priority,
    TicketChannel,
    TicketEventKind,
    TicketKind,
    TicketStatus,
)
from yiti.service.models import (
    BusinessCalendar,
    CalendarException,
    RoutingRule,
    SlaPolicy,
    Ticket,
    TicketEvent,
    Topic,
)
from yiti.service.routing import least_loaded_agent, route_unit
from yiti.service.rules import require_manage_sla, require_ticket_visible, require_work
from yiti.service.sla import policy_for, sla_refresh
from yiti.service.topics import topic_check

TIMELINE_CHANNEL = {
    TicketChannel.PHONE: InteractionChannel.CALL,
    TicketChannel.COUNTER: InteractionChannel.COUNTER,
    TicketChannel.PORTAL: InteractionChannel.PORTAL,
    TicketChannel.EMAIL: InteractionChannel.EMAIL,
    TicketChannel.IM: InteractionChannel.IM,
    TicketChannel.FIELD: InteractionChannel.VISIT,
    TicketChannel.CARE: InteractionChannel.CALL,
    TicketChannel.SALES: InteractionChannel.COUNTER,
}

# The channel of an order taken by sales, as the ticket's channel of the hand-over.
SALES_TIMELINE_CHANNEL = {
    SalesChannel.BRANCH: InteractionChannel.COUNTER,
    SalesChannel.VISIT: InteractionChannel.VISIT,
    SalesChannel.CALL_CENTRE: InteractionChannel.CALL,
    SalesChannel.ONLINE: InteractionChannel.PORTAL,
    SalesChannel.MOBILE: InteractionChannel.PORTAL,
    SalesChannel.PARTNER: InteractionChannel.VISIT,
}

# Who started the contact: customers call, write and walk in; care and sales reach out.
OUTBOUND_CHANNELS = frozenset({TicketChannel.CARE, TicketChannel.SALES})


def _link(ticket: Ticket) -> str:
    return reverse("service:ticket", args=[ticket.pk])


def _timeline(
    *,
    actor: User | None,
    ticket: Ticket,
    subject: str,
    body: str = "",
    at: datetime,
    direction: str = Direction.OUTBOUND,
) -> None:
    interaction_record(
        actor=actor,
        customer=ticket.customer,
        channel=TIMELINE_CHANNEL.get(TicketChannel(ticket.channel), InteractionChannel.CALL),
        direction=direction,
        purpose=InteractionPurpose.SERVICE,
        subject=subject[:200],
        body=body,
        occurred_at=min(at, timezone.now()),
        unit=ticket.unit,
        campaign_id=ticket.campaign_id,
        ticket_id=ticket.pk,
        check_access=False,
    )


# statuses the customer hears about: work started, we need you, done
CUSTOMER_NEWS = {
    TicketStatus.IN_PROGRESS: gettext_lazy("We are working on your request"),
    TicketStatus.WAITING_CUSTOMER: gettext_lazy("We need something from you"),
    TicketStatus.RESOLVED: gettext_lazy("Your request is done"),
}


def _tell_customer(
    *, actor: User | None, ticket: Ticket, headline: str, body: str, at: datetime
) -> bool:
    """Keep the customer informed of the ticket's progress by e-mail (until the portal shows it).

    The message is queued in this transaction (``channels.outbox``) to the primary e-mail,
    unless the customer withdrew e-mail for service, and sent by the worker after commit with
    retries, so an SMTP outage never fails the change. It lands on the timeline when it is
    actually sent (``customer_news_sent``). Returns whether a message was queued.
    """
    customer = ticket.customer
    if not customer.primary_email:
        return False
    withdrawn = ConsentState.objects.filter(
        customer=customer, channel=Channel.EMAIL, purpose=Purpose.SERVICE, granted=False
    ).exists()
    if withdrawn:
        return False
    subject = f"[#{ticket.pk}] {headline}: {ticket.subject}"[:200]
    text = "\n\n".join(filter(None, [f"{customer.name}:", str(headline), body]))
    outbox_enqueue(
        channel=OutboxChannel.EMAIL,
        to=customer.primary_email,
        subject=subject,
        body=text,
        # one key per message, carried by every retry (the e-mail's Message-ID)
        idempotency_key=f"ticket-{ticket.pk}-news-{secrets.token_hex(8)}",
        kind=CUSTOMER_NEWS_KIND,
        metadata={
            "ticket_id": ticket.pk,
            "customer_id": customer.pk,
            "unit_id": ticket.unit_id,
            "actor_id": getattr(actor, "pk", None),
        },
    )
    return True


CUSTOMER_NEWS_KIND = "service.customer_news"


def customer_news_sent(message: Any) -> None:
    """A ticket's e-mail to its customer went out: put it on the customer's timeline, at the
    time it was sent (registered with the outbox in ``ServiceConfig.ready``)."""
    meta = message.metadata or {}
    customer_id, actor_id, unit_id = (
        meta.get("customer_id"),
        meta.get("actor_id"),
        meta.get("unit_id"),
    )
    customer = Customer.objects.filter(pk=int(customer_id)).first() if customer_id else None
    if customer is None:
        return
    interaction_record(
        actor=User.objects.filter(pk=int(actor_id)).first() if actor_id else None,
        customer=customer,
        channel=InteractionChannel.EMAIL,
        direction=Direction.OUTBOUND,
        purpose=InteractionPurpose.SERVICE,
        outcome=Outcome.SENT,
        subject=message.subject[:200],
        body=message.body,
        occurred_at=min(message.sent_at, timezone.now()),
        unit=OrgUnit.objects.filter(pk=int(unit_id)).first() if unit_id else None,
        ticket_id=meta.get("ticket_id"),
        external_ref=message.idempotency_key[:64],
        check_access=False,
    )


def _suppress(*, actor: User | None, ticket: Ticket) -> None:
    if ticket.kind == TicketKind.COMPLAINT:
        suppression_set(
            actor=actor,
            customer=ticket.customer,
            reason=SuppressionReason.OPEN_COMPLAINT,
            source_type="ticket",
            source_id=ticket.pk,
            note=ticket.subject,
        )


def _unsuppress(*, actor: User | None, ticket: Ticket) -> None:
    if ticket.kind == TicketKind.COMPLAINT:
        suppression_lift(
            actor=actor,
            customer=ticket.customer,
            reason=SuppressionReason.OPEN_COMPLAINT,
            source_type="ticket",
            source_id=ticket.pk,
        )


def _notify_assignee(ticket: Ticket, assignee: User | None, actor: User | None) -> None:
    if assignee is None or (actor is not None and assignee.pk == actor.pk):
        return
    notify(
        users=[assignee],
        title=_("Ticket #%(id)s assigned to you: %(subject)s")
        % {"id": ticket.pk, "subject": ticket.subject},
        link=_link(ticket),
        kind="ticket_assigned",
    )


# --- create ---------------------------------------------------------------------------------


def _clean_complaint(kind: str, complaint_class: str, complaint_reason: str) -> tuple[str, str]:
    if kind != TicketKind.COMPLAINT:
        if complaint_class or complaint_reason:
            raise ValidationFailed(
                _("Only complaints have a complaint class and reason."),
                field="complaint_class",
                code="not_a_complaint",
            )
        return "", ""
    if complaint_reason and complaint_reason not in ComplaintReason.values:
        raise ValidationFailed(_("Unknown complaint reason."), field="complaint_reason")
    implied = (
        COMPLAINT_REASON_CLASS.get(ComplaintReason(complaint_reason)) if complaint_reason else None
    )
    if not complaint_class and implied:
        complaint_class = implied
    if complaint_class not in ComplaintClass.values:
        raise ValidationFailed(
            _("A complaint needs a class: offer design, staff conduct or fulfilment."),
            field="complaint_class",
            code="required",
        )
    if implied and implied != complaint_class:
        raise ValidationFailed(
            _("This reason belongs to another complaint class."),
            field="complaint_reason",
            code="reason_class_mismatch",
        )
    return complaint_class, complaint_reason


@transaction.atomic
def ticket_create(
    *,
    actor: User | None,
    customer: Customer,
    kind: str,
    subject: str,
    description: str = "",
    priority: str = Priority.NORMAL,
    channel: str = TicketChannel.PHONE,
    complaint_class: str = "",
    complaint_reason: str = "",
    campaign_id: int | None = None,
    staff_concerned: User | None = None,
    order: Order | None = None,
    followup_id: int | None = None,
    opened_at: datetime | None = None,
    topic: Topic | None = None,
) -> Ticket:
    """Open a ticket: route it to a unit and its least-loaded agent, start its SLA clocks,
    suppress marketing for a complaint, and put it on the customer's timeline."""
    require_visible(actor, customer)
    if customer.status == CustomerStatus.MERGED:
        raise ValidationFailed(
            _("This customer was merged; open the ticket on the surviving customer."),
            code="customer_merged",
        )
    if kind not in TicketKind.values:
        raise ValidationFailed(_("Unknown ticket kind."), field="kind")
    if priority not in Priority.values:
        raise ValidationFailed(_("Unknown priority."), field="priority")
    if channel not in TicketChannel.values:
        raise ValidationFailed(_("Unknown channel."), field="channel")
    subject = (subject or "").strip()
    if not subject:
        raise ValidationFailed(_("A ticket needs a subject."), field="subject", code="required")
    if len(subject) > 200:
        raise ValidationFailed(_("Subject is longer than 200 characters."), field="subject")
    complaint_class, complaint_reason = _clean_complaint(kind, complaint_class, complaint_reason)
    topic_check(kind=kind, topic=topic)
    if campaign_id is not None and campaign_id <= 0:
        raise ValidationFailed(_("Not a campaign id."), field="campaign_id")
    if order is not None and order.customer_id != customer.pk:
        raise ValidationFailed(_("This order belongs to another customer."), field="order")
    now = timezone.now()
    at = opened_at or now
    if at > now + timedelta(minutes=5):
        raise ValidationFailed(_("A ticket cannot open in the future."), field="opened_at")

    unit = route_unit(customer=customer, kind=kind, complaint_class=complaint_class)
    agent = least_loaded_agent(unit)
    ticket = Ticket.objects.create(
        customer=customer,
        kind=kind,
        complaint_class=complaint_class,
        complaint_reason=complaint_reason,
        campaign_id=campaign_id,
        staff_concerned=staff_concerned,
        order=order,
        followup_id=followup_id,
        topic=topic,
        subject=subject,
        description=description,
        priority=priority,
        channel=channel,
        status=TicketStatus.ASSIGNED if agent else TicketStatus.NEW,
        unit=unit,
        assignee=agent,
        created_by=actor,
        opened_at=at,
        sla_policy=policy_for(kind=kind, priority=priority),
    )
    events = [
        TicketEvent(
            ticket=ticket,
            kind=TicketEventKind.CREATED,
            at=at,
            actor=actor,
            to_status=TicketStatus.NEW,
            body=description,
        )
    ]
    timeline: list[tuple[datetime, str]] = [(at, TicketStatus.NEW)]
    if agent is not None:
        events.append(
            TicketEvent(
                ticket=ticket,
                kind=TicketEventKind.ASSIGNED,
                at=at,
                actor=actor,
                from_status=TicketStatus.NEW,
                to_status=TicketStatus.ASSIGNED,
                body=str(agent),
            )
        )
        timeline.append((at, TicketStatus.ASSIGNED))
    TicketEvent.objects.bulk_create(events)
    changed = sla_refresh(ticket, now=at, timeline=timeline)
    if changed:
        ticket.save(update_fields=changed)
    _suppress(actor=actor, ticket=ticket)
    _timeline(
        actor=actor,
        ticket=ticket,
        subject=_("Ticket #%(id)s opened: %(subject)s") % {"id": ticket.pk, "subject": subject},
        body=description,
        at=at,
        direction=Direction.OUTBOUND if channel in OUTBOUND_CHANNELS else Direction.INBOUND,
    )
    audit_record(
        actor=actor,
        action="ticket.create",
        obj=ticket,
        customer_id=customer.pk,
        changes={
            "kind": kind,
            "priority": priority,
            "unit": unit.pk,
            "assignee": agent.pk if agent else None,
            "complaint_class": complaint_class,
            "campaign_id": campaign_id,
            "topic": topic.pk if topic else None,
        },
        summary=subject,
    )
    _notify_assignee(ticket, agent, actor)
    return ticket


# --- lifecycle ------------------------------------------------------------------------------


def _lock(ticket: Ticket) -> None:
    """Lock the ticket row and reload it, so two transitions never interleave."""
    Ticket.objects.select_for_update().filter(pk=ticket.pk).values_list("pk", flat=True).first()
    ticket.refresh_from_db()


def _event_time(ticket: Ticket, at: datetime | None) -> datetime:
    now = timezone.now()
    at = at or now
    if at > now + timedelta(minutes=5):
        raise ValidationFailed(_("A change cannot be in the future."), field="at")
    last = (
        TicketEvent.objects.filter(ticket=ticket)
        .exclude(to_status="")
        .order_by("-at", "-id")
        .values_list("at", flat=True)
        .first()
    )
    if last is not None and at < last:
        raise ValidationFailed(
            _("A change cannot be earlier than the ticket's last status change."), field="at"
        )
    return at


def _save(ticket: Ticket, fields: Iterable[str]) -> None:
    ticket.save(update_fields=sorted({*fields, "updated_at"}))


@transaction.atomic
def ticket_transition(
    *,
    actor: User | None,
    ticket: Ticket,
    to_status: str,
    body: str = "",
    at: datetime | None = None,
) -> Ticket:
    """Move the ticket along the state machine (``workflow.TRANSITIONS``)."""
    _lock(ticket)
    require_work(actor, ticket)
    from_status = ticket.status
    if to_status not in TicketStatus.values or not workflow.allowed(from_status, to_status):
        raise ValidationFailed(
            _("A ticket cannot go from “%(from)s” to “%(to)s”.")
            % {
                "from": TicketStatus(from_status).label,
                "to": TicketStatus(to_status).label
                if to_status in TicketStatus.values
                else to_status,
            },
            field="status",
            code="invalid_transition",
        )
    body = (body or "").strip()
    if to_status == TicketStatus.RESOLVED and not body:
        raise ValidationFailed(
            _("Say how the ticket was resolved."), field="resolution", code="resolution_required"
        )
    if to_status == TicketStatus.ASSIGNED and ticket.assignee_id is None:
        raise ValidationFailed(
            _("Assign the ticket to someone first."), field="assignee", code="no_assignee"
        )
    at = _event_time(ticket, at)
    ticket.status = to_status
    changed = {"status"}
    if to_status == TicketStatus.RESOLVED:
        ticket.resolved_at, ticket.resolution = at, body
        changed |= {"resolved_at", "resolution"}
    elif to_status == TicketStatus.CLOSED:
        ticket.closed_at = at
        changed.add("closed_at")
    elif to_status == TicketStatus.REOPENED:
        ticket.resolved_at = ticket.closed_at = None
        changed |= {"resolved_at", "closed_at"}
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEventKind.STATUS,
        at=at,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        body=body,
        public=to_status in (TicketStatus.RESOLVED, TicketStatus.REOPENED),
    )
    changed |= set(sla_refresh(ticket, now=at))
    _save(ticket, changed)

    if to_status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        _unsuppress(actor=actor, ticket=ticket)
    elif to_status == TicketStatus.REOPENED:
        _suppress(actor=actor, ticket=ticket)
    if ticket.kind == TicketKind.ORDER_PROCESSING and ticket.order_id:
        _follow_order(ticket, to_status)
    news = CUSTOMER_NEWS.get(TicketStatus(to_status))
    if news is not None:
        _tell_customer(actor=actor, ticket=ticket, headline=str(news), body=body, at=at)
    if to_status == TicketStatus.RESOLVED:
        _timeline(
            actor=actor,
            ticket=ticket,
            subject=_("Ticket #%(id)s resolved: %(subject)s")
            % {"id": ticket.pk, "subject": ticket.subject},
            body=body,
            at=at,
        )
    elif to_status == TicketStatus.REOPENED:
        _timeline(
            actor=actor,
            ticket=ticket,
            subject=_("Ticket #%(id)s reopened: %(subject)s")
            % {"id": ticket.pk, "subject": ticket.subject},
            body=body,
            at=at,
            direction=Direction.INBOUND,
        )
    audit_record(
        actor=actor,
        action="ticket.transition",
        obj=ticket,
        customer_id=ticket.customer_id,
        changes={"status": [from_status, to_status]},
        summary=body[:255],
    )
    return ticket


def _follow_order(ticket: Ticket, to_status: str) -> None:
    """An order-processing ticket carries its order along: worked → processing, resolved →
    fulfilled (the care app's satisfaction call starts from a fulfilled order)."""
    order = ticket.order
    assert order is not None
    target = {
        TicketStatus.IN_PROGRESS: OrderStatus.PROCESSING,
        TicketStatus.RESOLVED: OrderStatus.FULFILLED,
    }.get(TicketStatus(to_status))
    if target and order.status in (OrderStatus.PENDING, OrderStatus.PROCESSING):
        order_set_status(actor=None, order=order, status=target)


def ticket_resolve(
    *, actor: User | None, ticket: Ticket, resolution: str, at: datetime | None = None
) -> Ticket:
    """Resolve the ticket; a complaint's marketing suppression lifts."""
    return ticket_transition(
        actor=actor, ticket=ticket, to_status=TicketStatus.RESOLVED, body=resolution, at=at
    )


def ticket_reopen(
    *, actor: User | None, ticket: Ticket, reason: str = "", at: datetime | None = None
) -> Ticket:
    """Reopen a resolved or closed ticket; its resolution clock resumes where it stopped."""
    return ticket_transition(
        actor=actor, ticket=ticket, to_status=TicketStatus.REOPENED, body=reason, at=at
    )


def ticket_close(*, actor: User | None, ticket: Ticket, at: datetime | None = None) -> Ticket:
    return ticket_transition(actor=actor, ticket=ticket, to_status=TicketStatus.CLOSED, at=at)


def _check_assignee(ticket: Ticket, assignee: User) -> None:
    ok = (
        assignee.is_active
        and Membership.objects.current()
        .filter(user=assignee, unit_id=ticket.unit_id, role=Role.SERVICE_AGENT)
        .exists()
    )
    if not ok:
        raise ValidationFailed(
            _("%(user)s is not a service agent of %(unit)s.")
            % {"user": assignee, "unit": ticket.unit.name},
            field="assignee",
            code="not_an_agent",
        )


@transaction.atomic
def ticket_assign(
    *, actor: User | None, ticket: Ticket, assignee: User, at: datetime | None = None
) -> Ticket:
    """Give the ticket to a service agent of its unit; a new ticket becomes assigned."""
    _lock(ticket)
    require_work(actor, ticket)
    if ticket.status not in OPEN_STATUSES:
        raise ValidationFailed(
            _("Reopen the ticket before assigning it."), field="assignee", code="ticket_closed"
        )
    _check_assignee(ticket, assignee)
    if assignee.pk == ticket.assignee_id:
        return ticket
    at = _event_time(ticket, at)
    before_status, before_assignee = ticket.status, ticket.assignee_id
    ticket.assignee = assignee
    changed = {"assignee"}
    to_status = ""
    if ticket.status == TicketStatus.NEW:
        ticket.status = to_status = TicketStatus.ASSIGNED
        changed.add("status")
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEventKind.ASSIGNED,
        at=at,
        actor=actor,
        from_status=before_status if to_status else "",
        to_status=to_status,
        body=str(assignee),
    )
    if to_status:
        changed |= set(sla_refresh(ticket, now=at))
    _save(ticket, changed)
    audit_record(
        actor=actor,
        action="ticket.assign",
        obj=ticket,
        customer_id=ticket.customer_id,
        changes={"assignee": [before_assignee, assignee.pk]},
    )
    _notify_assignee(ticket, assignee, actor)
    return ticket


@transaction.atomic
def ticket_reply(
    *,
    actor: User | None,
    ticket: Ticket,
    body: str,
    public: bool = True,
    at: datetime | None = None,
) -> TicketEvent:
    """A public reply to the customer (on the timeline; the first one stops the first-response
    clock) or, with ``public=False``, an internal note."""
    _lock(ticket)
    if public:
        require_work(actor, ticket)
    else:
        require_ticket_visible(actor, ticket)
    body = (body or "").strip()
    if not body:
        raise ValidationFailed(_("Write something first."), field="body", code="required")
    now = timezone.now()
    at = at or now
    event = TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEventKind.REPLY if public else TicketEventKind.NOTE,
        at=at,
        actor=actor,
        body=body,
        public=public,
    )
    if public:
        if ticket.first_response_at is None and ticket.opened_at <= at:
            ticket.first_response_at = at
            changed = {"first_response_at", *sla_refresh(ticket, now=at)}
            _save(ticket, changed)
        _timeline(
            actor=actor,
            ticket=ticket,
            subject=_("Reply on ticket #%(id)s: %(subject)s")
            % {"id": ticket.pk, "subject": ticket.subject},
            body=body,
            at=at,
        )
        _tell_customer(
            actor=actor, ticket=ticket, headline=_("A reply to your request"), body=body, at=at
        )
    audit_record(
        actor=actor,
        action="ticket.reply" if public else "ticket.note",
        obj=ticket,
        customer_id=ticket.customer_id,
        changes={"event": event.pk, "public": public},
        summary=body[:255],
    )
    return event


# --- sales hands over to service ------------------------------------------------------------


@transaction.atomic
def order_take(
    *,
    actor: User | None,
    customer: Customer,
    product: Product,
    quantity: Any = 1,
    amount: Any = None,
    channel: str = SalesChannel.BRANCH,
    sold_by: User | None = None,
    unit: OrgUnit | None = None,
    ordered_at: datetime | None = None,
    external_id: str | None = None,
    note: str = "",
    check_access: bool = True,
    idempotency_key: str | None = None,
) -> tuple[Order, Ticket]:
    """Sales takes an order; the service unit gets an order-processing ticket for it.

    The seller (``sold_by``, default the actor) stays the customer's contact of record (the
    owner does not change) and follows the ticket under “My orders in service”; when service
    resolves the ticket the order is fulfilled and care's satisfaction call follows. The amount
    defaults to price × quantity. ``check_access=False`` is for flows that checked the actor
    already or act for the customer (a campaign response by link): the actor is then recorded
    only where he may see the customer. A second call with the same ``idempotency_key`` (a
    form's one-time token) answers the first order and its ticket and writes nothing.
    """
    if idempotency_key:
        taken = order_by_key(idempotency_key)
        if taken is not None and taken.customer_id == customer.pk:
            ticket = Ticket.objects.filter(order=taken, kind=TicketKind.ORDER_PROCESSING).first()
            if ticket is not None:
                return taken, ticket
    if check_access and actor is not None:
        access = access_for(actor)
        access.require(Perm.ORDER_TAKE)
        require_visible(actor, customer)
    recorded = actor
    if not check_access and actor is not None and not is_visible(access_for(actor), customer):
        recorded = None
    if sold_by is not None and not sold_by.is_active:
        raise ValidationFailed(
            _("%(user)s is no longer active.") % {"user": sold_by}, field="sold_by"
        )
    if ordered_at is not None and ordered_at > timezone.now() + timedelta(minutes=5):
        raise ValidationFailed(_("An order cannot be in the future."), field="ordered_at")
    order = order_create(
        actor=recorded,
        customer=customer,
        product=product,
        quantity=quantity,
        amount=amount,
        channel=channel,
        sold_by=sold_by or actor,
        unit=unit,
        ordered_at=ordered_at,
        external_id=external_id,
        idempotency_key=idempotency_key,
    )
    ticket = ticket_create(
        actor=recorded,
        customer=customer,
        kind=TicketKind.ORDER_PROCESSING,
        subject=(_("Process order: %(product)s") % {"product": product.name})[:200],
        description=note,
        channel=TicketChannel.SALES,
        order=order,
        opened_at=order.ordered_at if ordered_at else None,
    )
    return order, ticket


# --- SLA policies ---------------------------------------------------------------------------


def _minutes(value: Any, field: str) -> int:
    try:
        minutes = int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(_("Enter a whole number of minutes."), field=field) from exc
    if minutes <= 0:
        raise ValidationFailed(_("Must be more than zero."), field=field)
    return minutes


def _ratio(value: Any) -> Decimal:
    try:
        ratio = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed(
            _("Enter a number between 0.01 and 1."), field="warning_ratio"
        ) from exc
    if not Decimal("0.01") <= ratio <= 1:
        raise ValidationFailed(_("Enter a number between 0.01 and 1."), field="warning_ratio")
    return ratio.quantize(Decimal("0.01"))


POLICY_FIELDS = [
    "kind",
    "priority",
    "first_response_minutes",
    "resolution_minutes",
    "warning_ratio",
    "active",
]


@transaction.atomic
def sla_policy_save(
    *,
    actor: User | None,
    policy: SlaPolicy | None = None,
    kind: str,
    priority: str,
    first_response_minutes: Any,
    resolution_minutes: Any,
    warning_ratio: Any = "0.80",
    active: bool = True,
) -> SlaPolicy:
    """Create or change the targets of a kind × priority (business minutes). New tickets use
    them; open tickets keep the policy they started with."""
    require_manage_sla(actor)
    if kind not in TicketKind.values:
        raise ValidationFailed(_("Unknown ticket kind."), field="kind")
    if priority not in Priority.values:
        raise ValidationFailed(_("Unknown priority."), field="priority")
    first = _minutes(first_response_minutes, "first_response_minutes")
    resolution = _minutes(resolution_minutes, "resolution_minutes")
    if first > resolution:
        raise ValidationFailed(
            _("The first response cannot be due after the resolution."),
            field="first_response_minutes",
        )
    clash = SlaPolicy.objects.filter(kind=kind, priority=priority)
    if policy is not None:
        clash = clash.exclude(pk=policy.pk)
    if clash.exists():
        raise ValidationFailed(
            _("There is a policy for this kind and priority already."),
            field="priority",
            code="duplicate",
        )
    # compare with what is stored: a ModelForm may already have changed ``policy`` in memory
    stored = SlaPolicy.objects.filter(pk=policy.pk).first() if policy else None
    before = snapshot(stored, POLICY_FIELDS) if stored else {}
    target = policy or SlaPolicy()
    target.kind, target.priority = kind, priority
    target.first_response_minutes, target.resolution_minutes = first, resolution
    target.warning_ratio, target.active = _ratio(warning_ratio), bool(active)
    target.save()
    audit_record(
        actor=actor,
        action="sla_policy.update" if policy else "sla_policy.create",
        obj=target,
        changes=diff(before, snapshot(target, POLICY_FIELDS)),
    )
    return target


# --- business calendars ---------------------------------------------------------------------


def _check_calendar_scope(actor: User | None, unit: OrgUnit | None) -> None:
    access = require_manage_sla(actor)
    if access is None or access.is_admin:
        return
    if unit is None or unit.pk not in access.unit_ids:
        raise PermissionDenied(
            _("Only administrators change the company calendar or calendars outside your units."),
            code="unit_out_of_scope",
        )


CALENDAR_FIELDS = [
    "unit",
    "name",
    "time_zone",
    "weekly_hours",
    "use_cn_holidays",
    "adjusted_workday_as",
]


@transaction.atomic
def calendar_save(
    *,
    actor: User | None,
    calendar: BusinessCalendar | None = None,
    unit: OrgUnit | None,
    name: str,
    weekly_hours: Mapping[str, Sequence[Sequence[str]]],
    time_zone: str = "Asia/Shanghai",
    use_cn_holidays: bool = True,
    adjusted_workday_as: str = "mon",
    exceptions: Sequence[tuple[date, Sequence[Sequence[str]], str]] | None = None,
) -> BusinessCalendar:
    """Create or change a business calendar (``unit`` None: the company default, at most one).

    Refused (``no_working_hours`` on ``weekly_hours``) when no weekday has working hours.

    ``exceptions`` (when given) replaces the calendar's exceptions: ``(date, hours, note)``
    with hours as ``[["09:00", "12:00"], ...]``, empty for a closed day.
    """
    _check_calendar_scope(actor, unit)
    if calendar is not None and calendar.unit_id != (unit.pk if unit else None):
        _check_calendar_scope(actor, calendar.unit)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("A calendar needs a name."), field="name", code="required")
    unknown = set(weekly_hours) - set(DAYS)
    if unknown:
        raise ValidationFailed(_("Weekly hours use the days mon … sun."), field="weekly_hours")
    weekly = {day: [list(pair) for pair in weekly_hours.get(day, [])] for day in DAYS}
    if not has_weekly_hours(weekly):
        raise ValidationFailed(str(NO_HOURS_MESSAGE), field="weekly_hours", code="no_working_hours")
    default_clash = BusinessCalendar.objects.filter(unit__isnull=True)
    if calendar is not None:
        default_clash = default_clash.exclude(pk=calendar.pk)
    if unit is None and default_clash.exists():
        raise ValidationFailed(
            _(
                "There is a company default calendar already (%(name)s): change it, or choose "
                "the unit this calendar is for."
            )
            % {"name": default_clash.values_list("name", flat=True).first()},
            field="unit",
            code="duplicate_default",
        )
    if adjusted_workday_as not in DAYS:
        raise ValidationFailed(_("Choose a weekday."), field="adjusted_workday_as")
    rows = list(exceptions or [])
    if len({day for day, _h, _n in rows}) != len(rows):
        raise ValidationFailed(
            _("At most one exception per date."), field="exceptions", code="duplicate"
        )
    for day, hours, _note in rows:
        hours_from_json(hours, str(day))
    stored = BusinessCalendar.objects.filter(pk=calendar.pk).first() if calendar else None
    before = snapshot(stored, CALENDAR_FIELDS) if stored else {}
    target = calendar or BusinessCalendar()
    target.unit, target.name, target.time_zone = unit, name[:80], time_zone
    target.weekly_hours, target.use_cn_holidays = weekly, bool(use_cn_holidays)
    target.adjusted_workday_as = adjusted_workday_as
    exception_rows = [
        CalendarException(date=day, intervals=[list(p) for p in hours], note=note[:120])
        for day, hours, note in rows
    ]
    spec_of(target, exception_rows)  # validates hours and the time zone together
    try:
        with transaction.atomic():
            target.save()
    except IntegrityError as exc:
        raise ValidationFailed(
            _("This unit has a calendar already."), field="unit", code="duplicate"
        ) from exc
    if exceptions is not None:
        CalendarException.objects.filter(calendar=target).delete()
        for row in exception_rows:
            row.calendar = target
        CalendarException.objects.bulk_create(exception_rows)
    changes = diff(before, snapshot(target, CALENDAR_FIELDS))
    if exceptions is not None:
        changes["exceptions"] = [f"{r.date}" for r in exception_rows]
    audit_record(
        actor=actor,
        action="calendar.update" if calendar else "calendar.create",
        obj=target,
        changes=changes,
    )
    return target


# --- routing rules --------------------------------------------------------------------------


@transaction.atomic
def routing_rule_save(
    *,
    actor: User | None,
    rule: RoutingRule | None = None,
    target_unit: OrgUnit,
    position: int = 100,
    kind: str = "",
    complaint_class: str = "",
    territory: OrgUnit | None = None,
    active: bool = True,
) -> RoutingRule:
    require_manage_sla(actor)
    if kind and kind not in TicketKind.values:
        raise ValidationFailed(_("Unknown ticket kind."), field="kind")
    if complaint_class and complaint_class not in ComplaintClass.values:
        raise ValidationFailed(_("Unknown complaint class."), field="complaint_class")
    if complaint_class and kind and kind != TicketKind.COMPLAINT:
        raise ValidationFailed(_("Only complaints have a class."), field="complaint_class")
    target = rule or RoutingRule()
    target.position, target.kind, target.complaint_class = position, kind, complaint_class
    target.territory, target.target_unit, target.active = territory, target_unit, active
    target.save()
    audit_record(
        actor=actor,
        action="routing_rule.update" if rule else "routing_rule.create",
        obj=target,
        changes={
            "position": position,
            "kind": kind,
            "complaint_class": complaint_class,
            "territory": territory.pk if territory else None,
            "target_unit": target_unit.pk,
            "active": active,
        },
    )
    return target
