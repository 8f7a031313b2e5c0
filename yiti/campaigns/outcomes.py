"""What came of the contacts: call and visit outcomes, customers' responses, conversions,
and the complaint rate that pauses a campaign (the closed loop of seed 000).

* A call or visit outcome is recorded by the agent who made it (``delivery_work``); a customer
  who accepts gets the offer's gift reserved and an order of the offer's product, credited to
  the agent's unit, taken through ``service.services.order_take`` so service processes it.
* Responses to messages arrive through the response link in the message, the open pixel, the
  portal, or the API (an SMS gateway forwarding a reply): ``delivery_respond``.
* Conversions: besides acceptances, an order of one of the campaign's products placed by a
  contacted customer within ``attribution_days`` converts the contact (``conversions_attribute``,
  one UPDATE per campaign).
* ``complaint_rate_check`` pauses a running campaign whose complaints per 1,000 contacts pass
  its threshold and tells its owner.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import DateTimeField, Exists, ExpressionWrapper, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.campaigns.choices import (
    CONTACTED_STATUSES,
    NOT_REACHED_OUTCOMES,
    CallOutcome,
    CampaignStatus,
    DeliveryStatus,
    ResponseKind,
    WaveChannel,
    WaveStatus,
)
from yiti.campaigns.models import Campaign, Delivery, Offer
from yiti.campaigns.rules import require_record, require_work
from yiti.campaigns.services import campaign_pause, offer_reserve
from yiti.core.audit import audit_record
from yiti.core.errors import ValidationFailed
from yiti.customers.choices import OrderStatus, SalesChannel
from yiti.customers.models import Order
from yiti.engagement.choices import Direction, InteractionPurpose, Outcome
from yiti.engagement.services import interaction_record
from yiti.org.access import access_for
from yiti.org.models import OrgUnit, User
from yiti.org.services import notify
from yiti.service.choices import TicketKind
from yiti.service.models import Ticket
from yiti.service.services import order_take

MAX_CALL_ATTEMPTS = 3
SALES_CHANNEL: dict[str, SalesChannel] = {
    WaveChannel.CALL: SalesChannel.CALL_CENTRE,
    WaveChannel.VISIT: SalesChannel.VISIT,
}
TIMELINE_OUTCOME = {
    CallOutcome.NO_ANSWER: Outcome.NO_ANSWER,
    CallOutcome.BUSY: Outcome.NO_ANSWER,
    CallOutcome.WRONG_NUMBER: Outcome.WRONG_NUMBER,
    CallOutcome.REACHED: Outcome.REACHED,
    CallOutcome.INTERESTED: Outcome.RESPONDED,
    CallOutcome.ACCEPTED: Outcome.ACCEPTED,
    CallOutcome.DECLINED: Outcome.DECLINED,
}
RESPONSE_OUTCOME = {
    ResponseKind.OPENED: Outcome.OPENED,
    ResponseKind.REPLIED: Outcome.RESPONDED,
    ResponseKind.INTERESTED: Outcome.RESPONDED,
    ResponseKind.ACCEPTED: Outcome.ACCEPTED,
    ResponseKind.DECLINED: Outcome.DECLINED,
}
CALL_RESPONSE: dict[str, ResponseKind] = {
    CallOutcome.INTERESTED: ResponseKind.INTERESTED,
    CallOutcome.ACCEPTED: ResponseKind.ACCEPTED,
    CallOutcome.DECLINED: ResponseKind.DECLINED,
}


def _lock(delivery: Delivery) -> Delivery:
    return (
        Delivery.objects.select_for_update(of=("self",))
        .select_related("wave", "campaign", "customer", "customer__unit", "wave__offer")
        .get(pk=delivery.pk)
    )


def credit_unit(actor: User | None, customer: Any) -> OrgUnit | None:
    """The unit credited with a sale: the actor's unit that serves the customer (or his first
    unit), else the customer's own unit."""
    if actor is None:
        return customer.unit
    home = access_for(actor).home_unit_ids
    if not home:
        return customer.unit
    path = customer.unit.path
    units = list(OrgUnit.objects.filter(pk__in=home).order_by("-depth", "pk"))
    for unit in units:
        if path.startswith(unit.path):
            return unit
    return units[0]


def _offer_of(delivery: Delivery) -> Offer | None:
    return delivery.wave.offer or delivery.campaign.offers.select_related("product").first()


