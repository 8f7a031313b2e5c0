"""The demo seed leaves the quality pages with something to show: topics chosen on the desk's
tickets, this month's and last month's ranking, and two mined weeks."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client

from tests.conftest import PASSWORD
from yiti.quality.models import QualityRun, UnitScore
from yiti.service.models import Ticket


@pytest.fixture(autouse=True)
def clock():
    """The demo runs on the real clock (it seeds the weeks before now)."""


def test_the_demo_fills_the_quality_pages(db, settings, tmp_path):
    settings.YITI_SMS_FILE_PATH = tmp_path / "outbox" / "sms.jsonl"
    call_command("seed", customers=400, seed=3, tickets=80, no_campaigns=True, stdout=io.StringIO())
    assert Ticket.objects.filter(topic__isnull=False).exists()
    assert set(QualityRun.objects.values_list("kind", "status")) == {
        ("ranking", "ready"),
        ("themes", "ready"),
    }
    ranked = UnitScore.objects.filter(rank__isnull=False, unit_kind="branch")
    assert ranked.exists()
    from yiti.org.models import User

    admin = User.objects.filter(is_superuser=True).first() or User.objects.get(username="admin")
    admin.set_password(PASSWORD)
    admin.save()
    client = Client()
    assert client.login(username=admin.username, password=PASSWORD)
    assert client.get("/quality/ranking/").status_code == 200
    assert client.get("/quality/hot/").status_code == 200
