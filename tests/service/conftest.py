"""Service-desk fixtures on top of the shared ``org`` (see tests/conftest.py).

svc_east is the service agent of region East (Hangzhou and Ningbo below it); tests add a
second region's agent when they need one. Times are Beijing time.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.smtp_server import SmtpServer
from yiti.customers.services import customer_create
from yiti.service.services import sla_policy_save

BJ = ZoneInfo("Asia/Shanghai")


def bj(*args: int) -> datetime:
    """An aware Beijing-time datetime: ``bj(2025, 9, 30, 19)``."""
    return datetime(*args, tzinfo=BJ)  # type: ignore[misc]


@pytest.fixture
def policies(db):
    """Normal-priority targets: consultations 120/600 min, complaints 60/480, repairs 240/1440."""
    out = {}
    for kind, first, resolution in (
        ("consultation", 120, 600),
        ("complaint", 60, 480),
        ("repair", 240, 1440),
        ("order_processing", 240, 2400),
        ("service_request", 240, 1440),
    ):
        out[kind] = sla_policy_save(
            actor=None,
            kind=kind,
            priority="normal",
            first_response_minutes=first,
            resolution_minutes=resolution,
        )
    return out


@pytest.fixture
def customers(org):
    """hz (Hangzhou, owned by am_hz), nb (Ningbo, unassigned), bj (Beijing, owned by am_bj)."""
    u = org.users
    return {
        "hz": customer_create(actor=None, name="杭州客户", unit=org.hz, owner=u["am_hz"]),
        "hz2": customer_create(actor=None, name="杭州客户二", unit=org.hz, owner=u["am_hz"]),
        "nb": customer_create(actor=None, name="宁波客户", unit=org.nb),
        "bj": customer_create(actor=None, name="北京客户", unit=org.bj, owner=u["am_bj"]),
    }


@pytest.fixture
def svc_north(org):
    """A service agent of region North (sees Beijing, not East)."""
    from yiti.org.services import membership_grant, user_create

    user = user_create(username="svc_north", password="pw-Secret-123", display_name="svc_north")
    membership_grant(user=user, unit=org.north, role="service_agent")
    return user


@pytest.fixture
def smtp_server():
    with SmtpServer() as server:
        yield server
