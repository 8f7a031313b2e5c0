from django.db import models
from django.utils.translation import gettext_lazy as _

from yiti.service.choices import TicketKind


class FitStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class FitTrigger(models.TextChoices):
    """What started a refit."""

    SCHEDULE = "schedule", _("Weekly schedule")
    MANUAL = "manual", _("Refit now (web or API)")
    COMMAND = "command", _("Command line")
    SEED = "seed", _("Demo data")


class CostItem(models.TextChoices):
    """What costs money to serve a customer, counted per occurrence (seed 004: balance the cost
    of service against the revenue)."""

    TICKET_CONSULTATION = "ticket_consultation", _("Ticket: consultation")
    TICKET_REPAIR = "ticket_repair", _("Ticket: repair / fault")
    TICKET_SERVICE_REQUEST = "ticket_service_request", _("Ticket: service request")
    TICKET_ORDER_PROCESSING = "ticket_order_processing", _("Ticket: order processing")
    TICKET_COMPLAINT = "ticket_complaint", _("Ticket: complaint")
    CARE_CALL = "care_call", _("Care call attempt")
    VISIT = "visit", _("Account-manager visit")


TICKET_COST_ITEMS: dict[str, str] = {
    TicketKind.CONSULTATION: CostItem.TICKET_CONSULTATION,
    TicketKind.REPAIR: CostItem.TICKET_REPAIR,
    TicketKind.SERVICE_REQUEST: CostItem.TICKET_SERVICE_REQUEST,
    TicketKind.ORDER_PROCESSING: CostItem.TICKET_ORDER_PROCESSING,
    TicketKind.COMPLAINT: CostItem.TICKET_COMPLAINT,
}

# The unit costs a new installation starts with, in yuan (editable on the value settings page).
DEFAULT_COSTS: dict[str, str] = {
    CostItem.TICKET_CONSULTATION: "5.00",
    CostItem.TICKET_REPAIR: "40.00",
    CostItem.TICKET_SERVICE_REQUEST: "15.00",
    CostItem.TICKET_ORDER_PROCESSING: "10.00",
    CostItem.TICKET_COMPLAINT: "80.00",
    CostItem.CARE_CALL: "4.00",
    CostItem.VISIT: "60.00",
}


class ContactReason(models.TextChoices):
    """Why the customer is being served: the context of a next best action."""

    GENERAL = "general", _("General contact")
    BILLING = "billing", _("Bill enquiry")
    CONSULTATION = "consultation", _("Consultation")
    REPAIR = "repair", _("Repair / fault")
    SERVICE_REQUEST = "service_request", _("Service request")
    ORDER_PROCESSING = "order_processing", _("Order processing")
    COMPLAINT = "complaint", _("Complaint")


class ActionKind(models.TextChoices):
    OFFER = "offer", _("Offer")
    CARE = "care", _("Care action")


class CareAction(models.TextChoices):
    """The care actions the next best action may propose besides offers."""

    FOLLOW_UP = "follow_up", _("Follow-up call")
    RETENTION = "retention", _("Retention call")


class NbaResult(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
