"""Portal fixtures: customers with phones (one phone shared by two accounts), the SMS outbox
file the codes land in, and a browser client signed in through the real code flow.

Reuses the campaigns fixtures (``world``: eight customers in the East region, the first five
consenting to marketing SMS and e-mail; ``running``: a launched campaign with a planned wave).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.test import Client

from tests.campaigns.conftest import (  # noqa: F401  (fixtures)
    World,
    consent,
    make_campaign,
    running,
    world,
)
from yiti.customers.services import ContactInput, customer_create

PHONE_0 = "13905710000"  # world.customers[0]
PHONE_1 = "13905710001"  # world.customers[1]
SHARED = "13800138000"  # two accounts of one family
UNKNOWN = "13700000000"  # nobody's


@pytest.fixture(autouse=True)
def sms_outbox(settings, tmp_path) -> Path:
    settings.YITI_SMS_BACKEND = "file"
    settings.YITI_SMS_FILE_PATH = tmp_path / "sms.jsonl"
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.YITI_SMS_FILE_PATH


def sms_sent(outbox: Path) -> list[dict]:
    if not outbox.exists():
        return []
    return [json.loads(line) for line in outbox.read_text().splitlines() if line.strip()]


def last_code(outbox: Path, phone: str) -> str:
    """The code of the last SMS to ``phone`` (national digits)."""
    for message in reversed(sms_sent(outbox)):
        if message["to"].endswith(phone):
            found = re.search(r"\b(\d{6})\b", message["text"])
            assert found, message
            return found.group(1)
    raise AssertionError(f"no SMS to {phone}")


@pytest.fixture
def family(world):  # noqa: F811
    """Two accounts sharing one phone: the father's (Hangzhou) and his company's (Ningbo)."""
    org = world.org
    father = customer_create(
        actor=None,
        name="王建国",
        unit=org.hz,
        contacts=[ContactInput("phone", SHARED, primary=True)],
    )
    firm = customer_create(
        actor=None,
        name="建国五金店",
        kind="organisation",
        unit=org.nb,
        contacts=[ContactInput("phone", SHARED, primary=True)],
    )
    return father, firm


def sign_in(client: Client, outbox: Path, phone: str, *, account: int | None = None) -> Client:
    """Through the pages: ask for a code, read it from the outbox, enter it (pick an account)."""
    response = client.post("/portal/sign-in/", {"phone": phone})
    assert response.status_code == 302, response.content.decode()[:500]
    response = client.post("/portal/sign-in/code/", {"code": last_code(outbox, phone)})
    assert response.status_code == 302, response.content.decode()[:2000]
    if account is not None:
        response = client.post("/portal/sign-in/account/", {"account": account})
        assert response.status_code == 302
    return client


@pytest.fixture
def portal_client(world, sms_outbox):  # noqa: F811
    """``portal_client(i)``: a client signed in as ``world.customers[i]``."""

    def build(i: int = 0) -> Client:
        return sign_in(Client(enforce_csrf_checks=False), sms_outbox, f"1390571{i:04d}")

    return build
