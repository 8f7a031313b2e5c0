"""Account-manager scorecards built on profit: margin sold and credited, retention, contact
coverage, sales satisfaction and complaints; ranked within the unit; scoped; kept weekly."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.accounting.conftest import NOW, bj
from yiti.accounting import selectors
from yiti.accounting.models import ScorecardSnapshot
from yiti.accounting.tasks import snapshot_week
from yiti.core.errors import PermissionDenied

NOV = (date(2026, 11, 1), date(2026, 11, 30))


def _cards(user, **kw):
    return {
        c.user.username: c for c in selectors.scorecards_for(user, start=NOV[0], end=NOV[1], **kw)
    }


def test_profit_retention_coverage_satisfaction_and_complaints(world, scorecard_book, monkeypatch):
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: NOW)
    cards = _cards(world.org.users["rm_east"])
    am, am2 = cards["am_hz"], cards["am_hz2"]
    assert am.sold_margin == Decimal("484.00") and am.sold_orders == 2
    assert am.credited_margin == 0
    assert am2.sold_margin == Decimal("300.00")
    assert am2.credited_margin == Decimal("192.00")  # his call's share of the counter order
    assert am2.profit == Decimal("492.00") > am.profit
    assert (am2.rank, am2.of, am.rank) == (1, 2, 2)
    assert am.customers == 3 and am.active_customers == 2  # customers 0 and 1 bought
    assert am.idle_customers == 2  # one not for 60 days, one never
    assert am.churned_mvc == 1
    assert am.satisfaction == 4.0 and am.satisfaction_answers == 1  # the sales question only
    assert am.complaints == 1 and am2.complaints == 0
    # a longer idle window counts only the one never contacted
    assert _cards(world.org.users["rm_east"], idle_days=90)["am_hz"].idle_customers == 1


def test_each_sees_his_scope(world, scorecard_book):
    org = world.org
    assert set(_cards(org.users["am_hz"])) == {"am_hz"}
    assert _cards(org.users["am_hz"])["am_hz"].rank == 2  # ranked among the whole unit
    assert set(_cards(org.users["rm_east"])) == {"am_hz", "am_hz2", "am_nb"}
    assert set(_cards(org.users["rm_east"], unit=org.nb)) == {"am_nb"}
    assert set(_cards(org.users["fin"])) == {"am_hz", "am_hz2", "am_nb", "am_bj"}
    assert set(_cards(org.users["rm_north"])) == {"am_bj"}
    with pytest.raises(PermissionDenied):
        _cards(org.users["cm"])


def test_weekly_snapshot_is_kept_and_rerun_gives_the_same(world, scorecard_book):
    org = world.org
    monday = bj(2026, 11, 9, 6, 30)  # the week before: 11-02 to 11-08
    assert snapshot_week(now=monday) == 4
    assert snapshot_week(now=monday) == 4
    rows = ScorecardSnapshot.objects.filter(week_start=date(2026, 11, 2))
    assert rows.count() == 4
    am2 = rows.get(user=org.users["am_hz2"])
    assert (am2.rank, am2.profit) == (1, Decimal("492.00"))
    assert am2.data["credited_margin"] == "192.00"
    mine = selectors.snapshots_for(org.users["am_hz"], week_start=date(2026, 11, 2))
    assert [s.user.username for s in mine] == ["am_hz"]


def test_scorecard_page(world, scorecard_book, as_user):
    page = as_user("am_hz").get(
        "/accounting/scorecards/", {"start": "2026-11-01", "end": "2026-11-30"}
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert (
        "My scorecard" in html and 'data-user="am_hz"' in html and 'data-user="am_hz2"' not in html
    )
    rm = as_user("rm_east").get(
        "/accounting/scorecards/", {"start": "2026-11-01", "end": "2026-11-30"}
    )
    assert 'data-user="am_hz2"' in rm.content.decode()
    assert as_user("cm").get("/accounting/scorecards/").status_code == 403
