"""The global audit log (admins) and each user's API tokens."""

from __future__ import annotations

from django.urls import reverse

from yiti.org.models import ApiToken
from yiti.org.services import token_authenticate, token_create

AUDIT = "/audit/"
TOKENS = "/account/tokens/"


def test_admin_reads_and_filters_the_audit_log(org, as_user, make_customer):
    customer = make_customer("张伟", city="杭州")
    client = as_user("admin")
    page = client.get(AUDIT).content.decode()
    assert "org.unit_create" in page and "customer.create" in page
    filtered = client.get(AUDIT, {"action": "customer."}).content.decode()
    assert "customer.create" in filtered and "org.unit_create" not in filtered
    assert reverse("customers:detail", args=[customer.pk]) in filtered


def test_audit_log_shows_before_and_after(org, as_user, make_customer):
    from yiti.customers.services import customer_update

    customer = make_customer("张伟", city="杭州")
    customer_update(actor=org.users["admin"], customer=customer, city="宁波")
    page = as_user("admin").get(AUDIT, {"action": "customer.update"}).content.decode()
    assert "<del>杭州</del> → <ins>宁波</ins>" in page


def test_audit_log_filters_by_actor_and_date(org, as_user, make_customer):
    from yiti.customers.services import customer_update

    customer = make_customer("张伟")
    customer_update(actor=org.users["admin"], customer=customer, city="宁波")
    client = as_user("admin")
    mine = client.get(AUDIT, {"actor": "admin"}).content.decode()
    assert "customer.update" in mine and "org.unit_create" not in mine
    old = client.get(AUDIT, {"date_to": "2000-01-01"}).content.decode()
    assert "No audit events match." in old


def test_only_admins_read_the_global_audit_log(org, as_user):
    assert as_user("rm_east").get(AUDIT).status_code == 403
    assert as_user("am_hz").get(AUDIT).status_code == 403
    assert reverse("org:audit") not in as_user("rm_east").get("/customers/").content.decode()


def test_create_a_token_shows_it_once(org, as_user):
    client = as_user("am_hz")
    response = client.post(TOKENS, {"name": "CRM sync"})
    raw = response.context["raw_token"]
    assert response.status_code == 200
    assert raw in response.content.decode()
    assert token_authenticate(raw) == org.users["am_hz"]
    # the list afterwards names the token but never shows it again
    again = client.get(TOKENS).content.decode()
    assert "CRM sync" in again and raw not in again


def test_a_token_needs_a_name(org, as_user):
    response = as_user("am_hz").post(TOKENS, {"name": "  "})
    assert response.context["form"].errors["name"]
    assert not ApiToken.objects.exists()


def test_revoke_asks_first_then_revokes(org, as_user):
    token, raw = token_create(user=org.users["am_hz"], name="old script")
    url = reverse("org:token_revoke", args=[token.pk])
    client = as_user("am_hz")
    confirm = client.get(url)
    assert confirm.status_code == 200 and "old script" in confirm.content.decode()
    assert token_authenticate(raw) is not None  # asking changes nothing
    assert client.post(url).status_code == 302
    assert token_authenticate(raw) is None


def test_nobody_revokes_another_users_token(org, as_user):
    token, raw = token_create(user=org.users["am_hz"], name="mine")
    url = reverse("org:token_revoke", args=[token.pk])
    assert as_user("am_hz2").post(url).status_code == 404
    assert token_authenticate(raw) is not None
