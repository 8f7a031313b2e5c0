"""Every role sees in the web pages exactly the customers it sees through the API, masked."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.api.conftest import PHONES, placed  # noqa: F401  (fixture)
from tests.api.test_access_matrix import EXPECTED


@pytest.fixture
def web_as(org):
    def _login(username: str) -> Client:
        client = Client()
        client.force_login(org.users[username])
        return client

    return _login


@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_customer_list_page_shows_exactly_the_scope_and_masks_phones(username, web_as, placed):  # noqa: F811
    page = web_as(username).get("/customers/", {"status": "all"})
    assert page.status_code == 200
    html = page.content.decode()
    for key, customer in placed.items():
        link = f'href="/customers/{customer.pk}/"'
        assert (link in html) == (key in EXPECTED[username]), key
        assert PHONES[key] not in html
        if key in EXPECTED[username]:
            assert f"{PHONES[key][:3]}****{PHONES[key][-4:]}" in html


@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_customer_pages_open_only_in_scope(username, web_as, placed):  # noqa: F811
    client = web_as(username)
    for key, customer in placed.items():
        page = client.get(f"/customers/{customer.pk}/")
        if key in EXPECTED[username]:
            assert page.status_code == 200, key
            html = page.content.decode()
            assert PHONES[key] not in html, "the 360 page masks until revealed"
            assert f"{key}@example.com" not in html
        else:
            assert page.status_code == 404, key
        timeline = client.get(f"/timeline/{customer.pk}/")
        assert timeline.status_code == (200 if key in EXPECTED[username] else 404), key
