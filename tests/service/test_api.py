"""The service desk API: tickets, SLA policies and calendars, scoped and with JSON errors."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from yiti.org.services import token_create
from yiti.service.services import ticket_create

pytestmark = pytest.mark.urls("tests.service.urls_api")
PREFIX = "/api/test-service/service"


class Api:
    def __init__(self, user):
        _token, raw = token_create(user=user, name="tests")
        self.headers = {"Authorization": f"Bearer {raw}"}
        self.client = Client()

    def get(self, path, params=None):
        return self.client.get(PREFIX + path, params or {}, headers=self.headers)

    def post(self, path, body, method="post"):
        return getattr(self.client, method)(
            PREFIX + path, json.dumps(body), content_type="application/json", headers=self.headers
        )


@pytest.fixture
def as_user(org):
    return lambda name: Api(org.users[name])


def test_open_work_and_resolve_a_complaint_through_the_api(org, customers, policies, as_user):
    api = as_user("svc_east")
    response = api.post(
        "/tickets",
        {
            "customer": customers["hz"].pk,
            "kind": "complaint",
            "complaint_class": "fulfilment",
            "complaint_reason": "gift_late",
            "campaign_id": 1,
            "subject": "Gift late",
        },
    )
    assert response.status_code == 201, response.content
    ticket = response.json()
    assert ticket["status"] == "assigned" and ticket["assignee"]["username"] == "svc_east"
    assert ticket["sla_state"] == "ok" and ticket["resolution_due_at"]
    assert [e["kind"] for e in ticket["events"]] == ["created", "assigned"]
    tid = ticket["id"]

    response = api.post(f"/tickets/{tid}/transition", {"to_status": "closed"})
    assert response.status_code == 422
    assert response.json() == {
        "code": "invalid_transition",
        "message": response.json()["message"],
        "field": "status",
    }
    assert api.post(f"/tickets/{tid}/reply", {"body": "Sorry!"}).status_code == 201
    assert (
        api.post(f"/tickets/{tid}/reply", {"body": "Check stock", "public": False}).json()["public"]
        is False
    )
    response = api.post(f"/tickets/{tid}/transition", {"to_status": "resolved", "body": "Sent"})
    assert response.status_code == 200 and response.json()["status"] == "resolved"

    listed = api.get("/tickets", {"status": "all", "kind": "complaint", "campaign": 1}).json()
    assert [t["id"] for t in listed["items"]] == [tid] and listed["has_next"] is False
    assert api.get("/tickets", {"unit": org.east.pk}).json()["items"] == []  # resolved: not open


def test_scoping_and_errors(org, customers, policies, as_user, svc_north):
    ticket = ticket_create(actor=None, customer=customers["hz"], kind="repair", subject="x")
    north = Api(svc_north)
    assert north.get(f"/tickets/{ticket.pk}").json()["code"] == "not_found"
    assert north.get("/tickets").json()["items"] == []
    assert (
        north.post(f"/tickets/{ticket.pk}/transition", {"to_status": "in_progress"}).status_code
        == 404
    )
    assert north.get("/tickets", {"unit": org.east.pk}).status_code == 404
    response = north.post(
        "/tickets", {"customer": customers["hz"].pk, "kind": "repair", "subject": "y"}
    )
    assert response.status_code == 404
    api = as_user("svc_east")
    response = api.post(f"/tickets/{ticket.pk}/assign", {"assignee": svc_north.pk})
    assert response.status_code == 422 and response.json()["code"] == "not_an_agent"
    response = api.post("/tickets", {"customer": customers["hz"].pk, "kind": "repair"})
    assert response.status_code == 422 and response.json()["field"] == "subject"


def test_policies_and_calendars(org, as_user):
    rm, agent = as_user("rm_east"), as_user("svc_east")
    body = {
        "kind": "repair",
        "priority": "high",
        "first_response_minutes": 60,
        "resolution_minutes": 480,
    }
    assert agent.post("/sla-policies", body).status_code == 403
    created = rm.post("/sla-policies", body)
    assert created.status_code == 201 and created.json()["warning_ratio"] == "0.80"
    assert rm.post("/sla-policies", body).json()["code"] == "duplicate"
    pid = created.json()["id"]
    updated = rm.post(f"/sla-policies/{pid}", {**body, "resolution_minutes": 600}, method="put")
    assert updated.json()["resolution_minutes"] == 600
    assert [p["id"] for p in agent.get("/sla-policies").json()] == [pid]

    calendar = {
        "name": "East",
        "unit": org.east.pk,
        "weekly_hours": {"mon": [["09:00", "17:00"]], "sat": [["09:00", "12:00"]]},
        "exceptions": [{"date": "2026-10-10", "hours": [], "note": "closed"}],
    }
    created = rm.post("/calendars", calendar)
    assert created.status_code == 201, created.content
    cid = created.json()["id"]
    assert created.json()["weekly_hours"]["tue"] == []
    assert created.json()["exceptions"] == [{"date": "2026-10-10", "hours": [], "note": "closed"}]
    bad = rm.post(
        f"/calendars/{cid}",
        {**calendar, "weekly_hours": {"mon": [["17:00", "09:00"]]}},
        method="put",
    )
    assert bad.status_code == 422 and bad.json()["field"] == "weekly_hours"
    assert rm.post("/calendars", {**calendar, "unit": None}).status_code == 403  # company default
    assert [c["name"] for c in rm.get("/calendars").json()] == ["East"]
