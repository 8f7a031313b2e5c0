"""The worker puts away every user's notifications whose subject is done, so the count in
the top bar is what still needs each user even if he never opens the notifications page."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from yiti.customers.services import customer_create
from yiti.org.models import Notification
from yiti.org.notices import notifications_expire_all
from yiti.org.tasks import notifications_expire_task
from yiti.service.models import Ticket
from yiti.service.services import ticket_create


def test_done_subjects_are_put_away_for_every_user_in_batches(org):
    agent, manager = org.users["svc_east"], org.users["rm_east"]
    customer = customer_create(actor=None, name="李四", unit=org.hz)
    tickets = [
        ticket_create(actor=agent, customer=customer, kind="consultation", subject=f"t{i}")
        for i in range(5)
    ]
    Ticket.objects.filter(pk__in=[t.pk for t in tickets[:3]]).update(status="resolved")
    for user in (agent, manager):
        for t in tickets:
            Notification.objects.create(
                user=user, title=t.subject, kind="sla_warning", link=f"/service/tickets/{t.pk}/"
            )
    Notification.objects.create(user=agent, title="no subject", kind="holiday_schedule_missing")
    unread_before = Notification.objects.filter(read_at__isnull=True).count()

    with CaptureQueriesContext(connection) as small_batches:
        expired = notifications_expire_all(batch=4)

    # the three resolved tickets' notices of both users are read; the rest still wait
    assert expired == 6
    assert Notification.objects.filter(read_at__isnull=True).count() == unread_before - 6
    for user in (agent, manager):
        waiting = Notification.objects.filter(user=user, read_at__isnull=True, kind="sla_warning")
        assert {n.link for n in waiting} == {f"/service/tickets/{t.pk}/" for t in tickets[3:]}
    # a few queries per batch, never one per notification
    assert len(small_batches.captured_queries) <= 4 * 4
    # and the scheduled task does the same (nothing left to put away)
    assert notifications_expire_task.call() == 0
