"""In-app notifications: the escalations the system records reach the person they are for."""

from __future__ import annotations

from django.test import Client

from yiti.org.models import Notification
from yiti.org.services import notify


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_notification_shows_with_an_unread_count_and_opens_its_link(org):
    manager, other = org.users["rm_east"], org.users["rm_north"]
    notify(users=[manager], title="SLA breached: ticket #7", body="Due 10:00", link="/service/")
    client = _client(manager)

    page = client.get("/account/notifications/")
    html = page.content.decode()
    assert page.status_code == 200 and "SLA breached: ticket #7" in html
    assert 'id="unread-count">1<' in html

    note = Notification.objects.get(user=manager)
    response = client.post("/account/notifications/read/", {"id": note.pk})
    assert response.status_code == 302 and response["Location"] == "/service/"
    note.refresh_from_db()
    assert note.read_at is not None
    assert 'id="unread-count"' not in client.get("/account/notifications/").content.decode()

    # nobody else sees it or can mark it
    assert "SLA breached" not in _client(other).get("/account/notifications/").content.decode()
    assert _client(other).post("/account/notifications/read/", {"id": note.pk}).status_code == 404


def test_mark_all_read(org):
    user = org.users["care_east"]
    notify(users=[user], title="one")
    notify(users=[user], title="two")
    response = _client(user).post("/account/notifications/read/")
    assert response.status_code == 302
    assert not Notification.objects.filter(user=user, read_at__isnull=True).exists()


def test_no_notifications_is_an_empty_state(org):
    page = _client(org.users["am_hz"]).get("/account/notifications/")
    assert page.status_code == 200 and "No notifications." in page.content.decode()
