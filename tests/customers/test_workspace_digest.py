"""The daily digest of notifications (issue 14 item 4): opt in on the notifications page; each
morning one e-mail lists by kind what still waits, once a day, and nothing when nothing waits."""

from __future__ import annotations

from django.test import Client

from yiti.channels.models import OutboxMessage
from yiti.customers.digest import digests_send
from yiti.customers.models import DigestSubscription
from yiti.org.models import Notification


def test_a_subscriber_gets_one_digest_a_day_of_what_waits(org):
    agent = org.users["svc_east"]
    agent.email = "svc@example.com"
    agent.save(update_fields=["email"])
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(agent)
    page = client.get("/account/notifications/").content.decode()
    assert 'id="digest-toggle"' in page
    client.post("/customers/digest/", {"daily": "on", "next": "/account/notifications/"})
    assert DigestSubscription.objects.get(user=agent).active
    # nothing waits: nothing is sent
    assert digests_send() == 0
    DigestSubscription.objects.filter(user=agent).update(last_sent_on=None)
    Notification.objects.create(user=agent, title="工单 #1 超出 SLA", kind="sla_breach", link="")
    Notification.objects.create(
        user=agent, title="尚未导入放假安排", kind="holiday_schedule_missing"
    )
    assert digests_send() == 1
    mail = OutboxMessage.objects.get(kind="org.digest")
    assert mail.to == "svc@example.com"
    assert "工单 #1 超出 SLA" in mail.body and "/account/notifications/" in mail.body
    # a second run the same morning sends nothing more
    assert digests_send() == 0 and OutboxMessage.objects.filter(kind="org.digest").count() == 1
    # turned off: no more digests
    client.post("/customers/digest/", {"daily": "off"})
    DigestSubscription.objects.filter(user=agent).update(last_sent_on=None)
    assert digests_send() == 0
