"""The care line watches the sales line (seed 002, scenario 3): an account manager whose
customers have gone quiet raises an alert to his region manager and to the care centre that
serves his unit.

"Quiet": an active customer with no contact for ``YITI_QUIET_DAYS`` days (the customer's
``last_contact_at``, kept by every interaction, or never contacted). An account manager with
at least ``YITI_QUIET_MIN_CUSTOMERS`` customers of whom a share above ``YITI_QUIET_SHARE``
is quiet raises the alert; the daily task (``care.quiet_watch``) sends it as an in-app
notification that links to the customer list filtered the same way (``?owner=…&quiet=N``),
and repeats it at most every ``QUIET_REPEAT_DAYS`` days while the customers stay quiet.

Set-based: one grouped count over the customers finds the account managers, one read of the
current memberships finds the recipients, and the notifications are inserted in bulk.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from yiti.care.roster import unit_chain
from yiti.customers.choices import CustomerStatus
from yiti.customers.models import Customer
from yiti.org.choices import Role
from yiti.org.models import Membership, Notification, User
from yiti.org.services import notify

QUIET_KIND = "care.quiet"  # notification kind prefix: care.quiet:<account manager id>
QUIET_REPEAT_DAYS = 7


@dataclass(frozen=True)
class QuietRule:
    days: int
    share: float
    min_customers: int

    @classmethod
    def from_settings(cls) -> QuietRule:
        return cls(
            days=int(getattr(settings, "YITI_QUIET_DAYS", 30)),
            share=float(getattr(settings, "YITI_QUIET_SHARE", 0.3)),
            min_customers=int(getattr(settings, "YITI_QUIET_MIN_CUSTOMERS", 10)),
        )


@dataclass(frozen=True)
class QuietManager:
    """An account manager whose customers have gone quiet."""

    user_id: int
    customers: int
    quiet: int

    @property
    def share(self) -> float:
        return self.quiet / self.customers if self.customers else 0.0


def quiet_managers(*, rule: QuietRule, now: datetime) -> list[QuietManager]:
    """Account managers above the rule's share of quiet customers, most quiet first."""
    cutoff = now - timedelta(days=rule.days)
    rows = (
        Customer.objects.filter(status=CustomerStatus.ACTIVE, owner__isnull=False)
        .order_by()
        .values("owner_id")
        .annotate(
            total=Count("id"),
            quiet=Count(
                "id", filter=Q(last_contact_at__lt=cutoff) | Q(last_contact_at__isnull=True)
            ),
        )
        .filter(total__gte=max(1, rule.min_customers))
    )
    found = [QuietManager(r["owner_id"], r["total"], r["quiet"]) for r in rows]
    return sorted((m for m in found if m.share > rule.share), key=lambda m: (-m.share, m.user_id))


def _recipients(manager_ids: list[int]) -> dict[int, set[int]]:
    """For each account manager: the region managers nearest above his units and the care
    agents of the care centre nearest above them (the unit whose agents make his customers'
    care calls, as ``CareRoster.care_unit``)."""
    rows = list(
        Membership.objects.current()
        .filter(
            Q(user_id__in=manager_ids, role=Role.ACCOUNT_MANAGER)
            | Q(role__in=[Role.REGION_MANAGER, Role.CARE_AGENT], user__is_active=True)
        )
        .values_list("user_id", "role", "unit_id", "unit__path")
    )
    by_unit: dict[str, dict[int, set[int]]] = {
        Role.REGION_MANAGER: defaultdict(set),
        Role.CARE_AGENT: defaultdict(set),
    }
    for user_id, role, unit_id, _path in rows:
        if role in by_unit:
            by_unit[role][unit_id].add(user_id)
    out: dict[int, set[int]] = defaultdict(set)
    for user_id, role, unit_id, path in rows:
        if role != Role.ACCOUNT_MANAGER or user_id not in manager_ids:
            continue
        for group in by_unit.values():
            for candidate in unit_chain(path, unit_id):
                if group.get(candidate):
                    out[user_id] |= group[candidate]
                    break
    return out


@dataclass
class WatchResult:
    managers: list[QuietManager]
    notified: int


def quiet_watch(*, now: datetime | None = None, rule: QuietRule | None = None) -> WatchResult:
    """The scheduled watch: alert the region manager and the care centre of every account
    manager whose customers have gone quiet (not again within ``QUIET_REPEAT_DAYS``)."""
    now = now or timezone.now()
    rule = rule or QuietRule.from_settings()
    managers = quiet_managers(rule=rule, now=now)
    if not managers:
        return WatchResult([], 0)
    ids = [m.user_id for m in managers]
    recipients = _recipients(ids)
    kinds = {m.user_id: f"{QUIET_KIND}:{m.user_id}" for m in managers}
    already = set(
        Notification.objects.filter(
            kind__in=list(kinds.values()),
            created_at__gte=now - timedelta(days=QUIET_REPEAT_DAYS),
        ).values_list("user_id", "kind")
    )
    wanted = {uid for m in managers for uid in recipients.get(m.user_id, set())} | set(ids)
    users = {u.pk: u for u in User.objects.filter(pk__in=wanted)}
    notified = 0
    with transaction.atomic():
        for m in managers:
            to = [
                users[uid]
                for uid in sorted(recipients.get(m.user_id, set()))
                if uid in users and (uid, kinds[m.user_id]) not in already
            ]
            if not to:
                continue
            message = quiet_message(users[m.user_id], m, rule)
            notified += notify(
                users=to,
                title=message["title"],
                body=message["body"],
                link=message["link"],
                kind=kinds[m.user_id],
            )
    return WatchResult(managers, notified)


def quiet_message(manager: User | Any, m: QuietManager, rule: QuietRule) -> dict[str, str]:
    link = reverse("customers:list") + "?" + urlencode({"owner": m.user_id, "quiet": rule.days})
    return {
        "title": _("The customers of %(am)s have gone quiet") % {"am": manager},
        "body": _(
            "%(quiet)d of %(total)d customers of %(am)s (%(share)d%%) have had no contact "
            "for %(days)d days."
        )
        % {
            "quiet": m.quiet,
            "total": m.customers,
            "am": manager,
            "share": round(m.share * 100),
            "days": rule.days,
        },
        "link": link,
    }
