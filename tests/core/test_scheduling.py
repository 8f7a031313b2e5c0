"""Periodic jobs: each slot is enqueued exactly once, however often the scheduler ticks."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from yiti.core import scheduling
from yiti.core.models import ScheduledRun

SHANGHAI = ZoneInfo("Asia/Shanghai")


class _FakeTask:
    """Records enqueues; stands in for a django_tasks Task whose body is irrelevant here."""

    def __init__(self):
        self.calls = []

    def enqueue(self, **kwargs):
        self.calls.append(kwargs)

        class R:
            id = f"r{len(self.calls)}"

        return R()


@pytest.fixture
def weekly(monkeypatch):
    monkeypatch.setattr(scheduling, "_registry", {})
    task = _FakeTask()
    scheduling.register_schedule("weekly-report", "0 6 * * mon", task)
    return task


@pytest.mark.django_db
def test_a_slot_is_enqueued_once_and_the_next_slot_again(weekly):
    tuesday = datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)
    assert scheduling.scheduler_tick(tuesday) == ["weekly-report"]
    assert scheduling.scheduler_tick(tuesday) == []
    assert weekly.calls == [{"slot": "2026-11-23T06:00:00+08:00"}]
    next_monday = datetime(2026, 11, 30, 6, 0, 30, tzinfo=SHANGHAI)
    assert scheduling.scheduler_tick(next_monday) == ["weekly-report"]
    assert weekly.calls[-1] == {"slot": "2026-11-30T06:00:00+08:00"}
    assert ScheduledRun.objects.filter(name="weekly-report").count() == 2


def test_invalid_cron_is_refused(monkeypatch):
    monkeypatch.setattr(scheduling, "_registry", {})
    with pytest.raises(ValueError):
        scheduling.register_schedule("bad", "every monday", _FakeTask())
