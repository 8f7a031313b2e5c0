"""Service-desk, field-dispatch and care demo data on top of the seeded customers.

A few hundred rows, all written through the apps' own demo seeders (and so through their
services): tickets of every kind and state, a dozen work orders at every step, care tasks
in every state, then the last daily, weekly and monthly satisfaction reports so that the
reports page has something to show from the first start. The customers are a sample drawn
from the ids the seed just assigned (no query), the users are the demo company's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.db import transaction
from django.utils import timezone

from yiti.care.demo import seed_care
from yiti.care.reports.choices import ReportKind
from yiti.care.reports.services import report_generate
from yiti.demo.company import Company
from yiti.org.models import User
from yiti.service.choices import TicketKind
from yiti.service.demo import seed_service
from yiti.service.dispatch.demo import seed_dispatch
from yiti.service.models import Ticket

SAMPLE_CUSTOMERS = 200  # tickets cycle over these customers
REPORT_HOUR = 6  # the scheduled report runs fire at 06:00 local time


@dataclass
class DeskReport:
    tickets: int = 0
    complaints: int = 0
    work_orders: int = 0
    care_tasks: int = 0
    reports: int = 0


def desk_seeded() -> bool:
    """Whether the desk has tickets already (a ``--force`` top-up adds customers only)."""
    return Ticket.objects.exists()


def report_slots(now: datetime) -> dict[str, datetime]:
    """The slots of the last scheduled run of each report: today, this Monday and the 1st of
    this month at 06:00 local time, which cover yesterday, last week and last month."""
    today = timezone.localtime(now).replace(hour=REPORT_HOUR, minute=0, second=0, microsecond=0)
    return {
        ReportKind.DAILY: today,
        ReportKind.WEEKLY: today - timedelta(days=today.weekday()),
        ReportKind.MONTHLY: today.replace(day=1),
    }


def seed_desk(
    *, seed: int, company: Company, customer_ids: np.ndarray, tickets: int = 300
) -> DeskReport:
    """About ``tickets`` tickets, a dozen work orders, care tasks in every state and the last
    daily, weekly and monthly reports, for a sample of ``customer_ids``."""
    rng = np.random.default_rng(seed + 7919)  # its own stream: the customers do not shift it
    report = DeskReport()
    if not len(customer_ids):
        return report
    size = min(SAMPLE_CUSTOMERS, len(customer_ids))
    sample = np.sort(rng.choice(customer_ids, size=size, replace=False)).tolist()
    users = {u.username: u for u in User.objects.filter(is_active=True).order_by("username")}
    # One transaction for the lot: a few thousand service calls commit once, and a failure
    # leaves no half-seeded desk behind.
    with transaction.atomic():
        made = seed_service(
            rng=rng,
            customers_sample=sample,
            users=users,
            units=dict(company.units),
            count=tickets,
        )
        report.work_orders = len(seed_dispatch(rng=rng, tickets=made, users=users))
        report.care_tasks = seed_care(rng=rng).tasks
    # counted at the end: unhappy survey answers open complaints of their own
    report.tickets = Ticket.objects.count()
    report.complaints = Ticket.objects.filter(kind=TicketKind.COMPLAINT).count()
    now = timezone.now()
    for kind, slot in report_slots(now).items():
        report.reports += report_generate(kind=kind, slot=slot).snapshots
    return report
