"""Import jobs in the background: the web pages (upload, column mapping, progress, result),
the API, progress reporting while a job runs, and who may import what."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD
from yiti.customers import imports_runner
from yiti.customers.choices import ImportStatus
from yiti.customers.import_jobs import import_job_create
from yiti.customers.imports_runner import import_run, progress_of
from yiti.customers.models import Customer, ImportJob, Order, Product
from yiti.customers.services import customer_create
from yiti.org.services import token_create

ORDERS = (
    "客户编号,产品编码,日期,实付,订单号\n"
    "CRM-001,5G-199,2025-03-31 10:00,199,SO-1\n"
    "CRM-001,5G-199,2025-04-30 10:00,199,SO-2\n"
)


def _immediate(settings) -> None:
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default", "sending", "reports"],
        }
    }


@pytest.fixture
def shop(org):
    Product.objects.create(code="5G-199", name="5G 199", category="mobile_plan", price=199)
    return customer_create(actor=None, name="Zhang Wei", unit=org.hz, external_id="CRM-001")


@pytest.fixture
def web(org):
    def client_for(username: str) -> Client:
        client = Client()
        assert client.login(username=username, password=PASSWORD)
        return client

    return client_for


def _file(text: str, name: str = "orders.csv", encoding: str = "utf-8") -> io.BytesIO:
    data = io.BytesIO(text.encode(encoding))
    data.name = name
    return data


# --- the pages ------------------------------------------------------------------------------


def test_upload_map_and_follow_a_job_to_completed(
    web, shop, settings, django_capture_on_commit_callbacks
):
    _immediate(settings)
    client = web("rm_east")
    # given the uploaded file, whose "日期" and "实付" headers Yiti maps itself
    response = client.post(reverse("imports:index"), {"kind": "orders", "file": _file(ORDERS)})
    assert response.status_code == 302
    mapping_page = client.get(response["Location"])
    assert mapping_page.status_code == 200
    headers = mapping_page.context["headers"]
    assert [h["text"] for h in headers] == ["客户编号", "产品编码", "日期", "实付", "订单号"]
    assert [h["key"] for h in headers] == [
        "customer",
        "product",
        "ordered_at",
        "amount",
        "order_no",
    ]
    assert mapping_page.context["rows"][0][0] == "CRM-001"
    assert "Sales channel" in mapping_page.content.decode()  # the orders' own option

    # when the user confirms the mapping, the request answers at once with the job's page
    posted = {f"col_{h['position']}": h["key"] for h in headers}
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(response["Location"], {**posted, "channel": "online"})
    assert started.status_code == 302

    # then the worker ran it to completed, and the page shows the counts
    job = ImportJob.objects.get()
    assert job.kind == "orders" and job.status == ImportStatus.COMPLETED
    assert (job.row_count, job.created_count) == (2, 2)
    assert Path(job.upload).is_relative_to(imports_runner.data_dir() / str(job.pk))
    assert set(Order.objects.values_list("channel", flat=True)) == {"online"}
    page = client.get(started["Location"])
    assert page.status_code == 200
    assert 'hx-trigger="every 1s"' not in page.content.decode()  # done: no more polling
    assert "Imported: 2 created, 0 updated." in page.content.decode()


def test_the_mapping_step_lets_the_user_change_and_requires_columns(web, shop, settings):
    _immediate(settings)
    client = web("admin")
    text = "who,what,when,paid\nCRM-001,5G-199,2025-03-31,199\n"
    response = client.post(reverse("imports:index"), {"kind": "orders", "file": _file(text)})
    url = response["Location"]
    page = client.get(url)
    assert [h["key"] for h in page.context["headers"]] == ["", "", "", ""]

    refused = client.post(url, {"col_0": "customer", "col_1": "product", "col_2": "ordered_at"})
    assert refused.status_code == 422
    assert "Map a column to “Amount”: it is required." in refused.content.decode()
    twice = client.post(
        url, {"col_0": "customer", "col_1": "product", "col_2": "ordered_at", "col_3": "product"}
    )
    assert "Two columns are mapped to “Product code”" in twice.content.decode()
    assert not ImportJob.objects.exists()

    done = client.post(
        url, {"col_0": "customer", "col_1": "product", "col_2": "ordered_at", "col_3": "amount"}
    )
    job = ImportJob.objects.get()
    assert done["Location"] == reverse("imports:job", args=[job.pk])
    assert job.mapping == {"customer": 0, "product": 1, "ordered_at": 2, "amount": 3}
    # the staged upload is used once: the token is gone
    assert client.get(url).status_code == 404


def test_a_bad_file_is_told_at_upload_next_to_the_field(web, shop):
    client = web("rm_east")
    response = client.post(
        reverse("imports:index"), {"kind": "orders", "file": _file(ORDERS, encoding="utf-16")}
    )
    assert response.status_code == 422
    assert "neither UTF-8 nor GBK" in str(response.context["form"].errors["file"])


def test_a_running_job_polls_and_shows_its_progress(web, shop, org):
    job = ImportJob.objects.create(
        kind="orders",
        actor=org.users["rm_east"],
        file_name="big.csv",
        status=ImportStatus.RUNNING,
        bytes_total=1000,
        bytes_read=250,
        rows_read=1234,
    )
    client = web("rm_east")
    page = client.get(reverse("imports:job", args=[job.pk]), headers={"HX-Request": "true"})
    html = page.content.decode()
    assert 'hx-trigger="every 1s"' in html
    assert 'aria-valuenow="22"' in html  # reading is the first 90 % of the bar
    assert "1,234 rows read" in html
    # another user's job is not found
    assert web("rm_north").get(reverse("imports:job", args=[job.pk])).status_code == 404


def test_errors_are_shown_and_the_report_downloads(web, shop, org, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(ORDERS.replace("5G-199,2025-04-30", "NOPE,2025-04-30"), encoding="utf-8")
    job = import_job_create(
        actor=org.users["rm_east"], kind="orders", file_name="bad.csv", stored_at=path, queue=False
    )
    import_run(job)
    client = web("rm_east")

    page = client.get(reverse("imports:job", args=[job.pk]))
    assert page.context["errors"] == [[3, "产品编码", "NOPE", "No product has this code."]]
    report = client.get(reverse("imports:errors", args=[job.pk]))
    lines = report.content.decode("utf-8-sig").splitlines()
    assert lines == ["Row,Column,Value,Reason", "3,产品编码,NOPE,No product has this code."]
    assert report["Content-Disposition"].startswith("attachment")


def test_kinds_and_templates_follow_the_users_permissions(web):
    # a region manager imports customers and orders but not the catalogue
    page = web("rm_east").get(reverse("imports:index"))
    kinds = dict(page.context["kinds"])
    assert "orders" in kinds and "customers" in kinds and "products" not in kinds
    refused = web("rm_east").post(
        reverse("imports:index"), {"kind": "products", "file": _file("code\nX\n")}
    )
    assert refused.status_code == 422 and not ImportJob.objects.exists()
    assert web("rm_east").get(reverse("imports:template", args=["products"])).status_code == 404
    template = web("cm").get(reverse("imports:template", args=["products"]))
    assert template.content.decode("utf-8-sig").splitlines()[0].startswith("Code,Name,Category")
    # an account manager has no import at all
    assert web("am_hz").get(reverse("imports:index")).status_code == 403


# --- progress -------------------------------------------------------------------------------


def test_progress_is_committed_while_reading_and_written_to_a_file_while_writing(
    shop, tmp_path, monkeypatch
):
    monkeypatch.setattr(imports_runner, "CHUNK", 2)
    monkeypatch.setattr(imports_runner, "PROGRESS_EVERY", 0)
    lines = ["customer,product,ordered_at,amount"] + [
        f"CRM-001,5G-199,2025-03-{day:02d},1" for day in range(1, 11)
    ]
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(lines) + "\n")
    job = import_job_create(
        actor=None, kind="orders", file_name="orders.csv", stored_at=path, queue=False
    )
    seen: list[tuple[str, int, int]] = []

    def watch(values: dict[str, int]) -> None:
        stored = ImportJob.objects.get(pk=job.pk)
        phase = "writing" if "rows_written" in values else "reading"
        seen.append((phase, stored.rows_read, progress_of(stored)["percent"]))

    outcome = import_run(job, on_progress=watch)

    assert outcome.job.status == ImportStatus.COMPLETED
    reading = [(rows, pct) for phase, rows, pct in seen if phase == "reading"]
    assert [rows for rows, _pct in reading] == [2, 4, 6, 8, 10]
    assert all(0 < pct <= 90 for _rows, pct in reading)
    writing = [pct for phase, _rows, pct in seen if phase == "writing"]
    assert writing and writing[-1] == 100 and all(pct > 90 for pct in writing)
    assert not (imports_runner.job_dir(job.pk) / "progress.json").exists()  # cleaned up
    assert progress_of(outcome.job)["percent"] == 100


# --- the API --------------------------------------------------------------------------------


def _bearer(org, username: str) -> dict[str, str]:
    _token, secret = token_create(user=org.users[username], name="imports")
    return {"Authorization": f"Bearer {secret}"}


def test_api_round_trip(shop, org, settings, django_capture_on_commit_callbacks):
    _immediate(settings)
    client = Client()
    headers = _bearer(org, "rm_east")
    text = ORDERS.replace("SO-2", "SO-1")  # the second row repeats the first order number
    mapping = json.dumps({"ordered_at": "日期", "amount": 3})

    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            "/api/v1/imports",
            {"file": _file(text), "kind": "orders", "skip_invalid": "true", "mapping": mapping},
            headers=headers,
        )

    assert created.status_code == 202, created.content
    body = created.json()
    assert body["kind"] == "orders" and body["status"] == "queued"
    assert body["mapping"]["ordered_at"] == 2 and body["mapping"]["customer"] == 0
    detail = client.get(f"/api/v1/imports/{body['id']}", headers=headers).json()
    assert detail["status"] == "completed" and detail["percent"] == 100
    assert (detail["rows"], detail["created"], detail["errors_total"]) == (2, 1, 1)
    assert detail["errors"] == [
        {
            "row": 3,
            "column": "订单号",
            "value": "SO-1",
            "reason": "Row 2 has the same order number.",
        }
    ]
    report = client.get(f"/api/v1/imports/{body['id']}/errors.csv", headers=headers)
    assert report.status_code == 200 and "SO-1" in report.content.decode("utf-8-sig")
    listed = client.get("/api/v1/imports", headers=headers).json()
    assert [j["id"] for j in listed] == [body["id"]]
    # another user's job is not found
    assert (
        client.get(f"/api/v1/imports/{body['id']}", headers=_bearer(org, "rm_north")).status_code
        == 404
    )


def test_api_refuses_kinds_without_permission_and_bad_input(shop, org):
    client = Client()
    refused = client.post(
        "/api/v1/imports",
        {"file": _file("code,name\nX,Y\n"), "kind": "products"},
        headers=_bearer(org, "rm_east"),
    )
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    unknown = client.post(
        "/api/v1/imports", {"file": _file(ORDERS), "kind": "pets"}, headers=_bearer(org, "admin")
    )
    assert unknown.status_code == 422 and unknown.json()["field"] == "kind"
    bad_mapping = client.post(
        "/api/v1/imports",
        {"file": _file(ORDERS), "kind": "orders", "mapping": '{"amount": "nope"}'},
        headers=_bearer(org, "admin"),
    )
    assert bad_mapping.status_code == 422 and bad_mapping.json()["field"] == "mapping"
    assert not ImportJob.objects.exists()


# --- the customers kind through the runner --------------------------------------------------


def test_customers_import_as_a_background_kind(
    web, org, settings, django_capture_on_commit_callbacks
):
    _immediate(settings)
    client = web("rm_east")
    text = "姓名,手机,外部编号\n张伟,13812345678,CRM-9\n李娜,12345,CRM-10\n"
    response = client.post(
        reverse("imports:index"), {"kind": "customers", "file": _file(text, "c.csv", "gbk")}
    )
    url = response["Location"]
    headers = client.get(url).context["headers"]
    assert [h["key"] for h in headers] == ["name", "phone", "external_id"]
    posted = {f"col_{h['position']}": h["key"] for h in headers}
    # the unit is not in the file: a default unit makes it optional
    assert client.post(url, posted).status_code == 422
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {**posted, "default_unit": "hz", "skip_invalid": "on"})

    job = ImportJob.objects.get()
    assert job.status == ImportStatus.COMPLETED
    assert (job.created_count, job.skipped_count) == (1, 1)
    assert job.errors[0][:3] == [3, "手机", "12345"]
    assert Customer.objects.get().unit == org.hz


def test_a_job_that_does_not_move_is_flagged(web, shop, org):
    from datetime import timedelta

    from django.utils import timezone

    job = ImportJob.objects.create(
        kind="orders", actor=org.users["rm_east"], file_name="x.csv", status=ImportStatus.QUEUED
    )
    assert progress_of(job)["stalled"] is False
    ImportJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(minutes=11))
    job.refresh_from_db()
    assert progress_of(job)["stalled"] is True
    page = web("rm_east").get(reverse("imports:job", args=[job.pk]))
    assert "is the background worker running" in page.content.decode()


def test_a_progress_file_left_by_an_earlier_run_does_not_show_on_a_new_job(org):
    # given a running job whose reading is half done
    job = ImportJob.objects.create(
        kind="orders",
        actor=org.users["rm_east"],
        file_name="big.csv",
        status=ImportStatus.RUNNING,
        bytes_total=1000,
        bytes_read=500,
    )
    # and a progress file at its place from a run before it (same id, a day old)
    folder = imports_runner.job_dir(job.pk)
    folder.mkdir(parents=True, exist_ok=True)
    stale = folder / "progress.json"
    stale.write_text(json.dumps({"phase": "writing", "rows_valid": 100, "rows_written": 70}))
    day_ago = job.created_at.timestamp() - 86_400
    os.utime(stale, (day_ago, day_ago))
    try:
        # then the page shows this job's own progress
        assert progress_of(job)["percent"] == 45
        # and once this run writes its file, that one counts
        stale.write_text(json.dumps({"phase": "writing", "rows_valid": 100, "rows_written": 70}))
        assert progress_of(job)["percent"] == 97
    finally:
        stale.unlink(missing_ok=True)
