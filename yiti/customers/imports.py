"""Importing customers from CSV or XLSX: read the file, validate every row, then write in bulk.

Columns (first row; case, spaces and ``_``/``-`` are ignored, Chinese names are accepted):

=============  ===========================  =========================================
column         also accepted                value
=============  ===========================  =========================================
name *         姓名, 客户名称, 名称          the customer's name (max. 120 characters)
unit *         单位, 单位编码, 所属单位      code of the org unit serving the customer
phone          手机, 手机号, 电话, 联系电话  one or more phones, separated by ``;`` or ``/``
email          邮箱, 电子邮箱, e-mail        one or more e-mail addresses
wechat         微信, 微信号                  WeChat id
external_id    外部编号, 客户编号            id in the source system; re-imports update
owner          客户经理                      username of the account manager
kind           类型, 客户类型                person / organisation (个人 / 企业)
city           城市                          city
address        地址                          address
industry       行业                          industry
sms_marketing  营销短信同意                  consent to marketing SMS: yes/no (是/否)
note           备注                          free text
=============  ===========================  =========================================

Rules: ``name`` is required; ``unit`` is required for new customers unless a default unit is
given (``--unit``); every new customer needs at least one of phone, e-mail or WeChat id.
Rows whose ``external_id`` matches an existing customer update it (following a merge to the
surviving customer): cells left blank keep the current value, contacts are added if new, and
consent is recorded when it differs. Rows without an external id always create a customer.

Every row is validated before anything is written, with a constant number of look-up queries
per chunk of rows. If any row is invalid nothing is written, unless ``skip_invalid`` is set;
then the valid rows are written and the invalid ones reported. The write is one transaction
of bulk inserts and updates; a failure rolls all of it back.
"""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import phonenumbers
from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yiti.core.audit import audit_bulk, audit_record
from yiti.core.bulk import analyze, insert_rows, update_rows
from yiti.core.errors import ValidationFailed
from yiti.core.search import search_key
from yiti.customers import importing as _contract
from yiti.customers.choices import (
    Channel,
    ConsentSource,
    ContactKind,
    CustomerKind,
    CustomerStatus,
    ImportStatus,
    Purpose,
)
from yiti.customers.contacts import Normalized, normalize_email, normalize_handle, normalize_phone
from yiti.customers.importing import Column, RowError, header_key
from yiti.customers.models import (
    Assignment,
    ConsentEvent,
    ConsentState,
    ContactPoint,
    Customer,
    ImportJob,
)
from yiti.customers.rules import is_visible, require_perm
from yiti.org.access import Access
from yiti.org.choices import Role
from yiti.org.models import Membership, OrgUnit, User
from yiti.org.roles import Perm

CHUNK = 2000  # rows per look-up query and per INSERT batch
ANALYZE_AFTER = 10_000  # rows written after which the planner's statistics are refreshed
MAX_STORED_ERRORS = 100_000

# --- columns --------------------------------------------------------------------------------


COLUMNS: tuple[Column, ...] = (
    Column(
        "name",
        gettext_lazy("Name"),
        ("姓名", "客户名称", "客户姓名", "名称", "customer name"),
        True,
    ),
    Column(
        "unit",
        gettext_lazy("Unit"),
        ("单位", "单位编码", "单位代码", "所属单位", "unit code", "territory / unit"),
        True,
    ),
    Column(
        "phone",
        gettext_lazy("Phone"),
        ("手机", "手机号", "手机号码", "电话", "联系电话", "mobile", "tel"),
    ),
    Column("email", gettext_lazy("E-mail"), ("邮箱", "电子邮箱", "电子邮件", "邮件", "mail")),
    Column("wechat", gettext_lazy("WeChat"), ("微信", "微信号", "weixin")),
    Column(
        "external_id",
        gettext_lazy("External id"),
        ("外部编号", "客户编号", "ext id", "customer no"),
    ),
    Column(
        "owner",
        gettext_lazy("Account manager"),
        ("客户经理", "客户经理账号", "account manager username"),
    ),
    Column("kind", gettext_lazy("Kind"), ("类型", "客户类型", "type", "customer type")),
    Column("city", gettext_lazy("City"), ("城市", "所在城市")),
    Column("address", gettext_lazy("Address"), ("地址", "详细地址")),
    Column("industry", gettext_lazy("Industry"), ("行业", "所属行业")),
    Column(
        "sms_marketing",
        gettext_lazy("SMS marketing consent"),
        ("营销短信同意", "短信营销同意", "营销短信", "sms consent"),
    ),
    Column("note", gettext_lazy("Note"), ("备注", "notes", "remark")),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
CONTACT_COLUMNS = ("phone", "email", "wechat")

_SPLIT = re.compile(r"[;；/、|\n]+")
YES = {"yes", "y", "true", "1", "是", "同意", "x", "✓", "√"}
NO = {"no", "n", "false", "0", "否", "不同意", "拒绝"}
KIND_ALIASES = {
    "person": CustomerKind.PERSON,
    "individual": CustomerKind.PERSON,
    "个人": CustomerKind.PERSON,
    "personal": CustomerKind.PERSON,
    "organisation": CustomerKind.ORGANISATION,
    "organization": CustomerKind.ORGANISATION,
    "company": CustomerKind.ORGANISATION,
    "企业": CustomerKind.ORGANISATION,
    "单位": CustomerKind.ORGANISATION,
    "公司": CustomerKind.ORGANISATION,
    "机构": CustomerKind.ORGANISATION,
    "组织": CustomerKind.ORGANISATION,
}


def _alias_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for column in COLUMNS:
        for alias in (column.key, str(column.label), *column.aliases):
            table.setdefault(header_key(alias), column.key)
    return table


def _kind_table() -> dict[str, str]:
    """Accepted spellings of each kind, including its label in the active language."""
    table: dict[str, str] = {k: v.value for k, v in KIND_ALIASES.items()}
    for choice in CustomerKind:
        table[choice.value] = table[str(choice.label).lower()] = choice.value
    return table


def _answer_table() -> dict[str, bool]:
    table = {word: True for word in YES} | {word: False for word in NO}
    table[str(_("yes")).lower()] = True
    table[str(_("no")).lower()] = False
    return table


# --- reading files --------------------------------------------------------------------------


@dataclass
class Sheet:
    """A table read from a file: its header cells and ``(row number, cells)`` for each data row."""

    headers: list[str]
    rows: list[tuple[int, list[str]]]


def _file_error(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, field="file", code=code)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10] if getattr(value, "hour", 0) == 0 else value.isoformat()
    return str(value)


