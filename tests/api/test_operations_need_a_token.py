"""Every operation of the staff API answers 401 JSON to a caller without a token or session:
walked over the published OpenAPI document, so an endpoint added with ``auth=None`` by mistake
fails here. (The portal's API has its own sign-in and its own tests.)"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from yiti.api.urls import api


def _operations() -> list[tuple[str, str]]:
    schema = api.get_openapi_schema()
    found = []
    for path, methods in schema["paths"].items():
        for method in methods:
            if method in ("get", "post", "put", "patch", "delete"):
                found.append((method, re.sub(r"\{[^}]+\}", "1", path)))
    return sorted(found)


def test_the_walk_covers_the_api():
    operations = _operations()
    assert len(operations) > 80
    assert ("get", "/api/v1/customers") in operations


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), _operations())
def test_an_anonymous_call_gets_401_json(method, path):
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)(path, content_type="application/json")
    assert response.status_code == 401, (method, path, response.status_code)
    assert response.json()["code"] == "unauthenticated"
