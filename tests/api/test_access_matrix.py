"""Every role sees through the API exactly the customers it sees in the UI, always masked.

Scope follows ADR 0002: account managers see their unit plus the customers they own; every
other role sees its unit's subtree (so the east region's service, care and field staff see
Hangzhou, Ningbo and the region); the marketing department sees no customers.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.api.conftest import PHONES

ALL = {"hz_a", "hz_b", "nb", "bj", "bj_by_am_hz", "east"}
EAST = {"hz_a", "hz_b", "nb", "east"}
EXPECTED = {
    "admin": ALL,
    "rm_east": EAST,
    "rm_north": {"bj", "bj_by_am_hz"},
    "svc_east": EAST,
    "care_east": EAST,
    "eng_east": EAST,
    "am_hz": {"hz_a", "hz_b", "bj_by_am_hz"},
    "am_hz2": {"hz_a", "hz_b"},
    "am_nb": {"nb"},
    "am_bj": {"bj", "bj_by_am_hz"},
    "cm": set(),
    "analyst": set(),
    "fin": set(),
}
MASKED_PHONE = re.compile(r"^\d{3}\*{4}\d{4}$")
ENDPOINTS = {
    "detail": "/customers/{id}",
    "interactions": "/customers/{id}/interactions",
    "consent": "/customers/{id}/consent",
    "contact_points": "/customers/{id}/contact-points",
}


def assert_no_personal_data_in_clear(response, placed):
    """No phone, e-mail or IM id appears in full; phone fields are masked as 138****0001."""
    text = response.content.decode()
    for key in placed:
        assert PHONES[key] not in text
        assert f"{key}@example.com" not in text
        assert f"wx_{key}_id" not in text
    body = json.loads(text)
    items = body if isinstance(body, list) else body.get("items", [body])
    for item in items:
        if item.get("primary_phone"):
            assert MASKED_PHONE.match(item["primary_phone"])
        for point in [*item.get("contact_points", []), *([item] if "kind" in item else [])]:
            if point.get("kind") == "phone":
                assert MASKED_PHONE.match(point["value"]) and point["masked"] is True


@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_list_shows_exactly_the_customers_in_scope_masked(username, api_as, placed):
    # given customers placed across the tree; when the user lists customers
    response = api_as(username).get("/customers", {"page_size": 200})
    # then they see exactly their scope, and every phone masked
    assert response.status_code == 200
    seen = {item["id"] for item in response.json()["items"]}
    assert seen == {placed[k].pk for k in EXPECTED[username]}
    assert_no_personal_data_in_clear(response, placed)


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_customer_endpoints_answer_only_in_scope(username, endpoint, api_as, placed):
    api = api_as(username)
    for key, customer in placed.items():
        # when the user opens one of the customer's pages
        response = api.get(ENDPOINTS[endpoint].format(id=customer.pk))
        # then they get it when in scope, and an indistinguishable 404 otherwise
        if key in EXPECTED[username]:
            assert response.status_code == 200, (key, response.content)
            assert_no_personal_data_in_clear(response, placed)
        else:
            assert response.status_code == 404, (key, response.content)
            assert response.json() == {
                "code": "not_found",
                "message": response.json()["message"],
                "field": None,
            }


def test_scoped_endpoints_return_the_customers_own_rows(api_as, placed):
    api = api_as("admin")
    customer = placed["nb"]
    detail = api.get(f"/customers/{customer.pk}").json()
    assert detail["name"] == "客户 nb" and detail["unit"]["code"] == "nb"
    assert {p["kind"] for p in detail["contact_points"]} == {"phone", "email", "wechat"}
    timeline = api.get(f"/customers/{customer.pk}/interactions").json()["items"]
    assert [i["subject"] for i in timeline] == ["call nb"]
    consent = api.get(f"/customers/{customer.pk}/consent").json()
    granted = {(s["channel"], s["purpose"]) for s in consent["matrix"] if s["granted"]}
    assert granted == {("sms", "marketing")}
    assert [(e["channel"], e["granted"]) for e in consent["events"]] == [("sms", True)]
