"""When the subject of a notification is done (``org.notices``): registered here because this
app sits above the service desk, care and campaigns whose objects notifications point to.

* a ticket assigned, warned or breached: done once resolved or closed;
* a campaign's sign-off request: done once the campaign left review (ready, running, paused,
  completed) — a completed campaign asks nobody to sign any more;
* an escalated care call: done once made or cancelled.
"""

from __future__ import annotations

from yiti.campaigns.choices import CampaignStatus
from yiti.campaigns.models import Campaign
from yiti.care.choices import TaskStatus
from yiti.care.models import CareTask
from yiti.org.notices import register_subject
from yiti.service.choices import TicketStatus
from yiti.service.models import Ticket

TICKET_LINK = r"^/service/tickets/(\d+)/"
CAMPAIGN_LINK = r"^/campaigns/(\d+)/"
CARE_LINK = r"^/care/tasks/(\d+)/"


def tickets_done(ids: set[int]) -> set[int]:
    done = Ticket.objects.filter(
        pk__in=ids, status__in=[TicketStatus.RESOLVED, TicketStatus.CLOSED]
    ).values_list("pk", flat=True)
    return set(done)


def campaigns_past_review(ids: set[int]) -> set[int]:
    waiting = [CampaignStatus.DRAFT, CampaignStatus.IN_REVIEW]
    return set(
        Campaign.objects.filter(pk__in=ids).exclude(status__in=waiting).values_list("pk", flat=True)
    )


def care_tasks_done(ids: set[int]) -> set[int]:
    return set(
        CareTask.objects.filter(
            pk__in=ids, status__in=[TaskStatus.DONE, TaskStatus.CANCELLED]
        ).values_list("pk", flat=True)
    )


def register() -> None:
    for kind in ("ticket_assigned", "sla_warning", "sla_breach"):
        register_subject(kind, TICKET_LINK, tickets_done)
    register_subject("campaign.review", CAMPAIGN_LINK, campaigns_past_review)
    register_subject("care.escalated", CARE_LINK, care_tasks_done)
    from yiti.core.scheduling import register_schedule
    from yiti.org.tasks import notifications_expire_task

    # every user's count in the top bar follows the subjects, page visit or not
    register_schedule("org.notifications_expire", "*/5 * * * *", notifications_expire_task)
