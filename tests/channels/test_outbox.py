"""E-mail to customers and staff leaves through the outbox (issue 18 item 19): queued with
the change, sent by the worker through the channel adapter, retried while the SMTP server
is down, recorded as sent (and put on the timeline) only once it was sent, exactly once."""

from __future__ import annotations

import socket
import threading
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from tests.api.conftest import Api
from tests.smtp_server import SmtpServer, _Server
from yiti.channels.choices import OutboxStatus
from yiti.channels.models import OutboxMessage
from yiti.channels.outbox import outbox_deliver_due, outbox_enqueue
from yiti.customers.services import contact_point_add, customer_create
from yiti.engagement.models import Interaction
from yiti.org.services import notify, token_create
from yiti.service.choices import TicketStatus
from yiti.service.models import Ticket
from yiti.service.services import ticket_create


class SmtpOnPort(SmtpServer):
    """The loopback SMTP server started on a given port: the same address coming back up."""

    def __init__(self, host: str, port: int) -> None:
        self._server = _Server((host, port))
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_down(settings):
    """Django's SMTP backend pointed at a loopback port nobody listens on (yet); the worker
    runs tasks as they are enqueued."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _free_port()
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 2
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default", "sending", "reports"],
        }
    }
    return settings


@pytest.fixture
def ticket(org):
    customer = customer_create(actor=None, name="陈静", unit=org.hz, owner=org.users["am_hz"])
    contact_point_add(actor=None, customer=customer, kind="email", value="chen@example.cn")
    return ticket_create(actor=None, customer=customer, kind="consultation", subject="宽带咨询")


def _news(ticket: Ticket):
    return Interaction.objects.filter(ticket_id=ticket.pk, channel="email")


def test_a_transition_commits_while_smtp_is_down_and_the_mail_is_sent_once_when_it_is_back(
    org, ticket, smtp_down, django_capture_on_commit_callbacks
):
    _token, raw = token_create(user=org.users["svc_east"], name="tests")
    api = Api(token=raw)
    # when the agent starts work while the mail server is down
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/service/tickets/{ticket.pk}/transition", {"to_status": TicketStatus.IN_PROGRESS}
        )
    # then the transition is committed and answered normally
    assert response.status_code == 200, response.content
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.IN_PROGRESS
    # and the e-mail was tried once, is waiting for a retry, and is not on the timeline as sent
    [queued] = OutboxMessage.objects.filter(kind="service.customer_news")
    assert (queued.status, queued.attempts, queued.to) == (
        OutboxStatus.PENDING,
        1,
        "chen@example.cn",
    )
    assert queued.last_error and queued.sent_at is None
    assert not _news(ticket).exists()
    # a sweep before the retry is due sends nothing
    assert outbox_deliver_due(now=timezone.now()) == {}

    # when the mail server is back on the same address and the retry is due
    with SmtpOnPort(smtp_down.EMAIL_HOST, smtp_down.EMAIL_PORT) as smtp:
        later = timezone.now() + timedelta(minutes=2)
        assert outbox_deliver_due(now=later) == {"sent": 1}
        # further sweeps (and a second worker) send nothing again
        assert outbox_deliver_due(now=later + timedelta(hours=1)) == {}
        assert outbox_deliver_due(now=later + timedelta(days=2)) == {}
        # then the customer got exactly one message, with the outbox's Message-ID
        [mail] = smtp.messages
    assert mail.rcpt_to == ["chen@example.cn"]
    assert f"[#{ticket.pk}]" in mail.subject
    queued.refresh_from_db()
    assert queued.status == OutboxStatus.SENT and queued.attempts == 2
    assert mail.message["Message-ID"] == f"<{queued.idempotency_key}@yiti>"
    # and the timeline shows it once, as sent, when it was sent
    [news] = _news(ticket)
    assert news.outcome == "sent" and news.occurred_at == min(later, news.occurred_at)


def test_a_rolled_back_change_queues_and_sends_nothing(org, ticket, smtp_down):
    with SmtpOnPort(smtp_down.EMAIL_HOST, smtp_down.EMAIL_PORT) as smtp:
        with pytest.raises(RuntimeError), transaction.atomic():
            notify(users=[org.users["rm_east"]], title="t", email=True)
            raise RuntimeError("the change fails")
        assert outbox_deliver_due(now=timezone.now() + timedelta(days=1)) == {}
        assert smtp.messages == []
    assert not OutboxMessage.objects.exists()


def test_staff_notifications_are_retried_then_given_up_never_raising(
    org, smtp_down, django_capture_on_commit_callbacks
):
    rm = org.users["rm_east"]
    rm.email = "rm.east@example.com"
    rm.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        notify(users=[rm], title="SLA breached", body="ticket", email=True)
    [queued] = OutboxMessage.objects.filter(kind="org.notification")
    assert queued.status == OutboxStatus.PENDING and queued.attempts == 1
    now = timezone.now()
    for _ in range(20):
        now += timedelta(hours=13)
        outbox_deliver_due(now=now)
    queued.refresh_from_db()
    assert queued.status == OutboxStatus.GAVE_UP and queued.attempts == 11


def test_the_same_key_queues_one_message(db, smtp_down):
    first = outbox_enqueue(channel="email", to="a@example.com", body="x", idempotency_key="k-1")
    again = outbox_enqueue(channel="email", to="a@example.com", body="x", idempotency_key="k-1")
    assert first.pk == again.pk and OutboxMessage.objects.count() == 1
