"""Administration reads: the unit tree with its counts, the people list, the first-run checklist."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yiti.campaigns.choices import CampaignStatus
from yiti.campaigns.models import Campaign
from yiti.core.models import AuditEvent
from yiti.customers.choices import CustomerStatus
from yiti.customers.models import Customer, Order, Product
from yiti.engagement.models import ContactPolicyRule
from yiti.org.access import access_for
from yiti.org.models import Membership, OrgUnit, User
from yiti.org.roles import Perm
from yiti.service.choices import OPEN_STATUSES
from yiti.service.models import BusinessCalendar, Ticket

HELD_CAMPAIGN_STATUSES = (CampaignStatus.RUNNING, CampaignStatus.PAUSED)


@dataclass(frozen=True)
class Holdings:
    customers: int
    open_tickets: int
    campaigns: int


def unit_holdings(unit: OrgUnit) -> Holdings:
    """What ``unit`` and its subtree still own: customers (not merged), open tickets and
    running or paused campaigns (as owner or participant)."""
    subtree = OrgUnit.objects.filter(path__startswith=unit.path).values("id")
    customers = (
        Customer.objects.filter(unit_id__in=subtree).exclude(status=CustomerStatus.MERGED).count()
    )
    tickets = Ticket.objects.filter(unit_id__in=subtree, status__in=OPEN_STATUSES).count()
    campaigns = (
        Campaign.objects.filter(status__in=HELD_CAMPAIGN_STATUSES)
        .filter(Q(owner_unit_id__in=subtree) | Q(participating_units__in=subtree))
        .distinct()
        .count()
    )
    return Holdings(customers=customers, open_tickets=tickets, campaigns=campaigns)


@dataclass
class UnitRow:
    unit: OrgUnit
    members: int
    customers: int


def unit_tree(*, include_inactive: bool = True) -> list[UnitRow]:
    """Every unit in tree order with its members in force and its own customers (three queries)."""
    units = list(OrgUnit.objects.select_related("parent").order_by("path"))
    if not include_inactive:
        units = [u for u in units if u.active]
    members = Counter(
        dict(
            Membership.objects.current()
            .filter(user__is_active=True)
            .values_list("unit_id")
            .annotate(n=Count("user_id", distinct=True))
            .values_list("unit_id", "n")
        )
    )
    customers = Counter(
        dict(
            Customer.objects.exclude(status=CustomerStatus.MERGED)
            .values_list("unit_id")
            .annotate(n=Count("id"))
            .values_list("unit_id", "n")
        )
    )
    return [UnitRow(u, members[u.pk], customers[u.pk]) for u in units]


def units_pickable(actor: Any, *, manageable_only: bool = False) -> QuerySet[OrgUnit]:
    """Active units for a picker: every active unit for administrators; the region's units for
    a region manager when ``manageable_only``."""
    access = access_for(actor)
    qs = OrgUnit.objects.filter(active=True).order_by("path")
    if access.has(Perm.ORG_MANAGE):
        return qs
    if manageable_only:
        return qs.filter(pk__in=access.managed_unit_ids)
    return qs.filter(pk__in=access.unit_ids)


@dataclass(frozen=True)
class UserFilters:
    q: str = ""
    unit: int | None = None
    role: str = ""
    active: str = "yes"  # yes, no, all

    @classmethod
    def from_mapping(cls, data: Any) -> UserFilters:
        unit_raw = str(data.get("unit") or "").strip()
        active = str(data.get("active") or "yes")
        return cls(
            q=str(data.get("q") or "").strip()[:100],
            unit=int(unit_raw) if unit_raw.isdigit() and len(unit_raw) < 19 else None,
            role=str(data.get("role") or "").strip()[:24],
            active=active if active in ("yes", "no", "all") else "yes",
        )


def users_visible(actor: Any) -> QuerySet[User]:
    """The people ``actor`` may see on the administration pages: everybody for administrators,
    for a region manager whoever holds (or held) a role in his region."""
    access = access_for(actor)
    qs = User.objects.all()
    if not access.has(Perm.ORG_MANAGE):
        qs = qs.filter(
            pk__in=Membership.objects.filter(unit_id__in=access.managed_unit_ids).values("user_id"),
            is_superuser=False,
        )
    return qs


def user_list(actor: Any, filters: UserFilters) -> QuerySet[User]:
    qs = users_visible(actor)
    if filters.q:
        qs = qs.filter(
            Q(username__istartswith=filters.q)
            | Q(display_name__icontains=filters.q)
            | Q(email__istartswith=filters.q)
        )
    today = timezone.localdate()
    if filters.unit or filters.role:
        held = Membership.objects.current(today)
        if filters.unit:
            unit = OrgUnit.objects.filter(pk=filters.unit).first()
            held = held.filter(unit__path__startswith=unit.path) if unit else held.none()
        if filters.role:
            held = held.filter(role=filters.role)
        qs = qs.filter(pk__in=held.values("user_id"))
    if filters.active == "yes":
        qs = qs.filter(is_active=True)
    elif filters.active == "no":
        qs = qs.filter(is_active=False)
    return qs.order_by("username")


def memberships_by_user(user_ids: list[int], *, on: date | None = None) -> dict[int, list[Any]]:
    """The memberships in force of each user, for the list page (one query)."""
    out: dict[int, list[Any]] = {uid: [] for uid in user_ids}
    for m in (
        Membership.objects.current(on)
        .filter(user_id__in=user_ids)
        .select_related("unit")
        .order_by("unit__path", "role")
    ):
        out[m.user_id].append(m)
    return out


def user_memberships(user: User) -> list[Membership]:
    """All of a user's memberships, in force first, then future, then ended."""
    rows = list(Membership.objects.filter(user=user).select_related("unit"))
    today = timezone.localdate()

    def state(m: Membership) -> int:
        if m.ends_on is not None and m.ends_on <= today:
            return 2
        if m.starts_on is not None and m.starts_on > today:
            return 1
        return 0

    for m in rows:
        m.state = ("current", "future", "ended")[state(m)]  # type: ignore[attr-defined]
    return sorted(rows, key=lambda m: (state(m), m.unit.path, m.role))


