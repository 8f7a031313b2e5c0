"""Reads for field dispatch, already scoped to the acting user (see ``rules``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from yiti.core.errors import NotFound
from yiti.core.search import prefix_q, search_key
from yiti.org.choices import Role
from yiti.org.models import Membership, User
from yiti.service.dispatch import rules
from yiti.service.dispatch.choices import OPEN_STATUSES, LineStage, Origin, WorkOrderStatus
from yiti.service.dispatch.models import CostLine, WorkOrder, WorkOrderStep
from yiti.service.models import Ticket
from yiti.service.selectors import ticket_get_for

VIEWS = ("tasks", "open", "all")
_REF = re.compile(r"^(?:wo-?)?0*(\d{1,12})$", re.IGNORECASE)


@dataclass(frozen=True)
class WorkOrderFilters:
    """One filter for the web list and the API (STYLE habit 7).

    ``view``: ``tasks`` — what waits for me; ``open`` — every open order in my scope;
    ``all`` — open and closed.
    """

    view: str = "tasks"
    q: str = ""
    status: str = ""
    unit_id: int | None = None
    traveller_id: int | None = None
    origin: str = ""
    customer_id: int | None = None
    ticket_id: int | None = None

    @classmethod
    def from_mapping(cls, data: Any, *, default_view: str = "tasks") -> WorkOrderFilters:
        def _int(name: str) -> int | None:
            raw = data.get(name)
            try:
                return int(raw) if raw not in (None, "") else None
            except (TypeError, ValueError):
                return None

        view = data.get("view") or default_view
        status = data.get("status") or ""
        origin = data.get("origin") or ""
        return cls(
            view=view if view in VIEWS else default_view,
            q=(data.get("q") or "").strip()[:100],
            status=status if status in WorkOrderStatus.values else "",
            unit_id=_int("unit"),
            traveller_id=_int("traveller"),
            origin=origin if origin in Origin.values else "",
            customer_id=_int("customer"),
            ticket_id=_int("ticket"),
        )

    @property
    def narrowed(self) -> bool:
        return bool(
            self.q
            or self.status
            or self.unit_id
            or self.traveller_id
            or self.origin
            or self.customer_id
            or self.ticket_id
        )


def work_orders_visible(user: Any) -> QuerySet[WorkOrder]:
    return WorkOrder.objects.filter(rules.visible_q(user))


def work_order_list(user: Any, filters: WorkOrderFilters) -> QuerySet[WorkOrder]:
    qs = work_orders_visible(user).select_related("customer", "unit", "traveller", "ticket")
    if filters.view == "tasks":
        qs = qs.filter(rules.waiting_q(user))
    elif filters.view == "open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.unit_id:
        qs = qs.filter(unit_id=filters.unit_id)
    if filters.traveller_id:
        qs = qs.filter(traveller_id=filters.traveller_id)
    if filters.origin:
        qs = qs.filter(origin=filters.origin)
    if filters.customer_id:
        qs = qs.filter(customer_id=filters.customer_id)
    if filters.ticket_id:
        qs = qs.filter(ticket_id=filters.ticket_id)
    if filters.q:
        ref = _REF.match(filters.q)
        if ref:
            qs = qs.filter(pk=int(ref.group(1)))
        else:
            qs = qs.filter(
                prefix_q("customer__name_key", search_key(filters.q))
                | Q(subject__icontains=filters.q)
                | Q(destination__icontains=filters.q)
            )
    return qs.order_by("-id")


def work_order_get_for(user: Any, work_order_id: int) -> WorkOrder:
    work_order = (
        work_orders_visible(user)
        .select_related("customer", "unit", "traveller", "ticket", "created_by")
        .filter(pk=work_order_id)
        .first()
    )
    if work_order is None:
        raise NotFound(_("Work order not found."))
    return work_order


def steps_of(work_order: WorkOrder) -> QuerySet[WorkOrderStep]:
    return work_order.steps.select_related("actor").order_by("at", "id")


def lines_of(work_order: WorkOrder, stage: str) -> QuerySet[CostLine]:
    return CostLine.objects.filter(work_order=work_order, stage=stage).order_by("id")


def budget_lines(work_order: WorkOrder) -> QuerySet[CostLine]:
    return lines_of(work_order, LineStage.BUDGET)


def expense_lines(work_order: WorkOrder) -> QuerySet[CostLine]:
    return lines_of(work_order, LineStage.EXPENSE)


def travellers_for(work_order: WorkOrder) -> QuerySet[User]:
    """Field engineers who may be sent: of the work order's unit, above it or below it."""
    path = work_order.unit.path
    ancestors = [p for p in _ancestor_paths(path)]
    memberships = (
        Membership.objects.current()
        .filter(role=Role.FIELD_ENGINEER)
        .filter(Q(unit__path__startswith=path) | Q(unit__path__in=ancestors))
    )
    return User.objects.filter(is_active=True, pk__in=memberships.values("user_id")).order_by(
        "username"
    )


def _ancestor_paths(path: str) -> list[str]:
    """``/1/4/17/`` -> ``["/1/", "/1/4/"]``."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts))]


def ticket_for_dispatch(user: Any, ticket_id: int) -> Ticket:
    """A ticket the user sees (the service desk's scoping), to dispatch a trip from."""
    return ticket_get_for(user, ticket_id)


def work_orders_of_ticket(user: Any, ticket_id: int) -> QuerySet[WorkOrder]:
    return work_orders_visible(user).filter(ticket_id=ticket_id).order_by("-id")


def tasks_count(user: Any) -> int:
    """How many work orders wait for the user (a small number: a COUNT is fine here)."""
    return work_orders_visible(user).filter(rules.waiting_q(user)).count()