def _clean_cell(text: str) -> str:
    text = text.strip()
    # exports protect cells against spreadsheet formulas with a leading apostrophe
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@":
        text = text[1:]
    return text


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _file_error(
        _(
            "The file is neither UTF-8 nor GBK/GB18030 text, so it cannot be read. "
            "In Excel choose “Save as” › “CSV UTF-8”, or upload the .xlsx file."
        ),
        "bad_encoding",
    )


def _read_csv(data: bytes) -> Sheet:
    text = _decode(data)
    if "\x00" in text:
        raise _file_error(
            _("The file contains binary data; it is not a CSV text file."), "bad_encoding"
        )
    first_line = text.split("\n", 1)[0]
    delimiter = max([",", "\t", ";"], key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    headers: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    try:
        for number, record in enumerate(reader, start=1):
            if headers is None:
                headers = record
                continue
            rows.append((number, record))
    except csv.Error as exc:
        raise _file_error(
            _("The CSV file is malformed near record %(n)s: %(e)s")
            % {"n": reader.line_num, "e": exc},
            "bad_csv",
        ) from exc
    return Sheet(headers=headers or [], rows=rows)


def _read_xlsx(data: bytes) -> Sheet:
    from openpyxl import load_workbook

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise _file_error(
            _(
                "This is not a valid .xlsx workbook (it is not a zip archive). "
                "Save it again from Excel as .xlsx, or as CSV."
            ),
            "bad_xlsx",
        )
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise _file_error(
            _("The .xlsx workbook cannot be read: %(e)s") % {"e": exc}, "bad_xlsx"
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        headers: list[str] | None = None
        rows: list[tuple[int, list[str]]] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell_text(v) for v in values]
            if headers is None:
                headers = cells
                continue
            rows.append((number, cells))
    finally:
        workbook.close()
    return Sheet(headers=headers or [], rows=rows)


def read_sheet(*, file_name: str, data: bytes) -> Sheet:
    """Read a CSV (UTF-8 or GBK) or XLSX file; raise ``ValidationFailed`` with a clear message."""
    suffix = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    if not data or not data.strip():
        raise _file_error(_("The file is empty."), "empty_file")
    if suffix == "xls":
        raise _file_error(
            _(
                "Old Excel .xls files are not supported. "
                "Save the sheet as .xlsx or CSV and upload that."
            ),
            "unknown_file_type",
        )
    if suffix == "xlsx" or (suffix == "" and data[:4] == b"PK\x03\x04"):
        sheet = _read_xlsx(data)
    elif suffix in ("csv", "txt", "tsv", ""):
        sheet = _read_csv(data)
    else:
        raise _file_error(
            _("Unknown file type “.%(ext)s”. Upload a .csv or .xlsx file.") % {"ext": suffix},
            "unknown_file_type",
        )
    sheet.rows = [(n, cells) for n, cells in sheet.rows if any(c.strip() for c in cells)]
    if not any(h.strip() for h in sheet.headers):
        raise _file_error(_("The file is empty."), "empty_file")
    if not sheet.rows:
        raise _file_error(_("The file has a header row but no customers below it."), "empty_file")
    return sheet


# --- validating -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Row:
    number: int
    name: str
    external_id: str | None
    unit_code: str
    owner_name: str
    kind: str | None
    city: str
    address: str
    industry: str
    note: str
    contacts: dict[str, list[Normalized]]
    sms: bool | None
    unit_id: int | None = None
    owner_id: int | None = None


@dataclass
class _Update:
    row: _Row
    customer: Customer
    fields: dict[str, list[Any]]  # field -> [before, after]
    contacts: list[tuple[str, Normalized, bool]]  # kind, value, primary
    sms: bool | None  # new consent value if it changes
    sms_before: bool | None = None


@dataclass
class Plan:
    """What an import would do: rows to create, updates with their changes, and the errors."""

    row_count: int = 0
    creates: list[_Row] = field(default_factory=list)
    updates: list[_Update] = field(default_factory=list)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    invalid_rows: set[int] = field(default_factory=set)
    ignored_columns: list[str] = field(default_factory=list)


_PHONE_JUNK = str.maketrans("", "", " -()")
_CN_MOBILE = re.compile(
    str(phonenumbers.PhoneMetadata.metadata_for_region("CN").mobile.national_number_pattern)  # type: ignore[union-attr]
)
_SIMPLE_EMAIL = re.compile(
    r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,63}"
)


