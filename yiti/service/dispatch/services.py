"""Writes for field dispatch: the approval chain of a work order (出差派遣单), seed 003.

服务经理接到经销商/维修任务单 → 部门部长填写出差派遣单，指定出差人 → 出差人联系经销商客户，
确立出差计划 → 分管领导审批 → 财务预算 → 出差，填写出差任务单 → 资料归档 → 费用报销.

Transitions (who may act: see ``rules``; every step is one service call, audited with the
customer's id, and appended to the work order's step history):

=================  ==========================  =========  =================  ===================
status             step (service)              actor      forward to         rejected back to
=================  ==========================  =========  =================  ===================
—                  work_order_create           creator    new                —
new                work_order_assign           manager    planning           —
planning           work_order_plan             traveller  leader_approval    new (declined)
leader_approval    work_order_approve          manager    budget_approval    planning
budget_approval    work_order_budget_approve   finance    on_trip            planning
on_trip            work_order_report           traveller  archiving          —
archiving          work_order_archive          manager    claiming           on_trip
claiming           work_order_claim            traveller  reimbursement      —
reimbursement      work_order_reimburse        finance    closed             claiming
=================  ==========================  =========  =================  ===================

A rejection (``work_order_reject``, reason required) sends the work back ONE step, to the
person who produced what was rejected:

* the traveller declines an assignment: back to ``new`` and the traveller is cleared;
* the leader rejects the plan: back to ``planning``;
* finance rejects the budget: back to ``planning`` too, since the budget lines are part of the
  traveller's plan; the revised plan then goes to the leader again, because a leader approved
  a trip at a cost and must see a changed cost (the previous plan stays in the history);
* the manager refuses to archive an incomplete task report: back to ``on_trip`` to redo it;
* finance refuses an expense claim: back to ``claiming``.

Nothing can be rejected in ``new``, ``on_trip``, ``claiming`` (the next step is the
traveller's own work) or ``closed``. Contacts with the customer land on the timeline: the
contact recorded with the plan (a call or a visit) and the trip itself (a visit). An expense
claim more than 10% over the approved budget needs a reason; finance may reimburse less than
claimed (never more), with a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.core.audit import audit_record
from yiti.core.errors import NotFound, PermissionDenied, ValidationFailed
from yiti.customers.models import Customer
from yiti.customers.rules import is_visible as customer_is_visible
from yiti.engagement.choices import Direction, InteractionPurpose, Outcome
from yiti.engagement.services import interaction_record
from yiti.org.access import access_for
from yiti.org.choices import Role
from yiti.org.models import OrgUnit, User
from yiti.service.dispatch import rules
from yiti.service.dispatch.choices import (
    ContactChannel,
    Decision,
    LineKind,
    LineStage,
    Origin,
    Step,
    WorkOrderStatus,
)
from yiti.service.dispatch.models import CostLine, WorkOrder, WorkOrderStep
from yiti.service.models import Ticket
from yiti.service.selectors import tickets_visible

OVER_BUDGET_TOLERANCE = Decimal("0.10")  # a claim above budget × 1.10 needs a reason
MAX_AMOUNT = Decimal("10000000")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class LineInput:
    """One budget or expense line as submitted."""

    kind: str
    amount: Decimal | str | int | float
    note: str = ""


# --- helpers ---------------------------------------------------------------------------------


def _now(at: datetime | None) -> datetime:
    now = timezone.now()
    if at is None:
        return now
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    if at > now + timedelta(minutes=5):
        raise ValidationFailed(_("A step cannot be dated in the future."), field="at")
    return at


def _required(value: str, field: str, max_length: int | None = None) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(_("This field is required."), field=field, code="required")
    if max_length and len(value) > max_length:
        raise ValidationFailed(
            _("At most %(n)d characters.") % {"n": max_length}, field=field, code="too_long"
        )
    return value


def _money(value: Any, field: str) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed(_("Enter an amount such as 350.00."), field=field) from None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise ValidationFailed(
            _("An amount is between 0 and %(max)s.") % {"max": MAX_AMOUNT}, field=field
        )
    if amount != amount.quantize(CENT):
        raise ValidationFailed(_("Amounts have at most two decimals."), field=field)
    return amount.quantize(CENT)


def _lines(lines: Sequence[LineInput], *, field: str) -> list[tuple[str, Decimal, str]]:
    if not lines:
        raise ValidationFailed(_("Enter at least one line."), field=field, code="required")
    if len(lines) > 50:
        raise ValidationFailed(_("At most 50 lines."), field=field)
    out = []
    for i, line in enumerate(lines):
        if line.kind not in LineKind.values:
            raise ValidationFailed(
                _("Unknown cost kind: %(v)s") % {"v": line.kind}, field=f"{field}.{i}.kind"
            )
        amount = _money(line.amount, f"{field}.{i}.amount")
        out.append((line.kind, amount, (line.note or "").strip()[:200]))
    return out


def _replace_lines(
    work_order: WorkOrder, stage: str, lines: list[tuple[str, Decimal, str]]
) -> Decimal:
    CostLine.objects.filter(work_order=work_order, stage=stage).delete()
    CostLine.objects.bulk_create(
        [
            CostLine(work_order=work_order, stage=stage, kind=k, amount=a, note=n)
            for k, a, n in lines
        ]
    )
    return sum((a for _k, a, _n in lines), Decimal("0"))


def _lines_data(lines: list[tuple[str, Decimal, str]]) -> list[dict[str, str]]:
    return [{"kind": k, "amount": str(a), "note": n} for k, a, n in lines]


def _lock(work_order: WorkOrder) -> WorkOrder:
    """The work order as it is now, locked for this transaction (the caller's copy may be stale)."""
    locked = (
        WorkOrder.objects.select_for_update(of=("self",))
        .select_related("unit", "customer")
        .filter(pk=work_order.pk)
        .first()
    )
    if locked is None:
        raise NotFound(_("Work order not found."))
    return locked


def _record_step(
    *,
    actor: User,
    work_order: WorkOrder,
    step: str,
    decision: str,
    from_status: str,
    at: datetime,
    reason: str = "",
    data: dict[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
    update_fields: Sequence[str] = (),
) -> WorkOrderStep:
    """Save the order's new state, append the step and audit it."""
    work_order.status_changed_at = at
    work_order.save(update_fields=["status", "status_changed_at", "updated_at", *update_fields])
    row = WorkOrderStep.objects.create(
        work_order=work_order,
        step=step,
        decision=decision,
        actor=actor,
        at=at,
        from_status=from_status,
        to_status=work_order.status,
        reason=reason,
        data=data or {},
    )
    action = "dispatch.reject" if decision == Decision.REJECT else f"dispatch.{step}"
    audit_record(
        actor=actor,
        action=action,
        obj=work_order,
        customer_id=work_order.customer_id,
        changes={"status": [from_status, work_order.status], **(changes or {})},
        summary=f"{work_order.reference} {Step(step).label}: {Decision(decision).label}",
    )
    return row


def _timeline(
    *,
    actor: User,
    work_order: WorkOrder,
    channel: str,
    subject: str,
    body: str,
    occurred_at: datetime,
) -> None:
    interaction_record(
        actor=actor,
        customer=work_order.customer,
        channel=channel,
        direction=Direction.OUTBOUND,
        purpose=InteractionPurpose.SERVICE,
        outcome=Outcome.COMPLETED,
        subject=subject[:200],
        body=body,
        occurred_at=occurred_at,
        unit=work_order.unit,
        ticket_id=work_order.ticket_id,
        external_ref=work_order.reference,
        check_access=False,
    )


# --- create ----------------------------------------------------------------------------------


@transaction.atomic
def work_order_create(
    *,
    actor: User,
    subject: str = "",
    customer: Customer | None = None,
    ticket: Ticket | None = None,
    origin: str | None = None,
    description: str = "",
    unit: OrgUnit | None = None,
    at: datetime | None = None,
) -> WorkOrder:
    """A new work order from a service ticket or from a dealer's or customer's request.

    The responsible unit is the customer's unit unless ``unit`` names another unit in the
    actor's scope. The creator is a service agent, region manager or admin of that unit.
    """
    at = _now(at)
    access = access_for(actor)
    if ticket is not None:
        if customer is not None and customer.pk != ticket.customer_id:
            raise ValidationFailed(_("The ticket belongs to another customer."), field="customer")
        customer = ticket.customer
        if not tickets_visible(actor).filter(pk=ticket.pk).exists():
            raise NotFound(_("Ticket not found."))
        origin = origin or Origin.TICKET
        subject = subject or ticket.subject
    if customer is None:
        raise ValidationFailed(_("Choose a customer or a ticket."), field="customer")
    if ticket is None and not customer_is_visible(access, customer):
        raise NotFound(_("Customer not found."))
    origin = origin or Origin.CUSTOMER_REQUEST
    if origin not in Origin.values:
        raise ValidationFailed(_("Unknown origin: %(v)s") % {"v": origin}, field="origin")
    if origin == Origin.TICKET and ticket is None:
        raise ValidationFailed(_("A work order from a ticket needs the ticket."), field="ticket")
    subject = _required(subject, "subject", 200)
    if unit is None:
        unit = customer.unit
    elif unit.pk not in access.unit_ids:
        raise PermissionDenied(
            _("That unit is outside your organisation scope."), code="unit_out_of_scope"
        )
    if not rules.holds_role_over(actor, unit, rules.CREATOR_ROLES):
        raise PermissionDenied(
            _(
                "Only a service agent, region manager or administrator of the unit may "
                "dispatch a field trip."
            ),
            code="wrong_role",
        )
    work_order = WorkOrder.objects.create(
        customer=customer,
        ticket=ticket,
        unit=unit,
        origin=origin,
        subject=subject,
        description=(description or "").strip(),
        created_by=actor,
        status=WorkOrderStatus.NEW,
        status_changed_at=at,
    )
    WorkOrderStep.objects.create(
        work_order=work_order,
        step=Step.CREATE,
        decision=Decision.SUBMIT,
        actor=actor,
        at=at,
        to_status=WorkOrderStatus.NEW,
        data={"origin": origin, "ticket_id": ticket.pk if ticket else None, "unit_id": unit.pk},
    )
    audit_record(
        actor=actor,
        action="dispatch.create",
        obj=work_order,
        customer_id=customer.pk,
        changes={
            "status": [None, WorkOrderStatus.NEW],
            "origin": origin,
            "unit": unit.pk,
            "ticket": ticket.pk if ticket else None,
            "subject": subject,
        },
        summary=f"{work_order.reference} {subject}",
    )
    return work_order


# --- the chain -------------------------------------------------------------------------------


def traveller_eligible(traveller: User, unit: OrgUnit) -> bool:
    """A field engineer of ``unit``, of a unit above it or of a unit below it."""
    if not traveller.is_active:
        return False
    return any(
        unit.path.startswith(p) or p.startswith(unit.path)
        for p in rules.role_paths(traveller, frozenset({Role.FIELD_ENGINEER}))
    )


@transaction.atomic
def work_order_assign(
    *,
    actor: User,
    work_order: WorkOrder,
    traveller: User,
    note: str = "",
    at: datetime | None = None,
) -> WorkOrder:
    """The department head fills in the dispatch and names the traveller (指定出差人)."""
    at = _now(at)
    wo = _lock(work_order)
    rules.require_stage(actor, wo, Step.ASSIGN)
    if not traveller_eligible(traveller, wo.unit):
        raise ValidationFailed(
            _("%(user)s is not a field engineer of this unit.") % {"user": traveller},
            field="traveller",
            code="not_a_field_engineer",
        )
    before = wo.status
    wo.traveller = traveller
    wo.status = WorkOrderStatus.PLANNING
    _record_step(
        actor=actor,
        work_order=wo,
        step=Step.ASSIGN,
        decision=Decision.SUBMIT,
        from_status=before,
        at=at,
        reason=(note or "").strip(),
        data={"traveller_id": traveller.pk},
        changes={"traveller": traveller.pk},
        update_fields=["traveller"],
    )
    return wo


@transaction.atomic
def work_order_plan(
    *,
    actor: User,
    work_order: WorkOrder,
    contact_name: str,
    contact_at: datetime,
    contact_agreed: str,
    destination: str,
    depart_on: date,
    return_on: date,
    purpose: str,
    budget: Sequence[LineInput],
    contact_channel: str = ContactChannel.CALL,
    at: datetime | None = None,
) -> WorkOrder:
    """The traveller records the contact with the dealer or customer and the trip plan with
    its estimated budget (联系经销商客户，确立出差计划). The contact lands on the timeline."""
    at = _now(at)
    wo = _lock(work_order)
    rules.require_stage(actor, wo, Step.PLAN)
    contact_name = _required(contact_name, "contact_name", 80)
    contact_agreed = _required(contact_agreed, "contact_agreed")
    if contact_channel not in ContactChannel.values:
        raise ValidationFailed(_("Choose a call or a visit."), field="contact_channel")
    if contact_at is None:
        raise ValidationFailed(_("This field is required."), field="contact_at", code="required")
    if timezone.is_naive(contact_at):
        contact_at = timezone.make_aware(contact_at)
    if contact_at > timezone.now() + timedelta(minutes=5):
        raise ValidationFailed(_("A contact cannot be in the future."), field="contact_at")
    destination = _required(destination, "destination", 120)
    purpose = _required(purpose, "purpose")
    if depart_on is None:
        raise ValidationFailed(_("This field is required."), field="depart_on", code="required")
    if return_on is None:
        raise ValidationFailed(_("This field is required."), field="return_on", code="required")
    if return_on < depart_on:
        raise ValidationFailed(_("The return is before the departure."), field="return_on")
    lines = _lines(budget, field="budget")

    before = wo.status
    wo.contact_name, wo.contact_at, wo.contact_agreed = contact_name, contact_at, contact_agreed
    wo.contact_channel = contact_channel
    wo.destination, wo.depart_on, wo.return_on, wo.purpose = (
        destination,
        depart_on,
        return_on,
        purpose,
    )
    wo.budget_total = _replace_lines(wo, LineStage.BUDGET, lines)
    wo.status = WorkOrderStatus.LEADER_APPROVAL
    data = {
        "contact_name": contact_name,
        "contact_channel": contact_channel,
        "contact_at": contact_at.isoformat(),
        "contact_agreed": contact_agreed,
        "destination": destination,
        "depart_on": depart_on.isoformat(),
        "return_on": return_on.isoformat(),
        "purpose": purpose,
        "budget": _lines_data(lines),
        "budget_total": str(wo.budget_total),
    }
    _record_step(
        actor=actor,
        work_order=wo,
        step=Step.PLAN,
        decision=Decision.SUBMIT,
        from_status=before,
        at=at,
        data=data,
        changes={
            "destination": destination,
            "depart_on": depart_on,
            "return_on": return_on,
            "budget_total": wo.budget_total,
        },
        update_fields=[
            "contact_name",
            "contact_at",
            "contact_agreed",
            "contact_channel",
            "destination",
            "depart_on",
            "return_on",
            "purpose",
            "budget_total",
        ],
    )
    _timeline(
        actor=actor,
        work_order=wo,
        channel=contact_channel,
        subject=_("Field dispatch %(ref)s: contact with %(name)s")
        % {"ref": wo.reference, "name": contact_name},
        body=contact_agreed,
        occurred_at=contact_at,
    )
    return wo


def _approval(
    *,
    actor: User,
    work_order: WorkOrder,
    step: Step,
    note: str,
    at: datetime | None,
    stamp_field: str | None = None,
) -> WorkOrder:
    at = _now(at)
    wo = _lock(work_order)
    stage = rules.require_stage(actor, wo, step)
    before = wo.status
    wo.status = stage.forward
    update_fields = []
    if stamp_field:
        setattr(wo, stamp_field, at)
        update_fields.append(stamp_field)
    _record_step(
        actor=actor,
        work_order=wo,
        step=step,
        decision=stage.decision,
        from_status=before,
        at=at,
        reason=(note or "").strip(),
        update_fields=update_fields,
    )
    return wo


@transaction.atomic
def work_order_approve(
    *, actor: User, work_order: WorkOrder, note: str = "", at: datetime | None = None
) -> WorkOrder:
    """The responsible leader approves the trip plan (分管领导审批)."""
    return _approval(actor=actor, work_order=work_order, step=Step.APPROVE, note=note, at=at)


@transaction.atomic
def work_order_budget_approve(
    *, actor: User, work_order: WorkOrder, note: str = "", at: datetime | None = None
) -> WorkOrder:
    """Finance approves the trip budget (财务预算出差费用)."""
    return _approval(actor=actor, work_order=work_order, step=Step.BUDGET_APPROVE, note=note, at=at)


@transaction.atomic
def work_order_report(
    *,
    actor: User,
    work_order: WorkOrder,
    findings: str,
    work_done: str,
    parts: str = "",
    customer_signed_off: bool = False,
    signed_off_by: str = "",
    carried_out_at: datetime | None = None,
    at: datetime | None = None,
) -> WorkOrder:
    """The trip was carried out: the traveller files the task report (填写出差任务单).
    The visit lands on the customer's timeline."""
    at = _now(at)
    wo = _lock(work_order)
    rules.require_stage(actor, wo, Step.REPORT)
    findings = _required(findings, "findings")
    work_done = _required(work_done, "work_done")
    signed_off_by = (signed_off_by or "").strip()
    if customer_signed_off and not signed_off_by:
        raise ValidationFailed(
            _("Who signed off for the customer?"), field="signed_off_by", code="required"
        )
    if len(signed_off_by) > 80:
        raise ValidationFailed(_("At most 80 characters."), field="signed_off_by")
    carried_out_at = carried_out_at or at
    if timezone.is_naive(carried_out_at):
        carried_out_at = timezone.make_aware(carried_out_at)
    if carried_out_at > timezone.now() + timedelta(minutes=5):
        raise ValidationFailed(_("A trip cannot be reported in advance."), field="carried_out_at")

    before = wo.status
    wo.findings, wo.work_done, wo.parts = findings, work_done, (parts or "").strip()
    wo.customer_signed_off, wo.signed_off_by = customer_signed_off, signed_off_by
    wo.carried_out_at = carried_out_at
    wo.status = WorkOrderStatus.ARCHIVING
    data = {
        "carried_out_at": carried_out_at.isoformat(),
        "findings": findings,
        "work_done": work_done,
        "parts": wo.parts,
        "customer_signed_off": customer_signed_off,
        "signed_off_by": signed_off_by,
    }
    _record_step(
        actor=actor,
        work_order=wo,
        step=Step.REPORT,
        decision=Decision.SUBMIT,
        from_status=before,
        at=at,
        data=data,
        changes={"carried_out_at": carried_out_at, "customer_signed_off": customer_signed_off},
        update_fields=[
            "findings",
            "work_done",
            "parts",
            "customer_signed_off",
            "signed_off_by",
            "carried_out_at",
        ],
    )
    _timeline(
        actor=actor,
        work_order=wo,
        channel=ContactChannel.VISIT,
        subject=_("Field dispatch %(ref)s: on-site service at %(place)s")
        % {"ref": wo.reference, "place": wo.destination},
        body=work_done,
        occurred_at=carried_out_at,
    )
    return wo


@transaction.atomic
def work_order_archive(
    *, actor: User, work_order: WorkOrder, note: str = "", at: datetime | None = None
) -> WorkOrder:
    """The department files the trip's documents (资料归档); the claim may follow."""
    return _approval(
        actor=actor,
        work_order=work_order,
        step=Step.ARCHIVE,
        note=note,
        at=at,
        stamp_field="archived_at",
    )


@transaction.atomic
def work_order_claim(
    *,
    actor: User,
    work_order: WorkOrder,
    lines: Sequence[LineInput],
    receipts_count: int,
    over_budget_reason: str = "",
    at: datetime | None = None,
) -> WorkOrder:
    """The traveller claims the actual expenses (费用报销). More than 10% over the approved
    budget needs a reason."""
    at = _now(at)
    wo = _lock(work_order)
    rules.require_stage(actor, wo, Step.CLAIM)
    parsed = _lines(lines, field="lines")
    try:
        receipts = int(receipts_count)
    except (TypeError, ValueError):
        raise ValidationFailed(_("Enter the number of receipts."), field="receipts_count") from None
    if receipts < 0 or receipts > 1000:
        raise ValidationFailed(_("Between 0 and 1000 receipts."), field="receipts_count")
    total = sum((a for _k, a, _n in parsed), Decimal("0"))
    reason = (over_budget_reason or "").strip()
    limit = (wo.budget_total * (1 + OVER_BUDGET_TOLERANCE)).quantize(CENT)
    if total > limit and not reason:
        raise ValidationFailed(
            _(
                "The claim (%(total)s) is more than 10%% over the budget (%(budget)s): "
                "give the reason."
            )
            % {"total": total, "budget": wo.budget_total},
            field="over_budget_reason",
            code="over_budget_reason_required",
        )
    before = wo.status
    wo.expense_total = _replace_lines(wo, LineStage.EXPENSE, parsed)
    wo.receipts_count = receipts
    wo.over_budget_reason = reason
    wo.claimed_at = at
    wo.status = WorkOrderStatus.REIMBURSEMENT
    data = {
        "lines": _lines_data(parsed),
        "expense_total": str(total),
        "budget_total": str(wo.budget_total),
        "receipts_count": receipts,
        "over_budget_reason": reason,
    }
    _record_step(
        actor=actor,
        work_order=wo,
        step=Step.CLAIM,
        decision=Decision.SUBMIT,
        from_status=before,
        at=at,
        reason=reason,
        data=data,
        changes={"expense_total": total, "receipts_count": receipts},
        update_fields=["expense_total", "receipts_count", "over_budget_reason", "claimed_at"],
    )
    return wo


@transaction.atomic
def work_order_reimburse(
    *,
    actor: User,
    work_order: WorkOrder,
    amount: Decimal | str | None = None,
    note: str = "",
    at: datetime | None = None,
) -> WorkOrder:
    """Finance reimburses the claim and closes the work order. ``amount`` defaults to the
    claimed total; less than claimed needs a note, more than claimed is refused."""
    at = _now(at)
    wo = _lock(work_order)
    rules.require_stage(actor, wo, Step.REIMBURSE)
    paid = wo.expense_total if amount in (None, "") else _money(amount, "amount")
    if paid > wo.expense_total:
        raise ValidationFailed(
            _("Finance reimburses at most the claimed %(total)s.") % {"total": wo.expense_total},
            field="amount",
        )
    note = (note or "").strip()
    if paid != wo.expense_total and not note:
        raise ValidationFailed(
            _("Say why less than claimed is reimbursed."), field="note", code="reason_required"
        )
    before = wo.status
    wo.reimbursed_amount = paid
    wo.reimbursed_at = at
    wo.status = WorkOrderStatus.CLOSED
    _record_step(
        actor=actor,
        work_order=wo,
        step=Step.REIMBURSE,
        decision=Decision.APPROVE,
        from_status=before,
        at=at,
        reason=note,
        data={"amount": str(paid), "claimed": str(wo.expense_total)},
        changes={"reimbursed_amount": paid},
        update_fields=["reimbursed_amount", "reimbursed_at"],
    )
    return wo


@transaction.atomic
def work_order_reject(
    *, actor: User, work_order: WorkOrder, reason: str, at: datetime | None = None
) -> WorkOrder:
    """Send the work order back one step, with the reason (see the module docstring)."""
    at = _now(at)
    wo = _lock(work_order)
    stage = rules.require_stage(actor, wo, None)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _("Give the reason for sending it back."), field="reason", code="reason_required"
        )
    assert stage.back is not None
    before = wo.status
    update_fields = []
    data: dict[str, Any] = {}
    if stage.back == WorkOrderStatus.NEW:
        data["traveller_id"] = wo.traveller_id
        wo.traveller = None
        update_fields.append("traveller")
    wo.status = stage.back
    _record_step(
        actor=actor,
        work_order=wo,
        step=stage.step,
        decision=Decision.REJECT,
        from_status=before,
        at=at,
        reason=reason,
        data=data,
        changes={"reason": reason},
        update_fields=update_fields,
    )
    return wo
