"""Every staff page needs a signed-in user: walked over the whole URL configuration, so a page
added without ``login_required`` fails here instead of leaking data to whoever knows the
address. Anonymous visitors may reach only what is public by design: sign-in, the language
switch, the customer's portal (its own sign-in guards it), a campaign message's response link,
and the API (which answers 401 JSON itself)."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

# route prefixes open to anonymous visitors, each with the reason
PUBLIC = (
    "login/",  # sign-in
    "logout/",  # signing out answers even when signed out already
    "i18n/",  # the language switch
    "portal/",  # the customer's portal: its own phone-and-code sign-in guards its pages
    "c/",  # a campaign message's response link, guarded by its unguessable token
    "api/v1/",  # the API: 401 JSON without a token (tests/api)
    "account/set-password/",  # the set-password link of an e-mail, guarded by its token
    "static/",
    "favicon.ico",
    "health",
)


def _routes(resolver: URLResolver, prefix: str = "") -> list[str]:
    found: list[str] = []
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found.extend(_routes(entry, route))
        elif isinstance(entry, URLPattern):
            found.append(route)
    return found


def _example(route: str) -> str:
    """A concrete address for a route: converters get a plausible value."""
    path = re.sub(r"<int:[^>]+>", "1", route)
    path = re.sub(r"<(?:str|slug):[^>]+>", "x", path)
    path = re.sub(r"<path:[^>]+>", "x", path)
    path = re.sub(r"<[^>]+>", "x", path)
    path = path.lstrip("^").rstrip("$").replace("\\Z", "")
    return "/" + path


def _staff_routes() -> list[str]:
    routes = []
    for route in _routes(get_resolver()):
        address = _example(route)
        if any(address.startswith("/" + p) for p in PUBLIC) or address == "/":
            continue
        if any(ch in address for ch in "[]()*+?|\\"):  # a regex route (the API's catch-all)
            continue
        routes.append(address)
    return sorted(set(routes))


def test_the_walk_finds_the_staff_pages():
    routes = _staff_routes()
    assert len(routes) > 100
    assert "/customers/" in routes and "/manage/" in routes


@pytest.mark.django_db
@pytest.mark.parametrize("address", _staff_routes())
def test_an_anonymous_visitor_is_sent_to_sign_in(client, address):
    for method in ("get", "post"):
        response = getattr(client, method)(address)
        assert response.status_code in (302, 404, 405), (method, address, response.status_code)
        if response.status_code == 302:
            assert response["Location"].startswith("/login/"), (method, address)


@pytest.mark.django_db
def test_the_home_page_sends_an_anonymous_visitor_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
