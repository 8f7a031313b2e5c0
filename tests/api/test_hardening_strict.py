"""Request bodies are strict (issue 18 item 17): a number is not a date, 0 is not false, a
float is not an id; the OpenAPI schema says so, so generated clients and fuzzers agree."""

from __future__ import annotations

import pytest

from tests.api.conftest import api_as as api_as  # the fixture
from yiti.customers.services import customer_create
from yiti.engagement.models import Interaction

WEEK = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


@pytest.fixture
def customer(org):
    return customer_create(actor=None, name="杭州客户", unit=org.hz, owner=org.users["am_hz"])


def _refused(response, field: str) -> None:
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field


@pytest.mark.parametrize("when", [0.0, 0, "0", 1_700_000_000, True])
def test_an_interaction_time_must_be_iso_text(api_as, customer, when):
    body = {"channel": "call", "direction": "out", "purpose": "sales", "occurred_at": when}
    _refused(api_as("am_hz").post(f"/customers/{customer.pk}/interactions", body), "occurred_at")
    assert not Interaction.objects.filter(customer=customer).exists()


def test_an_iso_interaction_time_is_stored(api_as, customer):
    body = {
        "channel": "call",
        "direction": "out",
        "purpose": "sales",
        "occurred_at": "2026-01-05T10:00:00+08:00",
    }
    response = api_as("am_hz").post(f"/customers/{customer.pk}/interactions", body)
    assert response.status_code == 201, response.content
    assert response.json()["occurred_at"].startswith("2026-01-05T")


def test_a_calendar_exception_date_must_be_a_date(api_as, org):
    body = {"name": "杭州", "weekly_hours": WEEK, "exceptions": [{"date": 0, "hours": []}]}
    _refused(api_as("admin").post("/service/calendars", body), "exceptions.0.date")
    body["exceptions"] = [{"date": "2026-10-01", "hours": [["25:00", "26:00"]]}]
    assert api_as("admin").post("/service/calendars", body).status_code == 422
    body["exceptions"] = [{"date": "2026-10-01", "hours": []}]
    assert api_as("admin").post("/service/calendars", body).status_code == 201


def test_a_calendar_weekday_must_be_one_of_the_seven(api_as, org):
    body = {"name": "杭州", "weekly_hours": {**WEEK, "funday": [["09:00", "10:00"]]}}
    assert api_as("admin").post("/service/calendars", body).status_code == 422


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"active": 0}, "active"),
        ({"active": "yes"}, "active"),
        ({"first_response_minutes": 60.0}, "first_response_minutes"),
        ({"first_response_minutes": "60"}, "first_response_minutes"),
        ({"resolution_minutes": 2**40}, "resolution_minutes"),
    ],
)
def test_an_sla_policy_takes_only_booleans_and_bounded_integers(api_as, org, change, field):
    body = {
        "kind": "repair",
        "priority": "high",
        "first_response_minutes": 60,
        "resolution_minutes": 600,
        **change,
    }
    _refused(api_as("admin").post("/service/sla-policies", body), field)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"birth_date": 0}, "birth_date"),
        ({"since": "2026-01-01T00:00:00"}, "since"),
        ({"owner": 3.0}, "owner"),
        ({"name": 12}, "name"),
        ({"unit": 1.5}, "unit"),
        ({"unit": True}, "unit"),
    ],
)
def test_a_customer_is_refused_loose_values(api_as, org, change, field):
    body = {"name": "王强", "unit": org.hz.pk, **change}
    _refused(api_as("admin").post("/customers", body), field)


def test_consent_takes_a_boolean(api_as, customer):
    body = {"channel": "sms", "purpose": "marketing", "granted": 1}
    _refused(api_as("am_hz").post(f"/customers/{customer.pk}/consent", body), "granted")


def test_ticket_bodies_take_ids_and_booleans_only(api_as, customer):
    api = api_as("admin")
    _refused(
        api.post(
            "/service/tickets", {"customer": float(customer.pk), "kind": "repair", "subject": "x"}
        ),
        "customer",
    )
    created = api.post(
        "/service/tickets", {"customer": customer.pk, "kind": "consultation", "subject": "x"}
    )
    assert created.status_code == 201, created.content
    ticket_id = created.json()["id"]
    _refused(api.post(f"/service/tickets/{ticket_id}/reply", {"body": "hi", "public": 0}), "public")


def test_the_openapi_schema_states_the_constraints(api_as, org):
    spec = api_as("admin").get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    occurred = schemas["InteractionIn"]["properties"]["occurred_at"]["anyOf"][0]
    assert occurred.items() >= {"type": "string", "format": "date-time"}.items()
    policy = schemas["PolicyIn"]["properties"]
    assert policy["active"]["type"] == "boolean"
    assert policy["first_response_minutes"]["maximum"] == 366 * 24 * 60
    exception_date = schemas["ExceptionIn"]["properties"]["date"]
    assert exception_date.items() >= {"type": "string", "format": "date"}.items()
    quiet = schemas["QuietHoursIn"]["properties"]
    assert "pattern" in quiet["start"]
    assert quiet["days"]["items"]["maximum"] == 6
    assert schemas["ContactRuleIn"]["properties"]["window_days"]["maximum"] == 366
