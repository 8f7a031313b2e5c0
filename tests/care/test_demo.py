"""The demo leaves care tasks in every state, with attempts, answers and a complaint."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tests.factories import ProductFactory
from yiti.care.demo import seed_care
from yiti.care.models import CareAttempt, SurveyAnswer, SurveyResponse
from yiti.customers.services import customer_create, order_create
from yiti.service.models import Ticket
from yiti.service.services import ticket_create, ticket_resolve


def test_seed_care_walks_tasks_into_every_state(org):
    now = timezone.now()
    product = ProductFactory()
    for i in range(14):
        customer = customer_create(actor=None, name=f"客户{i}", unit=org.hz if i % 2 else org.nb)
        kind = "complaint" if i % 3 == 0 else "repair"
        extra = {"complaint_class": "fulfilment"} if kind == "complaint" else {}
        ticket = ticket_create(
            actor=None,
            customer=customer,
            kind=kind,
            subject="demo",
            opened_at=now - timedelta(days=3, hours=i),
            **extra,
        )
        ticket_resolve(
            actor=None, ticket=ticket, resolution="ok", at=now - timedelta(days=2, hours=i)
        )
        order_create(
            actor=None,
            customer=customer,
            product=product,
            status="processing",
            sold_by=org.users["am_hz"],
        )
    report = seed_care(now=now, count=12)
    assert report.rules == 3
    assert {"open", "done", "escalated", "cancelled"} <= set(report.states)
    assert CareAttempt.objects.filter(outcome="no_answer").exists()
    assert (
        SurveyAnswer.objects.filter(question__target="sales").exists()
        or SurveyAnswer.objects.exists()
    )
    assert SurveyResponse.objects.filter(channel="link", submitted_at__isnull=True).exists()
    assert SurveyResponse.objects.filter(dissatisfied=True, complaint_ticket__isnull=False).exists()
    assert Ticket.objects.filter(kind="complaint", channel="care").exists()
    # calling it again does not fail
    seed_care(now=timezone.now(), count=2)