def _phone(raw: str) -> Normalized:
    """``normalize_phone``, with a shortcut for the common case of a Chinese mobile number.

    A bare 11-digit number matching the mobile pattern of phonenumbers' own metadata is valid
    and needs no full parse; the result is the same (a test holds the two to that).
    """
    if settings.YITI_PHONE_REGION == "CN":
        digits = raw.translate(_PHONE_JUNK)
        if digits.startswith("+86"):
            digits = digits[3:]
        if len(digits) == 11 and digits.isdigit() and _CN_MOBILE.fullmatch(digits):
            return Normalized(value=digits, normalized="+86" + digits, search_key=digits)
    return normalize_phone(raw)


def _email(raw: str) -> Normalized:
    """``normalize_email``, with a shortcut for plain addresses that its validator accepts."""
    text = raw.strip()
    if len(text) <= 254 and _SIMPLE_EMAIL.fullmatch(text):
        local, _sep, domain = text.rpartition("@")
        canonical = f"{local}@{domain.lower()}"
        return Normalized(
            value=canonical, normalized=canonical.lower(), search_key=canonical.lower()[:64]
        )
    return normalize_email(raw)


_NORMALIZERS: dict[str, Callable[[str], Normalized]] = {
    ContactKind.PHONE: _phone,
    ContactKind.EMAIL: _email,
    ContactKind.WECHAT: lambda raw: normalize_handle(raw, field="wechat"),
}
_TEXT_LIMITS = {
    "name": 120,
    "city": 60,
    "address": 255,
    "industry": 60,
    "note": 2000,
    "external_id": 64,
}


def _map_headers(headers: list[str], *, default_unit: bool) -> tuple[dict[str, int], list[str]]:
    table = _alias_table()
    index: dict[str, int] = {}
    ignored: list[str] = []
    for position, header in enumerate(headers):
        key = table.get(header_key(header))
        if key is None:
            if header.strip():
                ignored.append(header.strip())
            continue
        if key in index:
            raise _file_error(
                _("Columns “%(a)s” and “%(b)s” both mean “%(key)s”; keep one of them.")
                % {"a": headers[index[key]].strip(), "b": header.strip(), "key": key},
                "duplicate_column",
            )
        index[key] = position
    for column in COLUMNS:
        if (
            column.required
            and column.key not in index
            and not (column.key == "unit" and default_unit)
        ):
            raise _file_error(
                _("Required column “%(key)s” is missing (also accepted: %(aliases)s).")
                % {"key": column.key, "aliases": ", ".join(column.aliases[:3])},
                "missing_column",
            )
    return index, ignored


