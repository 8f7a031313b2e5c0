"""Who acts at which step of a work order, and who sees which work orders. One place.

Actors:

* **manager** — the department head who assigns the traveller and files the archive, and
  the responsible leader who approves the plan: a ``region_manager`` of the work order's unit
  or of a unit above it, or an ``admin`` (a superuser is an admin of the whole tree);
* **traveller** — the ``field_engineer`` assigned to the work order, and only them;
* **finance** — a ``finance`` member of any unit. Finance is a company-wide function, so it
  sees and acts on the work orders of every unit (its own unit, often a department without
  customers, does not limit it). Finance sees the customer's name and the trip, never the
  customer's contact details.

Nobody approves or reimburses their own trip. Everyone else sees the work orders of the units
their memberships open (``access_for(user).unit_ids``), and a traveller also the trips
assigned to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from yiti.core.errors import NotFound, PermissionDenied, ValidationFailed
from yiti.org.access import access_for
from yiti.org.choices import Role
from yiti.org.models import Membership, OrgUnit
from yiti.service.dispatch.choices import Decision, Step, WorkOrderStatus
from yiti.service.dispatch.models import WorkOrder

MANAGER_ROLES = frozenset({Role.REGION_MANAGER, Role.ADMIN})
CREATOR_ROLES = frozenset({Role.REGION_MANAGER, Role.ADMIN, Role.SERVICE_AGENT})


class Actor(StrEnum):
    MANAGER = "manager"
    TRAVELLER = "traveller"
    FINANCE = "finance"


@dataclass(frozen=True)
class Stage:
    """What a work order in ``status`` waits for: the step, who takes it, where it leads."""

    status: WorkOrderStatus
    step: Step
    actor: Actor
    forward: WorkOrderStatus
    decision: Decision
    back: WorkOrderStatus | None = None  # where a rejection at this stage returns the order


S = WorkOrderStatus
STAGES: dict[str, Stage] = {
    s.status: s
    for s in (
        Stage(S.NEW, Step.ASSIGN, Actor.MANAGER, S.PLANNING, Decision.SUBMIT),
        Stage(S.PLANNING, Step.PLAN, Actor.TRAVELLER, S.LEADER_APPROVAL, Decision.SUBMIT, S.NEW),
        Stage(
            S.LEADER_APPROVAL,
            Step.APPROVE,
            Actor.MANAGER,
            S.BUDGET_APPROVAL,
            Decision.APPROVE,
            S.PLANNING,
        ),
        Stage(
            S.BUDGET_APPROVAL,
            Step.BUDGET_APPROVE,
            Actor.FINANCE,
            S.ON_TRIP,
            Decision.APPROVE,
            S.PLANNING,
        ),
        Stage(S.ON_TRIP, Step.REPORT, Actor.TRAVELLER, S.ARCHIVING, Decision.SUBMIT),
        Stage(S.ARCHIVING, Step.ARCHIVE, Actor.MANAGER, S.CLAIMING, Decision.APPROVE, S.ON_TRIP),
        Stage(S.CLAIMING, Step.CLAIM, Actor.TRAVELLER, S.REIMBURSEMENT, Decision.SUBMIT),
        Stage(
            S.REIMBURSEMENT,
            Step.REIMBURSE,
            Actor.FINANCE,
            S.CLOSED,
            Decision.APPROVE,
            S.CLAIMING,
        ),
    )
}
STAGE_BY_STEP: dict[str, Stage] = {s.step: s for s in STAGES.values()}

# the steps that sign off someone's trip: never by the traveller themself
_NOT_BY_TRAVELLER = frozenset({Step.APPROVE, Step.BUDGET_APPROVE, Step.ARCHIVE, Step.REIMBURSE})


def _authenticated(user: Any) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


def role_paths(user: Any, roles: frozenset[str]) -> list[str]:
    """Materialised paths of the units where ``user`` holds one of ``roles``."""
    if not _authenticated(user):
        return []
    if user.is_superuser and Role.ADMIN in roles:
        return ["/"]
    return list(
        Membership.objects.current()
        .filter(user_id=user.pk, role__in=roles)
        .values_list("unit__path", flat=True)
    )


def holds_role_over(user: Any, unit: OrgUnit, roles: frozenset[str]) -> bool:
    """``user`` holds one of ``roles`` in ``unit`` or in a unit above it."""
    return any(unit.path.startswith(p) for p in role_paths(user, roles))


def is_finance(user: Any) -> bool:
    return _authenticated(user) and Role.FINANCE in access_for(user).roles


def visible_q(user: Any) -> Q:
    """The work orders ``user`` may see (see the module docstring)."""
    if not _authenticated(user):
        return Q(pk__in=[])
    access = access_for(user)
    if access.is_admin or Role.FINANCE in access.roles:
        return Q()
    return Q(unit_id__in=access.unit_ids) | Q(traveller_id=user.pk)


def is_visible(user: Any, work_order: WorkOrder) -> bool:
    if not _authenticated(user):
        return False
    access = access_for(user)
    return (
        access.is_admin
        or Role.FINANCE in access.roles
        or work_order.unit_id in access.unit_ids
        or work_order.traveller_id == user.pk
    )


def waiting_q(user: Any) -> Q:
    """The work orders whose next step ``user`` may take ("my tasks"), as one filter."""
    q = Q(pk__in=[])
    if not _authenticated(user):
        return q
    by_actor: dict[Actor, list[str]] = {a: [] for a in Actor}
    for stage in STAGES.values():
        by_actor[stage.actor].append(stage.status)
    for path in role_paths(user, MANAGER_ROLES):
        q |= Q(status__in=by_actor[Actor.MANAGER], unit__path__startswith=path)
    if is_finance(user):
        q |= Q(status__in=by_actor[Actor.FINANCE])
    q |= Q(traveller_id=user.pk, status__in=by_actor[Actor.TRAVELLER])
    return q


def _own_trip(user: Any, work_order: WorkOrder, stage: Stage) -> bool:
    return stage.step in _NOT_BY_TRAVELLER and work_order.traveller_id == user.pk


def _holds_stage_role(user: Any, work_order: WorkOrder, stage: Stage) -> bool:
    if not _authenticated(user):
        return False
    if stage.actor == Actor.TRAVELLER:
        return work_order.traveller_id == user.pk
    if stage.actor == Actor.FINANCE:
        return is_finance(user)
    return holds_role_over(user, work_order.unit, MANAGER_ROLES)


def may_act(user: Any, work_order: WorkOrder, stage: Stage) -> bool:
    return _holds_stage_role(user, work_order, stage) and not _own_trip(user, work_order, stage)


def next_stage_for(user: Any, work_order: WorkOrder) -> Stage | None:
    """The stage whose step ``user`` may take now, or None."""
    stage = STAGES.get(work_order.status)
    if stage is None or not is_visible(user, work_order) or not may_act(user, work_order, stage):
        return None
    return stage


def require_stage(actor: Any, work_order: WorkOrder, step: Step | None) -> Stage:
    """Check that ``work_order`` waits for ``step`` and that ``actor`` may take it; with
    ``step`` None, that ``actor`` may send it back from where it is.

    Out of scope: NotFound. Wrong state: ValidationFailed ``invalid_step``. Wrong role:
    PermissionDenied ``wrong_role``.
    """
    if not is_visible(actor, work_order):
        raise NotFound(_("Work order not found."))
    stage = STAGES.get(work_order.status)
    if step is None:
        if stage is None or stage.back is None:
            raise ValidationFailed(
                _("A work order in the state “%(status)s” cannot be sent back.")
                % {"status": work_order.get_status_display()},
                code="invalid_step",
            )
    elif stage is None or stage.step != step:
        raise ValidationFailed(
            _("This work order is at “%(status)s”; it is not waiting for “%(step)s”.")
            % {"status": work_order.get_status_display(), "step": Step(step).label},
            code="invalid_step",
        )
    assert stage is not None
    if _holds_stage_role(actor, work_order, stage) and _own_trip(actor, work_order, stage):
        raise PermissionDenied(
            _("Nobody approves, archives or reimburses their own trip."), code="own_trip"
        )
    if not may_act(actor, work_order, stage):
        messages = {
            Actor.MANAGER: _(
                "Only a region manager of this work order's unit (or above) may take this step."
            ),
            Actor.TRAVELLER: _("Only the assigned traveller may take this step."),
            Actor.FINANCE: _("Only finance may take this step."),
        }
        raise PermissionDenied(messages[stage.actor], code="wrong_role")
    return stage
