"""The API's hot path (``yiti.api.hot``) answers ``POST /api/v1/decisions/next-best-action``
before the middleware listed after it, so that list is pinned here: adding a middleware after
the hot path must be a decision (does the hot path need its effect?), not an accident. And its
answer, built without the schema for speed, must still be what the schema documents."""

from __future__ import annotations

from django.conf import settings

from tests.decisions.test_nba_web import _nba, served, served_user  # noqa: F401 (fixture)
from yiti.decisions.api import NbaOut
from yiti.org.services import token_create

HOT = "yiti.api.hot.HotPathMiddleware"

# What the hot path runs after, and what it skips, on purpose (see ADR 0008):
BEFORE_HOT = [
    "django.middleware.security.SecurityMiddleware",  # its headers: the hot path sets them too
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files only
]
SKIPPED_BY_HOT = [
    "django.contrib.sessions.middleware.SessionMiddleware",  # bearer tokens, no session
    "django.middleware.locale.LocaleMiddleware",  # the hot path chooses the language alike
    "django.middleware.common.CommonMiddleware",  # the path is exact, no slash to append
    "django.middleware.csrf.CsrfViewMiddleware",  # a bearer call needs no CSRF token
    "django.contrib.auth.middleware.AuthenticationMiddleware",  # token_authenticate instead
    "django.contrib.messages.middleware.MessageMiddleware",  # no messages in an API answer
    "yiti.org.middleware.FirstPasswordMiddleware",  # sessions only: tokens are made later
    "django.middleware.clickjacking.XFrameOptionsMiddleware",  # the hot path sets DENY
    "django_htmx.middleware.HtmxMiddleware",  # no htmx on the API
    "yiti.core.middleware.RequestContextMiddleware",  # the hot path sets the request context
]


def test_the_middleware_the_hot_path_skips_is_the_list_it_was_designed_for():
    assert [*BEFORE_HOT, HOT, *SKIPPED_BY_HOT] == settings.MIDDLEWARE, (
        "A middleware was added, moved or removed around the API's hot path: decide whether "
        "POST /api/v1/decisions/next-best-action needs its effect (yiti/api/hot.py), then "
        "update this list."
    )


def test_the_hot_answer_is_what_the_schema_documents(served, client):  # noqa: F811
    customer, _offer = served
    _token, raw = token_create(user=served_user(customer), name="hot")
    body = {"customer_id": customer.pk, "context": {"channel": "counter", "reason": "billing"}}
    hot = _nba(client, body, Authorization=f"Bearer {raw}")
    assert hot.status_code == 200, hot.content
    parsed = NbaOut.model_validate_json(hot.content)  # raises on a missing or mistyped field
    assert parsed.customer_id == customer.pk
    assert parsed.actions, "an eligible offer is proposed"
    assert set(hot.json()) == set(NbaOut.model_fields), "no field the schema does not document"
