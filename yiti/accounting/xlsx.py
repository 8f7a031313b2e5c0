"""Unit × product results as an XLSX workbook: units (with their subtree totals), products,
and every unit's own figures per product. Text cells never start a formula."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl import Workbook
from openpyxl.styles import Font

from yiti.accounting.results import Figures, Results
from yiti.customers.models import Product

BOLD = Font(bold=True)


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def _head(sheet: Any, *titles: str) -> None:
    sheet.append([str(t) for t in titles])
    for cell in sheet[sheet.max_row]:
        cell.font = BOLD


def _figures(f: Figures) -> list[float | int]:
    return [
        float(f.revenue),
        float(f.margin),
        f.orders,
        float(f.credit_revenue),
        float(f.credit_margin),
        float(f.campaign_cost),
        float(f.cost_to_serve),
        float(f.contribution),
    ]


def _measure_titles() -> list[str]:
    return [
        _("Revenue"),
        _("Margin"),
        _("Orders"),
        _("Campaign credit: revenue"),
        _("Campaign credit: margin"),
        _("Campaign cost"),
        _("Cost to serve"),
        _("Contribution"),
    ]


def results_workbook(results: Results) -> bytes:
    book = Workbook()
    units = book.active
    units.title = _("Units")[:31]
    units.append(
        [pgettext("report", "Period"), f"{results.start:%Y-%m-%d} – {results.end:%Y-%m-%d}"]
    )
    _head(units, _("Unit"), _("Level"), *_measure_titles(), _("Own contribution"))
    for row in results.units:
        units.append(
            [_safe(row.unit.name), row.depth, *_figures(row.total), float(row.own.contribution)]
        )
    products = book.create_sheet(_("Products")[:31])
    _head(products, _("Product"), *_measure_titles())
    for product, f in results.products:
        name = product.name if product is not None else _("Not tied to a product")
        products.append([_safe(name), *_figures(f)])
    products.append([_("Total"), *_figures(results.total)])
    for cell in products[products.max_row]:
        cell.font = BOLD
    cells = book.create_sheet(_("Unit × product")[:31])
    _head(cells, _("Unit"), _("Product"), *_measure_titles())
    names = {row.unit.pk: row.unit.name for row in results.units}
    catalogue = Product.objects.in_bulk([p for _u, p in results.cells if p])
    for (unit_id, product_id), f in sorted(results.cells.items()):
        product = catalogue.get(product_id)
        cells.append(
            [
                _safe(names.get(unit_id, "")),
                _safe(product.name if product else _("Not tied to a product")),
                *_figures(f),
            ]
        )
    out = BytesIO()
    book.save(out)
    return out.getvalue()
