"""Sign-in hardening: slow password spraying is slowed per address without locking out the
colleagues behind it, and a first password chosen by an administrator must be replaced at
first sign-in before it expires (issue 18, sign-in)."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import PASSWORD
from yiti.org.models import LoginAttempt, User
from yiti.org.ratelimit import spray_delay
from yiti.org.services import membership_grant, user_create

SPRAYER = "203.0.113.7"
OFFICE = "198.51.100.20"
NEW_PASSWORD = "Lake-Willow-2931"


def _post(client: Client, username: str, password: str, ip: str):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def _spray(settings, client: Client, usernames: list[str]) -> None:
    settings.YITI_LOGIN_SPRAY_USERNAMES = 3
    settings.YITI_LOGIN_SPRAY_DELAY_SECONDS = 60
    for name in usernames:
        assert _post(client, name, "Summer2026!", SPRAYER).status_code == 200


def _wait(seconds: int) -> None:
    """Move every recorded attempt back in time, as if ``seconds`` had passed."""
    for row in LoginAttempt.objects.all():
        LoginAttempt.objects.filter(pk=row.pk).update(at=row.at - timedelta(seconds=seconds))


def test_spraying_one_password_over_many_accounts_is_slowed_down(org, settings):
    client = Client()
    _spray(settings, client, ["am_hz", "am_nb", "am_bj"])
    # the fourth account from the same address must wait, even with the right password
    response = _post(client, "rm_east", PASSWORD, SPRAYER)
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert "_auth_user_id" not in client.session
    # none of the accounts is locked: each had one failure
    assert _post(Client(), "am_nb", PASSWORD, OFFICE).status_code == 302
    # after the delay one more attempt goes through; the next must wait twice as long
    _wait(61)
    assert _post(client, "cm", "Summer2026!", SPRAYER).status_code == 200
    again = _post(client, "analyst", "Summer2026!", SPRAYER)
    assert again.status_code == 429 and 60 < int(again["Retry-After"]) <= 120


def test_a_colleague_who_signed_in_from_the_address_before_is_not_slowed(org, settings):
    colleague = Client()
    assert _post(colleague, "am_hz2", PASSWORD, SPRAYER).status_code == 302
    _spray(settings, Client(), ["am_hz", "am_nb", "am_bj"])
    # the same address, a pair known to sign in: no delay
    assert _post(Client(), "am_hz2", PASSWORD, SPRAYER).status_code == 302
    # an address that sprayed nothing is not slowed either
    assert _post(Client(), "fin", PASSWORD, OFFICE).status_code == 302


@given(st.integers(min_value=0, max_value=10_000))
def test_the_spraying_delay_never_shrinks_and_stays_capped(n):
    assert spray_delay(n) <= spray_delay(n + 1) <= 900
    assert (spray_delay(n) == 0) == (n < 10)


def _new_user(org) -> User:
    user = user_create(
        actor=org.users["admin"],
        username="new_am",
        password="Granite-Parrot-4417",
        display_name="New AM",
    )
    membership_grant(user=user, unit=org.hz, role="account_manager")
    return user


def test_a_first_password_must_be_changed_at_first_sign_in(org):
    user = _new_user(org)
    assert user.password_expires_at is not None
    client = Client()
    response = _post(client, "new_am", "Granite-Parrot-4417", OFFICE)
    assert response.status_code == 302
    assert response["Location"] == reverse("org:password_change")
    # every other page sends him back to the change
    page = client.get(reverse("customers:list"))
    assert page.status_code == 302 and page["Location"] == reverse("org:password_change")
    changed = client.post(
        reverse("org:password_change"),
        {
            "old_password": "Granite-Parrot-4417",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert changed.status_code == 302
    user.refresh_from_db()
    assert user.password_expires_at is None
    assert client.get(reverse("customers:list")).status_code == 200


def test_an_expired_first_password_no_longer_signs_in(org):
    user = _new_user(org)
    User.objects.filter(pk=user.pk).update(password_expires_at=timezone.now() - timedelta(hours=1))
    client = Client()
    response = _post(client, "new_am", "Granite-Parrot-4417", OFFICE)
    assert response.status_code == 403
    assert "Your first password has expired" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_session_opened_with_a_first_password_ends_when_it_expires(org):
    user = _new_user(org)
    client = Client()
    assert _post(client, "new_am", "Granite-Parrot-4417", OFFICE).status_code == 302
    User.objects.filter(pk=user.pk).update(password_expires_at=timezone.now() - timedelta(hours=1))
    response = client.get(reverse("org:password_change"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session


def test_a_password_the_user_chose_does_not_expire(org):
    # accounts made without an acting administrator (the fixtures, the first superuser)
    assert org.users["am_hz"].password_expires_at is None
    assert _post(Client(), "am_hz", PASSWORD, OFFICE).status_code == 302
