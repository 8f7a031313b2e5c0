"""The topic catalogue of consultations and complaints (热点问题), and the topic of a ticket.

Topics live in the service app because tickets point at them; the catalogue's page and the
hot-issue analysis are in the quality layer above. Writes here follow the services' shape:
keyword-only, in one transaction, audited.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.core.audit import audit_record
from yiti.core.errors import PermissionDenied, ValidationFailed
from yiti.customers.models import Product
from yiti.org.access import access_for
from yiti.org.models import User
from yiti.service.choices import TicketEventKind, TicketKind
from yiti.service.models import Ticket, TicketEvent, Topic
from yiti.service.rules import can_manage_sla, require_work


def topics_for(kind: str | None = None, *, include: Topic | None = None) -> QuerySet[Topic]:
    """The active topics offered for a ticket of ``kind`` (all kinds when None), plus
    ``include`` (a ticket's current topic, even if since deactivated)."""
    qs = Topic.objects.filter(active=True)
    if kind:
        qs = qs.filter(applies_to__in=["", kind])
    if include is not None:
        qs = qs | Topic.objects.filter(pk=include.pk)
    return qs.order_by("name")


def topic_check(*, kind: str, topic: Topic | None) -> None:
    """A ticket of ``kind`` may take ``topic``: active, and for this kind (or any)."""
    if topic is None:
        return
    if not topic.active:
        raise ValidationFailed(
            _("This topic is no longer in use."), field="topic", code="topic_inactive"
        )
    if topic.applies_to and topic.applies_to != kind:
        raise ValidationFailed(
            _("This topic is for %(kind)s tickets.") % {"kind": TicketKind(topic.applies_to).label},
            field="topic",
            code="topic_wrong_kind",
        )


def _require_manage(actor: User | None) -> None:
    if actor is not None and not can_manage_sla(access_for(actor)):
        raise PermissionDenied(
            _("Only administrators and region managers keep the topic catalogue.")
        )


def topic_save(
    *,
    actor: User | None,
    topic: Topic | None = None,
    name: str,
    applies_to: str = "",
    product: Product | None = None,
    campaign_id: int | None = None,
    keywords: str = "",
    active: bool = True,
) -> Topic:
    """Create a topic (``topic`` None) or change one. Names are unique."""
    _require_manage(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("A topic needs a name."), field="name", code="required")
    if len(name) > 80:
        raise ValidationFailed(_("The name is longer than 80 characters."), field="name")
    if applies_to and applies_to not in TicketKind.values:
        raise ValidationFailed(_("Unknown ticket kind."), field="applies_to")
    if applies_to not in ("", TicketKind.CONSULTATION, TicketKind.COMPLAINT):
        raise ValidationFailed(
            _("A topic is for consultations, complaints or both."), field="applies_to"
        )
    if campaign_id is not None and campaign_id <= 0:
        raise ValidationFailed(_("Not a campaign id."), field="campaign_id")
    keywords = " ".join((keywords or "").replace("，", ",").replace(",", " ").split())[:255]
    fields = {
        "name": name,
        "applies_to": applies_to,
        "product": product,
        "campaign_id": campaign_id,
        "keywords": keywords,
        "active": active,
    }
    creating = topic is None
    before = {} if creating else {k: str(getattr(topic, k)) for k in fields}
    try:
        with transaction.atomic():
            if topic is None:
                topic = Topic.objects.create(**fields)
            else:
                for key, value in fields.items():
                    setattr(topic, key, value)
                topic.save(update_fields=[*fields, "updated_at"])
    except IntegrityError as exc:
        raise ValidationFailed(
            _("A topic with this name exists already."), field="name", code="topic_exists"
        ) from exc
    audit_record(
        actor=actor,
        action="topic.create" if creating else "topic.change",
        obj=topic,
        changes={"before": before, "after": {k: str(v) for k, v in fields.items()}},
        summary=name,
    )
    return topic


@transaction.atomic
def ticket_topic_set(*, actor: User | None, ticket: Ticket, topic: Topic | None) -> Ticket:
    """Choose (or clear) the ticket's topic; whoever may work the ticket may. Recorded in the
    ticket's history as an internal note."""
    require_work(actor, ticket)
    if topic is not None and topic.pk == ticket.topic_id:
        return ticket
    topic_check(kind=ticket.kind, topic=topic)
    before = ticket.topic_id
    ticket.topic = topic
    ticket.save(update_fields=["topic", "updated_at"])
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEventKind.NOTE,
        at=timezone.now(),
        actor=actor,
        body=_("Topic: %(topic)s") % {"topic": topic.name if topic else "—"},
    )
    audit_record(
        actor=actor,
        action="ticket.topic",
        obj=ticket,
        customer_id=ticket.customer_id,
        changes={"topic": [before, topic.pk if topic else None]},
        summary=topic.name if topic else "",
    )
    return ticket
