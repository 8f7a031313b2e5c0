from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class TicketKind(models.TextChoices):
    CONSULTATION = "consultation", _("Consultation")
    REPAIR = "repair", _("Repair / fault")
    SERVICE_REQUEST = "service_request", _("Service request")
    ORDER_PROCESSING = "order_processing", _("Order processing")
    COMPLAINT = "complaint", _("Complaint")


class ComplaintClass(models.TextChoices):
    """The three classes of seed 000."""

    OFFER_DESIGN = "offer_design", _("Offer design")
    STAFF_CONDUCT = "staff_conduct", _("Staff conduct")
    FULFILMENT = "fulfilment", _("Fulfilment")


class ComplaintReason(models.TextChoices):
    UNREASONABLE_CONDITIONS = "unreasonable_conditions", _("Unreasonable conditions")
    CONFLICTING_CAMPAIGNS = "conflicting_campaigns", _("Conflicting campaigns")
    UNCLEAR_EXPLANATION = "unclear_explanation", _("Unclear explanation")
    PROCESSING_ERROR = "processing_error", _("Processing error")
    GIFT_LATE = "gift_late", _("Gift late")
    CREDIT_LATE = "credit_late", _("Credit late")
    OTHER = "other", _("Other")


COMPLAINT_REASON_CLASS = {
    ComplaintReason.UNREASONABLE_CONDITIONS: ComplaintClass.OFFER_DESIGN,
    ComplaintReason.CONFLICTING_CAMPAIGNS: ComplaintClass.OFFER_DESIGN,
    ComplaintReason.UNCLEAR_EXPLANATION: ComplaintClass.STAFF_CONDUCT,
    ComplaintReason.PROCESSING_ERROR: ComplaintClass.STAFF_CONDUCT,
    ComplaintReason.GIFT_LATE: ComplaintClass.FULFILMENT,
    ComplaintReason.CREDIT_LATE: ComplaintClass.FULFILMENT,
}


class TicketStatus(models.TextChoices):
    NEW = "new", pgettext_lazy("ticket status", "New")
    ASSIGNED = "assigned", _("Assigned")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING_CUSTOMER = "waiting_customer", _("Waiting on customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    REOPENED = "reopened", _("Reopened")


OPEN_STATUSES = (
    TicketStatus.NEW,
    TicketStatus.ASSIGNED,
    TicketStatus.IN_PROGRESS,
    TicketStatus.WAITING_CUSTOMER,
    TicketStatus.REOPENED,
)


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class TicketChannel(models.TextChoices):
    PHONE = "phone", _("Phone")
    COUNTER = "counter", _("Branch counter")
    PORTAL = "portal", _("Portal")
    EMAIL = "email", _("E-mail")
    IM = "im", _("IM / WeChat")
    FIELD = "field", _("Field / dealer")
    CARE = "care", _("Care call")
    SALES = "sales", _("Sales hand-over")


class SlaState(models.TextChoices):
    OK = "ok", _("On track")
    WARNING = "warning", _("Warning")
    BREACHED = "breached", _("Breached")
    PAUSED = "paused", _("Paused")
    MET = "met", _("Met")
    MISSED = "missed", _("Missed")
    NONE = "none", _("No SLA")


class TicketEventKind(models.TextChoices):
    CREATED = "created", _("Created")
    STATUS = "status", _("Status change")
    ASSIGNED = "assigned", _("Assigned")
    REPLY = "reply", _("Public reply")
    NOTE = "note", _("Internal note")
    SLA_WARNING = "sla_warning", _("SLA warning")
    SLA_BREACH = "sla_breach", _("SLA breach")
    SLA_NO_TARGET = "sla_no_target", _("No SLA target")


class HolidayDateKind(models.TextChoices):
    """A date of an official holiday schedule."""

    HOLIDAY = "holiday", _("Public holiday")
    WORKDAY = "workday", _("Adjusted working day")
