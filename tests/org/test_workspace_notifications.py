"""Notifications that matter (issue 14 item 4): grouped by kind with plain labels, unread by
default, and put away when their subject is done (a resolved ticket, a campaign past review)."""

from __future__ import annotations

from django.test import Client

from yiti.customers.services import customer_create
from yiti.org.models import Notification
from yiti.org.notices import notifications_expire
from yiti.service.models import Ticket
from yiti.service.services import ticket_create


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_a_done_subject_puts_its_notice_away_and_kinds_are_grouped(org):
    agent = org.users["svc_east"]
    customer = customer_create(actor=None, name="张三", unit=org.hz)
    open_one = ticket_create(
        actor=agent, customer=customer, kind="consultation", subject="still open"
    )
    done_one = ticket_create(
        actor=agent, customer=customer, kind="consultation", subject="answered"
    )
    Ticket.objects.filter(pk=done_one.pk).update(status="resolved")
    for t in (open_one, done_one):
        Notification.objects.create(
            user=agent,
            title=f"SLA breach {t.subject}",
            kind="sla_breach",
            link=f"/service/tickets/{t.pk}/",
        )
    Notification.objects.create(user=agent, title="No link", kind="holiday_schedule_missing")
    page = _client(agent).get("/account/notifications/").content.decode()
    # the notice of the resolved ticket is read now; the open one still waits
    assert "SLA breach still open" in page and "SLA breach answered" not in page
    assert Notification.objects.get(title="SLA breach answered").read_at is not None
    # grouped by kind with plain labels and counts
    assert 'data-kind="sla_breach"' in page and "SLA breaches" in page
    assert "Holiday schedules" in page
    # read ones come back on request
    everything = _client(agent).get("/account/notifications/", {"show": "all"}).content.decode()
    assert "SLA breach answered" in everything
    only = (
        _client(agent)
        .get("/account/notifications/", {"kind": "holiday_schedule_missing"})
        .content.decode()
    )
    assert "No link" in only and "SLA breach still open" not in only
    # expiring again changes nothing
    assert notifications_expire(user=agent) == 0
