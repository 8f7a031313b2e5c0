"""API endpoints for the timeline: a customer's interactions (mounted at /api/v1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from yiti.core.pagination import MAX_PAGE_SIZE, paginate
from yiti.customers.selectors import customer_get_for
from yiti.engagement import selectors, services
from yiti.engagement.choices import Direction, InteractionChannel, InteractionPurpose, Outcome
from yiti.engagement.models import Interaction
from yiti.org.api import UserRef

router = Router(tags=["interactions"])


class InteractionOut(Schema):
    id: int
    customer_id: int
    occurred_at: datetime
    channel: str
    direction: str
    purpose: str
    outcome: str
    subject: str
    body: str
    actor: UserRef | None
    unit_id: int | None
    campaign_id: int | None
    wave_id: int | None
    ticket_id: int | None
    external_ref: str
    created_at: datetime

    @classmethod
    def of(cls, i: Interaction) -> InteractionOut:
        return cls(
            id=i.pk,
            customer_id=i.customer_id,
            occurred_at=i.occurred_at,
            channel=i.channel,
            direction=i.direction,
            purpose=i.purpose,
            outcome=i.outcome,
            subject=i.subject,
            body=i.body,
            actor=UserRef.of(i.actor),
            unit_id=i.unit_id,
            campaign_id=i.campaign_id,
            wave_id=i.wave_id,
            ticket_id=i.ticket_id,
            external_ref=i.external_ref,
            created_at=i.created_at,
        )


class InteractionPage(Schema):
    items: list[InteractionOut]
    page: int
    page_size: int
    has_next: bool


class InteractionQuery(Schema):
    channel: InteractionChannel | None = None
    purpose: InteractionPurpose | None = None
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class InteractionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    channel: InteractionChannel
    direction: Direction
    purpose: InteractionPurpose
    outcome: Outcome = Outcome.COMPLETED
    subject: str = Field("", max_length=200)
    body: str = Field("", max_length=20_000)
    occurred_at: datetime | None = Field(None, description="Defaults to now; never in the future.")
    campaign_id: int | None = None
    wave_id: int | None = None
    ticket_id: int | None = None
    external_ref: str = Field("", max_length=64)


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


@router.get(
    "/customers/{customer_id}/interactions",
    response=InteractionPage,
    summary="The customer's timeline, newest first",
)
def interactions_list(
    request: HttpRequest, customer_id: int, query: Query[InteractionQuery]
) -> InteractionPage:
    customer = customer_get_for(_user(request), customer_id)
    filters = selectors.TimelineFilters.from_mapping(query.model_dump())
    page = paginate(selectors.timeline(customer, filters), page=query.page, size=query.page_size)
    return InteractionPage(
        items=[InteractionOut.of(i) for i in page.items],
        page=page.number,
        page_size=page.size,
        has_next=page.has_next,
    )


@router.post(
    "/customers/{customer_id}/interactions",
    response={201: InteractionOut},
    summary="Record a contact with the customer",
)
def interactions_create(
    request: HttpRequest, customer_id: int, payload: InteractionIn
) -> Status[InteractionOut]:
    user = _user(request)
    customer = customer_get_for(user, customer_id)
    occurred_at = payload.occurred_at
    if occurred_at is not None and timezone.is_naive(occurred_at):
        occurred_at = timezone.make_aware(occurred_at)
    interaction = services.interaction_record(
        actor=user,
        customer=customer,
        channel=payload.channel,
        direction=payload.direction,
        purpose=payload.purpose,
        outcome=payload.outcome,
        subject=payload.subject,
        body=payload.body,
        occurred_at=occurred_at,
        campaign_id=payload.campaign_id,
        wave_id=payload.wave_id,
        ticket_id=payload.ticket_id,
        external_ref=payload.external_ref,
    )
    return Status(201, InteractionOut.of(interaction))
