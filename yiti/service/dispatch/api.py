"""API endpoints for field dispatch work orders (paths start with ``/work-orders``; the lead
mounts ``router`` on /api/v1 with an empty prefix).

Thin: schemas in, a selector or service call, schemas out. One POST per step of the chain;
``/reject`` sends the order back one step with a reason. Errors are the usual
``{"code", "message", "field"}``: ``invalid_step`` (422) when the order is not at that step,
``wrong_role``/``own_trip`` (403) when the caller may not take it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from yiti.core.errors import NotFound, ValidationFailed
from yiti.core.pagination import MAX_PAGE_SIZE, paginate
from yiti.customers.selectors import customer_get_for
from yiti.org.api import UnitRef, UserRef
from yiti.org.models import OrgUnit, User
from yiti.service.dispatch import rules, selectors, services
from yiti.service.dispatch.choices import (
    ContactChannel,
    LineKind,
    Origin,
    WorkOrderStatus,
)
from yiti.service.dispatch.models import CostLine, WorkOrder, WorkOrderStep

router = Router(tags=["work orders"])


# --- schemas --------------------------------------------------------------------------------


class CustomerRef(Schema):
    id: int
    name: str


class LineOut(Schema):
    kind: str
    amount: Decimal
    note: str

    @classmethod
    def of(cls, line: CostLine) -> LineOut:
        return cls(kind=line.kind, amount=line.amount, note=line.note)


class StepOut(Schema):
    step: str
    decision: str
    actor: UserRef | None
    at: datetime
    from_status: str
    to_status: str
    reason: str
    data: dict[str, Any]

    @classmethod
    def of(cls, s: WorkOrderStep) -> StepOut:
        return cls(
            step=s.step,
            decision=s.decision,
            actor=UserRef.of(s.actor),
            at=s.at,
            from_status=s.from_status,
            to_status=s.to_status,
            reason=s.reason,
            data=s.data,
        )


class WorkOrderOut(Schema):
    id: int
    reference: str
    status: str
    origin: str
    subject: str
    description: str
    customer: CustomerRef
    ticket_id: int | None
    unit: UnitRef
    traveller: UserRef | None
    created_by: UserRef | None
    status_changed_at: datetime
    contact_name: str
    contact_channel: str
    contact_at: datetime | None
    contact_agreed: str
    destination: str
    depart_on: date | None
    return_on: date | None
    purpose: str
    budget_total: Decimal
    carried_out_at: datetime | None
    findings: str
    work_done: str
    parts: str
    customer_signed_off: bool
    signed_off_by: str
    archived_at: datetime | None
    expense_total: Decimal
    receipts_count: int
    over_budget_reason: str
    claimed_at: datetime | None
    reimbursed_amount: Decimal | None
    reimbursed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    next_step: str | None = Field(description="The step the caller may take now, if any.")
    can_send_back: bool = Field(description="Whether the caller may reject it one step back.")

    @classmethod
    def fields_of(cls, wo: WorkOrder, user: Any) -> dict[str, Any]:
        stage = rules.next_stage_for(user, wo)
        return {
            "id": wo.pk,
            "reference": wo.reference,
            "status": wo.status,
            "origin": wo.origin,
            "subject": wo.subject,
            "description": wo.description,
            "customer": CustomerRef(id=wo.customer_id, name=wo.customer.name),
            "ticket_id": wo.ticket_id,
            "unit": UnitRef.of(wo.unit),
            "traveller": UserRef.of(wo.traveller),
            "created_by": UserRef.of(wo.created_by),
            "status_changed_at": wo.status_changed_at,
            "contact_name": wo.contact_name,
            "contact_channel": wo.contact_channel,
            "contact_at": wo.contact_at,
            "contact_agreed": wo.contact_agreed,
            "destination": wo.destination,
            "depart_on": wo.depart_on,
            "return_on": wo.return_on,
            "purpose": wo.purpose,
            "budget_total": wo.budget_total,
            "carried_out_at": wo.carried_out_at,
            "findings": wo.findings,
            "work_done": wo.work_done,
            "parts": wo.parts,
            "customer_signed_off": wo.customer_signed_off,
            "signed_off_by": wo.signed_off_by,
            "archived_at": wo.archived_at,
            "expense_total": wo.expense_total,
            "receipts_count": wo.receipts_count,
            "over_budget_reason": wo.over_budget_reason,
            "claimed_at": wo.claimed_at,
            "reimbursed_amount": wo.reimbursed_amount,
            "reimbursed_at": wo.reimbursed_at,
            "created_at": wo.created_at,
            "updated_at": wo.updated_at,
            "next_step": stage.step if stage else None,
            "can_send_back": bool(stage and stage.back),
        }

    @classmethod
    def of(cls, wo: WorkOrder, user: Any) -> WorkOrderOut:
        return cls(**cls.fields_of(wo, user))


class WorkOrderDetailOut(WorkOrderOut):
    budget_lines: list[LineOut]
    expense_lines: list[LineOut]
    steps: list[StepOut]


class WorkOrderPage(Schema):
    items: list[WorkOrderOut]
    page: int
    page_size: int
    has_next: bool


class WorkOrderQuery(Schema):
    view: Literal["tasks", "open", "all"] = Field(
        "all", description="tasks: waiting for the caller; open: not closed; all."
    )
    q: str = Field("", max_length=100, description="WO number, customer name prefix, subject.")
    status: WorkOrderStatus | None = None
    unit: int | None = None
    traveller: int | None = None
    origin: Origin | None = None
    customer: int | None = None
    ticket: int | None = None
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class WorkOrderIn(Schema):
    ticket_id: int | None = Field(None, description="Dispatch from this service ticket.")
    customer_id: int | None = Field(None, description="Or for this customer or dealer.")
    origin: Origin | None = Field(None, description="Defaults to ticket or customer_request.")
    subject: str = Field("", max_length=200, description="Defaults to the ticket's subject.")
    description: str = Field("", max_length=20_000)
    unit: int | None = Field(None, description="Responsible unit; defaults to the customer's.")


class LineIn(Schema):
    kind: LineKind
    amount: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    note: str = Field("", max_length=200)


class NoteIn(Schema):
    note: str = Field("", max_length=10_000)


class AssignIn(NoteIn):
    traveller_id: int


class WorkOrderPlanIn(Schema):
    contact_name: str = Field(max_length=80)
    contact_channel: ContactChannel = ContactChannel.CALL
    contact_at: datetime
    contact_agreed: str = Field(max_length=10_000)
    destination: str = Field(max_length=120)
    depart_on: date
    return_on: date
    purpose: str = Field(max_length=10_000)
    budget: list[LineIn] = Field(max_length=50)


class ReportIn(Schema):
    findings: str = Field(max_length=20_000)
    work_done: str = Field(max_length=20_000)
    parts: str = Field("", max_length=10_000)
    customer_signed_off: bool = False
    signed_off_by: str = Field("", max_length=80)
    carried_out_at: datetime | None = Field(None, description="Defaults to now.")


class ClaimIn(Schema):
    lines: list[LineIn] = Field(max_length=50)
    receipts_count: int = Field(ge=0, le=1000)
    over_budget_reason: str = Field(
        "", max_length=10_000, description="Required above the budget plus 10%."
    )


class ReimburseIn(NoteIn):
    amount: Decimal | None = Field(
        None, ge=0, max_digits=12, decimal_places=2, description="Defaults to the claimed total."
    )


class RejectIn(Schema):
    reason: str = Field(max_length=10_000)


# --- handlers -------------------------------------------------------------------------------


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _detail(wo: WorkOrder, user: Any) -> WorkOrderDetailOut:
    """The work order as a step left it (a traveller who declined may no longer see it)."""
    return WorkOrderDetailOut(
        **WorkOrderOut.fields_of(wo, user),
        budget_lines=[LineOut.of(line) for line in selectors.budget_lines(wo)],
        expense_lines=[LineOut.of(line) for line in selectors.expense_lines(wo)],
        steps=[StepOut.of(s) for s in selectors.steps_of(wo)],
    )


def _lines(rows: list[LineIn]) -> list[services.LineInput]:
    return [services.LineInput(kind=r.kind, amount=r.amount, note=r.note) for r in rows]


@router.get("/work-orders", response=WorkOrderPage, summary="Work orders in the caller's scope")
def work_orders_list(request: HttpRequest, query: Query[WorkOrderQuery]) -> WorkOrderPage:
    user = _user(request)
    filters = selectors.WorkOrderFilters.from_mapping(query.model_dump(), default_view="all")
    page = paginate(
        selectors.work_order_list(user, filters).select_related("created_by"),
        page=query.page,
        size=query.page_size,
    )
    return WorkOrderPage(
        items=[WorkOrderOut.of(wo, user) for wo in page.items],
        page=page.number,
        page_size=page.size,
        has_next=page.has_next,
    )


@router.get("/work-orders/{work_order_id}", response=WorkOrderDetailOut, summary="A work order")
def work_orders_get(request: HttpRequest, work_order_id: int) -> WorkOrderDetailOut:
    user = _user(request)
    return _detail(selectors.work_order_get_for(user, work_order_id), user)


@router.post("/work-orders", response={201: WorkOrderDetailOut}, summary="Dispatch a field trip")
def work_orders_create(request: HttpRequest, payload: WorkOrderIn) -> Status[WorkOrderDetailOut]:
    user = _user(request)
    ticket = customer = unit = None
    if payload.ticket_id is not None:
        ticket = selectors.ticket_for_dispatch(user, payload.ticket_id)
    elif payload.customer_id is not None:
        customer = customer_get_for(user, payload.customer_id)
    else:
        raise ValidationFailed(_("Give a ticket_id or a customer_id."), field="customer_id")
    if payload.unit is not None:
        unit = OrgUnit.objects.filter(pk=payload.unit).first()
        if unit is None:
            raise ValidationFailed(_("Unknown unit."), field="unit")
    wo = services.work_order_create(
        actor=user,
        ticket=ticket,
        customer=customer,
        origin=payload.origin,
        subject=payload.subject,
        description=payload.description,
        unit=unit,
    )
    return Status(201, _detail(wo, user))


@router.post(
    "/work-orders/{work_order_id}/assign",
    response=WorkOrderDetailOut,
    summary="Department head: assign the traveller",
)
def work_orders_assign(request: HttpRequest, work_order_id: int, payload: AssignIn) -> Any:
    user = _user(request)
    wo = selectors.work_order_get_for(user, work_order_id)
    traveller = User.objects.filter(pk=payload.traveller_id).first()
    if traveller is None:
        raise NotFound(_("No such user."), code="not_found")
    wo = services.work_order_assign(
        actor=user, work_order=wo, traveller=traveller, note=payload.note
    )
    return _detail(wo, user)


@router.post(
    "/work-orders/{work_order_id}/plan",
    response=WorkOrderDetailOut,
    summary="Traveller: record the contact and submit the trip plan with its budget",
)
def work_orders_plan(request: HttpRequest, work_order_id: int, payload: WorkOrderPlanIn) -> Any:
    user = _user(request)
    wo = selectors.work_order_get_for(user, work_order_id)
    wo = services.work_order_plan(
        actor=user,
        work_order=wo,
        contact_name=payload.contact_name,
        contact_channel=payload.contact_channel,
        contact_at=payload.contact_at,
        contact_agreed=payload.contact_agreed,
        destination=payload.destination,
        depart_on=payload.depart_on,
        return_on=payload.return_on,
        purpose=payload.purpose,
        budget=_lines(payload.budget),
    )
    return _detail(wo, user)


@router.post(
    "/work-orders/{work_order_id}/approve",
    response=WorkOrderDetailOut,
    summary="Responsible leader: approve the trip plan",
)
def work_orders_approve(request: HttpRequest, work_order_id: int, payload: NoteIn) -> Any:
    user = _user(request)
    wo = selectors.work_order_get_for(user, work_order_id)
    return _detail(services.work_order_approve(actor=user, work_order=wo, note=payload.note), user)


@router.post(
    "/work-orders/{work_order_id}/budget-approve",
    response=WorkOrderDetailOut,
    summary="Finance: approve the budget",
)
def work_orders_budget_approve(request: HttpRequest, work_order_id: int, payload: NoteIn) -> Any:
    user = _user(request)
    wo = selectors.work_order_get_for(user, work_order_id)
    wo = services.work_order_budget_approve(actor=user, work_order=wo, note=payload.note)
    return _detail(wo, user)


@router.post(
    "/work-orders/{work_order_id}/report",
    response=WorkOrderDetailOut,
    summary="Traveller: file the task report of the trip",
)
def work_orders_report(request: HttpRequest, work_order_id: int, payload: ReportIn) -> Any:
    user = _user(request)
    wo = selectors.work_order_get_for(user, work_order_id)
    wo = services.work_order_report(
        actor=user,
        work_order=wo,
        findings=payload.findings,
        work_done=payload.work_done,
        parts=payload.parts,
        customer_signed_off=payload.customer_signed_off,
        signed_off_by=payload.signed_off_by,
        carried_out_at=payload.carried_out_at,
    )
    return _detail(wo, user)


@router.post(
    "/work-orders/{work_order_id}/archive",
    response=WorkOrderDetailOut,
    summary="Department head: archive the trip's documents",
)
def work_orders_archive(request: HttpRequest, work_order_id: int, payload: NoteIn) -> Any:
    user = _user(request)
    wo = selectors.work_order_get_for(user, work_order_id)
    return _detail(services.work_order_archive(actor=user, work_order=wo, note=payload.note), user)


@router.post(
    "/work-orders/{work_order_id}/claim",
    response=WorkOrderDetailOut,
    summary="Traveller: submit the expense claim",
)
def work_orders_claim(request: HttpRequest, work_order_id: int, payload: ClaimIn) -> Any:
    user = _user(request)
    wo = selectors.work_order_get_for(user, work_order_id)
    wo = services.work_order_claim(
        actor=user,
        work_order=wo,
        lines=_lines(payload.lines),
        receipts_count=payload.receipts_count,
        over_budget_reason=payload.over_budget_reason,
    )
    return _detail(wo, user)


@router.post(
    "/work-orders/{work_order_id}/reimburse",
    response=WorkOrderDetailOut,
    summary="Finance: reimburse the claim and close the work order",
)
def work_orders_reimburse(request: HttpRequest, work_order_id: int, payload: ReimburseIn) -> Any:
    user = _user(request)
    wo = selectors.work_order_get_for(user, work_order_id)
    wo = services.work_order_reimburse(
        actor=user, work_order=wo, amount=payload.amount, note=payload.note
    )
    return _detail(wo, user)


@router.post(
    "/work-orders/{work_order_id}/reject",
    response=WorkOrderDetailOut,
    summary="Send the work order back one step, with the reason",
)
def work_orders_reject(request: HttpRequest, work_order_id: int, payload: RejectIn) -> Any:
    user = _user(request)
    wo = selectors.work_order_get_for(user, work_order_id)
    wo = services.work_order_reject(actor=user, work_order=wo, reason=payload.reason)
    return _detail(wo, user)
