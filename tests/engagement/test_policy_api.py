"""The contact policy's API: /api/v1/engagement/contact-rules, /quiet-hours, /suppressions —
each operation, who may call it, and 422 answers that name the field."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.api.conftest import Api
from tests.factories import CustomerFactory
from yiti.core.models import AuditEvent
from yiti.engagement.models import ContactPolicyRule, QuietHours, Suppression
from yiti.engagement.services import contact_rule_create, suppression_add, suppression_set
from yiti.org.services import token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_as(org):
    """``api_as("cm")``: a JSON client with a fresh bearer token of that fixture user."""

    def make(username: str) -> Api:
        _token, raw = token_create(user=org.users[username], name="tests")
        return Api(token=raw)

    return make


RULE = {
    "name": "每周两次营销",
    "max_contacts": 2,
    "window_days": 7,
    "purposes": ["marketing"],
    "channels": ["sms", "call"],
    "weights": {"marketing": 1, "service": 0.5},
}


def error(response, status, field=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert {"code", "message", "field"} <= set(body) and body["message"]
    if field is not None:
        assert body["field"] == field, body
    return body


def test_a_campaign_manager_creates_lists_and_changes_a_rule(org, api_as):
    cm = api_as("cm")
    created = cm.post("/engagement/contact-rules", RULE)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["channels"] == ["call", "sms"] and body["weights"] == {
        "marketing": 1.0,
        "service": 0.5,
    }
    listed = api_as("analyst").get("/engagement/contact-rules")
    assert [r["name"] for r in listed.json()] == ["每周两次营销"]
    assert body["calendar_days"] is False  # rolling windows unless asked otherwise
    patched = cm.patch(f"/engagement/contact-rules/{body['id']}", {"max_contacts": 1})
    assert patched.status_code == 200 and patched.json()["max_contacts"] == 1
    days = cm.patch(f"/engagement/contact-rules/{body['id']}", {"calendar_days": True})
    assert days.json()["calendar_days"] is True
    assert ContactPolicyRule.objects.get(pk=body["id"]).calendar_days is True
    assert patched.json()["purposes"] == ["marketing"]
    off = api_as("admin").patch(f"/engagement/contact-rules/{body['id']}", {"active": False})
    assert off.json()["active"] is False
    assert AuditEvent.objects.filter(action__startswith="policy.rule_").count() == 4


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"max_contacts": 0}, "max_contacts"),
        ({"window_days": 400}, "window_days"),
        ({"weights": {"care": 11}}, "weights.care"),
        ({"weights": {"care": 0.0005}}, "weights.care"),
        ({"weights": {"spam": 1}}, "weights"),
        ({"name": " "}, "name"),
    ],
)
def test_a_bad_rule_is_422_naming_the_field(org, api_as, change, field):
    error(api_as("cm").post("/engagement/contact-rules", {**RULE, **change}), 422, field)
    assert not ContactPolicyRule.objects.exists()


def test_unknown_purposes_or_fields_are_422_and_a_duplicate_name_too(org, api_as):
    cm = api_as("cm")
    body = error(cm.post("/engagement/contact-rules", {**RULE, "purposes": ["spam"]}), 422)
    assert "purposes" in (body["field"] or "")
    error(cm.post("/engagement/contact-rules", {**RULE, "colour": "red"}), 422)
    assert cm.post("/engagement/contact-rules", RULE).status_code == 201
    error(cm.post("/engagement/contact-rules", RULE), 422, "name")
    rule = ContactPolicyRule.objects.get()
    error(cm.patch(f"/engagement/contact-rules/{rule.pk}", {"max_contacts": None}), 422)
    error(cm.patch("/engagement/contact-rules/999999", {"max_contacts": 3}), 404)


@pytest.mark.parametrize("username", ["analyst", "am_hz", "svc_east", "rm_east"])
def test_only_administrators_and_campaign_managers_change_the_policy(org, api_as, username):
    client = api_as(username)
    error(client.post("/engagement/contact-rules", RULE), 403)
    rule = contact_rule_create(actor=None, name="r", max_contacts=3, window_days=7)
    error(client.patch(f"/engagement/contact-rules/{rule.pk}", {"max_contacts": 1}), 403)
    error(
        client.post("/engagement/quiet-hours", {"name": "夜间", "start": "21:00", "end": "09:00"}),
        403,
    )


def test_quiet_hours_are_created_and_changed(org, api_as):
    cm = api_as("cm")
    created = cm.post(
        "/engagement/quiet-hours",
        {"name": "夜间", "start": "21:00", "end": "09:00", "channels": ["call", "sms"]},
    )
    assert created.status_code == 201, created.content
    quiet = created.json()
    assert (quiet["start"], quiet["end"], quiet["days"]) == (
        "21:00:00",
        "09:00:00",
        [0, 1, 2, 3, 4, 5, 6],
    )
    error(cm.patch(f"/engagement/quiet-hours/{quiet['id']}", {"start": "9 pm"}), 422, "start")
    error(cm.patch(f"/engagement/quiet-hours/{quiet['id']}", {"days": [7]}), 422, "days.0")
    changed = cm.patch(f"/engagement/quiet-hours/{quiet['id']}", {"days": [5, 6], "active": False})
    assert changed.json()["days"] == [5, 6] and changed.json()["active"] is False
    assert [q["name"] for q in api_as("am_hz").get("/engagement/quiet-hours").json()] == ["夜间"]
    assert QuietHours.objects.get().days == [5, 6]


def test_the_suppression_list_is_scoped_paginated_and_filtered(org, api_as):
    hz = [CustomerFactory(unit=org.hz, name=f"杭州{i}") for i in range(3)]
    bj = CustomerFactory(unit=org.bj, name="北京客户")
    for c in [*hz, bj]:
        suppression_add(actor=None, customer=c)
    suppression_set(
        actor=None, customer=hz[0], reason="open_complaint", source_type="ticket", source_id=1
    )
    ended = suppression_add(actor=None, customer=hz[1], reason="legal")
    Suppression.objects.filter(pk=ended.pk).update(expires_at=timezone.now() - timedelta(days=1))

    am = api_as("am_hz")
    names = [s["customer_name"] for s in am.get("/engagement/suppressions").json()["items"]]
    assert sorted(names) == ["杭州0", "杭州0", "杭州1", "杭州2"]  # not Beijing, not ended
    admin = api_as("admin")
    page = admin.get("/engagement/suppressions", {"page_size": 2}).json()
    assert len(page["items"]) == 2 and page["has_next"]
    last = admin.get("/engagement/suppressions", {"page": 3, "page_size": 2}).json()
    assert len(last["items"]) == 1 and not last["has_next"]  # five in force in all
    dnd = admin.get("/engagement/suppressions", {"reason": "open_complaint"}).json()["items"]
    assert [(s["customer_name"], s["source"]) for s in dnd] == [("杭州0", "ticket")]
    by_customer = admin.get("/engagement/suppressions", {"customer_id": bj.pk}).json()["items"]
    assert [s["customer_name"] for s in by_customer] == ["北京客户"]
    gone = admin.get("/engagement/suppressions", {"state": "ended"}).json()["items"]
    assert [(s["customer_name"], s["active"]) for s in gone] == [("杭州1", False)]
    error(admin.get("/engagement/suppressions", {"state": "maybe"}), 422)


def test_an_account_manager_adds_and_lifts_do_not_disturb_for_his_customer(org, api_as):
    customer = CustomerFactory(unit=org.hz)
    other = CustomerFactory(unit=org.bj)
    am = api_as("am_hz")
    until = (timezone.localdate() + timedelta(days=30)).isoformat()
    added = am.post(
        "/engagement/suppressions",
        {"customer_id": customer.pk, "expires_at": until, "note": "客户来电要求"},
    )
    assert added.status_code == 201, added.content
    row = added.json()
    assert row["reason"] == "do_not_disturb" and row["active"] and row["expires_at"]
    error(am.post("/engagement/suppressions", {"customer_id": other.pk}), 404)
    error(am.post("/engagement/suppressions", {"customer_id": customer.pk, "reason": "legal"}), 403)
    error(
        am.post(
            "/engagement/suppressions", {"customer_id": customer.pk, "expires_at": "2020-01-01"}
        ),
        422,
        "expires_at",
    )
    error(
        api_as("admin").post(
            "/engagement/suppressions", {"customer_id": customer.pk, "reason": "open_complaint"}
        ),
        422,
        "reason",
    )
    lifted = am.post(f"/engagement/suppressions/{row['id']}/lift")
    assert lifted.status_code == 200 and lifted.json()["active"] is False
    assert lifted.json()["lifted_by"]["username"] == "am_hz"
    error(am.post(f"/engagement/suppressions/{row['id']}/lift"), 422)
    # somebody who does not see the customer cannot find the entry
    error(api_as("am_bj").post(f"/engagement/suppressions/{row['id']}/lift"), 404)


def test_the_api_is_documented_in_openapi(org, api_as):
    schema = api_as("admin").get("/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/api/v1/engagement/contact-rules",
        "/api/v1/engagement/contact-rules/{rule_id}",
        "/api/v1/engagement/quiet-hours",
        "/api/v1/engagement/quiet-hours/{quiet_id}",
        "/api/v1/engagement/suppressions",
        "/api/v1/engagement/suppressions/{suppression_id}/lift",
    ):
        assert path in paths, path
