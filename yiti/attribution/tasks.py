"""Background work of attribution: the nightly credit run (``attribution.nightly``, 01:30
local time), which attributes the conversions of the day before, and the recomputation of
one campaign whose plan changed after launch."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone
from django_tasks import task

from yiti.attribution.services import credit_attribute_day, credit_recompute
from yiti.campaigns.models import Campaign


@task()
def attribute_yesterday(slot: str = "") -> dict[str, Any]:
    """Attribute the previous local day's conversions (of the slot's day; re-run safe)."""
    moment = datetime.fromisoformat(slot) if slot else timezone.now()
    day: date = timezone.localtime(moment).date() - timedelta(days=1)
    return {"day": day.isoformat(), **credit_attribute_day(day=day).as_dict()}


@task()
def recompute_campaign(campaign_id: int) -> dict[str, Any]:
    """Attribute all of one campaign's conversions again (its plan changed after launch)."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return {"campaign": campaign_id, "missing": True}
    return {"campaign": campaign_id, **credit_recompute(campaign=campaign).as_dict()}
