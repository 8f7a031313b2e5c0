"""The ticket lifecycle: the state machine, events, audit, the customer's timeline, access."""

from __future__ import annotations

import pytest

from yiti.core.errors import NotFound, PermissionDenied, ValidationFailed
from yiti.core.models import AuditEvent
from yiti.engagement.models import Interaction
from yiti.service import selectors
from yiti.service.choices import TicketEventKind, TicketStatus
from yiti.service.services import (
    ticket_assign,
    ticket_close,
    ticket_create,
    ticket_reopen,
    ticket_reply,
    ticket_resolve,
    ticket_transition,
)
from yiti.service.workflow import TRANSITIONS

S = TicketStatus


@pytest.fixture
def ticket(org, customers, policies):
    return ticket_create(
        actor=org.users["svc_east"],
        customer=customers["hz"],
        kind="consultation",
        subject="Broadband speed",
        description="Slow in the evening",
    )


def _walk(actor, ticket, path):
    for status in path:
        body = "fixed" if status == S.RESOLVED else ""
        ticket = ticket_transition(actor=actor, ticket=ticket, to_status=status, body=body)
    return ticket


def test_a_new_ticket_is_assigned_to_the_service_agent_and_recorded_everywhere(org, ticket):
    assert ticket.status == S.ASSIGNED
    assert ticket.assignee == org.users["svc_east"]
    assert ticket.unit == org.east
    kinds = list(ticket.events.values_list("kind", "to_status"))
    assert kinds == [(TicketEventKind.CREATED, S.NEW), (TicketEventKind.ASSIGNED, S.ASSIGNED)]
    assert AuditEvent.objects.filter(
        action="ticket.create", object_id=str(ticket.pk), customer_id=ticket.customer_id
    ).exists()
    interaction = Interaction.objects.get(ticket_id=ticket.pk)
    assert (interaction.purpose, interaction.channel, interaction.direction) == (
        "service",
        "call",
        "in",
    )


@pytest.mark.parametrize(
    "path",
    [
        [S.IN_PROGRESS, S.WAITING_CUSTOMER, S.IN_PROGRESS, S.RESOLVED, S.CLOSED],
        [S.WAITING_CUSTOMER, S.RESOLVED, S.REOPENED, S.IN_PROGRESS, S.RESOLVED],
        [S.RESOLVED, S.CLOSED, S.REOPENED, S.WAITING_CUSTOMER, S.RESOLVED],
    ],
)
def test_allowed_paths_are_walked_and_each_step_is_an_event_and_an_audit_entry(org, ticket, path):
    actor = org.users["svc_east"]
    ticket = _walk(actor, ticket, path)
    assert ticket.status == path[-1]
    statuses = list(
        ticket.events.filter(kind=TicketEventKind.STATUS).values_list("to_status", flat=True)
    )
    assert statuses == path
    assert AuditEvent.objects.filter(
        action="ticket.transition", object_id=str(ticket.pk)
    ).count() == len(path)


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ([], S.CLOSED),  # close without resolving
        ([], S.REOPENED),  # nothing to reopen
        ([S.IN_PROGRESS], S.NEW),
        ([S.RESOLVED], S.IN_PROGRESS),  # reopen first
        ([S.RESOLVED, S.CLOSED], S.RESOLVED),
        ([], "flying"),
    ],
)
def test_refused_transitions_raise_invalid_transition_and_change_nothing(
    org, ticket, path, refused
):
    actor = org.users["svc_east"]
    ticket = _walk(actor, ticket, path)
    events = ticket.events.count()
    with pytest.raises(ValidationFailed) as exc:
        ticket_transition(actor=actor, ticket=ticket, to_status=refused, body="x")
    assert exc.value.code == "invalid_transition"
    ticket.refresh_from_db()
    assert ticket.status == (path[-1] if path else S.ASSIGNED)
    assert ticket.events.count() == events


