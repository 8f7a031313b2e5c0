from django.db import models
from django.utils.translation import gettext_lazy as _


class CodePurpose(models.TextChoices):
    """What a one-time code is for."""

    SIGN_IN = "sign_in", _("Sign-in")
    CONTACT = "contact", _("Confirm a new contact")


class SessionKind(models.TextChoices):
    """A browser session (cookie) or a mobile app's pair of bearer tokens."""

    WEB = "web", _("Web")
    API = "api", _("Mobile app")


class PortalTicketKind(models.TextChoices):
    """The tickets a customer may open himself (service request and order processing are staff's)."""

    CONSULTATION = "consultation", _("Consultation")
    REPAIR = "repair", _("Repair / fault")
    COMPLAINT = "complaint", _("Complaint")
