"""SLA due times run in business hours of the unit's calendar, pause and resume."""

from __future__ import annotations

from datetime import date

import pytest

from tests.service.conftest import bj
from yiti.service.calendars import calendar_for_unit, spec_for_unit
from yiti.service.choices import SlaState, TicketStatus
from yiti.service.services import (
    calendar_save,
    ticket_create,
    ticket_reopen,
    ticket_reply,
    ticket_resolve,
    ticket_transition,
)

S = TicketStatus
OFFICE = [["09:00", "12:00"], ["13:30", "18:00"]]
WEEKDAYS = {d: OFFICE for d in ("mon", "tue", "wed", "thu", "fri")}


def _open(customer, *, at, kind="consultation", actor=None):
    return ticket_create(actor=actor, customer=customer, kind=kind, subject="t", opened_at=at)


def test_a_ticket_opened_the_evening_before_golden_week_is_due_after_the_holidays(
    customers, policies
):
    # National Day 2025: 1–8 October off; Sunday 28 September and Saturday 11 October worked.
    ticket = _open(customers["hz"], at=bj(2025, 9, 30, 19))
    # 120 business minutes from Thursday 9 October 09:00
    assert ticket.first_response_due_at == bj(2025, 10, 9, 11)
    # 600 minutes: 450 on the 9th (09:00–12:00, 13:30–18:00), 150 more on Friday the 10th
    assert ticket.resolution_due_at == bj(2025, 10, 10, 11, 30)
    assert ticket.sla_state == SlaState.OK
    assert ticket.sla_next_at == bj(2025, 10, 9, 10, 36)  # 80 % of the first response


def test_an_adjusted_working_saturday_counts_as_a_working_day(customers, policies):
    # Friday 10 October 17:00, then Saturday 11 October is a working day (调休)
    ticket = _open(customers["hz"], at=bj(2025, 10, 10, 17))
    assert ticket.first_response_due_at == bj(2025, 10, 11, 10)


def test_waiting_on_the_customer_pauses_the_resolution_clock(org, customers, policies):
    agent = org.users["svc_east"]
    ticket = _open(customers["hz"], at=bj(2025, 11, 3, 9))  # Monday
    ticket = ticket_transition(
        actor=agent, ticket=ticket, to_status=S.IN_PROGRESS, at=bj(2025, 11, 3, 10)
    )
    ticket = ticket_transition(
        actor=agent, ticket=ticket, to_status=S.WAITING_CUSTOMER, at=bj(2025, 11, 3, 11)
    )
    assert ticket.sla_state == SlaState.PAUSED
    assert ticket.resolution_due_at is None and ticket.sla_next_at is None
    # two days later the customer answers: 120 minutes used, 480 left from Wednesday 09:00
    ticket = ticket_transition(
        actor=agent, ticket=ticket, to_status=S.IN_PROGRESS, at=bj(2025, 11, 5, 9)
    )
    assert ticket.resolution_due_at == bj(2025, 11, 6, 9, 30)  # 450 on Wednesday + 30
    assert ticket.sla_state == SlaState.OK


def test_a_reopened_ticket_resumes_its_resolution_clock_instead_of_breaching(
    org, customers, policies
):
    agent = org.users["svc_east"]
    ticket = _open(customers["hz"], at=bj(2025, 11, 3, 9))
    ticket_reply(actor=agent, ticket=ticket, body="Looking", at=bj(2025, 11, 3, 9, 30))
    ticket = ticket_resolve(
        actor=agent, ticket=ticket, resolution="Done", at=bj(2025, 11, 3, 14, 30)
    )
    assert ticket.sla_state == SlaState.MET  # 240 of 600 minutes used
    ticket = ticket_reopen(actor=agent, ticket=ticket, reason="Not done", at=bj(2025, 11, 10, 9))
    assert ticket.sla_state == SlaState.OK
    assert ticket.sla_breached_at is None
    # 360 minutes left from Monday 10 November 09:00: 180 + 180 after lunch
    assert ticket.resolution_due_at == bj(2025, 11, 10, 16, 30)


def test_a_ticket_resolved_late_is_missed(org, customers, policies):
    agent = org.users["svc_east"]
    ticket = _open(customers["hz"], at=bj(2025, 11, 3, 9))
    ticket_reply(actor=agent, ticket=ticket, body="Looking", at=bj(2025, 11, 3, 9, 30))
    ticket = ticket_resolve(actor=agent, ticket=ticket, resolution="Late", at=bj(2025, 11, 5, 9))
    assert ticket.sla_state == SlaState.MISSED
    # 600 minutes from Monday 09:00: 450 on Monday, 150 on Tuesday
    assert ticket.sla_breached_at == ticket.resolution_due_at == bj(2025, 11, 4, 11, 30)


def test_an_unanswered_ticket_breaches_its_first_response_first(org, customers, policies):
    ticket = _open(customers["hz"], at=bj(2025, 11, 3, 9))
    ticket = ticket_resolve(
        actor=org.users["svc_east"], ticket=ticket, resolution="Done", at=bj(2025, 11, 3, 12)
    )
    assert ticket.sla_state == SlaState.MISSED  # resolved in time, answered too late
    assert ticket.sla_breached_at == bj(2025, 11, 3, 11)


def test_the_units_own_calendar_and_its_exceptions_apply(org, customers, policies):
    calendar_save(actor=None, unit=None, name="Company", weekly_hours=WEEKDAYS)
    calendar_save(
        actor=org.users["rm_east"],
        unit=org.east,
        name="East: Saturday mornings",
        weekly_hours={**WEEKDAYS, "sat": [["09:00", "12:00"]]},
        exceptions=[(date(2025, 11, 3), [], "office move")],
    )
    assert calendar_for_unit(org.hz).name == "East: Saturday mornings"  # nearest above
    assert calendar_for_unit(org.bj).name == "Company"
    # Monday 3 November is closed for East by the exception: the clock starts on Tuesday
    ticket = _open(customers["hz"], at=bj(2025, 11, 3, 9))
    assert ticket.first_response_due_at == bj(2025, 11, 4, 11)
    # Friday 17:00 + 120 minutes runs into East's Saturday morning
    ticket = _open(customers["nb"], at=bj(2025, 11, 7, 17))
    assert ticket.first_response_due_at == bj(2025, 11, 8, 10)


def test_without_any_calendar_the_built_in_office_calendar_applies(org):
    spec = spec_for_unit(org.hz)
    assert spec.use_cn_holidays and spec.timezone == "Asia/Shanghai"


def test_a_ticket_without_a_policy_has_no_sla(customers):
    ticket = _open(customers["hz"], at=bj(2025, 11, 3, 9))
    assert ticket.sla_state == SlaState.NONE
    assert ticket.first_response_due_at is None and ticket.sla_next_at is None


@pytest.mark.parametrize(
    ("hours", "field"),
    [({"mon": [["12:00", "09:00"]]}, "weekly_hours"), ({"funday": OFFICE}, "weekly_hours")],
)
def test_unreadable_calendars_are_refused(hours, field, db):
    from yiti.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as exc:
        calendar_save(actor=None, unit=None, name="Bad", weekly_hours=hours)
    assert exc.value.field == field
