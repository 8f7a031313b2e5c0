"""Base model and the audit trail shared by every domain app."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    """Abstract base: every Yiti model knows when it was created and last changed."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AuditEvent(models.Model):
    """One change made through a service: who, what, when, and the values before and after.

    Append-only. ``customer_id`` is set for changes that concern one customer so the
    customer's audit page is one indexed query; ``object_type``/``object_id`` name the
    changed object without a foreign key, so any app can audit without coupling.
    """

    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(_("action"), max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    customer_id = models.BigIntegerField(null=True, blank=True)
    summary = models.CharField(max_length=255, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["customer_id", "-at"], name="audit_customer_at"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            models.Index(fields=["actor", "-at"], name="audit_actor_at"),
            models.Index(fields=["-at"], name="audit_at"),
            models.Index(fields=["action", "-at"], name="audit_action_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}#{self.object_id}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise ValueError("Audit events are append-only")
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class ScheduledRun(models.Model):
    """One firing of a periodic job for one time slot.

    The unique (name, slot_at) pair makes enqueueing idempotent: however many workers tick the
    scheduler, each slot of each job is enqueued once.
    """

    name = models.CharField(max_length=80)
    slot_at = models.DateTimeField()
    enqueued_at = models.DateTimeField(auto_now_add=True)
    task_result_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-slot_at"]
        constraints = [
            models.UniqueConstraint(fields=["name", "slot_at"], name="scheduled_run_once")
        ]

    def __str__(self) -> str:
        return f"{self.name} @ {self.slot_at:%Y-%m-%d %H:%M}"