def _chunks(items: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# what validation reads of an existing customer (no timestamps: nothing to convert)
_COMPARED = (
    "external_id", "merged_into", "status", "unit", "owner", "kind", "name", "city", "address",
    "industry", "note",
)  # fmt: skip


class _Validator:
    """Turns sheet rows into a :class:`Plan` with a constant number of queries per chunk."""

    def __init__(self, *, access: Access | None, sheet: Sheet, default_unit: OrgUnit | None):
        self.access = access
        self.sheet = sheet
        self.default_unit = default_unit
        self.index, ignored = _map_headers(sheet.headers, default_unit=default_unit is not None)
        self.header = {key: sheet.headers[pos].strip() or key for key, pos in self.index.items()}
        self.plan = Plan(row_count=len(sheet.rows), ignored_columns=ignored)
        self._cache: dict[tuple[str, str], Normalized | str] = {}
        self._kinds = _kind_table()
        self._answers = _answer_table()

    def error(self, row: int, key: str, value: str, reason: str) -> None:
        self.plan.errors.append(RowError(row, self.header.get(key, key), value, reason))
        self.plan.invalid_rows.add(row)

    def _normalize(self, kind: str, raw: str) -> Normalized | str:
        """The normalised value, or the reason it is invalid (cached: files repeat values)."""
        cached = self._cache.get((kind, raw))
        if cached is None:
            try:
                cached = _NORMALIZERS[kind](raw)
            except ValidationFailed as exc:
                cached = exc.message
            self._cache[(kind, raw)] = cached
        return cached

    def _parse(self, number: int, cells: list[str]) -> _Row:
        index = self.index

        def cell(key: str) -> str:
            pos = index.get(key)
            return _clean_cell(cells[pos]) if pos is not None and pos < len(cells) else ""

        name = " ".join(cell("name").split())
        if not name:
            self.error(number, "name", "", _("Name is required."))
        values = {k: cell(k) for k in ("external_id", "city", "address", "industry", "note")}
        values["name"] = name
        for key, limit in _TEXT_LIMITS.items():
            if len(values[key]) > limit:
                self.error(
                    number,
                    key,
                    values[key][:40] + "…",
                    _("Longer than %(n)s characters.") % {"n": limit},
                )
        raw_kind = cell("kind")
        kind = self._kinds.get(raw_kind.lower()) if raw_kind else None
        if raw_kind and kind is None:
            self.error(
                number,
                "kind",
                raw_kind,
                _("Unknown kind; use one of: %(kinds)s.")
                % {"kinds": ", ".join(CustomerKind.values)},
            )
        contacts: dict[str, list[Normalized]] = {}
        for key in CONTACT_COLUMNS:
            raw = cell(key)
            if not raw:
                continue
            found: list[Normalized] = []
            for part in _SPLIT.split(raw) if key != "wechat" else [raw]:
                part = part.strip()
                if not part:
                    continue
                result = self._normalize(key, part)
                if isinstance(result, str):
                    self.error(number, key, part, result)
                elif all(result.normalized != f.normalized for f in found):
                    found.append(result)
            contacts[key] = found
        raw_sms = cell("sms_marketing")
        sms: bool | None = None
        if raw_sms:
            sms = self._answers.get(raw_sms.lower())
            if sms is None:
                self.error(number, "sms_marketing", raw_sms, _("Use yes or no (是 or 否)."))
        return _Row(
            number=number,
            name=name,
            external_id=values["external_id"] or None,
            unit_code=cell("unit"),
            owner_name=cell("owner"),
            kind=kind,
            city=values["city"],
            address=values["address"],
            industry=values["industry"],
            note=values["note"],
            contacts=contacts,
            sms=sms,
        )

    def run(self) -> Plan:
        rows = [self._parse(number, cells) for number, cells in self.sheet.rows]
        self._check_duplicate_external_ids(rows)
        units = self._units({r.unit_code for r in rows if r.unit_code})
        owners = self._owners({r.owner_name for r in rows if r.owner_name})
        existing = self._existing([r.external_id for r in rows if r.external_id])
        for row in rows:
            self._resolve(row, units, owners)
        targets = {c.pk for c in existing.values()}
        points, consents = self._contacts_and_consent_of(sorted(targets))
        seen_targets: dict[int, _Row] = {}
        for row in rows:
            customer = existing.get(row.external_id or "")
            if customer is None:
                self._check_new(row)
                if row.number not in self.plan.invalid_rows:
                    self.plan.creates.append(row)
                continue
            first = seen_targets.get(customer.pk)
            if first is not None:
                if first.external_id != row.external_id:  # (a repeated id is reported already)
                    self.error(
                        row.number,
                        "external_id",
                        row.external_id or "",
                        _("Row %(n)s already updates this customer (the two were merged).")
                        % {"n": first.number},
                    )
                continue
            seen_targets[customer.pk] = row
            if (
                self.access is not None
                and not self.access.is_admin
                and not is_visible(self.access, customer)
            ):
                self.error(
                    row.number,
                    "external_id",
                    row.external_id or "",
                    _("This external id belongs to a customer outside your organisation scope."),
                )
                continue
            if row.number in self.plan.invalid_rows:
                continue
            update = self._diff(
                row, customer, points.get(customer.pk, {}), consents.get(customer.pk)
            )
            if update.fields or update.contacts or update.sms is not None:
                self.plan.updates.append(update)
            else:
                self.plan.unchanged += 1
        self.plan.errors.sort(key=lambda e: e.row)
        return self.plan

    def _check_duplicate_external_ids(self, rows: list[_Row]) -> None:
        where: dict[str, list[int]] = defaultdict(list)
        for row in rows:
            if row.external_id:
                where[row.external_id].append(row.number)
        for external_id, numbers in where.items():
            if len(numbers) > 1:
                listed = ", ".join(str(n) for n in numbers[:10])
                for number in numbers:
                    self.error(
                        number,
                        "external_id",
                        external_id,
                        _("The same external id appears in several rows (%(rows)s).")
                        % {"rows": listed},
                    )

    def _units(self, codes: set[str]) -> dict[str, tuple[int, str]]:
        if not codes:
            return {}
        wanted = codes | {c.lower() for c in codes}
        found: dict[str, tuple[int, str]] = {}
        for chunk in _chunks(sorted(wanted)):
            for pk, code, name in OrgUnit.objects.filter(code__in=chunk).values_list(
                "pk", "code", "name"
            ):
                found[code] = (pk, name)
        for code in codes:
            if code not in found and code.lower() in found:
                found[code] = found[code.lower()]
        return found

    def _owners(self, usernames: set[str]) -> dict[str, tuple[int, bool, bool]]:
        """username -> (user id, is active, is an account manager)."""
        if not usernames:
            return {}
        found: dict[str, tuple[int, bool, bool]] = {}
        for chunk in _chunks(sorted(usernames)):
            users = User.objects.filter(username__in=chunk)
            managers = set(
                Membership.objects.current()
                .filter(user__in=users, role=Role.ACCOUNT_MANAGER)
                .values_list("user_id", flat=True)
            )
            for pk, username, active in users.values_list("pk", "username", "is_active"):
                found[username] = (pk, active, pk in managers)
        return found

    def _existing(self, external_ids: list[str]) -> dict[str, Customer]:
        """external id -> the customer to update (the survivor when it was merged)."""
        found: dict[str, Customer] = {}
        merged: dict[str, int] = {}
        for chunk in _chunks(sorted(set(external_ids))):
            for customer in Customer.objects.filter(external_id__in=chunk).only(*_COMPARED):
                if customer.merged_into_id:
                    merged[customer.external_id or ""] = customer.merged_into_id
                else:
                    found[customer.external_id or ""] = customer
        # follow merge chains; each level is one query per chunk, chains are short
        for _depth in range(10):
            if not merged:
                break
            survivors: dict[int, Customer] = {}
            for chunk in _chunks(sorted(set(merged.values()))):
                found_chunk = Customer.objects.filter(pk__in=chunk).only(*_COMPARED)
                survivors.update({c.pk: c for c in found_chunk})
            next_merged: dict[str, int] = {}
            for external_id, target_id in merged.items():
                target = survivors.get(target_id)
                if target is None:
                    continue
                if target.merged_into_id:
                    next_merged[external_id] = target.merged_into_id
                else:
                    found[external_id] = target
            merged = next_merged
        return found

    def _contacts_and_consent_of(
        self, customer_ids: list[int]
    ) -> tuple[dict[int, dict[str, tuple[set[str], bool]]], dict[int, bool]]:
        points: dict[int, dict[str, tuple[set[str], bool]]] = defaultdict(dict)
        consents: dict[int, bool] = {}
        for chunk in _chunks(customer_ids):
            for cid, kind, normalized, primary in ContactPoint.objects.filter(
                customer_id__in=chunk
            ).values_list("customer_id", "kind", "normalized", "is_primary"):
                values, has_primary = points[cid].get(kind, (set(), False))
                values.add(normalized)
                points[cid][kind] = (values, has_primary or primary)
            consents.update(
                ConsentState.objects.filter(
                    customer_id__in=chunk, channel=Channel.SMS, purpose=Purpose.MARKETING
                ).values_list("customer_id", "granted")
            )
        return points, consents

    def _resolve(
        self,
        row: _Row,
        units: dict[str, tuple[int, str]],
        owners: dict[str, tuple[int, bool, bool]],
    ) -> None:
        if row.unit_code:
            unit = units.get(row.unit_code)
            if unit is None:
                self.error(row.number, "unit", row.unit_code, _("No unit has this code."))
            elif self.access is not None and unit[0] not in self.access.unit_ids:
                self.error(
                    row.number,
                    "unit",
                    row.unit_code,
                    _("Unit %(name)s is outside your organisation scope.") % {"name": unit[1]},
                )
            else:
                row.unit_id = unit[0]
        if row.owner_name:
            owner = owners.get(row.owner_name)
            if owner is None:
                self.error(row.number, "owner", row.owner_name, _("No user has this username."))
            elif not owner[2]:
                self.error(
                    row.number, "owner", row.owner_name, _("This user is not an account manager.")
                )
            elif not owner[1]:
                self.error(row.number, "owner", row.owner_name, _("This user is no longer active."))
            else:
                row.owner_id = owner[0]

    def _check_new(self, row: _Row) -> None:
        if not row.unit_code:
            if self.default_unit is None:
                self.error(row.number, "unit", "", _("A unit is required for a new customer."))
            else:
                row.unit_id = self.default_unit.pk
        if not row.contacts:  # (a contact cell with only invalid values is reported already)
            self.error(
                row.number,
                "phone",
                "",
                _("A new customer needs a phone, an e-mail address or a WeChat id."),
            )

    def _diff(
        self,
        row: _Row,
        customer: Customer,
        points: dict[str, tuple[set[str], bool]],
        consent: bool | None,
    ) -> _Update:
        changes: dict[str, list[Any]] = {}
        wanted: dict[str, Any] = {
            "name": row.name,
            "city": row.city,
            "address": row.address,
            "industry": row.industry,
            "note": row.note,
            "kind": row.kind,
        }
        for name, value in wanted.items():
            if value and getattr(customer, name) != value:
                changes[name] = [getattr(customer, name), value]
        if row.unit_id is not None and row.unit_id != customer.unit_id:
            changes["unit"] = [customer.unit_id, row.unit_id]
        if row.owner_id is not None and row.owner_id != customer.owner_id:
            changes["owner"] = [customer.owner_id, row.owner_id]
        new_points: list[tuple[str, Normalized, bool]] = []
        for kind in CONTACT_COLUMNS:
            values, has_primary = points.get(kind, (set(), False))
            for value in row.contacts.get(kind, []):
                if value.normalized in values:
                    continue
                new_points.append((kind, value, not has_primary))
                has_primary = True
        sms = row.sms if row.sms is not None and row.sms != consent else None
        return _Update(
            row=row,
            customer=customer,
            fields=changes,
            contacts=new_points,
            sms=sms,
            sms_before=consent,
        )


# --- writing --------------------------------------------------------------------------------


_CUSTOMER_FIELDS = (
    "kind", "name", "name_key", "external_id", "status", "unit", "owner", "city", "address",
    "industry", "note", "since", "primary_phone", "primary_email",
)  # fmt: skip
_POINT_FIELDS = ("customer", "kind", "value", "normalized", "search_key", "is_primary")
_EVENT_FIELDS = ("customer", "channel", "purpose", "granted", "source", "actor", "note", "at")
_STATE_FIELDS = ("customer", "channel", "purpose", "granted", "since")
_ASSIGNMENT_FIELDS = (
    "customer", "from_user", "to_user", "from_unit", "to_unit", "at", "actor", "reason", "batch",
)  # fmt: skip


def _write(plan: Plan, *, actor: User | None, job: ImportJob) -> None:
    """Write the plan with one statement per table and batch (``yiti.core.bulk``)."""
    now = timezone.now()
    today = timezone.localdate()
    actor_id = actor.pk if actor is not None else None
    summary = _("Import #%(id)s: %(file)s") % {"id": job.pk, "file": job.file_name}
    reason = _("Imported")
    batch = f"import-{job.pk}"
    sms, marketing, source = Channel.SMS.value, Purpose.MARKETING.value, ConsentSource.IMPORT.value

    def first(row: _Row, kind: str) -> str:
        found = row.contacts.get(kind)
        return found[0].value if found else ""

    new_ids = insert_rows(
        Customer,
        _CUSTOMER_FIELDS,
        (
            (
                row.kind or CustomerKind.PERSON.value,
                row.name,
                search_key(row.name),
                row.external_id,
                CustomerStatus.ACTIVE.value,
                row.unit_id,
                row.owner_id,
                row.city,
                row.address,
                row.industry,
                row.note,
                today,
                first(row, "phone"),
                first(row, "email"),
            )
            for row in plan.creates
        ),
        returning_ids=True,
    )

    points: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    states: list[tuple[Any, ...]] = []
    history: list[tuple[Any, ...]] = []
    created_audit: list[tuple[int, int, dict[str, Any]]] = []
    for row, cid in zip(plan.creates, new_ids, strict=True):
        for kind in CONTACT_COLUMNS:
            for position, value in enumerate(row.contacts.get(kind, ())):
                points.append(
                    (cid, kind, value.value, value.normalized, value.search_key, position == 0)
                )
        if row.sms is not None:
            events.append((cid, sms, marketing, row.sms, source, actor_id, summary[:255], now))
            states.append((cid, sms, marketing, row.sms, now))
        if row.owner_id is not None:
            history.append(
                (cid, None, row.owner_id, None, row.unit_id, now, actor_id, reason, batch)
            )
        changes: dict[str, Any] = {"name": [None, row.name], "unit": [None, row.unit_id]}
        if row.external_id:
            changes["external_id"] = [None, row.external_id]
        if row.owner_id:
            changes["owner"] = [None, row.owner_id]
        changes["row"] = row.number
        created_audit.append((cid, cid, changes))

    updates_by_fields: dict[tuple[str, ...], list[tuple[Any, ...]]] = defaultdict(list)
    replaced_states: list[int] = []
    updated_audit: list[tuple[int, int, dict[str, Any]]] = []
    for update in plan.updates:
        customer, row = update.customer, update.row
        audit_changes: dict[str, Any] = dict(update.fields)
        values: dict[str, Any] = {name: after for name, (_before, after) in update.fields.items()}
        if "name" in values:
            values["name_key"] = search_key(values["name"])
        if "unit" in values or "owner" in values:
            history.append(
                (
                    customer.pk,
                    customer.owner_id,
                    values.get("owner", customer.owner_id),
                    customer.unit_id,
                    values.get("unit", customer.unit_id),
                    now,
                    actor_id,
                    reason,
                    batch,
                )
            )
        for kind, value, primary in update.contacts:
            points.append(
                (customer.pk, kind, value.value, value.normalized, value.search_key, primary)
            )
            audit_changes.setdefault(f"contact.{kind}", []).append(value.normalized)
            if primary and kind in ("phone", "email"):
                values[f"primary_{kind}"] = value.value
        if update.sms is not None:
            events.append((customer.pk, sms, marketing, update.sms, source, actor_id, summary, now))
            states.append((customer.pk, sms, marketing, update.sms, now))
            replaced_states.append(customer.pk)
            audit_changes["sms/marketing"] = [update.sms_before, update.sms]
        names = tuple(sorted(values))  # () still moves updated_at
        updates_by_fields[names].append((*(values[n] for n in names), customer.pk))
        audit_changes["row"] = row.number
        updated_audit.append((customer.pk, customer.pk, audit_changes))

    for names, rows in updates_by_fields.items():
        update_rows(Customer, names, rows)
    for chunk in _chunks(replaced_states):
        ConsentState.objects.filter(customer_id__in=chunk, channel=sms, purpose=marketing).delete()
    insert_rows(ContactPoint, _POINT_FIELDS, points)
    insert_rows(ConsentEvent, _EVENT_FIELDS, events)
    insert_rows(ConsentState, _STATE_FIELDS, states)
    insert_rows(Assignment, _ASSIGNMENT_FIELDS, history)
    audit_bulk(
        actor=actor,
        action="customer.create",
        object_type="customers.customer",
        rows=created_audit,
        summary=summary,
    )
    audit_bulk(
        actor=actor,
        action="customer.update",
        object_type="customers.customer",
        rows=updated_audit,
        summary=summary,
    )


# --- the service ----------------------------------------------------------------------------


@dataclass
class ImportResult:
    job: ImportJob
    plan: Plan | None = None
    file_error: ValidationFailed | None = None

    @property
    def written(self) -> bool:
        return (
            self.job.status == ImportStatus.COMPLETED
            and (self.job.created_count + self.job.updated_count) > 0
        )

    @property
    def blocked(self) -> bool:
        """Nothing was (or, for a dry run, would be) written because of errors."""
        job = self.job
        if job.status in (ImportStatus.REJECTED, ImportStatus.FAILED):
            return True
        if not job.error_count:
            return False
        valid_rows = job.created_count + job.updated_count + job.unchanged_count
        return not job.skip_invalid or valid_rows == 0  # errors and nothing (valid) to write


def _default_unit(access: Access | None, code: str | None) -> OrgUnit | None:
    if not code:
        return None
    unit = OrgUnit.objects.filter(code=code).first()
    if unit is None:
        raise ValidationFailed(
            _("No unit has the code “%(code)s”.") % {"code": code},
            field="unit",
            code="unknown_unit",
        )
    if access is not None and unit.pk not in access.unit_ids:
        raise ValidationFailed(
            _("Unit %(name)s is outside your organisation scope.") % {"name": unit.name},
            field="unit",
            code="unit_out_of_scope",
        )
    return unit


def customers_import(
    *,
    actor: User | None,
    file_name: str,
    data: bytes,
    default_unit: str | None = None,
    skip_invalid: bool = False,
    dry_run: bool = False,
) -> ImportResult:
    """Import customers from a CSV or XLSX file; see the module docstring for the columns.

    ``actor`` None is the system (the CLI without ``--user``): no scope applies. The outcome,
    counts and row-level errors are stored in an :class:`ImportJob`, which is returned.
    """
    started = time.monotonic()
    access = require_perm(actor, Perm.CUSTOMER_IMPORT)
    job = ImportJob(
        actor=actor, file_name=file_name[:255], dry_run=dry_run, skip_invalid=skip_invalid
    )
    try:
        unit = _default_unit(access, default_unit)
        sheet = read_sheet(file_name=file_name, data=data)
        plan = _Validator(access=access, sheet=sheet, default_unit=unit).run()
    except ValidationFailed as exc:
        job.status, job.message = ImportStatus.REJECTED, exc.message[:500]
        job.seconds = time.monotonic() - started
        job.save()
        return ImportResult(job=job, file_error=exc)

    job.row_count = plan.row_count
    job.error_count = len(plan.errors)
    job.errors = [e.as_list() for e in plan.errors[:MAX_STORED_ERRORS]]
    job.created_count, job.updated_count = len(plan.creates), len(plan.updates)
    job.unchanged_count = plan.unchanged
    job.skipped_count = len(plan.invalid_rows)
    if plan.ignored_columns:
        job.message = (_("Ignored columns: %(cols)s") % {"cols": ", ".join(plan.ignored_columns)})[
            :500
        ]
    if dry_run:
        job.status = ImportStatus.VALIDATED
    elif plan.errors and not skip_invalid:
        job.status = ImportStatus.REJECTED
        job.created_count = job.updated_count = job.unchanged_count = 0
        job.skipped_count = plan.row_count
    else:
        job.status = ImportStatus.COMPLETED
    if job.status != ImportStatus.COMPLETED:
        job.seconds = time.monotonic() - started
        job.save()
        return ImportResult(job=job, plan=plan)
    try:
        with transaction.atomic():
            job.save()
            _write(plan, actor=actor, job=job)
            job.seconds = time.monotonic() - started
            job.save(update_fields=["seconds", "updated_at"])
            audit_record(
                actor=actor,
                action="customer.import",
                obj=job,
                changes={
                    "file": job.file_name,
                    "created": job.created_count,
                    "updated": job.updated_count,
                    "unchanged": job.unchanged_count,
                    "skipped": job.skipped_count,
                },
            )
            if job.created_count + job.updated_count >= ANALYZE_AFTER:
                transaction.on_commit(
                    lambda: analyze(Customer, ContactPoint, ConsentEvent, ConsentState, Assignment)
                )
    except DatabaseError as exc:
        job.pk = None
        job._state.adding = True
        job.status = ImportStatus.FAILED
        job.created_count = job.updated_count = job.unchanged_count = 0
        job.message = (
            _("The database refused the import, nothing was written: %(e)s") % {"e": exc}
        )[:500]
        job.seconds = time.monotonic() - started
        job.save(force_insert=True)
    return ImportResult(job=job, plan=plan)


# --- templates -----------------------------------------------------------------------------


def template_headers() -> list[str]:
    """The header row of the downloadable template, in the user's language."""
    return [str(c.label) for c in COLUMNS]


# --- the ``customers`` kind of the import runner ---------------------------------------------


class CustomersImporter:
    """The customer import as a kind of the import runner (``yiti.customers.imports_runner``).

    Customers are validated as one whole file, not chunk by chunk: a row may update a customer
    that another row (merged into the same survivor) updates too, and the update plan compares
    every row with the stored customer. So ``validate`` only collects the rows and
    ``validate_end`` runs the validator above over all of them; the plan is then written with
    the same bulk statements as :func:`customers_import`.
    """

    kind: ClassVar[str] = "customers"
    perm: ClassVar[str] = Perm.CUSTOMER_IMPORT
    columns: ClassVar[tuple[Column, ...]] = COLUMNS

    def required_columns(self, ctx: _contract.ImportContext) -> list[str]:
        return ["name"] if ctx.options.get("default_unit") else ["name", "unit"]

    def begin(self, ctx: _contract.ImportContext) -> None:
        ctx.state["unit"] = _default_unit(ctx.access, ctx.options.get("default_unit") or None)
        ctx.state["rows"] = []

    def validate(
        self, rows: Any, ctx: _contract.ImportContext
    ) -> tuple[list[tuple[Any, ...]], list[RowError]]:
        ctx.state["rows"].extend(rows)
        return [], []

    def validate_end(
        self, ctx: _contract.ImportContext
    ) -> tuple[list[tuple[Any, ...]], list[RowError]]:
        rows: list[tuple[int, dict[str, str]]] = ctx.state.pop("rows")
        keys = list(rows[0][1]) if rows else []
        sheet = Sheet(headers=keys, rows=[(n, [cells[k] for k in keys]) for n, cells in rows])
        plan = _Validator(access=ctx.access, sheet=sheet, default_unit=ctx.state["unit"]).run()
        ctx.created, ctx.updated, ctx.unchanged = (
            len(plan.creates),
            len(plan.updates),
            plan.unchanged,
        )
        ctx.state["valid_rows"] = len(plan.creates) + len(plan.updates) + plan.unchanged
        return ([(plan,)] if plan.creates or plan.updates else []), list(plan.errors)

    def write(self, rows: list[tuple[Any, ...]], ctx: _contract.ImportContext) -> None:
        job = ImportJob.objects.get(pk=ctx.job_id)
        for (plan,) in rows:
            _write(plan, actor=ctx.actor, job=job)
            ctx.created += len(plan.creates)
            ctx.updated += len(plan.updates)

    def finish(self, ctx: _contract.ImportContext) -> None:
        job = ImportJob.objects.only("pk", "file_name").get(pk=ctx.job_id)
        audit_record(
            actor=ctx.actor,
            action="customer.import",
            obj=job,
            changes={
                "file": job.file_name,
                "created": ctx.created,
                "updated": ctx.updated,
                "unchanged": ctx.unchanged,
            },
        )
        if ctx.created + ctx.updated >= ANALYZE_AFTER:
            transaction.on_commit(
                lambda: analyze(Customer, ContactPoint, ConsentEvent, ConsentState, Assignment)
            )