def test_the_table_has_every_status_and_no_way_out_of_the_machine():
    assert set(TRANSITIONS) == set(S.values)
    assert all(targets <= set(S.values) for targets in TRANSITIONS.values())


def test_resolving_needs_a_resolution(org, ticket):
    with pytest.raises(ValidationFailed) as exc:
        ticket_transition(actor=org.users["svc_east"], ticket=ticket, to_status=S.RESOLVED)
    assert exc.value.code == "resolution_required"


def test_resolve_and_reopen_land_on_the_timeline_and_reopen_clears_the_dates(org, ticket):
    actor = org.users["svc_east"]
    ticket = ticket_resolve(actor=actor, ticket=ticket, resolution="Router replaced")
    assert ticket.resolved_at is not None and ticket.resolution == "Router replaced"
    ticket = ticket_close(actor=actor, ticket=ticket)
    assert ticket.closed_at is not None
    ticket = ticket_reopen(actor=actor, ticket=ticket, reason="Slow again")
    assert (ticket.resolved_at, ticket.closed_at) == (None, None)
    subjects = list(
        Interaction.objects.filter(ticket_id=ticket.pk).values_list("subject", flat=True)
    )
    assert any("resolved" in s for s in subjects) and any("reopened" in s for s in subjects)


def test_public_reply_reaches_the_timeline_and_stops_the_first_response_clock(org, ticket):
    event = ticket_reply(actor=org.users["svc_east"], ticket=ticket, body="We are on it")
    ticket.refresh_from_db()
    assert event.public and ticket.first_response_at == event.at
    assert Interaction.objects.filter(ticket_id=ticket.pk, direction="out").count() == 1


def test_an_internal_note_stays_off_the_timeline_and_any_viewer_may_add_one(org, ticket):
    am = org.users["am_hz"]  # sees the customer, does not work tickets
    ticket_reply(actor=am, ticket=ticket, body="VIP customer, be gentle", public=False)
    assert ticket.events.filter(kind=TicketEventKind.NOTE).count() == 1
    assert Interaction.objects.filter(ticket_id=ticket.pk).count() == 1  # only the creation
    with pytest.raises(PermissionDenied):
        ticket_reply(actor=am, ticket=ticket, body="Hello", public=True)
    with pytest.raises(PermissionDenied):
        ticket_transition(actor=am, ticket=ticket, to_status=S.IN_PROGRESS)


def test_assigning_needs_an_agent_of_the_unit(org, ticket, svc_north):
    with pytest.raises(ValidationFailed) as exc:
        ticket_assign(actor=org.users["rm_east"], ticket=ticket, assignee=svc_north)
    assert exc.value.code == "not_an_agent"


def test_an_agent_of_another_region_can_neither_see_nor_act(org, ticket, svc_north):
    with pytest.raises(NotFound):
        selectors.ticket_get_for(svc_north, ticket.pk)
    assert not selectors.tickets_visible(svc_north).filter(pk=ticket.pk).exists()
    for attempt in (
        lambda: ticket_transition(actor=svc_north, ticket=ticket, to_status=S.IN_PROGRESS),
        lambda: ticket_reply(actor=svc_north, ticket=ticket, body="hi", public=False),
        lambda: ticket_assign(actor=svc_north, ticket=ticket, assignee=svc_north),
    ):
        with pytest.raises(NotFound):
            attempt()
    ticket.refresh_from_db()
    assert ticket.status == S.ASSIGNED


def test_the_ticket_page_of_another_region_is_a_404(client, org, ticket, svc_north):
    client.force_login(svc_north)
    assert client.get(f"/service/tickets/{ticket.pk}/").status_code == 404
    response = client.post(
        f"/service/tickets/{ticket.pk}/transition/", {"to_status": "in_progress"}
    )
    assert response.status_code == 404
    client.force_login(org.users["svc_east"])
    assert client.get(f"/service/tickets/{ticket.pk}/").status_code == 200
