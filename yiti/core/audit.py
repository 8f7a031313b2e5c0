"""Recording audit events. Services call ``audit_record`` inside their transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils import timezone

from yiti.core.bulk import insert_rows
from yiti.core.middleware import current_request_meta
from yiti.core.models import AuditEvent


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The current values of ``fields`` on ``instance``, as JSON-ready values."""
    out: dict[str, Any] = {}
    for name in fields:
        field = instance._meta.get_field(name)
        attname = getattr(field, "attname", name)
        out[name] = _plain(getattr(instance, attname))
    return out


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for the fields whose values differ."""
    keys = set(before) | set(after)
    return {
        k: [_plain(before.get(k)), _plain(after.get(k))]
        for k in sorted(keys)
        if _plain(before.get(k)) != _plain(after.get(k))
    }


def audit_record(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    customer_id: int | None = None,
    changes: Mapping[str, Any] | None = None,
    summary: str = "",
) -> AuditEvent:
    meta = current_request_meta()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = obj.pk if object_id is None else object_id
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        object_type=object_type or "",
        object_id="" if object_id is None else str(object_id),
        customer_id=customer_id,
        changes={k: _plain(v) for k, v in (changes or {}).items()},
        summary=summary[:255],
        ip_address=meta.get("ip"),
        request_id=meta.get("request_id", ""),
    )


def audit_bulk(
    *,
    actor: Any,
    action: str,
    object_type: str,
    rows: Iterable[tuple[int | str, int | None, Mapping[str, Any]]],
    summary: str = "",
    batch_size: int = 5000,
) -> int:
    """Audit many changes at once: ``rows`` are ``(object_id, customer_id, changes)``.

    Written with ``yiti.core.bulk.insert_rows``: one statement per batch, no model instances.
    """
    meta = current_request_meta()
    common_fields = ("actor", "action", "object_type", "summary", "ip_address", "request_id", "at")
    common = (
        getattr(actor, "pk", None),
        action,
        object_type,
        summary[:255],
        meta.get("ip"),
        meta.get("request_id", ""),
        timezone.now(),
    )
    events = [
        (*common, str(object_id), customer_id, {k: _plain(v) for k, v in changes.items()})
        for object_id, customer_id, changes in rows
    ]
    fields = (*common_fields, "object_id", "customer_id", "changes")
    insert_rows(AuditEvent, fields, events, batch_size=batch_size)
    return len(events)
