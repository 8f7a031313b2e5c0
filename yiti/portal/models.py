"""The portal's own records: one-time codes, customers' sessions and tokens, and what customers
write on their tickets (replies and photos)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from yiti.core.models import TimeStampedModel
from yiti.customers.models import Customer
from yiti.portal.choices import CodePurpose, SessionKind
from yiti.service.models import Ticket


class OneTimeCode(TimeStampedModel):
    """A six-digit code sent by SMS (or e-mail, to confirm a new address), stored hashed.

    ``target`` is the E.164 phone (or the lower-case e-mail) it was sent to. A code is made for
    a phone that belongs to no customer too (and never sent), so that the answer, the limits
    and the lock-out are the same for every number: nobody learns who is a customer.
    ``failures`` counts wrong entries; at the limit ``locked_until`` locks the target.
    """

    purpose = models.CharField(max_length=10, choices=CodePurpose.choices)
    target = models.CharField(max_length=254)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    salt = models.CharField(max_length=32)
    code_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    sent = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["target", "purpose", "-created_at"], name="portal_code_target"),
            models.Index(fields=["ip_address", "-created_at"], name="portal_code_ip"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(purpose__in=CodePurpose.values), name="portal_code_purpose"
            ),
            models.CheckConstraint(
                condition=Q(purpose="sign_in") | Q(customer__isnull=False),
                name="portal_contact_code_has_customer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} code #{self.pk}"


class PortalSession(TimeStampedModel):
    """A customer signed in: a browser session (cookie ``yiti_portal``) or a mobile app's pair of
    bearer tokens (a short-lived access token and a refresh token that rotates).

    Only hashes of the secrets are kept. ``customer`` is empty while a phone that belongs to
    several customers has not picked the account yet; such a session opens no page.
    """

    kind = models.CharField(max_length=4, choices=SessionKind.choices)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    phone = models.CharField(max_length=32)
    key_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    refresh_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    refresh_expires_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="portal_session_customer")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=SessionKind.values), name="portal_session_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} session #{self.pk}"


def photo_path(instance: TicketMessage, filename: str) -> str:
    return f"portal/tickets/{instance.ticket_id}/{filename}"


class TicketMessage(TimeStampedModel):
    """What the customer wrote on his ticket in the portal: a reply, optionally with a photo
    (checked image type and size). Staff read them on the ticket page (the portal's panel)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    body = models.TextField(blank=True)
    photo = models.FileField(upload_to=photo_path, blank=True)
    photo_type = models.CharField(max_length=20, blank=True)
    photo_size = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="portal_msg_ticket")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(body="") | ~Q(photo=""), name="portal_msg_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return f"message #{self.pk} on ticket {self.ticket_id}"
