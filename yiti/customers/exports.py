"""Exporting the customer list as CSV or XLSX: scoped, masked, audited, streamed.

Rows come from ``customer_list(user, filters)`` — the same filter as the web list and the
API — read with ``values_list().iterator()`` so memory stays flat and there is no query per
row. Phones, e-mail addresses, WeChat ids and street addresses are masked unless the user
may reveal personal data and asked for it. Every export is audited with its filters and row
count before the first byte is sent. The headers use the import's column names, so an
unmasked export can be edited and imported again.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import IO, Any

from django.db.models import FilteredRelation, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yiti.core.audit import audit_record
from yiti.core.errors import ValidationFailed
from yiti.core.masking import mask_generic
from yiti.customers.choices import Channel, ContactKind, CustomerKind, CustomerStatus, Purpose
from yiti.customers.imports import COLUMN_BY_KEY
from yiti.customers.rules import require_perm
from yiti.customers.selectors import CustomerFilters, customer_list, mask_contact
from yiti.org.roles import Perm

FORMATS = ("csv", "xlsx")
XLSX_MAX_ROWS = 1_048_575  # an Excel sheet holds 1,048,576 rows, one of them the header
CHUNK = 2000

# (header, database column) in file order
_FIELDS: tuple[tuple[Any, str], ...] = (
    (gettext_lazy("Yiti id"), "id"),  # must not translate to an import alias
    (COLUMN_BY_KEY["external_id"].label, "external_id"),
    (COLUMN_BY_KEY["name"].label, "name"),
    (COLUMN_BY_KEY["kind"].label, "kind"),
    (gettext_lazy("Status"), "status"),
    (COLUMN_BY_KEY["unit"].label, "unit__code"),
    (gettext_lazy("Unit name"), "unit__name"),
    (COLUMN_BY_KEY["owner"].label, "owner__username"),
    (gettext_lazy("Account manager name"), "owner__display_name"),
    (COLUMN_BY_KEY["phone"].label, "primary_phone"),
    (COLUMN_BY_KEY["email"].label, "primary_email"),
    (COLUMN_BY_KEY["wechat"].label, "wechat_point__value"),
    (COLUMN_BY_KEY["city"].label, "city"),
    (COLUMN_BY_KEY["address"].label, "address"),
    (COLUMN_BY_KEY["industry"].label, "industry"),
    (COLUMN_BY_KEY["sms_marketing"].label, "sms_state__granted"),
    (gettext_lazy("Customer since"), "since"),
    (gettext_lazy("Last contact"), "last_contact_at"),
)
_MASKERS = {
    "primary_phone": lambda v: mask_contact(ContactKind.PHONE, v),
    "primary_email": lambda v: mask_contact(ContactKind.EMAIL, v),
    "wechat_point__value": lambda v: mask_contact(ContactKind.WECHAT, v),
    "address": mask_generic,
}


@dataclass
class Export:
    """What the view sends: headers, a lazy row iterator, and how many rows there are."""

    headers: list[str]
    rows: Iterator[list[Any]]
    count: int
    revealed: bool
    file_stem: str


def _rows(qs: Any, *, revealed: bool) -> Iterator[list[Any]]:
    kinds = {k.value: str(k.label) for k in CustomerKind}
    statuses = {s.value: str(s.label) for s in CustomerStatus}
    yes, no = _("yes"), _("no")
    columns = [db for _label, db in _FIELDS]
    maskers = {} if revealed else {columns.index(k): f for k, f in _MASKERS.items()}
    kind_at, status_at = columns.index("kind"), columns.index("status")
    sms_at, since_at, last_at = (
        columns.index("sms_state__granted"),
        columns.index("since"),
        columns.index("last_contact_at"),
    )
    for values in qs.values_list(*columns).iterator(chunk_size=CHUNK):
        row = ["" if v is None else v for v in values]
        for position, mask in maskers.items():
            if row[position]:
                row[position] = mask(row[position])
        row[kind_at] = kinds.get(row[kind_at], row[kind_at])
        row[status_at] = statuses.get(row[status_at], row[status_at])
        row[sms_at] = "" if values[sms_at] is None else (yes if values[sms_at] else no)
        if isinstance(values[since_at], date):
            row[since_at] = values[since_at].isoformat()
        if isinstance(values[last_at], datetime):
            row[last_at] = timezone.localtime(values[last_at]).strftime("%Y-%m-%d %H:%M")
        yield row


def customers_export(
    *, actor: Any, filters: CustomerFilters, fmt: str = "csv", reveal: bool = False
) -> Export:
    """Prepare an export of the customers ``actor`` sees through ``filters``; audit it."""
    if actor is None:
        raise ValidationFailed(_("Exports are made by a signed-in user."), code="no_actor")
    access = require_perm(actor, Perm.CUSTOMER_EXPORT)
    if fmt not in FORMATS:
        raise ValidationFailed(
            _("Unknown format “%(f)s”; choose csv or xlsx.") % {"f": fmt}, field="format"
        )
    revealed = bool(reveal and access is not None and access.has(Perm.PII_REVEAL))
    # LEFT JOINs on unique keys (one primary WeChat id, one state per channel and purpose):
    # one pass over the customers however many there are
    qs = customer_list(actor, filters).annotate(
        wechat_point=FilteredRelation(
            "contact_points",
            condition=Q(contact_points__kind=ContactKind.WECHAT, contact_points__is_primary=True),
        ),
        sms_state=FilteredRelation(
            "consent_states",
            condition=Q(
                consent_states__channel=Channel.SMS, consent_states__purpose=Purpose.MARKETING
            ),
        ),
    )
    count = qs.count()
    if fmt == "xlsx" and count > XLSX_MAX_ROWS:
        raise ValidationFailed(
            _(
                "%(n)s customers match, more than one Excel sheet holds (%(max)s rows). "
                "Narrow the filters or export CSV instead."
            )
            % {"n": f"{count:,}", "max": f"{XLSX_MAX_ROWS:,}"},
            field="format",
            code="too_many_rows",
        )
    used_filters = {k: v for k, v in asdict(filters).items() if v not in ("", None, False)}
    audit_record(
        actor=actor,
        action="customer.export",
        object_type="customers.customer",
        changes={"filters": used_filters, "rows": count, "format": fmt, "revealed": revealed},
        summary=_("Exported %(n)s customers") % {"n": count},
    )
    return Export(
        headers=[str(label) for label, _db in _FIELDS],
        rows=_rows(qs, revealed=revealed),
        count=count,
        revealed=revealed,
        file_stem=f"customers-{timezone.localtime():%Y%m%d-%H%M}",
    )


# --- writers --------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_safe(value: Any) -> Any:
    """Keep spreadsheet programs from running a cell as a formula (CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_chunks(export: Export) -> Iterator[bytes]:
    """UTF-8 with a byte-order mark, so Excel on a Chinese Windows opens it correctly."""
    writer = csv.writer(_Echo())
    yield "\ufeff".encode() + writer.writerow(export.headers).encode()
    buffer: list[str] = []
    for row in export.rows:
        buffer.append(writer.writerow([_csv_safe(v) for v in row]))
        if len(buffer) >= 500:
            yield "".join(buffer).encode()
            buffer.clear()
    if buffer:
        yield "".join(buffer).encode()


def csv_bytes(rows: Iterable[list[Any]]) -> bytes:
    """A small CSV (error reports, templates) in one piece, with the same safeguards."""
    writer = csv.writer(_Echo())
    text = "".join(writer.writerow([_csv_safe(v) for v in row]) for row in rows)
    return ("\ufeff" + text).encode()


def xlsx_file(export: Export, *, sheet_title: str | None = None) -> IO[bytes]:
    """Write the export into a temporary .xlsx file (openpyxl write-only) and rewind it."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def clean(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        return "'" + value if value.startswith("=") else value

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=(sheet_title or _("Customers"))[:31])
    sheet.append(export.headers)
    for row in export.rows:
        sheet.append([clean(v) for v in row])
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - the response closes it
    workbook.save(handle)
    handle.seek(0)
    return handle
