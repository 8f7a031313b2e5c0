"""The notifications page: grouped by kind, labelled in plain words, and expiring when their
subject is done (a ticket resolved, a campaign signed off or launched, a care call made).

A notification only links to its subject (``link``), and the subjects live in apps above
org, so the apps that may read them register a *subject check* per kind from their
``AppConfig.ready``: a pattern that takes the subject's id out of the link, and a function
that answers which of those ids are done. :func:`notifications_expire` marks the unread
notifications of done subjects read (one UPDATE), so the count in the top bar is what still
needs the user.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from yiti.org.models import Notification, User

DoneCheck = Callable[[set[int]], set[int]]


@dataclass(frozen=True)
class SubjectCheck:
    pattern: re.Pattern[str]
    done: DoneCheck


_checks: dict[str, SubjectCheck] = {}

# What each kind of notification is about, as the page's groups say it.
KIND_LABELS: dict[str, Promise] = {
    "ticket_assigned": _("Tickets assigned to me"),
    "sla_warning": _("SLA warnings"),
    "sla_breach": _("SLA breaches"),
    "campaign.review": _("Sign-offs waiting for me"),
    "campaign.auto_pause": _("Campaigns paused by complaints"),
    "care.escalated": _("Escalated care calls"),
    "holiday_schedule_missing": _("Holiday schedules"),
}


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, _("Other notices")))


def register_subject(kind: str, pattern: str, done: DoneCheck) -> None:
    """``pattern``: a regular expression whose first group is the subject's id in the link."""
    _checks[kind] = SubjectCheck(re.compile(pattern), done)


def _done_ids(rows: Iterable[tuple[int, str, str]]) -> list[int]:
    """The notification ids, of ``(id, kind, link)`` rows, whose subject is done."""
    wanted: dict[str, dict[int, list[int]]] = {}
    for pk, kind, link in rows:
        check = _checks.get(kind)
        match = check.pattern.search(link or "") if check else None
        if match:
            wanted.setdefault(kind, {}).setdefault(int(match.group(1)), []).append(pk)
    done: list[int] = []
    for kind, by_subject in wanted.items():
        for subject in _checks[kind].done(set(by_subject)):
            done.extend(by_subject.get(subject, []))
    return done


@transaction.atomic
def notifications_expire(*, user: User) -> int:
    """Mark read the user's unread notifications whose subject is done; how many."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True, kind__in=list(_checks))
    ids = _done_ids(unread.values_list("pk", "kind", "link"))
    if not ids:
        return 0
    return Notification.objects.filter(pk__in=ids, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def notifications_expire_all(*, batch: int = 5000) -> int:
    """Every user's unread notifications whose subject is done, marked read — run by the
    worker every few minutes (and by the demo seed at its end), so the count in the top bar is
    what still needs each user, also for one who never opens the notifications page. Works
    through the unread ones ``batch`` at a time: a few queries per batch, never per row."""
    kinds = list(_checks)
    last, expired = 0, 0
    while True:
        rows = list(
            Notification.objects.filter(read_at__isnull=True, kind__in=kinds, pk__gt=last)
            .order_by("pk")
            .values_list("pk", "kind", "link")[:batch]
        )
        if not rows:
            return expired
        last = rows[-1][0]
        ids = _done_ids(rows)
        if ids:
            expired += Notification.objects.filter(pk__in=ids, read_at__isnull=True).update(
                read_at=timezone.now()
            )


@dataclass(frozen=True)
class KindCount:
    kind: str
    label: str
    unread: int
    total: int


def kinds_of(user: User) -> list[KindCount]:
    """The user's notification kinds with their unread and total counts, most unread first."""
    rows = (
        Notification.objects.filter(user=user)
        .values("kind")
        .annotate(total=Count("pk"), unread=Count("pk", filter=Q(read_at__isnull=True)))
    )
    out = [KindCount(r["kind"], kind_label(r["kind"]), r["unread"], r["total"]) for r in rows]
    return sorted(out, key=lambda k: (-k.unread, k.label))


def notifications_filtered(
    user: User, *, kind: str = "", unread_only: bool = True
) -> QuerySet[Notification]:
    qs = Notification.objects.filter(user=user)
    if kind:
        qs = qs.filter(kind=kind)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")
