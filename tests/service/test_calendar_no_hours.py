"""A calendar with no working hours (issue 18 item 5).

It is refused when saved (API 422 with the field, a form error on the page); at most one
company-wide calendar exists; and a calendar that has no working hours in reach anyway (saved
before the check, or closed by its exceptions) never fails a ticket, a transition, a reply or a
care call: the ticket is recorded with no SLA target, a visible note, and the unit's managers
are told once.
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from tests.service.conftest import bj
from tests.service.test_api import PREFIX, Api
from yiti.care.due import CalendarBook
from yiti.care.services import care_call_request
from yiti.org.models import Notification
from yiti.service.calendars import DAYS
from yiti.service.choices import SlaState, TicketStatus
from yiti.service.models import BusinessCalendar, TicketEvent
from yiti.service.services import (
    calendar_save,
    ticket_create,
    ticket_reply,
    ticket_transition,
)
from yiti.service.sla import managers_of

OFFICE = [["09:00", "12:00"], ["13:30", "18:00"]]
EMPTY_WEEK = {day: [] for day in DAYS}


@pytest.fixture
def api(org):
    return lambda name: Api(org.users[name])


@pytest.mark.urls("tests.service.urls_api")
def test_the_api_refuses_a_calendar_without_working_hours(org, api):
    rm = api("rm_east")
    body = {"name": "East", "unit": org.east.pk, "weekly_hours": {"mon": OFFICE}}
    created = rm.post("/calendars", body)
    assert created.status_code == 201, created.content
    # When every weekday is emptied, then 422 names the field and nothing changes
    response = rm.post(
        f"/calendars/{created.json()['id']}", {**body, "weekly_hours": EMPTY_WEEK}, method="put"
    )
    assert response.status_code == 422, response.content
    assert response.json()["field"] == "weekly_hours"
    assert response.json()["code"] == "no_working_hours"
    assert BusinessCalendar.objects.get().weekly_hours["mon"] == OFFICE
    assert rm.post("/calendars", {**body, "weekly_hours": {}}).status_code == 422
    assert PREFIX  # the router under test


@pytest.mark.urls("tests.service.urls_api")
def test_there_is_at_most_one_company_wide_calendar(org, api):
    admin = api("admin")
    body = {"name": "Company", "unit": None, "weekly_hours": {"mon": OFFICE}}
    assert admin.post("/calendars", body).status_code == 201
    second = admin.post("/calendars", {**body, "name": "Another company calendar"})
    assert second.status_code == 422
    assert second.json()["field"] == "unit" and second.json()["code"] == "duplicate_default"
    assert BusinessCalendar.objects.filter(unit__isnull=True).count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        BusinessCalendar.objects.create(name="Sneaked in", weekly_hours={"mon": OFFICE})


def test_the_calendar_page_shows_the_error_next_to_the_hours(client, org):
    client.force_login(org.users["admin"])
    response = client.post(
        "/service/calendars/new/",
        {"name": "Closed", "time_zone": "Asia/Shanghai", "adjusted_workday_as": "mon"},
    )
    assert response.status_code == 422
    assert "A calendar needs working hours on at least one weekday." in response.content.decode()
    assert not BusinessCalendar.objects.exists()


@pytest.fixture
def closed_calendar(org):
    """A company calendar without hours, as saved before the check existed."""
    return BusinessCalendar.objects.create(name="Closed", unit=None, weekly_hours=EMPTY_WEEK)


def test_a_ticket_on_a_calendar_without_hours_is_recorded_with_no_sla_target(
    org, customers, policies, closed_calendar
):
    # Given the company calendar has no working hours at all
    agent = org.users["svc_east"]
    # When a ticket is opened, taken up and answered, then nothing fails
    ticket = ticket_create(
        actor=agent,
        customer=customers["hz"],
        kind="repair",
        subject="No dial tone",
        opened_at=bj(2025, 11, 3, 10),
    )
    assert ticket.sla_state == SlaState.NONE
    assert ticket.first_response_due_at is None and ticket.resolution_due_at is None
    assert ticket.sla_next_at is None
    ticket = ticket_transition(
        actor=agent, ticket=ticket, to_status=TicketStatus.IN_PROGRESS, at=bj(2025, 11, 3, 11)
    )
    ticket_reply(actor=agent, ticket=ticket, body="On our way", at=bj(2025, 11, 3, 12))
    ticket.refresh_from_db()
    assert ticket.sla_state == SlaState.NONE
    # and the ticket says why, once
    notes = TicketEvent.objects.filter(ticket=ticket, kind="sla_no_target")
    assert len(notes) == 1
    assert "no sla target: the calendar has no working hours in reach" in notes[0].body.lower()
    # and the unit's managers were told once
    managers = managers_of(ticket)
    assert managers
    told = Notification.objects.filter(kind="sla_no_target")
    assert sorted(n.user_id for n in told) == sorted(u.pk for u in managers)


def test_the_ticket_page_shows_the_no_target_note(
    client, org, customers, policies, closed_calendar
):
    ticket = ticket_create(
        actor=None, customer=customers["hz"], kind="repair", subject="x", opened_at=bj(2025, 11, 3)
    )
    client.force_login(org.users["svc_east"])
    html = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert "no sla target: the calendar has no working hours in reach" in html.lower()


def test_a_care_call_on_a_calendar_without_hours_is_still_created(org, customers, closed_calendar):
    # Given the company calendar has no working hours, when a care call is requested
    task, created = care_call_request(
        actor=org.users["svc_east"], customer=customers["hz"], kind="first", now=bj(2025, 11, 3, 10)
    )
    # then it is created, due on the built-in office week (Monday + 2 working days)
    assert created and task.due_at == bj(2025, 11, 5, 18)


def test_the_calendar_book_falls_back_to_office_days_when_a_unit_calendar_has_none(
    org, closed_calendar
):
    book = CalendarBook()
    due = book.due(path=org.hz.path, unit_id=org.hz.pk, start=bj(2025, 11, 3, 10), days=1)
    assert due == bj(2025, 11, 4, 18)


def test_a_fixed_calendar_gives_the_ticket_its_target_back(
    org, customers, policies, closed_calendar
):
    ticket = ticket_create(
        actor=None,
        customer=customers["hz"],
        kind="repair",
        subject="x",
        opened_at=bj(2025, 11, 3, 10),
    )
    calendar_save(
        actor=org.users["admin"],
        calendar=closed_calendar,
        unit=None,
        name="Office",
        weekly_hours={d: OFFICE for d in ("mon", "tue", "wed", "thu", "fri")},
    )
    ticket = ticket_transition(
        actor=org.users["svc_east"],
        ticket=ticket,
        to_status=TicketStatus.IN_PROGRESS,
        at=bj(2025, 11, 3, 11),
    )
    assert ticket.sla_state == SlaState.OK and ticket.resolution_due_at is not None
