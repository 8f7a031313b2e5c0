"""API test helpers: a bearer-token client per user, and customers placed across the org tree."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from yiti.customers.services import ContactInput, consent_record, customer_create
from yiti.engagement.services import interaction_record
from yiti.org.services import token_create

PREFIX = "/api/v1"


@dataclass
class Api:
    """Django's test client speaking JSON with ``Authorization: Bearer <token>``."""

    token: str | None
    client: Client = field(default_factory=Client)

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **(extra or {})}

    def get(self, path: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self.client.get(
            PREFIX + path, params or {}, headers=self._headers(kw.get("headers"))
        )

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self._send("post", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self._send("patch", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.client.delete(PREFIX + path, headers=self._headers(kw.get("headers")))

    def _send(self, method: str, path: str, body: Any, *, raw: str | None = None, **kw: Any) -> Any:
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return getattr(self.client, method)(
            PREFIX + path,
            data,
            content_type="application/json",
            headers=self._headers(kw.get("headers")),
        )


@pytest.fixture
def api_as(org):
    """``api_as("am_hz")``: a client authenticated with a fresh token of that fixture user."""
    cache: dict[str, Api] = {}

    def make(username: str) -> Api:
        if username not in cache:
            _token, raw = token_create(user=org.users[username], name="tests")
            cache[username] = Api(token=raw)
        return cache[username]

    return make


@pytest.fixture
def anonymous() -> Api:
    return Api(token=None)


PHONES = {
    "hz_a": "13800000001",
    "hz_b": "13800000002",
    "nb": "13900000003",
    "bj": "13700000004",
    "bj_by_am_hz": "13600000005",
    "east": "13500000006",
}


@pytest.fixture
def placed(org):
    """One customer per place in the tree, each with a phone, an e-mail, consent and a contact.

    hz_a (Hangzhou, owned by am_hz), hz_b (Hangzhou, unassigned), nb (Ningbo, am_nb),
    bj (Beijing, am_bj), bj_by_am_hz (Beijing, owned by am_hz), east (on the region itself).
    """
    u = org.users
    plan = {
        "hz_a": (org.hz, u["am_hz"]),
        "hz_b": (org.hz, None),
        "nb": (org.nb, u["am_nb"]),
        "bj": (org.bj, u["am_bj"]),
        "bj_by_am_hz": (org.bj, u["am_hz"]),
        "east": (org.east, None),
    }
    customers = {}
    for key, (unit, owner) in plan.items():
        customer = customer_create(
            actor=None,
            name=f"客户 {key}",
            unit=unit,
            owner=owner,
            contacts=[
                ContactInput(kind="phone", value=PHONES[key]),
                ContactInput(kind="email", value=f"{key}@example.com"),
                ContactInput(kind="wechat", value=f"wx_{key}_id"),
            ],
        )
        consent_record(
            actor=None,
            customer=customer,
            channel="sms",
            purpose="marketing",
            granted=True,
            check_access=False,
        )
        interaction_record(
            actor=None,
            customer=customer,
            channel="call",
            direction="out",
            purpose="care",
            subject=f"call {key}",
            check_access=False,
        )
        customers[key] = customer
    return customers
