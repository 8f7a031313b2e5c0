"""Demo data of the quality layer: a topic catalogue matching the demo desk's subjects (linked to
the demo products and campaigns when they exist), the topic chosen on the demo tickets whose
subject names it, then last month's and this month's ranking and the last two weeks' themes.

Called by the demo seed after the desk and the campaigns (``seed_quality(now=...)``); safe to
call again (topics are kept, computations replace their period).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from yiti.customers.models import Product
from yiti.quality.periods import local_date, month_start, previous_month, week_start
from yiti.quality.services import ranking_compute, themes_compute
from yiti.service.choices import TicketKind
from yiti.service.models import Ticket, Topic
from yiti.service.topics import ticket_topic_set, topic_save

C, Q = TicketKind.COMPLAINT, TicketKind.CONSULTATION

# (name, kind, words the demo subjects contain, product code prefix, keywords)
TOPICS = [
    ("套餐资费", Q, ("资费",), "", "套餐 资费 月租"),
    ("宽带提速", Q, ("提速",), "bb", "宽带 提速 网速"),
    ("国际漫游", Q, ("漫游",), "", "漫游 出境"),
    ("积分兑换", Q, ("积分",), "", "积分 兑换"),
    ("活动条件与宣传不符", C, ("宣传不符",), "", "宣传 条件"),
    ("活动互相冲突", C, ("冲突",), "", "冲突 叠加"),
    ("营业员解释不清", C, ("解释不清",), "", "解释 营业员"),
    ("赠品未到", C, ("赠品",), "", "赠品 到货 发货"),
]


@dataclass
class QualityReport:
    topics: int = 0
    tickets_with_topic: int = 0
    months: int = 0
    weeks: int = 0


def seed_quality(*, now: datetime | None = None) -> QualityReport:
    now = now or timezone.now()
    report = QualityReport()
    for name, kind, words, product_prefix, keywords in TOPICS:
        topic = Topic.objects.filter(name=name).first()
        if topic is None:
            product = (
                Product.objects.filter(code__startswith=product_prefix).order_by("code").first()
                if product_prefix
                else None
            )
            topic = topic_save(
                actor=None, name=name, applies_to=kind, product=product, keywords=keywords
            )
            report.topics += 1
        for word in words:
            for ticket in Ticket.objects.filter(
                kind=kind, topic__isnull=True, subject__contains=word
            ).select_related("customer"):
                ticket_topic_set(actor=None, ticket=ticket, topic=topic)
                report.tickets_with_topic += 1
    today = local_date(now)
    for month in (previous_month(today), month_start(today)):
        ranking_compute(month=month)
        report.months += 1
    for week in (week_start(today) - timedelta(days=14), week_start(today) - timedelta(days=7)):
        themes_compute(week=week)
        report.weeks += 1
    return report
