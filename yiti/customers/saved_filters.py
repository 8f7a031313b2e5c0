"""Saved filters of the list pages: a user names the filters he uses every day and opens them
again with one click (customers, tickets, care calls). Writes are audited; reads are the
user's own rows."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from yiti.core.audit import audit_record
from yiti.core.errors import Conflict, NotFound, ValidationFailed
from yiti.customers.models import SavedFilter
from yiti.org.models import User

LIST_KEYS = ("customers", "tickets", "care")
MAX_PER_LIST = 20


def saved_filters_of(user: User | None, list_key: str) -> QuerySet[SavedFilter]:
    if user is None or not getattr(user, "pk", None):
        return SavedFilter.objects.none()
    return SavedFilter.objects.filter(user_id=user.pk, list_key=list_key).order_by("name", "id")


def _clean_query(query: str) -> str:
    pairs = [
        (k, v) for k, v in parse_qsl(query.lstrip("?"), keep_blank_values=False) if k != "page"
    ]
    return urlencode(pairs)[:500]


@transaction.atomic
def saved_filter_create(*, actor: User, list_key: str, name: str, query: str) -> SavedFilter:
    """Save (or replace, by name) the filters ``query`` of the list ``list_key``."""
    if list_key not in LIST_KEYS:
        raise ValidationFailed(_("Unknown list."), field="list_key")
    name = (name or "").strip()[:60]
    if not name:
        raise ValidationFailed(_("Give the filter a name."), field="name")
    query = _clean_query(query or "")
    existing = SavedFilter.objects.filter(user=actor, list_key=list_key, name=name).first()
    if existing is None and saved_filters_of(actor, list_key).count() >= MAX_PER_LIST:
        raise Conflict(
            _("At most %(n)d saved filters per list: delete one first.") % {"n": MAX_PER_LIST},
            code="too_many_filters",
        )
    try:
        with transaction.atomic():
            saved, _created = SavedFilter.objects.update_or_create(
                user=actor, list_key=list_key, name=name, defaults={"query": query}
            )
    except IntegrityError as exc:  # a concurrent save of the same name
        raise Conflict(_("A filter with this name exists."), code="duplicate") from exc
    audit_record(
        actor=actor,
        action="saved_filter.save",
        obj=saved,
        changes={"list": list_key, "name": name, "query": query},
    )
    return saved


@transaction.atomic
def saved_filter_delete(*, actor: User, filter_id: int) -> None:
    saved = SavedFilter.objects.filter(pk=filter_id, user=actor).first()
    if saved is None:
        raise NotFound(_("Saved filter not found."))
    audit_record(
        actor=actor,
        action="saved_filter.delete",
        obj=saved,
        changes={"list": saved.list_key, "name": saved.name},
    )
    saved.delete()
