"""Importing historic orders and the product catalogue through the import runner: row-level
errors with row, column and reason, all or nothing unless invalid rows are skipped."""

from __future__ import annotations

import io
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from openpyxl import Workbook

from yiti.core.models import AuditEvent
from yiti.customers.choices import ImportStatus, OrderStatus, SalesChannel
from yiti.customers.import_jobs import import_job_create
from yiti.customers.imports_runner import import_run
from yiti.customers.models import ImportJob, Order, Product
from yiti.customers.services import ContactInput, customer_create


def csv_file(tmp_path: Path, *lines: str, name: str = "rows.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def xlsx_file(tmp_path: Path, rows: list[list[object]], name: str = "rows.xlsx") -> Path:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


def run(kind: str, path: Path, *, actor=None, mapping=None, **options) -> ImportJob:
    job = import_job_create(
        actor=actor,
        kind=kind,
        file_name=path.name,
        stored_at=path,
        mapping=mapping,
        options={k: options.pop(k) for k in ("default_unit", "channel") if k in options},
        queue=False,
        **options,
    )
    outcome = import_run(job)
    job = outcome.job
    job.refresh_from_db()
    return job


def errors(job: ImportJob) -> list[tuple[int, str, str]]:
    return [(row, column, value) for row, column, value, _reason in job.errors]


@pytest.fixture
def shop(org):
    """Two products and three customers of Hangzhou, Ningbo and Beijing."""
    Product.objects.create(
        code="5G-199", name="5G 199", category="mobile_plan", price=199, margin_rate="0.4"
    )
    Product.objects.create(code="FTTH-1000", name="Gigabit", category="broadband", price=99)
    zhang = customer_create(
        actor=None,
        name="Zhang Wei",
        unit=org.hz,
        external_id="CRM-001",
        contacts=[ContactInput(kind="phone", value="13812345678")],
    )
    li = customer_create(
        actor=None,
        name="Li Na",
        unit=org.nb,
        external_id="CRM-002",
        contacts=[ContactInput(kind="phone", value="13912345678")],
    )
    wang = customer_create(actor=None, name="Wang Bo", unit=org.bj, external_id="CRM-003")
    return {"zhang": zhang, "li": li, "wang": wang}


ORDER_HEADER = "customer,phone,product,ordered_at,quantity,amount,margin,status,channel,order_no"


# --- orders: the happy path ------------------------------------------------------------------


def test_orders_are_imported_by_external_id_or_phone_with_defaults(shop, org, tmp_path):
    # given a file naming customers by external id or by phone, some cells left empty
    path = csv_file(
        tmp_path,
        ORDER_HEADER,
        "CRM-001,,5G-199,2025-03-31 14:30,2,398,,,online,SO-1",
        ",139 1234 5678,FTTH-1000,2025/4/1,,99.00,10,已取消,,SO-2",
        "CRM-003,,5g-199,2025-04-02,1,199,,fulfilled,branch,",
    )

    # when it is imported by the system
    job = run("orders", path)

    # then every order is written with the customer's unit and the defaults
    assert job.status == ImportStatus.COMPLETED, job.errors or job.message
    assert (job.row_count, job.created_count, job.error_count) == (3, 3, 0)
    first = Order.objects.get(external_id="SO-1")
    assert first.customer == shop["zhang"] and first.unit == org.hz
    assert first.quantity == 2 and first.amount == Decimal("398.00")
    assert first.margin == Decimal("159.20")  # the product's 40 % of the amount
    assert first.status == OrderStatus.FULFILLED and first.channel == SalesChannel.ONLINE
    local = timezone.localtime(first.ordered_at)
    assert (local.date().isoformat(), local.hour, local.minute) == ("2025-03-31", 14, 30)
    second = Order.objects.get(external_id="SO-2")
    assert second.customer == shop["li"] and second.unit == org.nb
    assert second.status == OrderStatus.CANCELLED and second.channel == SalesChannel.BRANCH
    assert second.margin == Decimal("10.00") and second.quantity == 1
    assert Order.objects.get(external_id=None).customer == shop["wang"]
    # historic orders are history: no order-processing ticket follows
    from yiti.service.models import Ticket

    assert not Ticket.objects.exists()
    assert AuditEvent.objects.filter(action="order.import", object_id=str(job.pk)).count() == 1


def test_orders_from_an_xlsx_workbook_with_chinese_headers(shop, tmp_path):
    path = xlsx_file(
        tmp_path,
        [
            ["客户编号", "产品编码", "下单时间", "金额", "订单号"],
            ["CRM-001", "5G-199", timezone.datetime(2025, 5, 1, 9, 15), 199, 100001],
        ],
    )

    job = run("orders", path)

    assert job.status == ImportStatus.COMPLETED, job.errors or job.message
    order = Order.objects.get()
    assert order.external_id == "100001" and order.amount == Decimal("199.00")
    assert timezone.localtime(order.ordered_at).hour == 9


# --- orders: bad input ------------------------------------------------------------------------


def test_every_bad_row_is_reported_and_nothing_is_written(shop, tmp_path):
    # given an order numbered SO-9 exists already
    run(
        "orders",
        csv_file(tmp_path, ORDER_HEADER, "CRM-001,,5G-199,2025-01-01,1,1,,,,SO-9", name="a.csv"),
    )
    path = csv_file(
        tmp_path,
        ORDER_HEADER,
        "CRM-001,,5G-199,2025-03-31,1,199,,,,SO-1",  # 2: fine
        "CRM-404,,5G-199,2025-03-31,1,199,,,,SO-2",  # 3: unknown customer
        "CRM-001,,NOPE,2025-03-31,1,199,,,,SO-3",  # 4: unknown product
        "CRM-001,,5G-199,2025-03-31,1,-5,,,,SO-4",  # 5: negative amount
        "CRM-001,,5G-199,2025-03-31,1,199,,,,SO-1",  # 6: order number twice in the file
        "CRM-001,,5G-199,2025-03-31,1,199,,,,SO-9",  # 7: order number already imported
        "CRM-001,,5G-199,31st March,1,199,,,,SO-7",  # 8: not a date
        ",13800000000,5G-199,2025-03-31,1,199,,,,SO-8",  # 9: no customer has the phone
        "CRM-001,,5G-199,2025-03-31,0,199,,shipped,fax,SO-10",  # 10: quantity, status, channel
        name="b.csv",
    )

    job = run("orders", path)

    assert job.status == ImportStatus.REJECTED
    assert errors(job) == [
        (3, "customer", "CRM-404"),
        (4, "product", "NOPE"),
        (5, "amount", "-5"),
        (6, "order_no", "SO-1"),
        (7, "order_no", "SO-9"),
        (8, "ordered_at", "31st March"),
        (9, "phone", "13800000000"),
        (10, "quantity", "0"),
        (10, "status", "shipped"),
        (10, "channel", "fax"),
    ]
    reasons = {(row, column): reason for row, column, _v, reason in job.errors}
    assert reasons[(5, "amount")] == "Must not be negative."
    assert reasons[(4, "product")] == "No product has this code."
    assert reasons[(6, "order_no")] == "Row 2 has the same order number."
    assert job.created_count == 0 and job.skipped_count == 9
    assert Order.objects.count() == 1  # only the earlier SO-9


def test_skip_invalid_writes_the_valid_rows(shop, tmp_path):
    path = csv_file(
        tmp_path,
        ORDER_HEADER,
        "CRM-001,,5G-199,2025-03-31,1,199,,,,SO-1",
        "CRM-404,,5G-199,2025-03-31,1,199,,,,SO-2",
    )

    job = run("orders", path, skip_invalid=True)

    assert job.status == ImportStatus.COMPLETED
    assert (job.created_count, job.skipped_count, job.error_count) == (1, 1, 1)
    assert list(Order.objects.values_list("external_id", flat=True)) == ["SO-1"]


def test_dry_run_validates_and_writes_nothing(shop, tmp_path):
    path = csv_file(tmp_path, ORDER_HEADER, "CRM-001,,5G-199,2025-03-31,1,199,,,,SO-1")

    job = run("orders", path, dry_run=True)

    assert job.status == ImportStatus.VALIDATED and job.created_count == 1
    assert not Order.objects.exists()


def test_customers_outside_the_scope_are_refused(shop, org, tmp_path):
    path = csv_file(
        tmp_path,
        ORDER_HEADER,
        "CRM-001,,5G-199,2025-03-31,1,199,,,,SO-1",
        "CRM-003,,5G-199,2025-03-31,1,199,,,,SO-2",  # Beijing: not the East region's
    )

    job = run("orders", path, actor=org.users["rm_east"])

    assert errors(job) == [(3, "customer", "CRM-003")]
    assert not Order.objects.exists()


def test_a_phone_shared_by_two_customers_is_ambiguous(shop, org, tmp_path):
    customer_create(
        actor=None,
        name="Zhang Wei (2)",
        unit=org.hz,
        contacts=[ContactInput(kind="phone", value="13812345678")],
    )
    path = csv_file(tmp_path, "phone,product,ordered_at,amount", "13812345678,5G-199,2025-03-31,1")

    job = run("orders", path)

    assert "Several customers have this phone" in job.errors[0][3]


@pytest.mark.parametrize(
    ("lines", "encoding", "message"),
    [
        (("customer,product,amount", "CRM-001,5G-199,1"), "utf-8", "Ordered at"),
        (("product,ordered_at,amount", "5G-199,2025-01-01,1"), "utf-8", "naming the customer"),
        (
            (ORDER_HEADER, "CRM-001,,5G-199,2025-03-31,1,199,,,,SO-1"),
            "utf-16",
            "neither UTF-8 nor GBK",
        ),
        ((ORDER_HEADER,), "utf-8", "no rows below it"),
    ],
)
def test_a_malformed_file_is_refused_as_a_whole(shop, tmp_path, lines, encoding, message):
    job = run("orders", csv_file(tmp_path, *lines, encoding=encoding))

    assert job.status == ImportStatus.REJECTED
    assert message in job.message
    assert not Order.objects.exists()


def test_a_gbk_file_is_read(shop, tmp_path):
    path = csv_file(
        tmp_path,
        "客户编号,产品编码,下单时间,金额,状态",
        "CRM-001,5G-199,2025年3月31日,199,已完成",
        encoding="gbk",
    )

    job = run("orders", path)

    assert job.status == ImportStatus.COMPLETED, job.errors or job.message
    assert Order.objects.get().status == OrderStatus.FULFILLED


def test_the_mapping_overrides_the_headers(shop, tmp_path):
    # given headers Yiti does not know, mapped by position
    path = csv_file(tmp_path, "who,what,when,paid,ref", "CRM-001,5G-199,2025-03-31,199,X-1")

    job = run(
        "orders",
        path,
        mapping={"customer": 0, "product": 1, "ordered_at": 2, "amount": 3, "order_no": 4},
    )

    assert job.status == ImportStatus.COMPLETED, job.errors or job.message
    assert Order.objects.get().external_id == "X-1"


def test_errors_name_the_files_own_header(shop, tmp_path):
    path = csv_file(tmp_path, "客户编号,产品编码,下单时间,金额", "CRM-001,NOPE,2025-03-31,1")

    job = run("orders", path)

    assert errors(job) == [(2, "产品编码", "NOPE")]


# --- products -------------------------------------------------------------------------------


def test_products_are_created_and_updated(shop, tmp_path):
    path = csv_file(
        tmp_path,
        "code,name,category,price,margin_rate,unit_margin,active",
        "5G-199,,,,35%,,否",  # update: rate and active only
        "IPTV,IPTV 家庭版,增值业务,30,,12,",  # new: unit margin -> rate
        "FTTH-1000,Gigabit,Broadband,99,,,",  # unchanged (category by English label)
    )

    job = run("products", path)

    assert job.status == ImportStatus.COMPLETED, job.errors
    assert (job.created_count, job.updated_count, job.unchanged_count) == (1, 1, 1)
    plan = Product.objects.get(code="5G-199")
    assert plan.margin_rate == Decimal("0.35") and plan.active is False and plan.price == 199
    iptv = Product.objects.get(code="iptv")  # codes are kept in lower case
    assert (iptv.category, iptv.price, iptv.margin_rate, iptv.active) == (
        "value_added",
        Decimal("30.00"),
        Decimal("0.4000"),
        True,
    )
    assert AuditEvent.objects.filter(action="product.update", object_id=str(plan.pk)).exists()


def test_bad_product_rows_are_reported_and_nothing_is_written(shop, tmp_path):
    path = csv_file(
        tmp_path,
        "code,name,category,price",
        "NEW-1,New,mobile_plan,10",
        "NEW-2,New,toys,10",
        "NEW-3,New,device,-1",
        "NEW-1,Again,device,1",
        "bad code,Bad,device,1",
        "NEW-4,,,",
    )

    job = run("products", path)

    assert job.status == ImportStatus.REJECTED
    assert errors(job) == [
        (3, "category", "toys"),
        (4, "price", "-1"),
        (5, "code", "NEW-1"),
        (6, "code", "bad code"),
        (7, "name", ""),
        (7, "category", ""),
        (7, "price", ""),
    ]
    assert Product.objects.count() == 2


def test_products_need_the_catalogue_permission(shop, org, tmp_path):
    path = csv_file(tmp_path, "code,name,category,price", "NEW-1,New,device,1")
    from yiti.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        run("products", path, actor=org.users["rm_east"])
    assert run("products", path, actor=org.users["cm"]).status == ImportStatus.COMPLETED


# --- the command ----------------------------------------------------------------------------


def yiti(*argv: str) -> int:
    try:
        call_command(*argv)
    except CommandError as exc:
        sys.stderr.write(f"CommandError: {exc}\n")
        return exc.returncode
    return 0


def test_cli_imports_products_and_orders_with_exit_codes(shop, tmp_path, capsys):
    products = csv_file(
        tmp_path, "code,name,category,price", "IPTV,IPTV,value_added,30", name="p.csv"
    )
    assert yiti("import", "products", str(products), "--quiet") == 0
    assert "1 rows: 1 created" in capsys.readouterr().out

    good = csv_file(tmp_path, ORDER_HEADER, "CRM-001,,IPTV,2025-03-31,1,30,,,,SO-1", name="o.csv")
    bad = csv_file(tmp_path, ORDER_HEADER, "CRM-404,,IPTV,2025-03-31,1,30,,,,SO-2", name="x.csv")
    assert yiti("import", "orders", str(bad), "--quiet") == 1
    captured = capsys.readouterr()
    assert "CRM-404" in captured.out and "Nothing was written" in captured.err
    assert yiti("import", "orders", str(good), "--dry-run", "--quiet") == 0
    assert not Order.objects.exists()
    assert yiti("import", "orders", str(good)) == 0
    assert Order.objects.get().external_id == "SO-1"
    # a mapping given on the command line
    mapped = csv_file(tmp_path, "who,sku,day,paid", "CRM-002,IPTV,2025-04-01,30", name="m.csv")
    argv = ["--map", "customer=who", "--map", "product=sku", "--map", "ordered_at=day"]
    assert yiti("import", "orders", str(mapped), *argv, "--map", "amount=paid", "--quiet") == 0
    assert Order.objects.filter(customer=shop["li"]).exists()
    assert yiti("import", "orders", str(tmp_path / "missing.csv")) == 1


# --- files Yiti refuses before parsing --------------------------------------------------------


def test_a_zip_bomb_workbook_is_refused_before_it_is_parsed(shop, tmp_path, settings):
    import time
    import zipfile

    settings.YITI_IMPORT_MAX_XLSX_XML_BYTES = 4 << 20
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", "<row>" + " " * (16 << 20) + "</row>")
    started = time.monotonic()

    job = run("orders", path)

    assert time.monotonic() - started < 2
    assert job.status == ImportStatus.REJECTED
    assert "unpacks to 16 MB" in job.message


def test_a_file_over_the_size_cap_is_refused(shop, tmp_path, settings):
    settings.YITI_IMPORT_MAX_BYTES = 100
    path = csv_file(tmp_path, ORDER_HEADER, *["CRM-001,,5G-199,2025-03-31,1,199,,,,"] * 10)

    job = run("orders", path)

    assert job.status == ImportStatus.REJECTED and "up to 0 MB" in job.message
    data = io.BytesIO(path.read_bytes())
    from yiti.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="larger than"):
        import_job_create(actor=None, kind="orders", file_name="x.csv", content=data)


