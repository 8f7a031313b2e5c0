"""Recording audit events. Services call ``audit_record`` inside their transaction.

The trail stores values in full (it is the record of what happened); pages show them through
:func:`mask_changes`, which masks personal data as every other page does, unless the reader
revealed them with :func:`audit_values_reveal` (itself recorded as ``pii.reveal``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.core.bulk import insert_rows
from yiti.core.errors import PermissionDenied
from yiti.core.masking import mask_email, mask_generic, mask_phone
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


# --- Showing the trail: personal data masked unless revealed ---------------------------------

_PHONE_KEYS = frozenset({"phone", "mobile", "primary_phone", "contact.phone"})
_EMAIL_KEYS = frozenset({"email", "primary_email", "contact.email"})
# IM ids and street addresses: masked like the customer export masks them (first and last
# character kept); ``value``/``normalized`` are a contact point's, masked by its ``kind``
_GENERIC_KEYS = frozenset({"address", "wechat", "im", "contact.wechat", "contact.im", "id_number"})
_CONTACT_VALUE_KEYS = frozenset({"value", "normalized"})
_BY_KIND: dict[str, Callable[[str], str]] = {  # the contact point kinds (customers' ContactKind)
    "phone": mask_phone,
    "email": mask_email,
    "wechat": mask_generic,
    "im": mask_generic,
}


def _masker(key: str, kind: str) -> Callable[[str], str] | None:
    if key in _PHONE_KEYS:
        return mask_phone
    if key in _EMAIL_KEYS:
        return mask_email
    if key in _CONTACT_VALUE_KEYS:
        return _BY_KIND.get(kind)  # a "value" of anything but a contact point is kept
    if key in _GENERIC_KEYS:
        return mask_generic
    return None


def _apply(value: Any, mask: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return mask(value) if value else value
    if isinstance(value, list):
        return [_apply(v, mask) for v in value]
    if isinstance(value, dict):
        return {k: _apply(v, mask) for k, v in value.items()}
    return value


def mask_changes(changes: Any) -> Any:
    """A copy of an event's ``changes`` with the personal data masked: phones
    (``139****5678``), e-mail addresses (``z***@example.com``), IM ids, addresses and
    contact point values (by the event's ``kind``), at any depth. Other values are kept."""
    if isinstance(changes, list):
        return [mask_changes(v) for v in changes]
    if not isinstance(changes, dict):
        return changes
    kind = changes.get("kind") if isinstance(changes.get("kind"), str) else ""
    out: dict[str, Any] = {}
    for key, value in changes.items():
        mask = _masker(str(key), kind or "")
        out[key] = _apply(value, mask) if mask else mask_changes(value)
    return out


def holds_personal_data(changes: Any) -> bool:
    """Whether masking changes anything in ``changes`` (there is something to reveal)."""
    return bool(mask_changes(changes) != changes)


@transaction.atomic
def audit_values_reveal(
    *,
    actor: Any,
    allowed: bool,
    events: Iterable[AuditEvent],
    customer: models.Model | None = None,
    where: str = "",
) -> list[int]:
    """Record that ``actor`` read the personal data in ``events`` in full; returns their ids.

    ``allowed`` is the caller's check of the reveal permission (org's ``Perm.PII_REVEAL``:
    core sits below org and cannot import it). Refused with :class:`PermissionDenied`
    otherwise. One ``pii.reveal`` event names the audit events whose values were shown,
    against the customer when the page is one customer's trail.
    """
    if not allowed:
        raise PermissionDenied(_("You may not reveal personal data."), code="permission_denied")
    shown = [e.pk for e in events if holds_personal_data(e.changes)]
    audit_record(
        actor=actor,
        action="pii.reveal",
        obj=customer,
        object_type=None if customer is not None else "core.auditevent",
        customer_id=customer.pk if customer is not None else None,
        changes={"audit_events": shown},
        summary=where or _("audit trail"),
    )
    return shown
