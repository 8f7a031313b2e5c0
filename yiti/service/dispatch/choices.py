from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkOrderStatus(models.TextChoices):
    """Where a work order (出差派遣单) stands in the approval chain of seed 003."""

    NEW = "new", _("Waiting for a traveller")
    PLANNING = "planning", _("Contact and trip plan")
    LEADER_APPROVAL = "leader_approval", _("Waiting for the leader's approval")
    BUDGET_APPROVAL = "budget_approval", _("Waiting for the budget approval")
    ON_TRIP = "on_trip", _("Trip and task report")
    ARCHIVING = "archiving", _("Waiting to be archived")
    CLAIMING = "claiming", _("Expense claim")
    REIMBURSEMENT = "reimbursement", _("Waiting for reimbursement")
    CLOSED = "closed", _("Reimbursed and closed")


OPEN_STATUSES = tuple(s for s in WorkOrderStatus if s != WorkOrderStatus.CLOSED)


class Origin(models.TextChoices):
    TICKET = "ticket", _("Service ticket")
    DEALER_REQUEST = "dealer_request", _("Dealer request")
    CUSTOMER_REQUEST = "customer_request", _("Customer request")


class Step(models.TextChoices):
    """The steps of the chain, as recorded in a work order's history."""

    CREATE = "create", _("Created")
    ASSIGN = "assign", _("Traveller assigned")
    PLAN = "plan", _("Contact and trip plan")
    APPROVE = "approve", _("Leader's approval")
    BUDGET_APPROVE = "budget_approve", _("Budget approval")
    REPORT = "report", _("Task report")
    ARCHIVE = "archive", _("Archive")
    CLAIM = "claim", _("Expense claim")
    REIMBURSE = "reimburse", _("Reimbursement")


class Decision(models.TextChoices):
    SUBMIT = "submit", _("Submitted")
    APPROVE = "approve", _("Approved")
    REJECT = "reject", _("Rejected")


class LineStage(models.TextChoices):
    BUDGET = "budget", _("Budget")
    EXPENSE = "expense", _("Expense")


class LineKind(models.TextChoices):
    TRANSPORT = "transport", _("Transport")
    LODGING = "lodging", _("Lodging")
    ALLOWANCE = "allowance", _("Allowance")
    OTHER = "other", _("Other")


class ContactChannel(models.TextChoices):
    """How the traveller reached the dealer or customer (the timeline channel)."""

    CALL = "call", _("Phone call")
    VISIT = "visit", _("Visit")