# --- the set-based path ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2025-03-31 14:30",
        "2025-03-31",
        "2025/3/31 08:05:09",
        "2025-07-01T23:59:59.5",
        "2025年3月1日",
    ],
)
def test_the_fast_datetime_parameter_agrees_with_the_adapter(text):
    from django.db import connection

    from yiti.customers import import_cells

    zone = import_cells.local_zone()
    adapt = connection.ops.adapt_datetimefield_value
    fast = import_cells.MomentParam(zone, adapt)
    assert fast(text) == adapt(import_cells.moment(text, zone))


def _order_indexes() -> set[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, Order._meta.db_table))


def test_a_large_load_rebuilds_what_it_dropped_and_a_failure_keeps_the_indexes(
    shop, tmp_path, monkeypatch
):
    from django.db import IntegrityError

    from yiti.customers import imports_orders, imports_runner

    monkeypatch.setattr(imports_orders, "REBUILD_AFTER", 1)
    monkeypatch.setattr(imports_runner, "CHUNK", 1)
    before = _order_indexes()
    lines = [f"CRM-001,,5G-199,2025-03-0{d},1,1,,,,SO-{d}" for d in range(1, 4)]
    job = run("orders", csv_file(tmp_path, ORDER_HEADER, *lines, name="a.csv"))
    assert job.status == ImportStatus.COMPLETED and Order.objects.count() == 3
    assert _order_indexes() == before

    # when the database refuses the second chunk of a later load
    real = imports_orders.insert_rows
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise IntegrityError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(imports_orders, "insert_rows", failing)
    lines = [f"CRM-001,,5G-199,2025-04-0{d},1,1,,,,SO-X{d}" for d in range(1, 4)]
    job = run("orders", csv_file(tmp_path, ORDER_HEADER, *lines, name="b.csv"))

    # then nothing of it is written and the indexes are as they were
    assert job.status == ImportStatus.FAILED and "disk full" in job.message
    assert Order.objects.count() == 3
    assert _order_indexes() == before


def test_the_value_refit_reads_the_imported_orders(shop, tmp_path):
    # given historic orders imported, one of them cancelled
    path = csv_file(
        tmp_path,
        ORDER_HEADER,
        "CRM-001,,5G-199,2025-03-31,1,199,,,,SO-1",
        "CRM-002,,5G-199,2025-04-30,1,199,,cancelled,,SO-2",
    )
    assert run("orders", path).status == ImportStatus.COMPLETED

    # when the value model reads its input (what `yiti value refit` fits on)
    from yiti.decisions.inputs import read_orders

    orders = read_orders(start=None, end=timezone.now())

    # then the imported orders that were not cancelled are in it
    assert list(orders.customer_id) == [shop["zhang"].pk]
    assert list(orders.amount) == [199.0]
