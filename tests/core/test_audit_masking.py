"""Audit pages mask personal data in before/after values like every other page (issue 18
item 7): the stored trail keeps the full values, and they show only through a reveal that is
itself recorded as ``pii.reveal``."""

from __future__ import annotations

import pytest
from django.test import Client

from yiti.core.models import AuditEvent
from yiti.customers.services import contact_point_add, customer_create, customer_update

PHONE = "+8613912345678"
EMAIL = "zhang.wei@example.com"
ADDRESS = "杭州市西湖区文三路90号"
GLOBAL = "/audit/"


@pytest.fixture
def as_user(org):
    def client_for(username):
        client = Client()
        client.force_login(org.users[username])
        return client

    return client_for


@pytest.fixture
def customer(org):
    # Given a customer of Hangzhou whose phone, e-mail and address were added after creation
    made = customer_create(actor=None, name="张伟", unit=org.hz)
    admin = org.users["admin"]
    contact_point_add(actor=admin, customer=made, kind="phone", value="13912345678")
    contact_point_add(actor=admin, customer=made, kind="email", value=EMAIL)
    contact_point_add(actor=admin, customer=made, kind="wechat", value="wxid_zhangwei88")
    customer_update(actor=admin, customer=made, address=ADDRESS)
    return made


def page_of(client, url, **kwargs):
    response = client.get(url, kwargs)
    assert response.status_code == 200
    return response.content.decode()


def full_values_absent(html: str) -> None:
    for secret in (PHONE, "13912345678", EMAIL, "zhang.wei", "wxid_zhangwei88", ADDRESS):
        assert secret not in html, secret


def test_the_stored_trail_keeps_the_full_values(customer):
    added = AuditEvent.objects.get(action="contact.add", changes__kind="phone")
    assert added.changes["value"] == [None, PHONE]


def test_a_region_manager_sees_masked_contact_points_on_the_customer_audit_page(customer, as_user):
    # When the region manager of East opens the customer's audit trail
    html = page_of(as_user("rm_east"), f"/customers/{customer.pk}/audit/")
    # Then the phone, e-mail, WeChat id and address are masked as everywhere else
    assert "+86139****5678" in html
    assert "z***@example.com" in html
    assert "w*************8" in html
    full_values_absent(html)
    # And he is offered the reveal (he holds pii.reveal), and opening the page revealed nothing
    assert 'name="reveal"' in html
    assert not AuditEvent.objects.filter(action="pii.reveal").exists()


def test_the_global_audit_log_masks_them_too(customer, as_user):
    html = page_of(as_user("admin"), GLOBAL)
    assert "+86139****5678" in html and "z***@example.com" in html
    full_values_absent(html)
    # the htmx partial of the filtered list as well
    partial = as_user("admin").get(GLOBAL, {"action": "contact."}, HTTP_HX_REQUEST="true")
    assert "+86139****5678" in partial.content.decode()
    full_values_absent(partial.content.decode())


def test_revealing_the_customer_trail_shows_the_full_values_and_is_audited(customer, org, as_user):
    client = as_user("rm_east")
    # When the region manager reveals the trail
    response = client.post(f"/customers/{customer.pk}/audit/", {"reveal": "1"})
    # Then the full values show
    html = response.content.decode()
    assert response.status_code == 200
    assert PHONE in html and EMAIL in html and ADDRESS in html
    # And the reveal is recorded against the customer, naming the events it showed
    reveal = AuditEvent.objects.get(action="pii.reveal")
    assert reveal.actor == org.users["rm_east"] and reveal.customer_id == customer.pk
    shown = set(reveal.changes["audit_events"])
    assert AuditEvent.objects.get(action="contact.add", changes__kind="phone").pk in shown
    # And the next plain visit is masked again
    full_values_absent(page_of(client, f"/customers/{customer.pk}/audit/"))


def test_revealing_the_global_log_keeps_the_filters_and_is_audited(customer, org, as_user):
    client = as_user("admin")
    response = client.post(f"{GLOBAL}?action=contact.", {"reveal": "1"})
    html = response.content.decode()
    assert PHONE in html and ADDRESS not in html  # the filter still applies (no update)
    reveal = AuditEvent.objects.get(action="pii.reveal")
    assert reveal.actor == org.users["admin"]
    assert reveal.changes["audit_events"]


def test_a_user_without_pii_reveal_cannot_reveal(customer, org, as_user, monkeypatch):
    # Given a region manager's role without the reveal permission
    from yiti.org import access
    from yiti.org.roles import ROLE_PERMS, Perm, Role

    reduced = dict(ROLE_PERMS)
    reduced[Role.REGION_MANAGER] = ROLE_PERMS[Role.REGION_MANAGER] - {Perm.PII_REVEAL}
    monkeypatch.setattr(access, "ROLE_PERMS", reduced)
    client = as_user("rm_east")
    # Then the page offers no reveal, and posting one is refused and records nothing
    html = page_of(client, f"/customers/{customer.pk}/audit/")
    assert 'name="reveal"' not in html
    full_values_absent(html)
    response = client.post(f"/customers/{customer.pk}/audit/", {"reveal": "1"})
    assert response.status_code == 403
    full_values_absent(response.content.decode())
    assert not AuditEvent.objects.filter(action="pii.reveal").exists()


def test_mask_changes_masks_personal_keys_in_any_shape():
    from yiti.core.audit import mask_changes

    changes = {
        "kind": "phone",
        "value": [None, PHONE],
        "address": ["", ADDRESS],
        "contact.email": [EMAIL, "li@example.cn"],
        "primary_phone": ["13800001111", "13912345678"],
        "city": ["杭州", "宁波"],
        "row": 7,
    }
    masked = mask_changes(changes)
    assert masked["value"] == [None, "+86139****5678"]
    assert masked["address"][0] == "" and ADDRESS not in masked["address"][1]
    assert masked["contact.email"] == ["z***@example.com", "l***@example.cn"]
    assert masked["primary_phone"] == ["138****1111", "139****5678"]
    assert masked["city"] == ["杭州", "宁波"] and masked["row"] == 7
    assert changes["value"] == [None, PHONE]  # the input is not changed
