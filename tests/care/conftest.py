"""Care fixtures: a customer in Hangzhou, follow-up rules with surveys, resolved tickets.

In the ``org`` fixture the care agent ``care_east`` sits in the East region, so the care unit
of a Hangzhou customer is East and its region manager ``rm_east`` gets the escalations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from yiti.care.services import QuestionInput, followup_rule_create, survey_template_create
from yiti.customers.services import ContactInput, customer_create
from yiti.service.services import ticket_create, ticket_resolve

SH = ZoneInfo("Asia/Shanghai")


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


START = sh(2024, 1, 1)  # the rules apply to everything the tests create


@dataclass
class Care:
    survey: object
    order_survey: object
    repair_rule: object
    complaint_rule: object
    order_rule: object


@pytest.fixture
def customer(org):
    return customer_create(
        actor=None,
        name="张三",
        unit=org.hz,
        owner=org.users["am_hz"],
        contacts=[ContactInput(kind="phone", value="13800138000", primary=True)],
    )


@pytest.fixture
def care(org):
    survey = survey_template_create(
        actor=None,
        name="维修回访",
        code="repair-csat",
        questions=[
            QuestionInput(kind="csat", text="How satisfied are you with the repair?"),
            QuestionInput(kind="nps", text="Would you recommend us?", required=False),
            QuestionInput(kind="text", text="Anything else?", required=False),
        ],
    )
    order_survey = survey_template_create(
        actor=None,
        name="客服回访",
        code="order-sat",
        questions=[
            QuestionInput(kind="csat", text="The salesperson's explanation", target="sales"),
            QuestionInput(kind="csat", text="The service after the sale", target="service"),
            QuestionInput(kind="nps", text="Would you recommend us?", required=False),
        ],
    )
    return Care(
        survey=survey,
        order_survey=order_survey,
        repair_rule=followup_rule_create(
            actor=None,
            name="Repair call",
            trigger="repair_resolved",
            starts_at=START,
            survey_template=survey,
        ),
        complaint_rule=followup_rule_create(
            actor=None,
            name="Complaint calls",
            trigger="complaint_resolved",
            starts_at=START,
            second_after_days=5,
            survey_template=survey,
        ),
        order_rule=followup_rule_create(
            actor=None,
            name="Order satisfaction",
            trigger="order_fulfilled",
            starts_at=START,
            survey_template=order_survey,
        ),
    )


@pytest.fixture
def resolved(org):
    """``resolved(customer, kind="repair", opened=..., at=...)`` -> a resolved ticket."""

    def make(customer, *, kind="repair", opened=None, at=None, **extra):
        if kind == "complaint":
            extra.setdefault("complaint_class", "offer_design")
        ticket = ticket_create(
            actor=None,
            customer=customer,
            kind=kind,
            subject=f"{kind} ticket",
            opened_at=opened,
            **extra,
        )
        return ticket_resolve(actor=None, ticket=ticket, resolution="fixed", at=at)

    return make


@pytest.fixture
def as_user(org):
    def client_for(username):
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(org.users[username])
        return client

    return client_for
