"""Journey (issue 12): the administrator sets up a new branch and its account manager, imports
the branch's customers and their order history through the web import with a column
mapping, watches each job's progress bar until the worker has run it, and the new account
manager signs in and sees exactly those customers.

The imports run on the real task queue: the job waits on the page with its progress bar until
the worker (here: the job run in the test thread, as ``yiti worker`` would) takes it.
Selectors are names, ids and values, never visible text: the interface is Chinese by default.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import PASSWORD
from yiti.customers.choices import ImportStatus
from yiti.customers.import_jobs import import_job_run
from yiti.customers.models import Customer, ImportJob, Order, Product
from yiti.org.models import Membership, OrgUnit, User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("YITI_SCREENSHOTS", "")
NEW_PASSWORD = "Wenzhou-2026-am"
OWN_PASSWORD = "Ouhai-Camellia-7731"


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _login(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def _import(page, *, kind: str, upload: Path, mapping: dict[int, str], name: str) -> ImportJob:
    """Upload, map the columns the user must map, start; follow the job until it is done."""
    page.goto("/imports/")
    page.select_option("#id_kind", kind)
    page.set_input_files("#id_file", str(upload))
    with page.expect_navigation():
        page.click("#import-upload button[type=submit]")
    for position, key in mapping.items():
        page.select_option(f"#col_{position}", key)
    _shot(page, f"{name}-map")
    with page.expect_navigation():
        page.click("#import-start")
    # the request answered at once: the job waits for the worker, its bar on the page
    job = ImportJob.objects.get(kind=kind)
    assert job.status == ImportStatus.QUEUED
    page.wait_for_selector("#import-job[data-status='queued'] [role=progressbar]")
    _shot(page, f"{name}-queued")
    import_job_run(job.pk)  # the worker takes the job
    page.wait_for_selector("#import-job[data-status='completed']")
    _shot(page, f"{name}-done")
    assert page.locator("#import-job[hx-trigger]").count() == 0  # done: no more polling
    job.refresh_from_db()
    return job


def test_an_administrator_onboards_a_branch_and_its_account_manager_sees_its_customers(
    page, org, tmp_path
):
    Product.objects.create(code="5g-199", name="5G 畅享 199", category="mobile_plan", price=199)

    # the administrator creates the branch under the East region
    _login(page, "admin")
    page.goto("/manage/units/new/")
    page.fill("#id_name", "温州分公司")
    page.fill("#id_code", "wz")
    page.select_option("#id_kind", "branch")
    page.select_option("#id_parent", str(org.east.pk))
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    wz = OrgUnit.objects.get(code="wz")
    assert wz.parent_id == org.east.pk and wz.active

    # and the branch's account manager with a first password
    page.goto("/manage/users/new/")
    page.fill("#id_username", "am_wz")
    page.fill("#id_display_name", "温州客户经理")
    page.check("input[name=password_mode][value=set]")
    page.fill("#id_password", NEW_PASSWORD)
    page.select_option("#id_unit", str(wz.pk))
    page.select_option("#id_role", "account_manager")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert Membership.objects.filter(user__username="am_wz", unit=wz, role="account_manager")

    # twenty customers of the branch; the branch column has a header Yiti does not know
    customers = tmp_path / "温州客户.csv"
    lines = ["客户姓名,网点,手机,客户编号"] + [
        f"温州客户{n:02d},wz,1390577{n:04d},WZ-{n:03d}" for n in range(20)
    ]
    customers.write_text("\n".join(lines) + "\n", encoding="utf-8")
    job = _import(
        page, kind="customers", upload=customers, mapping={1: "unit"}, name="onboard-cust"
    )
    assert (job.row_count, job.created_count, job.error_count) == (20, 20, 0)

    # fifty historic orders, by customer number and product code
    orders = tmp_path / "温州订单.csv"
    lines = ["客户编号,产品编码,下单日期,金额"] + [
        f"WZ-{n % 20:03d},5g-199,2026-{1 + n % 10:02d}-{1 + n % 27:02d},199" for n in range(50)
    ]
    orders.write_text("\n".join(lines) + "\n", encoding="utf-8")
    job = _import(page, kind="orders", upload=orders, mapping={}, name="onboard-orders")
    assert (job.row_count, job.created_count, job.error_count) == (50, 50, 0)
    assert Order.objects.filter(customer__unit=wz).count() == 50

    # the new account manager signs in and sees exactly the branch's twenty customers
    page.context.clear_cookies()
    _login(page, "am_wz", NEW_PASSWORD)
    # the first password the administrator chose must be replaced first
    assert page.url.endswith("/account/password/")
    page.fill("#id_old_password", NEW_PASSWORD)
    page.fill("#id_new_password1", OWN_PASSWORD)
    page.fill("#id_new_password2", OWN_PASSWORD)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert "errorlist" not in page.content()
    assert User.objects.get(username="am_wz").password_expires_at is None
    page.goto("/customers/?page_size=50")
    _shot(page, "onboard-am-customers")
    names = page.locator("#results td.primary-cell a").all_inner_texts()
    expected = sorted(Customer.objects.filter(unit=wz).values_list("name", flat=True))
    assert sorted(names) == expected and len(expected) == 20
