"""What the API fuzzer (tests/api/test_fuzz.py) found, pinned one by one."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.api.conftest import api_as as api_as  # the fixture
from yiti.org.services import token_create


def test_launch_with_an_overlong_idempotency_key_keeps_the_documented_missing_field(api_as, org):
    response = api_as("cm").post(
        "/campaigns/4589/launch", {}, headers={"Idempotency-Key": "k" * 256}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_idempotency_key"
    assert body["field"] == "Idempotency-Key"
    assert body["missing"] == []


def test_other_operations_answer_an_overlong_key_with_the_plain_error(api_as, org):
    response = api_as("admin").post(
        "/customers", {"name": "x"}, headers={"Idempotency-Key": "k" * 256}
    )
    assert response.status_code == 422
    assert set(response.json()) == {"code", "message", "field"}


def test_a_multipart_upload_with_an_idempotency_key_is_not_a_server_error(org):
    _token, raw = token_create(user=org.users["admin"], name="t")
    headers = {"Authorization": f"Bearer {raw}", "Idempotency-Key": "upload-1"}
    upload = SimpleUploadedFile("file.zip", b"PK\x03\x04", content_type="application/zip")
    response = Client().post(
        "/api/v1/imports", {"file": upload, "kind": "nonsense", "dry_run": "true"}, headers=headers
    )
    assert response.status_code == 422, response.content
    assert response.json()["field"] == "kind"


def test_an_offset_postgresql_cannot_store_is_moved_to_utc_not_a_server_error(api_as, org):
    from yiti.customers.services import customer_create

    customer = customer_create(actor=None, name="王强", unit=org.hz, owner=org.users["am_hz"])
    api = api_as("admin")
    listed = api.get("/orders", {"since": "4157-12-31T12:43:06+19:13"})
    assert listed.status_code == 200, listed.content
    body = {
        "customer_id": customer.pk,
        "reason": "do_not_disturb",
        "expires_at": "2099-01-01T12:00:00+19:13",
    }
    created = api.post("/engagement/suppressions", body)
    assert created.status_code == 201, created.content
    assert created.json()["expires_at"].startswith("2098-12-31T16:47:00")


def test_schema_names_do_not_collide_with_other_apps(api_as, org):
    spec = api_as("admin").get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert "count" in schemas["SegmentCountOut"]["properties"]
    # ninja names components by class name: a same-named class of another app replaced these
    assert list(schemas["TicketAssignIn"]["properties"]) == ["assignee"]
    assert "depart_on" in schemas["WorkOrderPlanIn"]["properties"]
    assert list(schemas["WavePlanIn"]["properties"]) == ["dry_run"]
    assert "capacity" in schemas["WavePlanOut"]["properties"]
    assert "status" in schemas["CampaignBrief"]["properties"]
    assert {"code", "depth", "parent"} <= set(schemas["OrgUnitOut"]["properties"])
    assert "period_start" in schemas["ReportSnapshotOut"]["properties"]
    quiet = schemas["QuietHoursOut"]["properties"]["start"]
    assert quiet.get("format") != "time" and "pattern" in quiet
