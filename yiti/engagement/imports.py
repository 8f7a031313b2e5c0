"""Importers of the engagement app: contact history from legacy systems, the do-not-disturb list.

Both follow the contract of ``yiti.customers.importing`` (the runner streams the file, maps
its columns and hands chunks of rows to ``validate`` and the valid tuples to ``write``) and
are registered from ``EngagementConfig.ready``.

**Contact history** (``yiti import interactions FILE``): one row per contact made before Yiti
— the customer (external id or phone), channel, direction, purpose, time, outcome, optional
subject and the source system's reference. Headers and values are understood in English and
Chinese (``电话``/``call``, ``呼出``/``out``, ``营销``/``marketing``, ``未接``/``no_answer``).
A time without a zone is local time (``settings.TIME_ZONE``). Imported outbound contacts count
in the contact policy from the next plan on, like any other: the policy reads the
``Interaction`` table. Customers' ``last_contact_at`` moves forward once, at the end.

Built for ten million rows: the customers are looked up in one query for the whole import (a
dict of external id → customer); per row only dictionary look-ups and one ``fromisoformat``
remain; rows leave ``validate`` as database parameters (``insert_rows(ready=True)``). On SQLite,
a load that grows past :data:`REBUILD_AFTER` rows drops the table's secondary indexes inside
its transaction and builds them again at the end (sorting once is much cheaper than millions
of random B-tree inserts); a failure rolls the drop back with everything else. On PostgreSQL
the indexes stay (``DROP INDEX`` would lock every reader of the timeline out for the load) and
the rows travel by ``COPY``.

**Do-not-disturb list** (``yiti import suppressions FILE``): the customer, a reason (default
do not disturb), an optional end date and a note. A customer already on the list for that
reason gets the new end date and note; an entry that has expired is closed and a new one
starts. Only administrators and campaign managers may import it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yiti.core.audit import audit_bulk, audit_record
from yiti.core.bulk import insert_rows, update_rows
from yiti.core.errors import PermissionDenied, ValidationFailed
from yiti.customers.choices import CustomerStatus, ImportKind
from yiti.customers.contacts import normalize_phone
from yiti.customers.importing import Column, ImportContext, RowError
from yiti.customers.models import ContactPoint, Customer
from yiti.customers.rules import visible_q
from yiti.engagement import sql
from yiti.engagement.choices import (
    Direction,
    InteractionChannel,
    InteractionPurpose,
    Outcome,
    SuppressionReason,
)
from yiti.engagement.models import Interaction, Suppression
from yiti.engagement.services import MANUAL, can_manage_policy
from yiti.org.roles import Perm

# A SQLite load past this many rows drops the secondary indexes and builds them at the end.
REBUILD_AFTER = 100_000
UNTOUCHED_INDEXES = (
    "interaction_campaign",
    "interaction_ticket",
    "interaction_actor",
    "interaction_unit",
)
# Customers looked up once per import up to this book size, else per chunk.
LOOKUP_ALL_MAX = 5_000_000

_CUSTOMER = Column(
    "external_id",
    gettext_lazy("Customer external id"),
    ("客户编号", "外部编号", "客户外部编号", "customer", "customer id", "customer_id", "客户"),
    help=gettext_lazy("The customer's id in the source system (or give the phone)."),
)
_PHONE = Column(
    "phone",
    gettext_lazy("Phone"),
    ("手机", "手机号", "电话", "电话号码", "联系电话", "mobile"),
    help=gettext_lazy("The customer's phone, when there is no external id."),
)

# extra spellings of values, beside each code and its label in English and Chinese
CHANNEL_WORDS = {
    "visit": ("上门", "拜访", "走访", "面访"),
    "call": ("电话", "外呼", "呼叫", "phone", "telephone", "tel"),
    "sms": ("短信", "text", "text message"),
    "email": ("邮件", "电子邮件", "e-mail", "mail"),
    "push": ("推送", "app推送"),
    "portal": ("门户", "网厅", "站内信"),
    "counter": ("营业厅", "柜台", "branch"),
    "im": ("微信", "企业微信", "wechat", "im"),
    "fax": ("传真",),
}
DIRECTION_WORDS = {
    "out": ("呼出", "外呼", "出", "去电", "outbound", "o"),
    "in": ("呼入", "来电", "入", "inbound", "i"),
}
PURPOSE_WORDS = {
    "marketing": ("营销", "推广"),
    "service": ("服务", "客服"),
    "care": ("关怀", "回访"),
    "sales": ("销售",),
}
OUTCOME_WORDS = {
    "completed": ("完成", "成功", "已完成", "done", "ok"),
    "reached": ("接通", "已接通"),
    "no_answer": ("未接", "未接通", "无人接听", "no answer"),
    "refused": ("拒接", "拒绝"),
    "wrong_number": ("空号", "错号", "号码错误"),
    "sent": ("已发送", "发送"),
    "delivered": ("送达", "已送达"),
    "failed": ("失败",),
    "opened": ("已读", "打开", "已打开"),
    "responded": ("回复", "已回复"),
    "accepted": ("接受", "已接受"),
    "declined": ("谢绝", "婉拒"),
    "converted": ("成交", "转化"),
}
REASON_WORDS = {
    "do_not_disturb": ("免打扰", "勿扰", "请勿打扰", "dnd", "do not disturb"),
    "legal": ("法律", "法务", "冻结"),
    "other": ("其他", "其它"),
}


def _vocabulary(choices: Any, words: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Every accepted spelling (lower case) → code: codes, labels in English and Chinese, words."""
    table: dict[str, str] = {}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            for code, label in choices.choices:
                table.setdefault(str(label).strip().lower(), code)
    for code in choices.values:
        table[code] = code
        for word in words.get(code, ()):
            table.setdefault(word.lower(), code)
    return table


