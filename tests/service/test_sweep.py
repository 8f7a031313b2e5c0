"""The periodic SLA sweep: a warning at 80 %, then a breach escalated to the unit's manager
in the app and by e-mail through a real (loopback) SMTP server."""

from __future__ import annotations

import pytest

from tests.service.conftest import bj
from yiti.core.scheduling import schedules
from yiti.org.models import Notification
from yiti.service.choices import SlaState, TicketEventKind
from yiti.service.services import ticket_create, ticket_reply
from yiti.service.tasks import sla_sweep, sla_sweep_task


@pytest.fixture
def complaint(org, customers, policies):
    rm = org.users["rm_east"]
    rm.email = "rm.east@example.com"
    rm.save(update_fields=["email"])
    return ticket_create(
        actor=None,
        customer=customers["hz"],
        kind="complaint",
        complaint_class="fulfilment",
        subject="Gift never arrived",
        opened_at=bj(2025, 11, 3, 9),  # Monday; first response due 10:00 (60 minutes)
    )


def test_warning_then_breach_escalates_to_the_region_manager_by_app_and_email(
    org, complaint, settings, smtp_server, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp_server.host, smtp_server.port
    # the worker sends the outbox as tasks are enqueued (after commit)
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default", "sending", "reports"],
        }
    }
    settings.EMAIL_USE_TLS = False
    agent, rm = org.users["svc_east"], org.users["rm_east"]
    assert complaint.sla_next_at == bj(2025, 11, 3, 9, 48)

    # given nothing is due yet, when the sweep runs, then nothing changes
    assert sla_sweep(now=bj(2025, 11, 3, 9, 40)) == 0

    # when 80 % of the first-response target has passed: a warning for the assignee
    assert sla_sweep(now=bj(2025, 11, 3, 9, 50)) == 1
    complaint.refresh_from_db()
    assert complaint.sla_state == SlaState.WARNING
    assert complaint.sla_warned_at == bj(2025, 11, 3, 9, 48)
    assert complaint.events.filter(kind=TicketEventKind.SLA_WARNING).count() == 1
    assert Notification.objects.filter(user=agent, kind="sla_warning").count() == 1
    assert not Notification.objects.filter(kind="sla_breach").exists()

    # when the target has passed: a breach, escalated in the app and by e-mail after commit
    with django_capture_on_commit_callbacks(execute=True):
        assert sla_sweep(now=bj(2025, 11, 3, 10, 5)) == 1
    complaint.refresh_from_db()
    assert complaint.sla_state == SlaState.BREACHED
    assert complaint.sla_breached_at == bj(2025, 11, 3, 10)
    assert complaint.events.filter(kind=TicketEventKind.SLA_BREACH).count() == 1
    note = Notification.objects.get(user=rm, kind="sla_breach")
    assert note.link == f"/service/tickets/{complaint.pk}/"
    [mail] = smtp_server.messages
    assert mail.rcpt_to == ["rm.east@example.com"]
    assert f"#{complaint.pk}" in mail.subject and "Gift never arrived" in mail.subject
    assert f"/service/tickets/{complaint.pk}/" in mail.body

    # a later sweep records nothing twice
    with django_capture_on_commit_callbacks(execute=True):
        assert sla_sweep(now=bj(2025, 11, 3, 10, 30)) == 0
    assert complaint.events.filter(kind=TicketEventKind.SLA_BREACH).count() == 1
    assert len(smtp_server.messages) == 1


def test_an_answered_ticket_is_not_warned_about_its_first_response(org, complaint):
    ticket_reply(
        actor=org.users["svc_east"], ticket=complaint, body="Sorry", at=bj(2025, 11, 3, 9, 30)
    )
    complaint.refresh_from_db()
    # next threshold: 80 % of 480 minutes = 384 → Monday 13:30 + 204 minutes
    assert complaint.sla_next_at == bj(2025, 11, 3, 16, 54)
    assert sla_sweep(now=bj(2025, 11, 3, 10, 30)) == 0
    assert not complaint.events.filter(kind=TicketEventKind.SLA_WARNING).exists()


def test_the_sweep_looks_only_at_the_tickets_that_are_due(org, customers, policies):
    late = ticket_create(
        actor=None,
        customer=customers["hz"],
        kind="consultation",
        subject="old",
        opened_at=bj(2025, 11, 3, 9),
    )
    for _ in range(4):
        ticket_create(
            actor=None,
            customer=customers["hz"],
            kind="consultation",
            subject="fresh",
            opened_at=bj(2025, 11, 5, 9),
        )
    assert sla_sweep(now=bj(2025, 11, 4, 9)) == 1
    late.refresh_from_db()
    assert late.sla_state == SlaState.BREACHED


def test_the_sweep_is_scheduled_every_five_minutes(db):
    [schedule] = [s for s in schedules() if s.name == "service.sla_sweep"]
    assert schedule.cron == "*/5 * * * *"
    assert schedule.task is sla_sweep_task
    assert sla_sweep_task.call(slot="2025-11-03T10:05:00+08:00") == 0
