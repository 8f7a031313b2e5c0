"""Periodic upkeep of the API."""

from __future__ import annotations

from django_tasks import task

from yiti.api.idempotency import idempotency_keys_purge


@task()
def idempotency_purge_task(slot: str = "") -> int:
    """Drop stored idempotent answers older than the 24-hour replay window."""
    return idempotency_keys_purge()
