"""Background work of attribution: the nightly credit run (``attribution.nightly``, 01:30
local time), which attributes the conversions of the day before."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone
from django_tasks import task

from yiti.attribution.services import credit_attribute_day


@task()
def attribute_yesterday(slot: str = "") -> dict[str, Any]:
    """Attribute the previous local day's conversions (of the slot's day; re-run safe)."""
    moment = datetime.fromisoformat(slot) if slot else timezone.now()
    day: date = timezone.localtime(moment).date() - timedelta(days=1)
    return {"day": day.isoformat(), **credit_attribute_day(day=day).as_dict()}
