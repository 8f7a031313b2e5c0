"""Who calls: the care unit serving a customer, its least-loaded care agent, its manager.

The care unit of a customer is the nearest unit at or above the customer's unit in which care
agents hold a membership (a branch with its own care agent, else the region's care line, else
the company's care centre). :class:`CareRoster` reads the care agents and their open workload
in two queries, then assigns any number of tasks from memory, balancing as it goes.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Count

from yiti.care.choices import TaskStatus
from yiti.care.models import CareTask
from yiti.org.choices import Role
from yiti.org.models import Membership, OrgUnit, User


def unit_chain(path: str, unit_id: int | None = None) -> list[int]:
    """Unit ids from the unit up to the root, nearest first (from a materialised path)."""
    ids = [int(part) for part in path.strip("/").split("/") if part]
    if unit_id is not None and (not ids or ids[-1] != unit_id):
        ids.append(unit_id)
    return list(reversed(ids))


class CareRoster:
    def __init__(self) -> None:
        self.agents_by_unit: dict[int, list[int]] = defaultdict(list)
        for user_id, unit_id in (
            Membership.objects.current()
            .filter(role=Role.CARE_AGENT, user__is_active=True)
            .order_by("unit_id", "user_id")
            .values_list("user_id", "unit_id")
        ):
            self.agents_by_unit[unit_id].append(user_id)
        self.load: dict[int, int] = dict(
            CareTask.objects.filter(status=TaskStatus.OPEN, assignee__isnull=False)
            .order_by()
            .values("assignee_id")
            .annotate(n=Count("id"))
            .values_list("assignee_id", "n")
        )

    def care_unit(self, path: str, unit_id: int | None = None) -> int | None:
        for candidate in unit_chain(path, unit_id):
            if self.agents_by_unit.get(candidate):
                return candidate
        return None

    def pick(self, care_unit_id: int | None) -> int | None:
        """The least-loaded agent of the unit (ties: lowest id); counts the new task."""
        if care_unit_id is None:
            return None
        agents = self.agents_by_unit.get(care_unit_id) or []
        if not agents:
            return None
        chosen = min(agents, key=lambda user_id: (self.load.get(user_id, 0), user_id))
        self.load[chosen] = self.load.get(chosen, 0) + 1
        return chosen


def managers_for(unit: OrgUnit | None) -> list[User]:
    """Region managers at or above ``unit`` (the nearest unit with any), else admins above it."""
    if unit is None:
        return []
    chain = unit_chain(unit.path, unit.pk)
    rows: list[Any] = list(
        Membership.objects.current()
        .filter(unit_id__in=chain, role__in=[Role.REGION_MANAGER, Role.ADMIN], user__is_active=True)
        .select_related("user")
    )
    rank = {unit_id: i for i, unit_id in enumerate(chain)}
    for role in (Role.REGION_MANAGER, Role.ADMIN):
        matching = [m for m in rows if m.role == role]
        if matching:
            nearest = min(rank[m.unit_id] for m in matching)
            users = {m.user_id: m.user for m in matching if rank[m.unit_id] == nearest}
            return [users[k] for k in sorted(users)]
    return []
