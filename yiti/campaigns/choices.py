from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class BenefitKind(models.TextChoices):
    DISCOUNT = "discount", _("Discount")
    GIFT = "gift", _("Gift")
    CREDIT = "credit", _("Credit (赠费)")


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    READY = "ready", _("Ready")
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    COMPLETED = "completed", _("Completed")


# Campaigns that hold their audience: they take part in conflict checks and arbitration.
ACTIVE_STATUSES = (
    CampaignStatus.IN_REVIEW,
    CampaignStatus.READY,
    CampaignStatus.RUNNING,
    CampaignStatus.PAUSED,
)


class ChecklistKind(models.TextChoices):
    """The launch checklist of seed 000: what was missing when the campaign failed."""

    SERVICE_REVIEW = "service_review", _("Service reviewed the offer terms and FAQ")
    TRAINING = "training", _("Front-line staff trained")
    MATERIALS = "materials", _("Advertising material ready")
    GIFT_STOCK = "gift_stock", _("Gift stock covers the expected take-up")
    CONFLICT_CHECK = "conflict_check", _("Conflict check passed")


class ConflictKind(models.TextChoices):
    INCOMPATIBLE_OFFERS = "incompatible", _("Incompatible offers")
    SAME_PRODUCT = "same_product", _("Same product offered twice")


class ConflictStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("conflict status", "Open")
    ACCEPTED = "accepted", _("Accepted with a reason")
    RESOLVED = "resolved", _("Resolved")


class WaveKind(models.TextChoices):
    BROADCAST = "broadcast", _("Broadcast")
    CALL = "call", _("Outbound call list")
    FOLLOW_UP = "follow_up", pgettext_lazy("wave kind", "Follow-up")  # 跟进, not a care call


class WaveChannel(models.TextChoices):
    """Channels a wave reaches customers on; the values are the timeline's channel codes."""

    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    PUSH = "push", _("Web push")
    PORTAL = "portal", _("Portal inbox")
    CALL = "call", _("Outbound call")
    VISIT = "visit", _("Account-manager visit")


BROADCAST_CHANNELS = (WaveChannel.EMAIL, WaveChannel.SMS, WaveChannel.PUSH, WaveChannel.PORTAL)


class WaveSource(models.TextChoices):
    """Whom a wave addresses: the campaign's audience or an outcome of an earlier wave."""

    AUDIENCE = "audience", _("The campaign audience")
    NOT_RESPONDED = "not_responded", _("Not responded")
    NOT_REACHED = "not_reached", _("Not reached")
    DECLINED = "declined", _("Declined")
    NOT_OPENED = "not_opened", _("Not opened")


class WaveStatus(models.TextChoices):
    DRAFT = "draft", _("Not planned")
    PLANNED = "planned", _("Planned")
    SENDING = "sending", _("Sending")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class DeliveryStatus(models.TextChoices):
    EXCLUDED = "excluded", _("Excluded")
    PLANNED = "planned", _("Planned")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    REJECTED = "rejected", _("Rejected by the channel")
    DONE = "done", _("Worked")  # a call or visit with its outcome recorded
    CANCELLED = "cancelled", _("Cancelled")


CONTACTED_STATUSES = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.DONE)


class CallOutcome(models.TextChoices):
    """What a call or a visit came to; the first three did not reach the customer."""

    NO_ANSWER = "no_answer", _("No answer")
    BUSY = "busy", _("Busy / call back later")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    REACHED = "reached", _("Reached, no decision")
    INTERESTED = "interested", _("Interested")
    ACCEPTED = "accepted", _("Accepted the offer")
    DECLINED = "declined", _("Declined")


NOT_REACHED_OUTCOMES = (CallOutcome.NO_ANSWER, CallOutcome.BUSY, CallOutcome.WRONG_NUMBER)


class ResponseKind(models.TextChoices):
    OPENED = "opened", pgettext_lazy("response", "Opened")  # the message, not a ticket
    REPLIED = "replied", _("Replied")
    INTERESTED = "interested", _("Interested")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")


class ReservationStatus(models.TextChoices):
    RESERVED = "reserved", _("Reserved")
    RELEASED = "released", _("Released")
    FULFILLED = "fulfilled", _("Handed over")


class AgentRole(models.TextChoices):
    """Who works a call wave's list."""

    SERVICE_AGENT = "service_agent", _("Service agents (call centre)")
    CARE_AGENT = "care_agent", _("Care agents")
    ACCOUNT_MANAGER = "account_manager", _("Account managers")
