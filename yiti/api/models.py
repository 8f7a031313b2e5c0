"""Idempotency keys: a retried POST with the same key replays the first answer."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class IdempotencyKey(models.Model):
    """The stored answer to a write sent with an ``Idempotency-Key`` header.

    Keyed by user and key; ``endpoint`` and ``request_hash`` tell a genuine retry (same
    method, path and body) from a reuse of the key for a different request. Rows older than
    the replay window (24 h) are ignored and replaced.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    endpoint = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key_unique")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_at")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.key} → {self.response_status}"