_DATE_TIME = re.compile(
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]+(\d{1,2})[:时](\d{1,2})"
    r"(?:[:分](\d{1,2})(?:\.\d+)?秒?)?)?$"
)


# the minutes (and seconds) of a local time as most exports write it — ``2026-03-01 09:30`` or
# ``2026-03-01T09:30:05`` — after the hour, as Django stores them: ``:30`` → ``:30:00``
_TAILS = {
    **{f":{m:02d}": f":{m:02d}:00" for m in range(60)},
    **{f":{m:02d}:{s:02d}": f":{m:02d}:{s:02d}" for m in range(60) for s in range(60)},
}


def parse_when(text: str, zone: ZoneInfo) -> datetime | None:
    """A time as written in a legacy file, aware (local time when it names no zone); None when
    it cannot be read. ``2026-03-01 09:30``, ``2026/3/1 9:30:05``, ISO 8601 with an offset,
    ``2026年3月1日 09:30``; a date alone is its midnight."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        match = _DATE_TIME.match(text.strip())
        if match is None:
            return None
        parts = [int(p) if p else 0 for p in match.groups()]
        try:
            value = datetime(*parts)  # type: ignore[arg-type]
        except ValueError:
            return None
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value


class _Customers:
    """Look customers up by external id (one query per import, or per chunk for huge books)
    and by phone (one query per chunk), within the actor's scope; merged customers resolve to
    the customer they were merged into."""

    def __init__(self, ctx: ImportContext) -> None:
        self.ctx = ctx
        self.scope = visible_q(ctx.access) if ctx.access is not None else None
        self.all = Customer.objects.count() <= LOOKUP_ALL_MAX
        self.by_ext: dict[str, int] = {}
        self.by_phone: dict[str, int | None] = {}
        self._loaded = False

    def _queryset(self) -> Any:
        qs = Customer.objects.order_by()
        return qs.filter(self.scope) if self.scope is not None else qs

    def _load(self, qs: Any) -> None:
        merged: dict[str, int] = {}
        for ext, pk, status, into in qs.values_list(
            "external_id", "pk", "status", "merged_into_id"
        ):
            if status == CustomerStatus.MERGED and into is not None:
                merged[ext] = into
            else:
                self.by_ext[ext] = pk
        if merged:  # a chain of merges ends at a customer that is not merged
            survivors = set(
                Customer.objects.filter(pk__in=set(merged.values()))
                .exclude(status=CustomerStatus.MERGED)
                .values_list("pk", flat=True)
            )
            for ext, into in merged.items():
                if into in survivors:
                    self.by_ext[ext] = into

    def prepare(self, rows: Sequence[tuple[int, dict[str, str]]]) -> None:
        """Read what this chunk needs (nothing after the first chunk of a normal book)."""
        self.prepare_columns(
            [c.get("external_id", "") for _n, c in rows], [c.get("phone", "") for _n, c in rows]
        )

    def prepare_columns(self, ext_ids: Sequence[str], phones_given: Sequence[str]) -> None:
        """:meth:`prepare` for a chunk given as its external-id and phone columns."""
        if self.all:
            if not self._loaded:
                self._load(self._queryset().filter(external_id__gt=""))
                self._loaded = True
        else:
            wanted = set(ext_ids) - {""} - self.by_ext.keys()
            if wanted:
                self.by_ext.clear()
                self._load(self._queryset().filter(external_id__in=wanted))
        phones: dict[str, str] = {}
        for ext, raw in zip(ext_ids, phones_given, strict=True):
            if raw and not ext and raw not in self.by_phone:
                try:
                    phones[raw] = normalize_phone(raw).normalized
                except ValidationFailed:
                    self.by_phone[raw] = None
        if phones:
            found: dict[str, int] = {}
            qs = ContactPoint.objects.filter(
                kind="phone", normalized__in=set(phones.values())
            ).exclude(customer__status=CustomerStatus.MERGED)
            if self.scope is not None:
                qs = qs.filter(customer__in=Customer.objects.filter(self.scope).values("pk"))
            for normalized, pk in qs.order_by("-is_primary", "pk").values_list(
                "normalized", "customer_id"
            ):
                found.setdefault(normalized, pk)
            for raw, normalized in phones.items():
                self.by_phone[raw] = found.get(normalized)

    def find(self, number: int, cells: dict[str, str]) -> int | RowError:
        ext = cells.get("external_id", "")
        if ext:
            hit = self.by_ext.get(ext)
            if hit is None:
                return RowError(number, "external_id", ext, _("Unknown customer."))
            return hit
        raw = cells.get("phone", "")
        if not raw:
            return RowError(
                number, "external_id", "", _("Give the customer's external id or phone.")
            )
        found = self.by_phone.get(raw)
        if found is None:
            return RowError(number, "phone", raw, _("No customer has this phone."))
        return found


class InteractionImporter:
    """``interactions``: contact history from a legacy system (see the module docstring)."""

    kind: ClassVar[str] = ImportKind.INTERACTIONS
    perm: ClassVar[str] = Perm.CUSTOMER_IMPORT
    columns: ClassVar[tuple[Column, ...]] = (
        _CUSTOMER,
        _PHONE,
        Column(
            "channel",
            gettext_lazy("Channel"),
            ("渠道", "接触渠道", "方式", "接触方式"),
            required=True,
            help=gettext_lazy("call, sms, email, visit, … (电话, 短信, 邮件, 上门 …)"),
        ),
        Column(
            "direction",
            gettext_lazy("Direction"),
            ("方向", "呼叫方向", "呼入呼出"),
            required=True,
            help=gettext_lazy("out (we contacted the customer) or in (呼出 / 呼入)"),
        ),
        Column(
            "purpose",
            gettext_lazy("Purpose"),
            ("目的", "接触目的", "业务类型"),
            required=True,
            help=gettext_lazy("marketing, service, care or sales (营销, 服务, 关怀, 销售)"),
        ),
        Column(
            "occurred_at",
            gettext_lazy("Time"),
            ("时间", "接触时间", "发生时间", "日期时间", "when", "date", "datetime", "time"),
            required=True,
            help=gettext_lazy("2026-03-01 09:30 (local time unless it gives an offset)"),
        ),
        Column(
            "outcome",
            gettext_lazy("Outcome"),
            ("结果", "接触结果", "状态", "result"),
            help=gettext_lazy("completed, reached, no_answer, … (完成, 接通, 未接 …)"),
        ),
        Column("subject", gettext_lazy("Subject"), ("主题", "摘要", "内容", "备注", "summary")),
        Column(
            "external_ref",
            gettext_lazy("Reference in the source system"),
            ("记录编号", "流水号", "原系统编号", "ref", "reference"),
        ),
    )

    def required_columns(self, ctx: ImportContext) -> list[str]:
        return ["channel", "direction", "purpose", "occurred_at"]

    def begin(self, ctx: ImportContext) -> None:
        ctx.state["customers"] = _Customers(ctx)
        ctx.state["channels"] = _vocabulary(InteractionChannel, CHANNEL_WORDS)
        ctx.state["directions"] = _vocabulary(Direction, DIRECTION_WORDS)
        ctx.state["purposes"] = _vocabulary(InteractionPurpose, PURPOSE_WORDS)
        ctx.state["outcomes"] = _vocabulary(Outcome, OUTCOME_WORDS)
        ctx.state["clock"] = _Clock(ZoneInfo(settings.TIME_ZONE))
        ctx.state["customer_ids"] = set()  # every customer a valid row names
        ctx.state["fk_checked"] = False
        ctx.state["outcomes_or_default"] = {**ctx.state["outcomes"], "": Outcome.COMPLETED.value}
        ctx.state["written"] = 0
        ctx.state["dropped"] = []
        # the table's size (its highest id): rebuilding its indexes pays only for a load that
        # is large against what is there already
        ctx.state["existing"] = (
            Interaction.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        )

    def validate(
        self, rows: Sequence[tuple[int, dict[str, str]]], ctx: ImportContext
    ) -> tuple[list[tuple[Any, ...]], list[RowError]]:
        if rows and not any(k in rows[0][1] for k in ("external_id", "phone")):
            raise ValidationFailed(
                _("Map a column to the customer's external id or phone."),
                code="missing_column",
                field="external_id",
            )
        state = ctx.state
        customers: _Customers = state["customers"]
        customers.prepare(rows)
        find = customers.find
        channels, directions = state["channels"], state["directions"]
        purposes, outcomes = state["purposes"], state["outcomes"]
        clock: _Clock = state["clock"]
        utc_of, to_param = clock.utc, clock.param
        referenced = state["customer_ids"].add
        horizon = (timezone.now() + timedelta(minutes=5)).astimezone(UTC).replace(tzinfo=None)
        oldest = datetime(1990, 1, 1)
        good: list[tuple[Any, ...]] = []
        bad: list[RowError] = []
        append = good.append
        by_ext = customers.by_ext
        for number, cells in rows:
            who = by_ext.get(cells.get("external_id") or "\0") or find(number, cells)
            if type(who) is RowError:
                bad.append(who)
                continue
            text = cells.get("channel", "")
            channel = channels.get(text) or channels.get(text.lower())
            text = cells.get("direction", "")
            direction = directions.get(text) or directions.get(text.lower())
            text = cells.get("purpose", "")
            purpose = purposes.get(text) or purposes.get(text.lower())
            text = cells.get("outcome", "")
            outcome = (outcomes.get(text) or outcomes.get(text.lower())) if text else "completed"
            text = cells.get("occurred_at", "")
            when = utc_of(text) if text else None
            if (
                channel is None
                or direction is None
                or purpose is None
                or outcome is None
                or when is None
                or not oldest <= when <= horizon
            ):
                bad.extend(self._explain(number, cells, when, horizon, oldest, state))
                continue
            subject = cells.get("subject", "")
            ref = cells.get("external_ref", "")
            if len(subject) > 200 or len(ref) > 64:
                bad.append(
                    RowError(
                        number,
                        "subject" if len(subject) > 200 else "external_ref",
                        (subject if len(subject) > 200 else ref)[:40],
                        _("At most %(n)d characters.") % {"n": 200 if len(subject) > 200 else 64},
                    )
                )
                continue
            customer_id: int = who  # type: ignore[assignment]
            referenced(customer_id)
            append(
                (customer_id, to_param(when), channel, direction, purpose, outcome, subject, ref)
            )
        return good, bad

    def validate_columns(
        self, numbers: list[int], columns: dict[str, list[str]], ctx: ImportContext
    ) -> tuple[list[tuple[Any, ...]], list[RowError]]:
        """``validate`` a column at a time (the runner's hook for very large files): each look-up
        is one C-level ``map`` over the column, the times go through :meth:`_Clock.utc_texts`,
        and only rows with a problem take the row-by-row path of ``validate``, so the tuples
        and errors are the same."""
        n = len(numbers)
        if n and "external_id" not in columns and "phone" not in columns:
            raise ValidationFailed(
                _("Map a column to the customer's external id or phone."),
                code="missing_column",
                field="external_id",
            )
        state = ctx.state
        blank = [""] * n
        ext = columns.get("external_id", blank)
        customers: _Customers = state["customers"]
        customers.prepare_columns(ext, columns.get("phone", blank))
        who = list(map(customers.by_ext.get, ext))
        channel = list(map(state["channels"].get, columns.get("channel", blank)))
        direction = list(map(state["directions"].get, columns.get("direction", blank)))
        purpose = list(map(state["purposes"].get, columns.get("purpose", blank)))
        outcome = list(map(state["outcomes_or_default"].get, columns.get("outcome", blank)))
        clock: _Clock = state["clock"]
        at = clock.utc_texts(columns.get("occurred_at", blank))
        subject = columns.get("subject", blank)
        ref = columns.get("external_ref", blank)
        horizon = clock.text(timezone.now() + timedelta(minutes=5))
        oldest = clock.text(datetime(1990, 1, 1, tzinfo=UTC))
        slow: set[int] = set()
        for values in (who, channel, direction, purpose, outcome, at):
            if not all(values):  # ids are never 0 and the codes and times never empty
                slow.update(i for i, v in enumerate(values) if not v)
        if n and (min(filter(None, at), default=oldest) < oldest):
            slow.update(i for i, v in enumerate(at) if v is not None and v < oldest)
        if n and (max(filter(None, at), default=horizon) > horizon):
            slow.update(i for i, v in enumerate(at) if v is not None and v > horizon)
        if max(map(len, subject), default=0) > 200 or max(map(len, ref), default=0) > 64:
            slow.update(i for i in range(n) if len(subject[i]) > 200 or len(ref[i]) > 64)
        params = at if not clock.suffix else [clock.param_of_text(t) if t else t for t in at]
        state["customer_ids"].update(filter(None, who))
        if not slow:
            rows = zip(who, params, channel, direction, purpose, outcome, subject, ref, strict=True)
            return list(rows), []
        # the rows with a problem go through ``validate`` together (its look-ups are per chunk);
        # the file's order is kept: a slow row that validates takes the next of its tuples
        keys = list(columns)
        order = sorted(slow)
        fixed, bad = self.validate(
            [(numbers[i], {k: columns[k][i] for k in keys}) for i in order], ctx
        )
        failed = {e.row for e in bad}
        redone = iter(fixed)
        good: list[tuple[Any, ...]] = []
        for i in range(n):
            if i not in slow:
                row = (who[i], params[i], channel[i], direction[i], purpose[i], outcome[i])
                good.append((*row, subject[i], ref[i]))
            elif numbers[i] not in failed:
                good.append(next(redone))
        return good, bad

    @staticmethod
    def _explain(
        number: int,
        cells: dict[str, str],
        when: datetime | None,
        horizon: datetime,
        oldest: datetime,
        state: dict[str, Any],
    ) -> list[RowError]:
        """Every problem of an invalid row (the slow path; only bad rows come here)."""
        errors = []
        for key, table, message in (
            ("channel", state["channels"], _("Unknown channel.")),
            ("direction", state["directions"], _("Unknown direction: use out or in.")),
            ("purpose", state["purposes"], _("Unknown purpose.")),
        ):
            text = cells.get(key, "")
            if not text:
                errors.append(RowError(number, key, "", _("Required.")))
            elif table.get(text) is None and table.get(text.lower()) is None:
                errors.append(RowError(number, key, text, message))
        text = cells.get("outcome", "")
        if (
            text
            and state["outcomes"].get(text) is None
            and state["outcomes"].get(text.lower()) is None
        ):
            errors.append(RowError(number, "outcome", text, _("Unknown outcome.")))
        text = cells.get("occurred_at", "")
        if not text:
            errors.append(RowError(number, "occurred_at", "", _("Required.")))
        elif when is None:
            errors.append(
                RowError(number, "occurred_at", text, _("Not a time: write 2026-03-01 09:30."))
            )
        elif when > horizon:
            errors.append(
                RowError(number, "occurred_at", text, _("A contact cannot be in the future."))
            )
        elif when < oldest:
            errors.append(RowError(number, "occurred_at", text, _("Before 1990: check the year.")))
        return errors

    def write_guard(self, ctx: ImportContext) -> contextlib.AbstractContextManager[Any]:
        """A large load on SQLite runs with the per-row foreign-key check off (about a third
        of the insert's cost): ``write`` checks instead, once and set-based, that every customer
        the rows name still exists — sound because the write transaction holds SQLite's write
        lock, so none can be removed while the rows go in."""
        if connection.vendor != "sqlite" or ctx.rows_to_write <= REBUILD_AFTER:
            return contextlib.nullcontext()
        return connection.constraint_checks_disabled()

    def write(self, rows: list[tuple[Any, ...]], ctx: ImportContext) -> None:
        state = ctx.state
        if not state["fk_checked"]:
            state["fk_checked"] = True
            missing = sql.customers_missing(state["customer_ids"])
            if missing:
                raise IntegrityError(
                    _("%(n)d customers named in the file no longer exist; run the import again.")
                    % {"n": missing}
                )
        if (
            not state["dropped"]
            and connection.vendor == "sqlite"
            and state["written"] + len(rows) > max(REBUILD_AFTER, state["existing"] // 2)
        ):
            # the partial indexes of campaign, ticket, actor and unit get no entry from a
            # history load (those columns stay NULL): they stay, and are not built again
            state["dropped"] = sql.secondary_indexes_drop(Interaction, keep=UNTOUCHED_INDEXES)
        insert_rows(
            Interaction,
            (
                "customer",
                "occurred_at",
                "channel",
                "direction",
                "purpose",
                "outcome",
                "subject",
                "external_ref",
            ),
            rows,
            ready=True,
            batch_size=10_000,
        )
        state["written"] += len(rows)
        ctx.created += len(rows)

    def finish(self, ctx: ImportContext) -> None:
        state = ctx.state
        if state["dropped"]:
            sql.indexes_create(state["dropped"])
            state["dropped"] = []
        touched = sql.customers_last_contact_from_interactions(after_id=state["existing"])
        audit_record(
            actor=ctx.actor,
            action="interaction.import",
            object_type="customers.importjob",
            object_id=ctx.job_id,
            changes={"rows": state["written"], "customers_touched": touched},
            summary=_("%(n)d contacts imported") % {"n": state["written"]},
        )


class _Clock:
    """Times of the file → naive UTC datetimes or text, and those → database parameters (the
    same text on both databases), fast: the zone's offset is looked up once per hour of the
    file (``2026-03-01 09``), not per row."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.offsets: dict[str, timedelta] = {}
        self.hours: dict[str, str | None] = {}
        # Django stores naive UTC text on SQLite ("2026-03-01 01:30:00"); PostgreSQL gets the
        # offset spelled out, which ``COPY`` and a ``timestamptz`` cast both read
        self.suffix = "" if connection.vendor == "sqlite" else "+00:00"

    def param(self, value: datetime) -> str:
        """A naive UTC datetime → the database parameter."""
        return f"{value}{self.suffix}"

    def text(self, value: datetime) -> str:
        """An aware datetime as naive UTC text, comparable with what :meth:`utc_texts` gives."""
        return str(value.astimezone(UTC).replace(tzinfo=None))

    def param_of_text(self, text: str) -> str:
        """Naive UTC text (:meth:`utc_texts`) → the database parameter."""
        return text + self.suffix

    def utc_texts(self, texts: Sequence[str]) -> list[str | None]:
        """:meth:`utc` of a whole column, as naive UTC text (None: not a time). The common
        shapes ``2026-03-01 09:30[:05]`` cost two look-ups and a string splice: the hour's UTC
        form is worked out once per hour of the file, :data:`_TAILS` checks the minutes.
        Anything else — an offset, a fraction, ``2026/3/1``, a zone whose offset is not whole
        hours — takes :meth:`utc`."""
        hours, tails = self.hours, _TAILS
        out: list[str | None] = []
        append = out.append
        for text in texts:
            key = text[:13]
            head = hours.get(key)
            if head is None and key not in hours:
                head = hours[key] = self._utc_hour(key)
            tail = tails.get(text[13:])
            if head is not None and tail is not None:
                append(head + tail)
                continue
            when = self.utc(text) if text else None
            append(None if when is None else str(when))
        return out

    def _utc_hour(self, key: str) -> str | None:
        """``2026-03-01 09`` (local) → ``2026-03-01 01`` (UTC); None when the hour is not a
        date or the zone's offset then is not whole hours."""
        if len(key) != 13 or key[10] not in " T" or not key[11:].isdigit():
            return None
        try:
            local = datetime.fromisoformat(f"{key[:10]} {key[11:13]}:00")
        except ValueError:
            return None
        offset = local.replace(tzinfo=self.zone).utcoffset() or timedelta()
        if offset % timedelta(hours=1):
            return None
        return (local - offset).strftime("%Y-%m-%d %H")

    def utc(self, text: str) -> datetime | None:
        """Naive UTC of ``text`` (local time unless it has an offset); None: not a time."""
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            value = None
        if value is None or value.tzinfo is not None or len(text) < 13:
            aware = parse_when(text, self.zone)
            return None if aware is None else aware.astimezone(UTC).replace(tzinfo=None)
        hour = text[:13]
        offset = self.offsets.get(hour)
        if offset is None:
            offset = self.offsets[hour] = value.replace(tzinfo=self.zone).utcoffset() or timedelta()
        return value - offset


class SuppressionImporter:
    """``suppressions``: the bulk do-not-disturb list (see the module docstring)."""

    kind: ClassVar[str] = ImportKind.SUPPRESSIONS
    perm: ClassVar[str] = Perm.CAMPAIGN_MANAGE  # with org.manage: who manages the policy
    columns: ClassVar[tuple[Column, ...]] = (
        _CUSTOMER,
        _PHONE,
        Column(
            "reason",
            gettext_lazy("Reason"),
            ("原因", "类型", "屏蔽原因"),
            help=gettext_lazy("do_not_disturb (default), legal or other (免打扰, 法律, 其他)"),
        ),
        Column(
            "expires_at",
            gettext_lazy("Until"),
            ("截止", "截止日期", "到期", "到期日", "有效期至", "expires", "expiry", "end"),
            help=gettext_lazy("The last day (empty: until lifted)"),
        ),
        Column("note", gettext_lazy("Note"), ("备注", "说明", "comment")),
    )

    def required_columns(self, ctx: ImportContext) -> list[str]:
        return []

    def begin(self, ctx: ImportContext) -> None:
        if not can_manage_policy(ctx.actor):
            raise PermissionDenied(
                _("Only administrators and campaign managers may import the do-not-disturb list.")
            )
        ctx.state["customers"] = _Customers(ctx)
        ctx.state["reasons"] = _vocabulary(SuppressionReason, REASON_WORDS)
        ctx.state["seen"] = {}

    def validate(
        self, rows: Sequence[tuple[int, dict[str, str]]], ctx: ImportContext
    ) -> tuple[list[tuple[Any, ...]], list[RowError]]:
        if rows and not any(k in rows[0][1] for k in ("external_id", "phone")):
            raise ValidationFailed(
                _("Map a column to the customer's external id or phone."),
                code="missing_column",
                field="external_id",
            )
        customers: _Customers = ctx.state["customers"]
        customers.prepare(rows)
        reasons: dict[str, str] = ctx.state["reasons"]
        seen: dict[tuple[int, str], int] = ctx.state["seen"]
        zone = ZoneInfo(settings.TIME_ZONE)
        now = timezone.now()
        good: list[tuple[Any, ...]] = []
        bad: list[RowError] = []
        for number, cells in rows:
            who = customers.find(number, cells)
            errors: list[RowError] = []
            if isinstance(who, RowError):
                errors.append(who)
            text = cells.get("reason", "")
            reason = (reasons.get(text) or reasons.get(text.lower())) if text else "do_not_disturb"
            if reason is None or reason == SuppressionReason.OPEN_COMPLAINT:
                errors.append(
                    RowError(
                        number, "reason", text, _("Unknown reason: use 免打扰, legal or other.")
                    )
                )
            text = cells.get("expires_at", "")
            until = None
            if text:
                when = parse_when(text, zone)
                if when is None:
                    errors.append(RowError(number, "expires_at", text, _("Not a date.")))
                else:
                    if len(text) <= 11 or _DATE_ONLY.match(text):  # a day: to its end
                        when = datetime.combine(
                            when.date() + timedelta(days=1), time(), tzinfo=when.tzinfo
                        )
                    if when <= now:
                        errors.append(
                            RowError(
                                number, "expires_at", text, _("The end must be in the future.")
                            )
                        )
                    until = when
            note = cells.get("note", "")
            if len(note) > 255:
                errors.append(RowError(number, "note", note[:40], _("At most 255 characters.")))
            if not errors and isinstance(who, int) and reason is not None:
                key = (who, reason)
                if key in seen:
                    errors.append(
                        RowError(
                            number,
                            "external_id",
                            cells.get("external_id") or cells.get("phone", ""),
                            _("The same customer is on row %(row)d.") % {"row": seen[key]},
                        )
                    )
                else:
                    seen[key] = number
            if errors:
                bad.extend(errors)
                continue
            good.append((who, reason, until, note))
        return good, bad

    def write(self, rows: list[tuple[Any, ...]], ctx: ImportContext) -> None:
        customer_ids = {r[0] for r in rows}
        open_rows = {
            (c, reason): (pk, expires, note)
            for pk, c, reason, expires, note in Suppression.objects.filter(
                customer_id__in=customer_ids,
                source_type=MANUAL,
                source_id="",
                lifted_at__isnull=True,
            ).values_list("pk", "customer_id", "reason", "expires_at", "note")
        }
        now = timezone.now()
        actor_id = getattr(ctx.actor, "pk", None)
        new: list[tuple[Any, ...]] = []
        changed: list[tuple[Any, ...]] = []
        closed: list[tuple[Any, ...]] = []
        audit: list[tuple[int | str, int | None, dict[str, Any]]] = []
        for customer_id, reason, until, note in rows:
            current = open_rows.get((customer_id, reason))
            if current is not None and (current[1] is None or current[1] > now):
                if (current[1], current[2]) == (until, note):
                    ctx.unchanged += 1
                    continue
                changed.append((until, note, current[0]))
                audit.append(
                    (current[0], customer_id, {"expires_at": [current[1], until], "note": note})
                )
                ctx.updated += 1
                continue
            if current is not None:  # expired: close it at its end
                closed.append((current[1], current[0]))
            new.append((customer_id, reason, MANUAL, "", note, until, actor_id))
        if closed:
            update_rows(Suppression, ("lifted_at",), closed)
        if changed:
            update_rows(Suppression, ("expires_at", "note"), changed)
        if new:
            insert_rows(
                Suppression,
                (
                    "customer",
                    "reason",
                    "source_type",
                    "source_id",
                    "note",
                    "expires_at",
                    "created_by",
                ),
                new,
            )
            ctx.created += len(new)
            audit.extend(
                (f"import:{ctx.job_id}", r[0], {"reason": r[1], "expires_at": r[5], "note": r[4]})
                for r in new
            )
        if audit:
            audit_bulk(
                actor=ctx.actor,
                action="suppression.import",
                object_type="engagement.suppression",
                rows=audit,
            )

    def finish(self, ctx: ImportContext) -> None:
        return None


_DATE_ONLY = re.compile(r"^\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?$")
