"""Correcting a complaint's class and reason on its ticket (issue 14 item 2).

A complaint opened from a care survey gets its class inferred from the answer's context; the
agent who reads it may know better (the "staff conduct" was really a late gift). The class is
the agent's to change; a reason must belong to the class (``COMPLAINT_REASON_CLASS``). The
change is a write like any other: locked, an internal note on the ticket's history, audited.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.core.audit import audit_record
from yiti.core.errors import ValidationFailed
from yiti.org.models import User
from yiti.service.choices import (
    COMPLAINT_REASON_CLASS,
    ComplaintClass,
    ComplaintReason,
    TicketEventKind,
    TicketKind,
)
from yiti.service.models import Ticket, TicketEvent
from yiti.service.rules import require_work


@transaction.atomic
def complaint_classify(
    *, actor: User | None, ticket: Ticket, complaint_class: str, complaint_reason: str = ""
) -> Ticket:
    """Set the complaint's class (and reason, which must be one of the class's)."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    require_work(actor, ticket)
    if ticket.kind != TicketKind.COMPLAINT:
        raise ValidationFailed(_("Only a complaint has a class."), field="complaint_class")
    if complaint_class not in ComplaintClass.values:
        raise ValidationFailed(_("Choose the complaint class."), field="complaint_class")
    complaint_reason = complaint_reason or ""
    if complaint_reason and complaint_reason not in ComplaintReason.values:
        raise ValidationFailed(_("Unknown complaint reason."), field="complaint_reason")
    owner = (
        COMPLAINT_REASON_CLASS.get(ComplaintReason(complaint_reason)) if complaint_reason else None
    )
    if owner is not None and owner != complaint_class:
        raise ValidationFailed(
            _("“%(reason)s” is a reason of the class “%(cls)s”.")
            % {
                "reason": ComplaintReason(complaint_reason).label,
                "cls": ComplaintClass(owner).label,
            },
            field="complaint_reason",
            code="reason_class_mismatch",
        )
    before = (ticket.complaint_class, ticket.complaint_reason)
    after = (complaint_class, complaint_reason)
    if before == after:
        return ticket
    ticket.complaint_class, ticket.complaint_reason = after
    ticket.save(update_fields=["complaint_class", "complaint_reason", "updated_at"])

    def label(cls: str, reason: str) -> str:
        text = str(ComplaintClass(cls).label) if cls in ComplaintClass.values else "—"
        if reason in ComplaintReason.values:
            text += f" · {ComplaintReason(reason).label}"
        return text

    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEventKind.NOTE,
        at=timezone.now(),
        actor=actor,
        body=_("Complaint class changed: %(before)s → %(after)s")
        % {"before": label(*before), "after": label(*after)},
        public=False,
    )
    audit_record(
        actor=actor,
        action="ticket.classify",
        obj=ticket,
        customer_id=ticket.customer_id,
        changes={
            "complaint_class": [before[0], after[0]],
            "complaint_reason": [before[1], after[1]],
        },
    )
    return ticket
