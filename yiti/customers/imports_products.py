"""Importing the product catalogue (kind ``products``): ``yiti import products FILE``.

A row with a new code creates a product (name, category and price are then required); a row
with an existing code updates it, and its blank cells keep the current values. The margin is
given as a rate (``0.35`` or ``35%``) or as a margin per unit in yuan, turned into a rate of
the price. Category accepts the value (``broadband``) or its label in English or Chinese.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yiti.core.audit import audit_bulk, audit_record
from yiti.customers import import_cells as cells
from yiti.customers.choices import ImportKind, ProductCategory
from yiti.customers.importing import Column, ImportContext, RowError
from yiti.customers.models import Product
from yiti.org.roles import Perm

_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")  # as the catalogue's own rule
_CATEGORY_EXTRA = {
    "套餐": "mobile_plan",
    "手机套餐": "mobile_plan",
    "宽带": "broadband",
    "终端": "device",
    "手机": "device",
    "增值业务": "value_added",
    "增值": "value_added",
    "其他": "other",
}
_COMPARED = ("name", "category", "price", "margin_rate", "active")


class ProductsImporter:
    kind: ClassVar[str] = ImportKind.PRODUCTS
    perm: ClassVar[str] = Perm.PRODUCT_MANAGE
    columns: ClassVar[tuple[Column, ...]] = (
        Column(
            "code",
            gettext_lazy("Code"),
            ("产品编码", "产品代码", "编码", "商品编码", "product code", "sku"),
            required=True,
            help=gettext_lazy(
                "Letters, digits, - and _ (kept in lower case); an existing code updates the "
                "product."
            ),
        ),
        Column("name", gettext_lazy("Name"), ("产品名称", "名称", "商品名称", "product name")),
        Column(
            "category",
            gettext_lazy("Category"),
            ("类别", "分类", "产品类别", "type"),
            help=gettext_lazy("Mobile plan, broadband, device, value-added service or other."),
        ),
        Column(
            "price",
            gettext_lazy("List price"),
            ("价格", "单价", "标价", "资费", "price"),
            help=gettext_lazy("In yuan."),
        ),
        Column(
            "margin_rate",
            gettext_lazy("Margin rate"),
            ("毛利率", "利润率", "margin %"),
            help=gettext_lazy("0.35 or 35%."),
        ),
        Column(
            "unit_margin",
            gettext_lazy("Margin per unit"),
            ("单位毛利", "毛利", "毛利额", "margin"),
            help=gettext_lazy("In yuan; used when there is no margin rate."),
        ),
        Column(
            "active",
            gettext_lazy("Active"),
            ("在售", "启用", "状态", "有效", "status"),
            help=gettext_lazy("yes or no (是 / 否); yes if empty for a new product."),
        ),
    )

    def begin(self, ctx: ImportContext) -> None:
        # codes are lower case (as the catalogue form keeps them); older ones match either way
        ctx.state["existing"] = {
            p.code.lower(): p for p in Product.objects.only("pk", "code", *_COMPARED)
        }
        ctx.state["seen"] = {}
        ctx.state["categories"] = cells.choice_table(ProductCategory, _CATEGORY_EXTRA)

    def validate(
        self, rows: Sequence[tuple[int, dict[str, str]]], ctx: ImportContext
    ) -> tuple[list[tuple[Any, ...]], list[RowError]]:
        existing: dict[str, Product] = ctx.state["existing"]
        seen: dict[str, int] = ctx.state["seen"]
        categories: dict[str, str] = ctx.state["categories"]
        good: list[tuple[Any, ...]] = []
        bad: list[RowError] = []
        for number, row in rows:
            errors: list[RowError] = []
            raw_code = row["code"]
            code = raw_code.lower()
            if not code:
                errors.append(RowError(number, "code", "", _("Required.")))
            elif not _CODE.fullmatch(code):
                errors.append(
                    RowError(
                        number,
                        "code",
                        raw_code,
                        _(
                            "Use at most 40 lowercase letters, digits, hyphens or underscores, "
                            "starting with a letter or digit."
                        ),
                    )
                )
            elif code in seen:
                errors.append(
                    RowError(
                        number,
                        "code",
                        raw_code,
                        _("Row %(n)s has the same code.") % {"n": seen[code]},
                    )
                )
            else:
                seen[code] = number
            product = existing.get(code)
            values: dict[str, Any] = {}
            name = " ".join(row.get("name", "").split())
            if len(name) > 120:
                errors.append(RowError(number, "name", name[:40] + "…", _("Longer than 120.")))
            elif name:
                values["name"] = name
            raw = row.get("category", "")
            if raw:
                category = categories.get(raw.lower())
                if category is None:
                    errors.append(
                        RowError(
                            number,
                            "category",
                            raw,
                            _("Unknown category; use one of: %(values)s.")
                            % {"values": ", ".join(ProductCategory.values)},
                        )
                    )
                else:
                    values["category"] = category
            for key, read in (("price", cells.money), ("margin_rate", cells.rate)):
                raw = row.get(key, "")
                if raw:
                    try:
                        values[key] = read(raw)
                    except ValueError as exc:
                        errors.append(RowError(number, key, raw, str(exc)))
            raw = row.get("unit_margin", "")
            if raw and "margin_rate" not in values:
                price = values.get("price", product.price if product is not None else None)
                try:
                    margin = cells.money(raw)
                    if price is not None and margin > price:
                        raise ValueError(_("The margin is larger than the price."))
                except ValueError as exc:
                    errors.append(RowError(number, "unit_margin", raw, str(exc)))
                else:
                    values["margin_rate"] = (
                        (margin / price).quantize(Decimal("0.0001")) if price else Decimal(0)
                    )
            raw = row.get("active", "")
            if raw:
                try:
                    values["active"] = cells.yes_no(raw)
                except ValueError as exc:
                    errors.append(RowError(number, "active", raw, str(exc)))
            if product is None:
                for key in ("name", "category", "price"):
                    if key not in values and not any(e.column == key for e in errors):
                        errors.append(RowError(number, key, "", _("Required for a new product.")))
            if errors:
                bad.extend(errors)
                continue
            if product is None:
                good.append(("create", number, code, values))
                ctx.created += 1
                continue
            changes = {
                k: [getattr(product, k), v] for k, v in values.items() if getattr(product, k) != v
            }
            if changes:
                good.append(("update", number, product.pk, changes))
                ctx.updated += 1
            else:
                ctx.unchanged += 1
        return good, bad

    def write(self, rows: list[tuple[Any, ...]], ctx: ImportContext) -> None:
        creates = [
            Product(code=code, active=values.pop("active", True), **values)
            for action, _n, code, values in rows
            if action == "create"
        ]
        Product.objects.bulk_create(creates)
        updates = [
            (pk, number, changes) for action, number, pk, changes in rows if action == "update"
        ]
        by_pk = Product.objects.in_bulk([pk for pk, _n, _c in updates])
        changed: list[Product] = []
        names: set[str] = set()
        now = timezone.now()
        for pk, _n, changes in updates:
            product = by_pk[pk]
            product.updated_at = now
            for name, (_before, after) in changes.items():
                setattr(product, name, after)
                names.add(name)
            changed.append(product)
        if changed:
            Product.objects.bulk_update(changed, [*sorted(names), "updated_at"])
        summary = _("Import #%(id)s") % {"id": ctx.job_id}
        audit_bulk(
            actor=ctx.actor,
            action="product.create",
            object_type="customers.product",
            rows=[
                (p.pk, None, {"code": p.code, "name": p.name, "price": p.price}) for p in creates
            ],
            summary=summary,
        )
        audit_bulk(
            actor=ctx.actor,
            action="product.update",
            object_type="customers.product",
            rows=[(pk, None, {**changes, "row": n}) for pk, n, changes in updates],
            summary=summary,
        )
        ctx.created += len(creates)
        ctx.updated += len(changed)

    def finish(self, ctx: ImportContext) -> None:
        audit_record(
            actor=ctx.actor,
            action="product.import",
            object_type="customers.importjob",
            object_id=ctx.job_id,
            changes={"created": ctx.created, "updated": ctx.updated},
            summary=_("Imported products: %(c)s created, %(u)s updated")
            % {"c": ctx.created, "u": ctx.updated},
        )
