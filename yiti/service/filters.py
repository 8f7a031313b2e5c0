"""The ticket filter shared by the queue page and the API (STYLE habit 7)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from yiti.service.choices import OPEN_STATUSES, ComplaintClass, SlaState, TicketKind, TicketStatus
from yiti.service.models import Ticket

STATUS_OPEN = "open"
STATUS_ALL = "all"
STATUS_CHOICES = (STATUS_OPEN, STATUS_ALL, *TicketStatus.values)


def _int(raw: Any) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _truthy(raw: Any) -> bool:
    return str(raw or "").lower() in {"1", "true", "on", "yes"}


@dataclass(frozen=True)
class TicketFilters:
    status: str = STATUS_OPEN  # "open" (every open status), "all", or one status
    kind: str = ""
    complaint_class: str = ""
    sla_state: str = ""
    assignee_id: int | None = None
    mine: bool = False
    customer_id: int | None = None
    campaign_id: int | None = None

    @classmethod
    def from_mapping(cls, data: Any) -> TicketFilters:
        status = data.get("status") or STATUS_OPEN
        kind = data.get("kind") or ""
        complaint_class = data.get("complaint_class") or ""
        sla_state = data.get("sla_state") or ""
        return cls(
            status=status if status in STATUS_CHOICES else STATUS_OPEN,
            kind=kind if kind in TicketKind.values else "",
            complaint_class=complaint_class if complaint_class in ComplaintClass.values else "",
            sla_state=sla_state if sla_state in SlaState.values else "",
            assignee_id=_int(data.get("assignee")),
            mine=_truthy(data.get("mine")),
            customer_id=_int(data.get("customer")),
            campaign_id=_int(data.get("campaign")),
        )

    @property
    def active(self) -> bool:
        """Whether anything beyond the default (open tickets) is asked for."""
        return self != TicketFilters()

    def apply(self, qs: QuerySet[Ticket], *, user_id: int | None = None) -> QuerySet[Ticket]:
        if self.status == STATUS_OPEN:
            qs = qs.filter(status__in=OPEN_STATUSES)
        elif self.status != STATUS_ALL:
            qs = qs.filter(status=self.status)
        if self.kind:
            qs = qs.filter(kind=self.kind)
        if self.complaint_class:
            # only complaints have a class; saying so lets the (unit, kind) index serve it
            qs = qs.filter(kind=TicketKind.COMPLAINT, complaint_class=self.complaint_class)
        if self.sla_state:
            qs = qs.filter(sla_state=self.sla_state)
        if self.mine:
            qs = qs.filter(assignee_id=user_id)
        elif self.assignee_id:
            qs = qs.filter(assignee_id=self.assignee_id)
        if self.customer_id:
            qs = qs.filter(customer_id=self.customer_id)
        if self.campaign_id:
            qs = qs.filter(campaign_id=self.campaign_id)
        return qs
