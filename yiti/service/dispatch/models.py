"""Field dispatch: work orders (出差派遣单), their step history and their budget/expense lines.

The chain and its transitions are described in ``yiti.service.dispatch.services``.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from yiti.core.models import TimeStampedModel
from yiti.customers.models import Customer
from yiti.org.models import OrgUnit
from yiti.service.dispatch.choices import (
    ContactChannel,
    Decision,
    LineKind,
    LineStage,
    Origin,
    Step,
    WorkOrderStatus,
)
from yiti.service.models import Ticket


class WorkOrder(TimeStampedModel):
    """A field trip to a dealer or customer, from the dispatch to the reimbursement.

    ``unit`` is the territory responsible for the trip (the customer's unit unless chosen
    otherwise): its department head assigns the traveller and its leader approves the plan.
    The fields of the current plan, report and claim are kept here for the list and detail
    pages; every version ever submitted is in the step history (``WorkOrderStep.data``).
    ``budget_total``/``expense_total`` mirror the sums of the lines so lists need no join.
    """

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="work_orders", verbose_name=_("customer")
    )
    ticket = models.ForeignKey(
        Ticket,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="work_orders",
        verbose_name=_("ticket"),
    )
    unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="work_orders", verbose_name=_("unit")
    )
    origin = models.CharField(_("origin"), max_length=20, choices=Origin.choices)
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=WorkOrderStatus.choices, default=WorkOrderStatus.NEW
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    traveller = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="work_orders_travelling",
        verbose_name=_("traveller"),
    )
    status_changed_at = models.DateTimeField(_("last step"))

    # contact with the dealer or customer, and the trip plan
    contact_name = models.CharField(_("contact person"), max_length=80, blank=True)
    contact_channel = models.CharField(
        _("contacted by"), max_length=8, choices=ContactChannel.choices, blank=True
    )
    contact_at = models.DateTimeField(_("contacted at"), null=True, blank=True)
    contact_agreed = models.TextField(_("what was agreed"), blank=True)
    destination = models.CharField(_("destination"), max_length=120, blank=True)
    depart_on = models.DateField(_("departure"), null=True, blank=True)
    return_on = models.DateField(_("return"), null=True, blank=True)
    purpose = models.TextField(_("purpose of the trip"), blank=True)
    budget_total = models.DecimalField(
        _("budget"), max_digits=12, decimal_places=2, default=Decimal("0")
    )

    # the task report
    carried_out_at = models.DateTimeField(_("carried out"), null=True, blank=True)
    findings = models.TextField(_("findings"), blank=True)
    work_done = models.TextField(_("work done"), blank=True)
    parts = models.TextField(_("parts used"), blank=True)
    customer_signed_off = models.BooleanField(_("customer signed off"), default=False)
    signed_off_by = models.CharField(_("signed off by"), max_length=80, blank=True)
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True)

    # the expense claim and its reimbursement
    expense_total = models.DecimalField(
        _("expenses"), max_digits=12, decimal_places=2, default=Decimal("0")
    )
    receipts_count = models.PositiveSmallIntegerField(_("receipts"), default=0)
    over_budget_reason = models.TextField(_("reason for exceeding the budget"), blank=True)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    reimbursed_amount = models.DecimalField(
        _("reimbursed"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    reimbursed_at = models.DateTimeField(_("reimbursed at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        indexes = [
            models.Index(fields=["unit", "status", "-id"], name="workorder_unit_status"),
            models.Index(fields=["status", "-id"], name="workorder_status"),
            models.Index(fields=["traveller", "status"], name="workorder_traveller"),
            models.Index(fields=["customer", "-id"], name="workorder_customer"),
            models.Index(
                fields=["ticket"], name="workorder_ticket", condition=Q(ticket__isnull=False)
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=WorkOrderStatus.NEW) | Q(traveller__isnull=False),
                name="workorder_traveller_after_assignment",
            ),
            models.CheckConstraint(
                condition=Q(depart_on__isnull=True)
                | Q(return_on__isnull=True)
                | Q(return_on__gte=F("depart_on")),
                name="workorder_return_after_departure",
            ),
            models.CheckConstraint(
                condition=Q(budget_total__gte=0) & Q(expense_total__gte=0),
                name="workorder_totals_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(reimbursed_amount__isnull=True) | Q(reimbursed_amount__gte=0),
                name="workorder_reimbursed_not_negative",
            ),
            models.CheckConstraint(
                condition=~Q(origin=Origin.TICKET) | Q(ticket__isnull=False),
                name="workorder_ticket_origin_has_ticket",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    @property
    def reference(self) -> str:
        return f"WO-{self.pk:06d}" if self.pk else "WO-new"


class WorkOrderStep(models.Model):
    """One step taken on a work order: who, when, the decision, the reason and what was filed.

    Append-only. ``data`` keeps what the step submitted (the plan and its budget lines, the
    report, the claim), so a plan revised after a rejection does not erase the first one.
    """

    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="steps")
    step = models.CharField(_("step"), max_length=16, choices=Step.choices)
    decision = models.CharField(_("decision"), max_length=8, choices=Decision.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(_("at"))
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    reason = models.TextField(_("reason"), blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["work_order", "at"], name="workorder_step_order_at")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(decision=Decision.REJECT) | ~Q(reason=""),
                name="workorder_step_reject_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.work_order_id} {self.step} {self.decision}"


class CostLine(models.Model):
    """A line of the trip budget (estimated) or of the expense claim (actual)."""

    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="lines")
    stage = models.CharField(_("stage"), max_length=8, choices=LineStage.choices)
    kind = models.CharField(_("kind"), max_length=12, choices=LineKind.choices)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["work_order_id", "stage", "id"]
        indexes = [models.Index(fields=["work_order", "stage"], name="costline_order_stage")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="costline_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.stage} {self.kind} {self.amount}"
