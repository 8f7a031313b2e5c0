"""Recording what came of a next best action: accepted or declined (a write, audited).

Accepting an offer reserves its gift (``campaigns.services.offer_reserve``, which refuses when
the stock is used up) and takes the order of its product (``service.services.order_take``:
the quantity and sales channel the agent confirmed, the agent as salesperson, credited to the
agent's unit — ``campaigns.outcomes.credit_unit`` unless the context names one of the agent's
units), so service gets the order-processing ticket and care the satisfaction call after it. Every
outcome lands on the customer's timeline (``engagement.services.interaction_record``) and
updates the propensity of the action in the customer's segment (Beta-Binomial, ADR 0007).
Accepting a care action asks the care app for the call (``care.services.care_call_request``):
a follow-up call (about the context's ticket, if any) or a retention call, on the care queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.campaigns.choices import BenefitKind, ReservationStatus
from yiti.campaigns.models import Offer, OfferReservation
from yiti.campaigns.outcomes import credit_unit
from yiti.campaigns.services import offer_reserve, reservation_release
from yiti.care.choices import TaskKind, TaskStatus
from yiti.care.models import CareTask
from yiti.care.services import care_call_request, care_task_cancel
from yiti.core.audit import audit_record
from yiti.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from yiti.customers.choices import OrderStatus, SalesChannel
from yiti.customers.models import Customer, Order
from yiti.customers.rules import require_visible
from yiti.customers.services import order_set_status
from yiti.decisions import nba
from yiti.decisions.choices import ActionKind, CareAction, NbaResult
from yiti.decisions.models import NbaOutcome, Propensity, ValueSettings
from yiti.decisions.propensity import Beta
from yiti.engagement.choices import Direction, InteractionChannel, InteractionPurpose, Outcome
from yiti.engagement.services import interaction_record
from yiti.org.access import access_for
from yiti.org.models import OrgUnit, User
from yiti.service.choices import OPEN_STATUSES, TicketKind, TicketStatus
from yiti.service.models import Ticket
from yiti.service.services import order_take, ticket_transition

# The care task an accepted care action asks for.
CARE_TASK_KIND: dict[str, str] = {
    CareAction.FOLLOW_UP: TaskKind.FIRST,
    CareAction.RETENTION: TaskKind.RETENTION,
}

SALES_CHANNEL: dict[str, str] = {
    InteractionChannel.COUNTER: SalesChannel.BRANCH,
    InteractionChannel.VISIT: SalesChannel.VISIT,
    InteractionChannel.CALL: SalesChannel.CALL_CENTRE,
    InteractionChannel.PORTAL: SalesChannel.ONLINE,
}


@dataclass(frozen=True)
class Recorded:
    outcome: NbaOutcome
    propensity: Propensity


def _prior_mean(action: str, catalogue: nba.Catalogue) -> float:
    kind, _sep, ref = action.partition(":")
    if kind == ActionKind.CARE:
        return nba.CARE_PRIOR[ref]
    for offer in catalogue.offers:
        if offer.key == action:
            return offer.take_up
    return nba.DEFAULT_TAKE_UP


def _propensity_update(*, action: str, segment: str, prior: float, accepted: bool) -> Propensity:
    start = Beta.prior(prior)
    row, _created = Propensity.objects.select_for_update().get_or_create(
        action=action,
        segment=segment,
        defaults={
            "prior_alpha": start.alpha,
            "prior_beta": start.beta,
            "offer_id": int(action.split(":")[1]) if action.startswith("offer:") else None,
        },
    )
    if accepted:
        row.successes += 1
    else:
        row.failures += 1
    row.save(update_fields=["successes", "failures", "updated_at"])
    return row


def _amount(offer: Offer) -> Decimal:
    price = offer.product.price
    if offer.benefit == BenefitKind.DISCOUNT:
        return (price * (100 - offer.benefit_value) / 100).quantize(Decimal("0.01"))
    return price


def _quantity(value: object) -> int:
    try:
        quantity = int(str(value).strip())
    except ValueError as exc:
        raise ValidationFailed(_("Enter a whole number."), field="quantity") from exc
    if not 1 <= quantity <= 1000:
        raise ValidationFailed(_("The quantity is between 1 and 1,000."), field="quantity")
    return quantity


@transaction.atomic
def nba_outcome_record(
    *,
    actor: User | None,
    customer: Customer,
    action: str,
    result: str,
    context: nba.Context,
    note: str = "",
    now: datetime | None = None,
    quantity: int | str = 1,
    sales_channel: str | None = None,
    amount: Decimal | None = None,
    idempotency_key: str | None = None,
) -> Recorded:
    """Record that the customer accepted or declined ``action`` (``offer:<id>`` or
    ``care:<care action>``) proposed in ``context``.

    The action must be one the next best action proposes now: an accepted or declined action
    that the decision drops (not eligible, out of stock, conflict, contact policy) is refused
    with the drop's code and reason, so nothing is sold to a customer with an open complaint.
    An accepted offer is an order of ``quantity`` at the offer's price, through
    ``sales_channel`` (default: the one of the contact's channel), taken by the actor, for
    ``amount`` (default: the offer's price × quantity). A second call with the same
    ``idempotency_key`` (the confirmation form's one-time token) answers the first outcome and
    writes nothing.
    """
    require_visible(actor, customer)
    if idempotency_key:
        first = (
            NbaOutcome.objects.filter(customer=customer, order__idempotency_key=idempotency_key)
            .select_related("order")
            .first()
        )
        if first is not None:
            row = Propensity.objects.filter(action=first.action, segment=first.segment).first()
            if row is not None:
                return Recorded(outcome=first, propensity=row)
    if result not in NbaResult.values:
        raise ValidationFailed(_("The result is “accepted” or “declined”."), field="result")
    kind, _sep, ref = action.partition(":")
    if kind not in ActionKind.values or not ref:
        raise ValidationFailed(_("Unknown action: %(a)s") % {"a": action}, field="action")
    if kind == ActionKind.CARE and ref not in CareAction.values:
        raise ValidationFailed(_("Unknown action: %(a)s") % {"a": action}, field="action")
    if len(note) > 255:
        raise ValidationFailed(_("The note is longer than 255 characters."), field="note")
    now = now or timezone.now()
    loaded = nba.load(customer.pk, now=now)
    if loaded is None:
        raise NotFound(_("Customer not found."))
    decision = nba.decide(loaded, context, now=now, top=10_000)
    proposed = next((a for a in decision.actions if a.key == action), None)
    if proposed is None:
        drop = next((d for d in decision.dropped if d.key == action), None)
        if drop is not None:
            raise Conflict(drop.reason, code=drop.code)
        raise NotFound(_("No such action for this customer."), code="unknown_action")
    accepted = result == NbaResult.ACCEPTED
    catalogue = nba.catalogue_current(loaded.catalogue_version)
    before = proposed.propensity
    propensity = _propensity_update(
        action=action,
        segment=decision.segment,
        prior=_prior_mean(action, catalogue),
        accepted=accepted,
    )
    unit: OrgUnit | None = None
    if context.unit_id is not None:
        unit = OrgUnit.objects.get(pk=context.unit_id)
    else:
        unit = credit_unit(actor, customer)
    offer: Offer | None = None
    order: Order | None = None
    reservation: OfferReservation | None = None
    if kind == ActionKind.OFFER:
        offer = Offer.objects.select_related("product").get(pk=int(ref))
        if accepted:
            reservation = offer_reserve(
                actor=actor, offer=offer, customer=customer, unit=unit, source="nba"
            )
            quantity_n = _quantity(quantity)
            order, _ticket = order_take(
                actor=actor if getattr(actor, "pk", None) else None,
                customer=customer,
                product=offer.product,
                quantity=quantity_n,
                amount=_amount(offer) * quantity_n if amount is None else amount,
                channel=sales_channel
                or SALES_CHANNEL.get(context.channel, SalesChannel.CALL_CENTRE),
                unit=unit,
                note=_("Accepted next best action: %(name)s") % {"name": proposed.name},
                idempotency_key=idempotency_key or None,
            )
    care_task: CareTask | None = None
    if kind == ActionKind.CARE and accepted:
        ticket = None
        if context.ticket_id is not None:
            ticket = Ticket.objects.filter(pk=context.ticket_id, customer=customer).first()
        care_task, _created = care_call_request(
            actor=actor if getattr(actor, "pk", None) else None,
            customer=customer,
            kind=CARE_TASK_KIND[ref],
            ticket=ticket,
            now=now,
        )
    campaign_id = None
    if offer is not None:
        campaign_id = next(
            (o.campaign_id for o in catalogue.offers if o.id == offer.pk and o.campaign_id), None
        )
    verb = _("accepted") if accepted else _("declined")
    interaction = interaction_record(
        actor=actor,
        customer=customer,
        channel=context.channel,
        direction=Direction.OUTBOUND,
        purpose=InteractionPurpose.MARKETING
        if kind == ActionKind.OFFER
        else InteractionPurpose.CARE,
        outcome=Outcome.ACCEPTED if accepted else Outcome.DECLINED,
        subject=(_("Next best action: %(name)s, %(verb)s") % {"name": proposed.name, "verb": verb})[
            :200
        ],
        body=note,
        occurred_at=now,
        unit=unit,
        campaign_id=campaign_id,
        ticket_id=context.ticket_id,
    )
    outcome = NbaOutcome.objects.create(
        customer=customer,
        kind=kind,
        action=action,
        offer=offer,
        segment=decision.segment,
        result=result,
        channel=context.channel,
        reason=context.reason,
        ticket_id=context.ticket_id,
        score=proposed.score,
        propensity_before=before,
        propensity_after=propensity.posterior_mean,
        unit=unit,
        actor=actor if getattr(actor, "pk", None) else None,
        interaction=interaction,
        order=order,
        reservation=reservation,
        care_task=care_task,
        note=note,
    )
    audit_record(
        actor=actor,
        action="nba.outcome",
        obj=outcome,
        customer_id=customer.pk,
        changes={
            "action": action,
            "result": result,
            "segment": decision.segment,
            "propensity": [round(before, 6), round(propensity.posterior_mean, 6)],
            "order": order.pk if order else None,
            "care_task": care_task.pk if care_task else None,
            "unit": unit.pk if unit else None,
        },
    )
    return Recorded(outcome=outcome, propensity=propensity)


def offer_amount(offer: Offer, quantity: int = 1) -> Decimal:
    """What the customer pays for ``quantity`` of the offer's product (its discount applied)."""
    return _amount(offer) * quantity


def undo_deadline(outcome: NbaOutcome) -> datetime | None:
    """Until when the acceptance may be undone (None: it may not be)."""
    minutes = int(getattr(ValueSettings.objects.filter(pk=1).first(), "undo_minutes", 30))
    if outcome.result != NbaResult.ACCEPTED or outcome.undone_at is not None or minutes <= 0:
        return None
    return outcome.created_at + timedelta(minutes=minutes)


@transaction.atomic
def nba_outcome_undo(
    *, actor: User | None, outcome: NbaOutcome, reason: str, now: datetime | None = None
) -> NbaOutcome:
    """Undo a recorded acceptance within ``ValueSettings.undo_minutes`` of it, with a reason.

    The order is cancelled (``customers.services.order_set_status``) and its order-processing
    ticket resolved with the reason, the gift goes back to the stock
    (``campaigns.services.reservation_release``), a requested care call is cancelled
    (``care.services.care_task_cancel``), the propensity loses the acceptance, and the undo is
    on the timeline and in the audit log. Only the agent who recorded it (or an administrator)
    may undo it.
    """
    now = now or timezone.now()
    outcome = NbaOutcome.objects.select_for_update().select_related("customer").get(pk=outcome.pk)
    customer = outcome.customer
    require_visible(actor, customer)
    if actor is not None and outcome.actor_id != actor.pk and not access_for(actor).is_admin:
        raise PermissionDenied(
            _("Only the agent who recorded the acceptance may undo it."), code="not_yours"
        )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the acceptance is undone."), field="reason")
    if len(reason) > 255:
        raise ValidationFailed(_("The reason is longer than 255 characters."), field="reason")
    if outcome.undone_at is not None:
        raise Conflict(_("This acceptance was already undone."), code="already_undone")
    deadline = undo_deadline(outcome)
    if deadline is None:
        raise Conflict(_("Only an accepted action can be undone."), code="not_undoable")
    if now > deadline:
        raise Conflict(
            _("Too late to undo: acceptances can be undone until %(at)s.")
            % {"at": timezone.localtime(deadline).strftime("%H:%M")},
            code="undo_expired",
        )
    text = _("Acceptance undone: %(reason)s") % {"reason": reason}
    order = Order.objects.filter(pk=outcome.order_id).first() if outcome.order_id else None
    if order is not None and order.status != OrderStatus.CANCELLED:
        if order.status == OrderStatus.FULFILLED:
            raise Conflict(
                _("The order is fulfilled already: cancel it with service instead."),
                code="order_fulfilled",
            )
        order_set_status(actor=actor, order=order, status=OrderStatus.CANCELLED)
        for ticket in Ticket.objects.filter(
            order=order, kind=TicketKind.ORDER_PROCESSING, status__in=OPEN_STATUSES
        ):
            # the service desk's state machine, as the system: the seller may not work tickets
            ticket_transition(actor=None, ticket=ticket, to_status=TicketStatus.RESOLVED, body=text)
    if outcome.reservation_id:
        reservation = OfferReservation.objects.get(pk=outcome.reservation_id)
        if reservation.status == ReservationStatus.RESERVED:
            reservation_release(actor=actor, reservation=reservation, reason=reason)
    if outcome.care_task_id:
        task = CareTask.objects.get(pk=outcome.care_task_id)
        if task.status == TaskStatus.OPEN:  # as the system: the agent may not work care tasks
            care_task_cancel(actor=None, task=task, reason=text)
    row = (
        Propensity.objects.select_for_update()
        .filter(action=outcome.action, segment=outcome.segment)
        .first()
    )
    if row is not None and row.successes > 0:
        row.successes -= 1
        row.save(update_fields=["successes", "updated_at"])
    name = outcome.offer.name if outcome.offer_id and outcome.offer else outcome.action
    if outcome.kind == ActionKind.CARE:
        name = str(CareAction(outcome.action.split(":", 1)[1]).label)
    interaction_record(
        actor=actor,
        customer=customer,
        channel=outcome.channel,
        direction=Direction.OUTBOUND,
        purpose=InteractionPurpose.MARKETING
        if outcome.kind == ActionKind.OFFER
        else InteractionPurpose.CARE,
        outcome=Outcome.DECLINED,
        subject=(_("Next best action: %(name)s, acceptance undone") % {"name": name})[:200],
        body=reason,
        occurred_at=now,
        unit=outcome.unit,
        ticket_id=outcome.ticket_id,
    )
    outcome.undone_at = now
    outcome.undone_by = actor if getattr(actor, "pk", None) else None
    outcome.undo_reason = reason
    outcome.save(update_fields=["undone_at", "undone_by", "undo_reason", "updated_at"])
    audit_record(
        actor=actor,
        action="nba.undo",
        obj=outcome,
        customer_id=customer.pk,
        changes={
            "action": outcome.action,
            "order": outcome.order_id,
            "reservation": outcome.reservation_id,
            "care_task": outcome.care_task_id,
            "reason": reason,
        },
    )
    return outcome
