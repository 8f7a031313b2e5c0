"""Journey: a region manager imports historic orders through the web: uploads a file whose
headers Yiti does not know, maps its columns, starts the job, follows it to its result; and a
running job's progress bar polls until the job is done.

Selectors are names, ids and values, never visible text: the interface is Chinese by default.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import PASSWORD
from yiti.customers.choices import ImportStatus
from yiti.customers.models import ImportJob, Order, Product
from yiti.customers.services import customer_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("YITI_SCREENSHOTS", "")


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _login(page, username: str) -> None:
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def test_orders_are_imported_with_a_column_mapping(page, org, settings, tmp_path):
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default", "sending", "reports"],
        }
    }
    Product.objects.create(code="5G-199", name="5G 199", category="mobile_plan", price=199)
    for n in range(5):
        customer_create(actor=None, name=f"客户{n}", unit=org.hz, external_id=f"CRM-{n}")
    rows = ["顾客,套餐,成交日,实付"] + [
        f"CRM-{n % 5},5G-199,2025-03-{n + 1:02d},199" for n in range(20)
    ]
    upload = tmp_path / "历史订单.csv"
    upload.write_text("\n".join(rows) + "\n", encoding="utf-8")
    page.set_viewport_size({"width": 390, "height": 844})

    # when the region manager uploads the file as orders
    _login(page, "rm_east")
    page.goto("/imports/")
    page.select_option("#id_kind", "orders")
    page.set_input_files("#id_file", str(upload))
    with page.expect_navigation():
        page.click("#import-upload button[type=submit]")
    _shot(page, "import-map")
    # then the mapping step shows the first rows; Yiti knew only "实付" (amount paid)
    assert page.locator("table.import-map tbody tr").count() == 5
    assert page.input_value("#col_3") == "amount"
    assert page.input_value("#col_0") == ""

    # when the user maps the other columns and starts
    page.select_option("#col_0", "customer")
    page.select_option("#col_1", "product")
    page.select_option("#col_2", "ordered_at")
    with page.expect_navigation():
        page.click("#import-start")

    # then the job page shows the finished job, which no longer polls
    page.wait_for_selector("#import-job[data-status='completed']")
    _shot(page, "import-job-done")
    assert page.locator("#import-job[hx-trigger]").count() == 0
    assert Order.objects.count() == 20


def test_the_progress_bar_polls_until_the_job_is_done(page, org):
    job = ImportJob.objects.create(
        kind="orders",
        actor=org.users["rm_east"],
        file_name="big.csv",
        status=ImportStatus.RUNNING,
        bytes_total=1000,
        bytes_read=500,
        rows_read=40_000,
    )
    _login(page, "rm_east")
    page.goto(f"/imports/{job.pk}/")
    bar = page.locator("#import-job [role=progressbar]")
    assert bar.get_attribute("aria-valuenow") == "45"
    _shot(page, "import-job-running")

    # when the worker moves on and then finishes, the page follows without a reload
    ImportJob.objects.filter(pk=job.pk).update(bytes_read=900, rows_read=72_000)
    page.wait_for_selector("#import-job [role=progressbar][aria-valuenow='81']")
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.COMPLETED, row_count=80_000, created_count=80_000
    )
    page.wait_for_selector("#import-job[data-status='completed']")
    assert page.locator("#import-job[hx-trigger]").count() == 0
