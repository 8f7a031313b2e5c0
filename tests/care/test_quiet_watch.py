"""The care line watches the sales line (issue 15 item 5, seed 002 scenario 3): an account
manager whose customers have gone quiet raises an alert to his region manager and the care
centre, by the daily scheduled task, once a week at most while they stay quiet."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yiti.care.watch import QuietRule, quiet_managers, quiet_watch
from yiti.core.scheduling import schedules
from yiti.customers.models import Customer
from yiti.org.models import Notification

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 7, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
RULE = QuietRule(days=30, share=0.3, min_customers=10)


def book(org, owner: str, *, quiet: int, recent: int, unit=None, now: datetime = NOW) -> None:
    user = org.users[owner]
    unit = unit or {"am_hz": org.hz, "am_nb": org.nb, "am_bj": org.bj}[owner]
    for i in range(quiet + recent):
        last = now - timedelta(days=45 if i < quiet else 3)
        if i == 0 and quiet:
            last = None  # never contacted counts as quiet
        Customer.objects.create(
            name=f"{owner}-{i}",
            name_key=f"{owner}-{i}",
            unit=unit,
            owner=user,
            last_contact_at=last,
        )


def test_an_account_manager_gone_quiet_alerts_his_region_manager_and_the_care_centre(org):
    # given am_hz with 4 of 10 customers quiet, am_nb with 2 of 10, am_bj with 3 of 3 (too few)
    book(org, "am_hz", quiet=4, recent=6)
    book(org, "am_nb", quiet=2, recent=8)
    book(org, "am_bj", quiet=3, recent=0)
    # when the morning watch runs
    result = quiet_watch(now=NOW, rule=RULE)
    # then only am_hz is reported, to the East region manager and the East care agent
    assert [(m.user_id, m.customers, m.quiet) for m in result.managers] == [
        (org.users["am_hz"].pk, 10, 4)
    ]
    kind = f"care.quiet:{org.users['am_hz'].pk}"
    got = set(Notification.objects.filter(kind=kind).values_list("user__username", flat=True))
    assert got == {"rm_east", "care_east"}
    note = Notification.objects.get(kind=kind, user=org.users["rm_east"])
    assert "4 of 10" in note.body and "40%" in note.body and "30 days" in note.body
    assert note.link == f"/customers/?owner={org.users['am_hz'].pk}&quiet=30"
    assert not Notification.objects.filter(user=org.users["rm_north"]).exists()


def test_the_alert_is_not_repeated_within_a_week_while_the_customers_stay_quiet(org):
    book(org, "am_hz", quiet=5, recent=5)
    assert quiet_watch(now=NOW, rule=RULE).notified == 2
    Notification.objects.update(created_at=NOW)  # sent at the watch's "now"
    assert quiet_watch(now=NOW + timedelta(days=1), rule=RULE).notified == 0
    assert quiet_watch(now=NOW + timedelta(days=8), rule=RULE).notified == 2
    # once he has called them, the watch is silent
    Customer.objects.filter(owner=org.users["am_hz"]).update(
        last_contact_at=NOW + timedelta(days=9)
    )
    assert quiet_watch(now=NOW + timedelta(days=16), rule=RULE).managers == []


def test_the_alert_links_to_the_quiet_customers_and_shows_on_the_home_page(org):
    from django.utils import timezone

    now = timezone.now()
    book(org, "am_hz", quiet=4, recent=6, now=now)
    quiet_watch(now=now, rule=RULE)
    client = Client()
    client.force_login(org.users["rm_east"])
    home = client.get("/").content.decode()
    assert 'id="home-alerts"' in home
    link = re.search(
        r'data-alert="care\.quiet:\d+"><span[^>]*>[^<]*</span> <a href="([^"]+)"', home
    )
    assert link is not None
    listing = client.get(link.group(1).replace("&amp;", "&")).content.decode()
    assert len(set(re.findall(r'href="/customers/(\d+)/"', listing))) == 4


def test_the_watch_is_scheduled_every_morning():
    (schedule,) = [s for s in schedules() if s.name == "care.quiet_watch"]
    assert schedule.cron == "30 8 * * *"


def test_the_rule_reads_its_numbers_from_the_settings(settings):
    settings.YITI_QUIET_DAYS, settings.YITI_QUIET_SHARE, settings.YITI_QUIET_MIN_CUSTOMERS = (
        45,
        0.5,
        3,
    )
    assert QuietRule.from_settings() == QuietRule(days=45, share=0.5, min_customers=3)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    books=st.lists(
        st.lists(st.one_of(st.none(), st.integers(0, 90)), min_size=0, max_size=14),
        min_size=3,
        max_size=3,
    ),
    share=st.sampled_from([0.0, 0.25, 0.5]),
    minimum=st.integers(1, 6),
)
def test_quiet_managers_agree_with_counting_by_hand(org, books, share, minimum):
    Customer.objects.all().delete()
    owners = ["am_hz", "am_nb", "am_bj"]
    for owner, days_ago in zip(owners, books, strict=True):
        for i, ago in enumerate(days_ago):
            Customer.objects.create(
                name=f"{owner}{i}",
                name_key=f"{owner}{i}",
                unit=org.hz,
                owner=org.users[owner],
                last_contact_at=None if ago is None else NOW - timedelta(days=ago, minutes=1),
            )
    rule = QuietRule(days=30, share=share, min_customers=minimum)
    expected = set()
    for owner, days_ago in zip(owners, books, strict=True):
        quiet = sum(1 for ago in days_ago if ago is None or ago >= 30)
        if len(days_ago) >= minimum and quiet / len(days_ago) > share:
            expected.add((org.users[owner].pk, len(days_ago), quiet))
    found = {(m.user_id, m.customers, m.quiet) for m in quiet_managers(rule=rule, now=NOW)}
    assert found == expected
