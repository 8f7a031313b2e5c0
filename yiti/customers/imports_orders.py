"""Importing historic orders (kind ``orders``): ``yiti import orders FILE`` and the web import.

A row names the customer by their external id or by a phone number, the product by its code,
when it was ordered, and the amount; quantity (1), margin (the product's margin rate × the
amount), status (fulfilled), channel (branch counter) and the salesperson are optional, and
an order number makes re-imports safe (a number already in the file or in Yiti is an error).
The order belongs to the customer's unit.

Historic orders are history: they are inserted as rows, set-based (``insert_rows``, COPY on
PostgreSQL), and start no order-processing ticket, satisfaction call or other follow-up. The
weekly value refit reads the orders table, so the next refit fits on them.

Per chunk of rows the validation runs a constant number of queries (customers by external
id, phones, order numbers, salespeople — only the values not seen in earlier chunks), and the
per-row work is a few dictionary look-ups and one ``Decimal`` parse, so a million rows take
seconds of Python, not minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar

from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yiti.core.audit import audit_record
from yiti.core.bulk import analyze, insert_rows
from yiti.core.errors import ValidationFailed
from yiti.customers import import_cells as cells
from yiti.customers import sql
from yiti.customers.choices import ContactKind, ImportKind, OrderStatus, SalesChannel
from yiti.customers.importing import Column, ImportContext, RowError
from yiti.customers.imports import _phone
from yiti.customers.models import ContactPoint, Customer, Order, Product
from yiti.org.models import User
from yiti.org.roles import Perm

FIELDS = (
    "customer", "product", "quantity", "amount", "margin", "ordered_at", "channel", "unit",
    "status", "external_id", "sold_by",
)  # fmt: skip
REBUILD_AFTER = 100_000  # rows written after which SQLite's secondary indexes are rebuilt
_CACHE_LIMIT = 200_000  # distinct date cells remembered (files repeat days, not seconds)
_STATUS_EXTRA = {
    "已完成": "fulfilled",
    "完成": "fulfilled",
    "已取消": "cancelled",
    "取消": "cancelled",
}
_CHANNEL_EXTRA = {"营业厅": "branch", "门店": "branch", "线上": "online", "网上": "online"}


class OrdersImporter:
    kind: ClassVar[str] = ImportKind.ORDERS
    perm: ClassVar[str] = Perm.CUSTOMER_IMPORT
    columns: ClassVar[tuple[Column, ...]] = (
        Column(
            "customer",
            gettext_lazy("Customer external id"),
            (
                "客户编号",
                "客户外部编号",
                "外部编号",
                "客户号",
                "customer id",
                "customer no",
                "customer external id",
                "customer_external_id",
            ),
            help=gettext_lazy("The customer's id in your old system (or give the phone)."),
        ),
        Column(
            "phone",
            gettext_lazy("Customer phone"),
            ("手机", "手机号", "手机号码", "电话", "联系电话", "客户手机", "mobile", "tel"),
            help=gettext_lazy("Used when the row has no customer external id."),
        ),
        Column(
            "product",
            gettext_lazy("Product code"),
            ("产品编码", "产品代码", "商品编码", "产品", "product", "sku", "product_code"),
            required=True,
        ),
        Column(
            "ordered_at",
            gettext_lazy("Ordered at"),
            ("下单时间", "下单日期", "订单日期", "订购时间", "日期", "时间", "date", "order date"),
            required=True,
            help=gettext_lazy("2025-03-31 or 2025-03-31 14:30 (local time); 2025/3/31 too."),
        ),
        Column(
            "quantity", gettext_lazy("Quantity"), ("数量", "qty"), help=gettext_lazy("1 if empty.")
        ),
        Column(
            "amount",
            gettext_lazy("Amount"),
            ("金额", "订单金额", "实付", "实付金额", "付款金额", "成交金额", "total"),
            required=True,
            help=gettext_lazy("In yuan, not negative."),
        ),
        Column(
            "margin",
            gettext_lazy("Margin"),
            ("毛利", "毛利额", "利润", "profit"),
            help=gettext_lazy("If empty: the product's margin rate × the amount."),
        ),
        Column(
            "status",
            gettext_lazy("Status"),
            ("状态", "订单状态", "order status"),
            help=gettext_lazy("Fulfilled if empty."),
        ),
        Column(
            "channel",
            gettext_lazy("Sales channel"),
            ("渠道", "销售渠道", "channel"),
            help=gettext_lazy("Branch counter if empty."),
        ),
        Column(
            "sold_by",
            gettext_lazy("Salesperson"),
            ("销售员", "销售人员", "经办人", "salesperson username", "seller"),
            help=gettext_lazy("Username of the salesperson."),
        ),
        Column(
            "order_no",
            gettext_lazy("Order number"),
            ("订单号", "订单编号", "order id", "order number", "order external id"),
            help=gettext_lazy("Unique; a number already imported is refused."),
        ),
    )

    def check_columns(self, keys: set[str], ctx: ImportContext) -> None:
        if "customer" not in keys and "phone" not in keys:
            raise ValidationFailed(
                _(
                    "The file needs a column naming the customer: “Customer external id” or "
                    "“Customer phone”."
                ),
                field="file",
                code="missing_column",
            )

    def begin(self, ctx: ImportContext) -> None:
        products = {}
        for pk, code, margin_rate in Product.objects.values_list("pk", "code", "margin_rate"):
            products[code] = (pk, margin_rate)
            products.setdefault(code.lower(), (pk, margin_rate))
        default_channel = str(ctx.options.get("channel") or SalesChannel.BRANCH)
        if default_channel not in SalesChannel.values:
            raise ValidationFailed(_("Unknown sales channel."), field="channel")
        ctx.state.update(
            products=products,
            statuses=cells.choice_table(OrderStatus, _STATUS_EXTRA),
            channels=cells.choice_table(SalesChannel, _CHANNEL_EXTRA),
            default_channel=default_channel,
            customers={},  # external id -> (id, unit id, owner id) | None
            phones={},  # raw phone -> (id, unit id, owner id) | reason
            users={},  # username -> id | reason
            order_nos={},  # order number -> first row
            moments={},
            amounts={},  # amount text -> Decimal, or the reason it is not one
            margins={},  # (amount text, product id) -> the default margin's text
            moment=cells.MomentParam(cells.local_zone(), connection.ops.adapt_datetimefield_value),
            numbered=Order.objects.filter(external_id__isnull=False).exists(),
            # the table's size (its highest id): rebuilding the indexes pays only for a load
            # that is large against what is there already
            existing=Order.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
            written=0,
            dropped=[],
        )

    # -- set-based look-ups of a chunk ----------------------------------------------------

    def _customers(self, wanted: set[str], known: dict[str, Any]) -> None:
        missing = [k for k in wanted if k not in known]
        if not missing:
            return
        merged: dict[str, int] = {}
        for pk, ext, unit, owner, into in Customer.objects.filter(
            external_id__in=missing
        ).values_list("pk", "external_id", "unit_id", "owner_id", "merged_into_id"):
            if ext is None:
                continue
            if into:
                merged[ext] = into
            else:
                known[ext] = (pk, unit, owner)
        if merged:
            survivors = {
                pk: (pk, unit, owner)
                for pk, unit, owner in Customer.objects.filter(
                    pk__in=set(merged.values()), merged_into__isnull=True
                ).values_list("pk", "unit_id", "owner_id")
            }
            for ext, into in merged.items():
                known[ext] = survivors.get(into)
        for ext in missing:
            known.setdefault(ext, None)

    def _phones(self, raws: set[str], known: dict[str, Any]) -> None:
        missing = [r for r in raws if r not in known]
        if not missing:
            return
        normal: dict[str, list[str]] = {}
        for raw in missing:
            try:
                value = _phone(raw).normalized
            except ValidationFailed as exc:
                known[raw] = exc.message
                continue
            normal.setdefault(value, []).append(raw)
        found: dict[str, set[tuple[int, int, int | None]]] = {}
        for value, pk, unit, owner in ContactPoint.objects.filter(
            kind=ContactKind.PHONE, normalized__in=list(normal), customer__merged_into__isnull=True
        ).values_list("normalized", "customer_id", "customer__unit_id", "customer__owner_id"):
            found.setdefault(value, set()).add((pk, unit, owner))
        for value, raws_of in normal.items():
            hits = found.get(value)
            if not hits:
                result: Any = _("No customer has this phone.")
            elif len(hits) > 1:
                result = _("Several customers have this phone; give the customer external id.")
            else:
                result = next(iter(hits))
            for raw in raws_of:
                known[raw] = result

    def _users(self, names: set[str], known: dict[str, Any]) -> None:
        missing = [n for n in names if n not in known]
        if not missing:
            return
        for pk, username, active in User.objects.filter(username__in=missing).values_list(
            "pk", "username", "is_active"
        ):
            known[username] = pk if active else _("This user is no longer active.")
        for name in missing:
            known.setdefault(name, _("No user has this username."))

    # -- the chunk ----------------------------------------------------------------------------

    def validate(
        self, rows: Sequence[tuple[int, dict[str, str]]], ctx: ImportContext
    ) -> tuple[list[tuple[Any, ...]], list[RowError]]:
        st = ctx.state
        customers: dict[str, Any] = st["customers"]
        phones: dict[str, Any] = st["phones"]
        users: dict[str, Any] = st["users"]
        order_nos: dict[str, int] = st["order_nos"]
        moments: dict[str, Any] = st["moments"]
        products: dict[str, tuple[int, Decimal]] = st["products"]
        statuses: dict[str, str] = st["statuses"]
        channels: dict[str, str] = st["channels"]
        moment = st["moment"]
        default_channel = st["default_channel"]
        fulfilled = OrderStatus.FULFILLED.value
        access = ctx.access
        scoped = access is not None and not access.is_admin
        unit_ids = access.unit_ids if access is not None else frozenset()
        me = access.user_id if access is not None else None

        ext_ids = {r.get("customer", "") for _n, r in rows} - {""}
        self._customers(ext_ids, customers)
        raw_phones = {r.get("phone", "") for _n, r in rows if not r.get("customer")} - {""}
        self._phones(raw_phones, phones)
        self._users({r.get("sold_by", "") for _n, r in rows} - {""}, users)
        numbers = [r.get("order_no", "") for _n, r in rows]
        fresh = {n for n in numbers if n and n not in order_nos}
        taken = (
            set(Order.objects.filter(external_id__in=fresh).values_list("external_id", flat=True))
            if fresh and st["numbered"]
            else set()
        )
        amounts: dict[str, Decimal | str] = st["amounts"]
        margins: dict[tuple[str, int], str] = st["margins"]
        for cache in (moments, amounts, margins):
            if len(cache) > _CACHE_LIMIT:
                cache.clear()

        good: list[tuple[Any, ...]] = []
        bad: list[RowError] = []
        for number, row in rows:
            before = len(bad)
            ext = row.get("customer", "")
            if ext:
                customer = customers.get(ext)
                if customer is None:
                    bad.append(
                        RowError(number, "customer", ext, _("No customer has this external id."))
                    )
            else:
                raw = row.get("phone", "")
                customer = phones.get(raw) if raw else None
                if not raw:
                    bad.append(
                        RowError(
                            number, "customer", "", _("Give the customer external id or phone.")
                        )
                    )
                elif isinstance(customer, str):
                    bad.append(RowError(number, "phone", raw, customer))
                    customer = None
            if (
                customer is not None
                and scoped
                and customer[1] not in unit_ids
                and customer[2] != me
            ):
                bad.append(
                    RowError(number, "customer", ext or row.get("phone", ""),
                             _("This customer is outside your organisation scope."))
                )  # fmt: skip
            code = row["product"]
            product = products.get(code) or products.get(code.lower())
            if product is None:
                bad.append(
                    RowError(
                        number,
                        "product",
                        code,
                        _("No product has this code.") if code else _("Required."),
                    )
                )
            raw_at = row["ordered_at"]
            at = moments.get(raw_at)
            if at is None:
                try:
                    at = moment(raw_at) if raw_at else None
                except ValueError as exc:
                    bad.append(RowError(number, "ordered_at", raw_at, str(exc)))
                else:
                    if at is None:
                        bad.append(RowError(number, "ordered_at", "", _("Required.")))
                    elif len(raw_at) <= 10:  # a day, which files repeat; times rarely
                        moments[raw_at] = at
            raw_amount = row["amount"]
            amount: Decimal | None = None
            known_amount = amounts.get(raw_amount)  # prices repeat: each text parsed once
            if known_amount is None:
                try:
                    known_amount = cells.money(raw_amount) if raw_amount else _("Required.")
                except ValueError as exc:
                    known_amount = str(exc)
                amounts[raw_amount] = known_amount
            if isinstance(known_amount, str):
                bad.append(RowError(number, "amount", raw_amount, known_amount))
            else:
                amount = known_amount
            raw_quantity = row.get("quantity", "")
            quantity = 1
            if raw_quantity.isdigit() and 1 <= int(raw_quantity) <= 1_000_000:
                quantity = int(raw_quantity)
            elif raw_quantity:
                try:
                    quantity = int(Decimal(raw_quantity))
                    if not 1 <= quantity <= 1_000_000 or quantity != Decimal(raw_quantity):
                        raise ValueError
                except (ValueError, ArithmeticError):
                    bad.append(
                        RowError(number, "quantity", raw_quantity, _("A whole number from 1."))
                    )
            raw_margin = row.get("margin", "")
            margin: Decimal | None = None
            if raw_margin:
                try:
                    margin = cells.money(raw_margin.lstrip("-")) * (
                        -1 if raw_margin.startswith("-") else 1
                    )
                except ValueError as exc:
                    bad.append(RowError(number, "margin", raw_margin, str(exc)))
            raw_status = row.get("status", "")
            status = statuses.get(raw_status.lower()) if raw_status else fulfilled
            if status is None:
                bad.append(
                    RowError(number, "status", raw_status,
                             _("Unknown status; use one of: %(values)s.") % {"values": ", ".join(OrderStatus.values)})
                )  # fmt: skip
            raw_channel = row.get("channel", "")
            channel = channels.get(raw_channel.lower()) if raw_channel else default_channel
            if channel is None:
                bad.append(
                    RowError(number, "channel", raw_channel,
                             _("Unknown channel; use one of: %(values)s.") % {"values": ", ".join(SalesChannel.values)})
                )  # fmt: skip
            seller = None
            username = row.get("sold_by", "")
            if username:
                seller = users.get(username)
                if isinstance(seller, str):
                    bad.append(RowError(number, "sold_by", username, seller))
            order_no = row.get("order_no", "") or None
            if order_no is not None:
                if len(order_no) > 64:
                    bad.append(
                        RowError(
                            number,
                            "order_no",
                            order_no[:40] + "…",
                            _("Longer than %(n)s characters.") % {"n": 64},
                        )
                    )
                first = order_nos.get(order_no)
                if first is not None:
                    bad.append(
                        RowError(number, "order_no", order_no,
                                 _("Row %(n)s has the same order number.") % {"n": first})
                    )  # fmt: skip
                elif order_no in taken:
                    bad.append(
                        RowError(
                            number,
                            "order_no",
                            order_no,
                            _("An order with this number exists already."),
                        )
                    )
                    order_nos[order_no] = number
                else:
                    order_nos[order_no] = number
            if len(bad) != before:
                continue
            assert customer is not None and product is not None and amount is not None
            if margin is None:
                margin_text = margins.get((raw_amount, product[0]))
                if margin_text is None:
                    margin_text = margins[(raw_amount, product[0])] = str(
                        (amount * product[1]).quantize(cells.CENT, rounding=ROUND_HALF_UP)
                    )
            else:
                margin_text = str(margin)
            good.append(
                (customer[0], product[0], quantity, str(amount), margin_text, at, channel,
                 customer[1], status, order_no, seller)
            )  # fmt: skip
        return good, bad

    def write(self, rows: list[tuple[Any, ...]], ctx: ImportContext) -> None:
        st = ctx.state
        if not st["dropped"] and max(ctx.rows_to_write, st["written"] + len(rows)) > max(
            REBUILD_AFTER, st["existing"] // 2
        ):
            # SQLite: building the indexes once at the end is much cheaper than a million
            # random B-tree inserts each (measured: 4.7 → 2.9 s CPU for 300,000 rows)
            st["dropped"] = sql.secondary_indexes_drop(Order)
        insert_rows(Order, FIELDS, rows, ready=True, batch_size=len(rows) or 1)
        st["written"] += len(rows)
        ctx.created += len(rows)

    def finish(self, ctx: ImportContext) -> None:
        if ctx.state["dropped"]:
            sql.indexes_create(ctx.state["dropped"])
            ctx.state["dropped"] = []
        audit_record(
            actor=ctx.actor,
            action="order.import",
            object_type="customers.importjob",
            object_id=ctx.job_id,
            changes={"created": ctx.created, "skip_invalid": ctx.skip_invalid},
            summary=_("Imported %(n)s historic orders") % {"n": ctx.created},
        )
        if ctx.created >= 10_000:
            transaction.on_commit(lambda: analyze(Order))
