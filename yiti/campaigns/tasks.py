"""Background work of campaigns: sending batches, and the dispatch job every minute.

``dispatch_campaigns`` starts the waves that are due (planning them first when needed),
closes call waves whose time is over, hands batches of a stopped worker to a new task,
attributes conversions and checks the complaint rate of running campaigns.
"""

from __future__ import annotations

from typing import Any

from django_tasks import task

from yiti.campaigns.choices import CampaignStatus
from yiti.campaigns.models import Campaign
from yiti.campaigns.outcomes import complaint_rate_check, conversions_attribute
from yiti.campaigns.sending import batch_send, batches_recover, waves_due


@task(queue_name="sending")
def send_batch_task(batch_id: int) -> dict[str, Any]:
    """Send one batch of a wave (safe to run again: what was sent is skipped)."""
    return batch_send(batch_id).as_dict()


@task()
def dispatch_campaigns(slot: str = "") -> dict[str, Any]:
    """The scheduled entry point (``campaigns.dispatch``, every minute)."""
    del slot  # every run looks at "now"; the slot only makes the run unique
    result: dict[str, Any] = dict(waves_due())
    result["recovered"] = len(batches_recover())
    result["converted"] = conversions_attribute()
    paused = 0
    for campaign_id in Campaign.objects.filter(status=CampaignStatus.RUNNING).values_list(
        "pk", flat=True
    ):
        paused += complaint_rate_check(campaign_id=campaign_id)
    result["paused"] = paused
    return result
