"""Signing in and out, the login rate limit, and the language switch."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD
from yiti.org.models import LoginAttempt


def test_anonymous_visitor_is_sent_to_sign_in(db):
    response = Client().get("/customers/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_sign_in_with_the_right_password_opens_the_home_page(org):
    client = Client()
    response = client.post(reverse("login"), {"username": "am_hz", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert LoginAttempt.objects.filter(username="am_hz", succeeded=True).exists()
    assert client.get(reverse("customers:list")).status_code == 200


def test_wrong_password_shows_the_form_again_and_is_recorded(org):
    response = Client().post(reverse("login"), {"username": "am_hz", "password": "nope"})
    assert response.status_code == 200
    assert b"errorlist" in response.content
    assert LoginAttempt.objects.filter(username="am_hz", succeeded=False).count() == 1


def test_too_many_failures_lock_the_username_with_429_even_for_the_right_password(org, settings):
    settings.YITI_LOGIN_MAX_ATTEMPTS = 3
    settings.YITI_LOGIN_WINDOW_SECONDS = 600
    client = Client()
    for _ in range(3):
        assert (
            client.post(reverse("login"), {"username": "am_hz", "password": "x"}).status_code == 200
        )
    # when the right password comes after the limit
    response = client.post(reverse("login"), {"username": "am_hz", "password": PASSWORD})
    # then the sign-in is refused with a clear message and nobody is signed in
    assert response.status_code == 429
    assert "Too many failed sign-ins, try again in 10 minutes" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # and another user is not affected
    other = client.post(reverse("login"), {"username": "am_nb", "password": PASSWORD})
    assert other.status_code == 302


def test_sign_out_needs_a_post_and_ends_the_session(org):
    client = Client()
    client.force_login(org.users["am_hz"])
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert client.get(reverse("customers:list")).status_code == 302


def test_language_switch_sets_the_cookie_and_renders_english(org, settings):
    client = Client()
    client.force_login(org.users["am_hz"])
    response = client.post(
        reverse("set_language"), {"language": "en", "next": reverse("customers:list")}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:list")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    page = client.get(reverse("customers:list")).content.decode()
    assert '<html lang="en">' in page
    assert "New customer" in page


def test_the_browser_language_is_honoured(org):
    client = Client(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    client.force_login(org.users["am_hz"])
    assert '<html lang="en">' in client.get(reverse("customers:list")).content.decode()


def test_whitespace_around_a_locked_username_does_not_get_around_the_limit(org, settings):
    settings.YITI_LOGIN_MAX_ATTEMPTS = 3
    client = Client()
    for _ in range(3):
        client.post(reverse("login"), {"username": "am_nb", "password": "x"})
    # when the right password comes with the username written with spaces or in capitals
    for spelled in (" am_nb", "am_nb ", "AM_NB", "\u3000am_nb"):
        response = client.post(reverse("login"), {"username": spelled, "password": PASSWORD})
        # then it is the same locked account
        assert response.status_code == 429, spelled
    assert "_auth_user_id" not in client.session


def test_one_persons_typos_behind_a_shared_address_do_not_lock_out_colleagues(org, settings):
    settings.YITI_LOGIN_MAX_ATTEMPTS = 5
    client = Client(REMOTE_ADDR="10.0.0.1")
    # twenty failures from the company's one address (four people mistyping five times)
    for name in ("am_hz", "am_hz2", "am_nb", "am_bj"):
        for _ in range(5):
            client.post(reverse("login"), {"username": name, "password": "x"})
    # a colleague behind the same address still signs in
    other = Client(REMOTE_ADDR="10.0.0.1")
    response = other.post(reverse("login"), {"username": "svc_east", "password": PASSWORD})
    assert response.status_code == 302


def test_the_address_limit_still_stops_a_flood_from_one_address(org, settings):
    settings.YITI_LOGIN_MAX_ATTEMPTS_PER_IP = 10
    client = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(10):
        client.post(reverse("login"), {"username": f"guess{n}", "password": "x"})
    response = client.post(reverse("login"), {"username": "am_hz", "password": PASSWORD})
    assert response.status_code == 429


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(org, settings):
    settings.YITI_TRUSTED_PROXIES = ["127.0.0.1"]
    # through the proxy: the client's address is the one the proxy saw
    Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7").post(
        reverse("login"), {"username": "am_hz", "password": "x"}
    )
    # straight from a client: its own header is ignored
    Client(REMOTE_ADDR="192.0.2.5", HTTP_X_FORWARDED_FOR="198.51.100.99").post(
        reverse("login"), {"username": "am_hz", "password": "x"}
    )
    assert sorted(LoginAttempt.objects.values_list("ip_address", flat=True)) == [
        "192.0.2.5",
        "198.51.100.7",
    ]