def _accept(
    *, actor: User | None, delivery: Delivery, channel: str, at: datetime | None = None
) -> Order | None:
    """Reserve the gift and take the order of the offer's product (one conversion): the order
    and its order-processing ticket through ``service.services.order_take``."""
    offer = _offer_of(delivery)
    if offer is None:
        return None
    unit = credit_unit(actor, delivery.customer)
    offer_reserve(
        actor=actor,
        offer=offer,
        customer=delivery.customer,
        unit=unit,
        delivery=delivery,
        source=f"campaign:{delivery.campaign_id}",
    )
    # the order goes to service like any other: order-processing ticket, the seller's "my
    # orders in service", care's satisfaction call once fulfilled. The actor was checked by
    # require_work / require_record; a customer answering by link has none.
    order, _ticket = order_take(
        actor=actor,
        customer=delivery.customer,
        product=offer.product,
        channel=SALES_CHANNEL.get(channel, SalesChannel.ONLINE),
        sold_by=actor,
        unit=unit,
        ordered_at=at,
        note=_("Accepted in campaign “%(campaign)s”") % {"campaign": delivery.campaign.name},
        check_access=False,
        idempotency_key=f"campaign-delivery-{delivery.pk}",
    )
    delivery.order = order
    delivery.converted_at = order.ordered_at
    return order


@transaction.atomic
def delivery_work(
    *,
    actor: User | None,
    delivery: Delivery,
    outcome: str,
    note: str = "",
    now: datetime | None = None,
) -> Delivery:
    """Record the outcome of a call or visit of a wave's list (an attempt; three unanswered
    attempts close it), made at ``now``. On the timeline as an outbound marketing contact."""
    delivery = _lock(delivery)
    require_work(actor, delivery)
    if outcome not in CallOutcome.values:
        raise ValidationFailed(_("Choose what the call came to."), field="outcome")
    if delivery.channel not in (WaveChannel.CALL, WaveChannel.VISIT):
        raise ValidationFailed(_("Only calls and visits are worked by agents."))
    if delivery.status != DeliveryStatus.PLANNED:
        raise ValidationFailed(_("This call is no longer open."), code="not_open")
    if (
        delivery.wave.status != WaveStatus.SENDING
        or delivery.campaign.status != CampaignStatus.RUNNING
    ):
        raise ValidationFailed(_("The wave is not open for calls now."), code="wave_not_open")
    now = now or timezone.now()
    delivery.attempts += 1
    delivery.outcome = outcome
    delivery.sent_at = delivery.sent_at or now
    delivery.note = (note or "").strip()[:500]
    if outcome in NOT_REACHED_OUTCOMES and delivery.attempts < MAX_CALL_ATTEMPTS:
        delivery.status = DeliveryStatus.PLANNED  # try again later
    else:
        delivery.status = DeliveryStatus.DONE
    if outcome in CALL_RESPONSE:
        delivery.responded_at = delivery.responded_at or now
        delivery.response = CALL_RESPONSE[outcome]
    if outcome == CallOutcome.ACCEPTED:
        _accept(actor=actor, delivery=delivery, channel=delivery.channel, at=now)
    delivery.save()
    interaction_record(
        actor=actor,
        customer=delivery.customer,
        channel=delivery.channel,
        direction=Direction.OUTBOUND,
        purpose=InteractionPurpose.MARKETING,
        outcome=TIMELINE_OUTCOME[CallOutcome(outcome)],
        subject=str(delivery.campaign)[:200],
        body=delivery.note,
        occurred_at=now,
        campaign_id=delivery.campaign_id,
        wave_id=delivery.wave_id,
        external_ref=f"yiti-d{delivery.pk}",
        check_access=False,
    )
    audit_record(
        actor=actor,
        action="delivery.work",
        obj=delivery,
        customer_id=delivery.customer_id,
        changes={"outcome": outcome, "attempts": delivery.attempts, "status": delivery.status},
    )
    return delivery


@transaction.atomic
def delivery_respond(
    *,
    actor: User | None,
    delivery: Delivery,
    kind: str,
    at: datetime | None = None,
    note: str = "",
) -> Delivery:
    """A customer's answer to a message: opened, replied, interested, accepted, declined.

    The first response counts; an acceptance reserves the gift and records the order."""
    delivery = _lock(delivery)
    require_record(actor, delivery)
    if kind not in ResponseKind.values:
        raise ValidationFailed(_("Unknown response."), field="kind")
    if delivery.status not in CONTACTED_STATUSES:
        raise ValidationFailed(
            _("Only a contact that was made can be answered."), code="not_contacted"
        )
    now = at or timezone.now()
    if kind == ResponseKind.OPENED:
        if delivery.opened_at is not None:
            return delivery
        delivery.opened_at = now
    else:
        if delivery.response and delivery.response != ResponseKind.INTERESTED:
            raise ValidationFailed(
                _("The customer has already answered (%(r)s).")
                % {"r": delivery.get_response_display()},
                code="already_answered",
            )
        delivery.opened_at = delivery.opened_at or now
        delivery.responded_at = delivery.responded_at or now
        delivery.response = kind
        if kind == ResponseKind.ACCEPTED and delivery.converted_at is None:
            _accept(actor=actor, delivery=delivery, channel=delivery.channel, at=at)
    delivery.save()
    interaction_record(
        actor=actor,
        customer=delivery.customer,
        channel=delivery.channel,
        direction=Direction.INBOUND,
        purpose=InteractionPurpose.MARKETING,
        outcome=RESPONSE_OUTCOME[ResponseKind(kind)],
        subject=str(delivery.campaign)[:200],
        body=(note or "").strip()[:2000],
        occurred_at=now,
        campaign_id=delivery.campaign_id,
        wave_id=delivery.wave_id,
        external_ref=f"yiti-d{delivery.pk}",
        check_access=False,
    )
    audit_record(
        actor=actor,
        action="delivery.respond",
        obj=delivery,
        customer_id=delivery.customer_id,
        changes={"response": kind},
    )
    return delivery


