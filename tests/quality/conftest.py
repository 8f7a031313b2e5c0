"""A small month of service for the quality indicators, built row by row with explicit times
(Asia/Shanghai), so every number can be computed by hand (tests/quality/test_indicators.py).

November 2026. Customers: Hangzhou h1..h4 active and h5 inactive; Ningbo n1, n2; Beijing b1.

tickets (opened → resolved, SLA)                                  FCR  AHT   reopened
  T1 repair h1        11-02 10:00 → 11-02 14:00, met               yes   4 h
  T2 consult h2       11-03 09:00 → 11-05 09:00, missed            no   48 h
  T3 complaint h1     11-10 10:00 (waited on customer 11-10 12:00, resolved 11-10 20:00,
                      reopened 11-15 09:00) → 11-16 10:00, met     no  144 h  yes
  T4 order proc. h3   11-04 10:00 → 11-04 11:00, met               (not a contact)
  T5 complaint h1     10-25 10:00 → 10-26 10:00 (October: makes T3 a repeat)
  T6 complaint h2     11-20 10:00, open
  T7 complaint n1     11-08 10:00 → 11-08 15:00, missed            yes   5 h
  T8 complaint n1     11-09 10:00, open (a repeat of T7)
  T9 repair b1        11-30 23:00 → 12-01 01:00 (December locally, November in UTC)
  T10 consult b1      10-31 23:30 → 11-01 00:30, met (November locally, October in UTC)
                                                                   yes   1 h
care calls due in November: h1 done early, h2 done late, h3 open, h4 cancelled (not counted),
  n1 done early; h1 due 12-02 (December).
surveys: h1 CSAT 5 NPS 10 (11-06); h2 CSAT 2 NPS 3 (11-07); h3 CSAT 4 NPS 8 (11-30 23:59);
  n1 CSAT 1 (12-01 00:10, December); n2 CSAT 3 NPS 9 (11-15).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from yiti.care.models import (
    CareTask,
    FollowUpRule,
    SurveyAnswer,
    SurveyQuestion,
    SurveyResponse,
    SurveyTemplate,
)
from yiti.customers.models import Customer
from yiti.customers.services import customer_create
from yiti.service.models import Ticket, TicketEvent

SH = ZoneInfo("Asia/Shanghai")
NOVEMBER = date(2026, 11, 1)
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=SH)  # "now" for the tests: after the month


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def nov(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return sh(2026, 11, day, hour, minute)


@dataclass
class Month:
    customers: dict[str, Customer]
    tickets: dict[str, Ticket]


def _ticket(customer, kind, opened, resolved=None, sla="none", due=None, subject="", **extra):
    status = "resolved" if resolved else "in_progress"
    return Ticket.objects.create(
        customer=customer,
        kind=kind,
        complaint_class="offer_design" if kind == "complaint" else "",
        subject=subject or f"{kind} {customer.name}",
        unit=customer.unit,
        status=status,
        opened_at=opened,
        resolved_at=resolved,
        sla_state=sla,
        resolution_due_at=due,
        **extra,
    )


def _event(ticket, at, to_status):
    TicketEvent.objects.create(ticket=ticket, kind="status", at=at, to_status=to_status)


def build_month(org) -> Month:
    units = {"h": org.hz, "n": org.nb, "b": org.bj}
    customers = {}
    for key in ("h1", "h2", "h3", "h4", "h5", "n1", "n2", "b1"):
        customers[key] = customer_create(actor=None, name=key, unit=units[key[0]], contacts=[])
    Customer.objects.filter(pk=customers["h5"].pk).update(status="inactive")
    c = customers
    t = {}
    t["T1"] = _ticket(c["h1"], "repair", nov(2), nov(2, 14), "met", nov(3))
    t["T2"] = _ticket(c["h2"], "consultation", nov(3, 9), nov(5, 9), "missed", nov(4, 9))
    t["T3"] = _ticket(c["h1"], "complaint", nov(10), nov(16), "met", nov(20))
    _event(t["T3"], nov(10, 12), "waiting_customer")
    _event(t["T3"], nov(10, 20), "resolved")
    _event(t["T3"], nov(15, 9), "reopened")
    _event(t["T3"], nov(16), "resolved")
    t["T4"] = _ticket(c["h3"], "order_processing", nov(4), nov(4, 11), "met", nov(6))
    t["T5"] = _ticket(c["h1"], "complaint", sh(2026, 10, 25, 10), sh(2026, 10, 26, 10), "met")
    t["T6"] = _ticket(c["h2"], "complaint", nov(20))
    t["T7"] = _ticket(c["n1"], "complaint", nov(8), nov(8, 15), "missed", nov(8, 12))
    t["T8"] = _ticket(c["n1"], "complaint", nov(9))
    t["T9"] = _ticket(c["b1"], "repair", nov(30, 23), sh(2026, 12, 1, 1), "met", sh(2026, 12, 2))
    t["T10"] = _ticket(
        c["b1"], "consultation", sh(2026, 10, 31, 23, 30), nov(1, 0, 30), "met", nov(2)
    )
    for ticket in t.values():
        _event(ticket, ticket.opened_at, "new")

    rule = FollowUpRule.objects.create(name="回访", trigger="repair_resolved")

    def care(key, due, status="open", completed=None):
        CareTask.objects.create(
            customer=c[key],
            rule=rule,
            kind="first",
            source_at=due,
            due_at=due,
            status=status,
            completed_at=completed,
        )

    care("h1", nov(5, 18), "done", nov(5, 10))
    care("h2", nov(6, 18), "done", nov(7, 9))
    care("h3", nov(28, 18))
    care("h4", nov(12, 18), "cancelled")
    care("n1", nov(10, 18), "done", nov(9, 10))
    care("h1", sh(2026, 12, 2, 18), "done", sh(2026, 12, 2, 10))

    survey = SurveyTemplate.objects.create(name="满意度", code="csat")
    q_csat = SurveyQuestion.objects.create(template=survey, kind="csat", text="满意吗", position=1)
    q_nps = SurveyQuestion.objects.create(template=survey, kind="nps", text="推荐吗", position=2)

    def answer(key, at, csat, nps=None):
        response = SurveyResponse.objects.create(
            customer=c[key], template=survey, channel="call", submitted_at=at
        )
        SurveyAnswer.objects.create(response=response, question=q_csat, score=csat)
        if nps is not None:
            SurveyAnswer.objects.create(response=response, question=q_nps, score=nps)

    answer("h1", nov(6), 5, 10)
    answer("h2", nov(7), 2, 3)
    answer("h3", nov(30, 23, 59), 4, 8)
    answer("n1", sh(2026, 12, 1, 0, 10), 1)
    answer("n2", nov(15), 3, 9)
    return Month(customers=customers, tickets=t)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """Every quality test runs on 3 December 2026, 09:00 in Shanghai."""
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    return NOW


@pytest.fixture
def month(org) -> Month:
    return build_month(org)
