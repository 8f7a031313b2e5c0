"""Template helpers for the work-order pages."""

from __future__ import annotations

from django import template

from yiti.service.dispatch.choices import Decision, WorkOrderStatus

register = template.Library()

_STATUS_BADGES = {
    WorkOrderStatus.NEW: "badge-amber",
    WorkOrderStatus.PLANNING: "badge-blue",
    WorkOrderStatus.LEADER_APPROVAL: "badge-purple",
    WorkOrderStatus.BUDGET_APPROVAL: "badge-purple",
    WorkOrderStatus.ON_TRIP: "badge-blue",
    WorkOrderStatus.ARCHIVING: "badge-purple",
    WorkOrderStatus.CLAIMING: "badge-blue",
    WorkOrderStatus.REIMBURSEMENT: "badge-purple",
    WorkOrderStatus.CLOSED: "badge-green",
}
_DECISION_BADGES = {
    Decision.SUBMIT: "badge-blue",
    Decision.APPROVE: "badge-green",
    Decision.REJECT: "badge-red",
}


@register.filter
def status_badge(status: str) -> str:
    """The badge class of a work-order status."""
    return _STATUS_BADGES.get(status, "")  # type: ignore[call-overload]


@register.filter
def decision_badge(decision: str) -> str:
    return _DECISION_BADGES.get(decision, "")  # type: ignore[call-overload]