@transaction.atomic
def delivery_convert(*, actor: User | None, delivery: Delivery, order: Order) -> Delivery:
    """Link an order to the contact that led to it (attribution by hand or by an integration)."""
    delivery = _lock(delivery)
    require_record(actor, delivery)
    if order.customer_id != delivery.customer_id:
        raise ValidationFailed(_("The order belongs to another customer."), field="order")
    if delivery.status not in CONTACTED_STATUSES:
        raise ValidationFailed(_("Only a contact that was made can convert."), code="not_contacted")
    if delivery.converted_at is not None:
        raise ValidationFailed(_("This contact has converted already."), code="already_converted")
    delivery.order, delivery.converted_at = order, order.ordered_at
    delivery.save(update_fields=["order", "converted_at"])
    audit_record(
        actor=actor,
        action="delivery.convert",
        obj=delivery,
        customer_id=delivery.customer_id,
        changes={"order": order.pk},
    )
    return delivery


def conversions_attribute(*, now: datetime | None = None) -> int:
    """Orders of a campaign's products placed within its attribution window after a contact
    convert that contact: one UPDATE per campaign, whatever the number of contacts."""
    now = now or timezone.now()
    total = 0
    recent = Q(status__in=(CampaignStatus.RUNNING, CampaignStatus.PAUSED)) | Q(
        status=CampaignStatus.COMPLETED, completed_at__gte=now - timedelta(days=365)
    )
    for campaign in Campaign.objects.filter(recent).prefetch_related("offers"):
        products = sorted({o.product_id for o in campaign.offers.all()})
        if not products:
            continue
        window = timedelta(days=campaign.attribution_days)
        orders = (
            Order.objects.filter(
                customer_id=OuterRef("customer_id"),
                product_id__in=products,
                ordered_at__gte=OuterRef("sent_at"),
                ordered_at__lt=ExpressionWrapper(
                    OuterRef("sent_at") + window, output_field=DateTimeField()
                ),
            )
            .exclude(status=OrderStatus.CANCELLED)
            .order_by("ordered_at", "pk")
        )
        total += (
            Delivery.objects.filter(
                campaign=campaign,
                status__in=CONTACTED_STATUSES,
                converted_at__isnull=True,
                sent_at__isnull=False,
                sent_at__gte=now - window,
            )
            .filter(Exists(orders))
            .update(
                order_id=Subquery(orders.values("pk")[:1]),
                converted_at=Subquery(orders.values("ordered_at")[:1]),
            )
        )
    return total


def complaint_rate(campaign: Campaign, *, until: datetime | None = None) -> tuple[int, int]:
    """(complaints about the campaign since its launch, contacts made), as known at ``until``
    (default: now)."""
    contacts = Delivery.objects.filter(campaign=campaign, status__in=CONTACTED_STATUSES).count()
    complaints = Ticket.objects.filter(campaign_id=campaign.pk, kind=TicketKind.COMPLAINT)
    if campaign.launched_at is not None:
        complaints = complaints.filter(opened_at__gte=campaign.launched_at)
    if until is not None:
        complaints = complaints.filter(opened_at__lte=until)
    return complaints.count(), contacts


def complaint_rate_check(*, campaign_id: int, now: datetime | None = None) -> bool:
    """Pause a running campaign whose complaints per 1,000 contacts pass its threshold (once it
    has made ``complaint_min_contacts`` contacts) and tell its owner. True when it paused."""
    campaign = Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.RUNNING).first()
    if campaign is None:
        return False
    complaints, contacts = complaint_rate(campaign, until=now)
    if contacts < max(1, campaign.complaint_min_contacts):
        return False
    per_mille = complaints * 1000 / contacts
    if per_mille <= float(campaign.complaint_threshold):
        return False
    reason = _(
        "%(n)d complaints in %(c)d contacts: %(r).1f per 1,000, above the threshold of %(t)s."
    ) % {"n": complaints, "c": contacts, "r": per_mille, "t": campaign.complaint_threshold}
    with transaction.atomic():
        campaign_pause(actor=None, campaign=campaign, reason=reason, automatic=True, now=now)
        notify(
            users=[campaign.owner],
            title=_("Campaign “%(c)s” paused itself") % {"c": campaign.name},
            body=reason,
            link=f"/campaigns/{campaign.pk}/",
            kind="campaign.auto_pause",
            email=True,
        )
    return True