# --- first-run checklist ---------------------------------------------------------------------


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    done: bool
    count: int


def checklist() -> list[ChecklistItem]:
    """The first-run path (issue 12 item 8), each step with whether it is done. Existence
    checks only (a company with ten million orders pays an index probe, not a count)."""
    units = OrgUnit.objects.filter(active=True).count()
    people = (
        User.objects.filter(is_active=True, is_superuser=False)
        .filter(Exists(Membership.objects.current().filter(user_id=OuterRef("pk"))))
        .count()
    )
    customers = Customer.objects.exclude(status=CustomerStatus.MERGED)
    return [
        ChecklistItem("units", units > 1, units),
        ChecklistItem("users", people > 0, people),
        ChecklistItem("products", Product.objects.exists(), 0),
        ChecklistItem("customers", customers.exists(), 0),
        ChecklistItem("orders", Order.objects.exists(), 0),
        ChecklistItem("policy", ContactPolicyRule.objects.exists(), 0),
        ChecklistItem("calendar", BusinessCalendar.objects.exists(), 0),
    ]


def checklist_complete() -> bool:
    return all(item.done for item in checklist())


# --- a person's history ----------------------------------------------------------------------

HISTORY_LABELS = {
    "org.user_create": _("Created"),
    "org.user_update": _("Details changed"),
    "org.user_deactivate": _("Deactivated"),
    "org.user_activate": _("Reactivated"),
    "org.user_set_password": _("Password set by an administrator"),
    "org.password_link_send": _("Set-password link sent"),
    "org.password_set_by_link": _("Password chosen through the link"),
    "org.password_change": _("Password changed by the user"),
    "org.membership_grant": _("Role granted"),
    "org.membership_end": _("Role ended"),
}


def user_history(user: User, *, limit: int = 20) -> list[dict[str, Any]]:
    """The latest administration events about ``user`` and his memberships (two indexed
    queries), as what happened, who did it and when — no values, so no personal data."""
    membership_ids = [
        str(i) for i in Membership.objects.filter(user=user).values_list("id", flat=True)
    ]
    events = (
        AuditEvent.objects.filter(
            Q(object_type=User._meta.label_lower, object_id=str(user.pk))
            | Q(object_type=Membership._meta.label_lower, object_id__in=membership_ids)
        )
        .select_related("actor")
        .order_by("-at", "-id")[:limit]
    )
    return [
        {
            "at": e.at,
            "actor": e.actor,
            "what": HISTORY_LABELS.get(e.action, e.action),
            "detail": e.summary,
        }
        for e in events
    ]
