"""Shared fixtures: a small organisation with one user per role.

    company 总公司
      ├─ region East 华东片区 (region_manager: rm_east, service_agent: svc_east, care_agent: care_east)
      │    ├─ branch Hangzhou 杭州分公司 (account_manager: am_hz, am_hz2)
      │    └─ branch Ningbo 宁波分公司 (account_manager: am_nb)
      ├─ region North 华北片区 (region_manager: rm_north)
      │    └─ branch Beijing 北京分公司 (account_manager: am_bj)
      └─ department Marketing 市场部 (campaign_manager: cm, analyst: analyst, finance: fin)
    admin: admin (company)

Scope (ADR 0002): account managers see their unit (plus customers they own); every other role
sees its unit and the units below — svc_east sees Hangzhou and Ningbo, cm/analyst/fin none.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from django.utils import translation

os.environ.setdefault("YITI_DATA_DIR", os.path.join(os.getcwd(), "var", "test"))


@dataclass
class Org:
    company: object
    east: object
    north: object
    hz: object
    nb: object
    bj: object
    marketing: object
    users: dict


PASSWORD = "pw-Secret-123"


def build_org() -> Org:
    from yiti.org.services import membership_grant, unit_create, user_create

    company = unit_create(name="总公司", code="hq", kind="company")
    east = unit_create(name="华东片区", code="east", kind="region", parent=company)
    north = unit_create(name="华北片区", code="north", kind="region", parent=company)
    hz = unit_create(name="杭州分公司", code="hz", kind="branch", parent=east)
    nb = unit_create(name="宁波分公司", code="nb", kind="branch", parent=east)
    bj = unit_create(name="北京分公司", code="bj", kind="branch", parent=north)
    marketing = unit_create(name="市场部", code="mkt", kind="department", parent=company)
    plan = [
        ("admin", company, "admin"),
        ("rm_east", east, "region_manager"),
        ("rm_north", north, "region_manager"),
        ("svc_east", east, "service_agent"),
        ("care_east", east, "care_agent"),
        ("am_hz", hz, "account_manager"),
        ("am_hz2", hz, "account_manager"),
        ("am_nb", nb, "account_manager"),
        ("am_bj", bj, "account_manager"),
        ("cm", marketing, "campaign_manager"),
        ("analyst", marketing, "analyst"),
        ("fin", marketing, "finance"),
        ("eng_east", east, "field_engineer"),
    ]
    users = {}
    for username, unit, role in plan:
        user = user_create(username=username, password=PASSWORD, display_name=username)
        membership_grant(user=user, unit=unit, role=role)
        users[username] = user
    return Org(company, east, north, hz, nb, bj, marketing, users)


@pytest.fixture
def org(db) -> Org:
    return build_org()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Argon2 is the production hasher (tested in tests/org); tests use a fast one for fixtures."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        *settings.PASSWORD_HASHERS,
    ]


@pytest.fixture(autouse=True)
def _english(settings):
    """Tests assert the English source text; Yiti itself defaults to Chinese (zh-hans).

    tests/browser overrides this fixture to keep the Chinese default and check the switch."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fresh_access_cache():
    """Each test starts without the API's per-process unit scopes (ids repeat across tests)."""
    from yiti.org.access import access_cache_clear

    access_cache_clear()
    yield
    access_cache_clear()
