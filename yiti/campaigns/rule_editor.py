"""The segment rule editor of the web pages: rows of (field, operator, value) posted as plain
form fields, read back into the JSON rule of ``yiti.campaigns.segments``.

The editor works without JavaScript: every row is ordinary inputs named
``rule-<n>-field``, ``rule-<n>-op``, ``rule-<n>-value`` (several for a list), ``rule-<n>-days``,
and the buttons "add a condition", "remove" and "update" post the form back to be drawn
again, unsaved. With htmx the same posts redraw only the editor, and the live count posts the
rows to the count endpoint. Hand-written because the rows follow the rule language's own
field registry (``segments.FIELDS``: groups, kinds, operators, options), which no form
library knows; validation stays in ``segments.rules_clean``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from yiti.campaigns import segments
from yiti.campaigns.segments import CHOICES, FLAG, TEXTS, WINDOW, FieldSpec

PREFIX = "rule"
ACTION = f"{PREFIX}-action"
_SPLIT = re.compile(r"[,，、;；\n]+")
_ERROR_AT = re.compile(r"^rules\.conditions\.(\d+)(?:\.|$)")


@dataclass
class RuleRow:
    """One condition as the editor shows it (values as the inputs hold them)."""

    index: int = 0
    field: str = ""
    op: str = ""
    values: list[str] = dataclasses.field(default_factory=list)
    number: str = ""
    days: str = ""
    flag: str = "1"
    error: str = ""

    @property
    def spec(self) -> FieldSpec | None:
        return segments.FIELDS.get(self.field)

    @property
    def kind(self) -> str:
        spec = self.spec
        return spec.kind if spec else ""

    @property
    def ops(self) -> list[tuple[str, str]]:
        spec = self.spec
        return [(o.code, str(o.label)) for o in spec.ops] if spec else []

    @property
    def options(self) -> list[tuple[str, str]]:
        spec = self.spec
        return spec.options() if spec and spec.kind == CHOICES and spec.options else []

    @property
    def text(self) -> str:
        return "、".join(self.values)

    @property
    def unit(self) -> str:
        spec = self.spec
        return str(spec.unit) if spec and spec.unit else ""

    def condition(self) -> dict[str, Any]:
        """The row as a condition of the rule language (not yet validated)."""
        out: dict[str, Any] = {"field": self.field, "op": self.op}
        if self.kind == CHOICES:
            out["value"] = list(self.values)
        elif self.kind == TEXTS:
            out["value"] = [v.strip() for v in _SPLIT.split(self.text) if v.strip()]
        elif self.kind == FLAG:
            out["value"] = self.flag == "1"
        else:
            out["value"] = self.number.strip()
        if self.kind == WINDOW:
            out["days"] = self.days.strip() or "0"
        return out


@dataclass
class RuleEditor:
    match: str = "all"
    rows: list[RuleRow] = dataclasses.field(default_factory=list)
    error: str = ""  # an error of the whole rule (not of one row)

    def rule(self) -> dict[str, Any]:
        """The rule of the rows that name a field (rows still blank are left out)."""
        return {
            "match": self.match,
            "conditions": [r.condition() for r in self.rows if r.spec is not None],
        }

    def show_error(self, error: Any) -> None:
        """Put a ``rules_clean`` error on the row it names, else on the whole rule."""
        found = _ERROR_AT.match(str(getattr(error, "field", "") or ""))
        named = [r for r in self.rows if r.spec is not None]
        if found and int(found.group(1)) < len(named):
            named[int(found.group(1))].error = str(error.message)
        else:
            self.error = str(getattr(error, "message", error))

    @property
    def groups(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """The fields for the field menu, grouped as the rule language groups them."""
        out: dict[str, list[tuple[str, str]]] = {}
        for spec in segments.FIELDS.values():
            out.setdefault(str(spec.group), []).append((spec.name, str(spec.label)))
        return list(out.items())


def _row_of_condition(i: int, c: dict[str, Any]) -> RuleRow:
    row = RuleRow(index=i, field=str(c.get("field", "")), op=str(c.get("op", "")))
    kind = row.kind
    value = c.get("value")
    if kind in (CHOICES, TEXTS):
        row.values = [str(v) for v in (value or [])]
    elif kind == FLAG:
        row.flag = "1" if value else "0"
    else:
        row.number = (
            "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
        )
    if kind == WINDOW:
        row.days = str(c.get("days", ""))
    return row


def editor_from_rule(rule: dict[str, Any] | None) -> RuleEditor:
    rule = rule or {}
    conditions = rule.get("conditions") or []
    return RuleEditor(
        match="any" if rule.get("match") == "any" else "all",
        rows=[_row_of_condition(i, c) for i, c in enumerate(conditions) if isinstance(c, dict)],
    )


def editor_from_post(data: Any) -> RuleEditor:
    """The editor as posted, after its button (add, remove-<n>) is applied. A row whose field
    changed starts again with that field's first operator and no value."""
    indexes: list[str] = []
    for raw in data.getlist(f"{PREFIX}-row"):
        if raw.isdigit() and raw not in indexes and len(indexes) < segments.MAX_CONDITIONS:
            indexes.append(raw)
    rows: list[RuleRow] = []
    for i in indexes:
        name = f"{PREFIX}-{i}"
        row = RuleRow(field=data.get(f"{name}-field", ""))
        spec = row.spec
        if spec is None:
            rows.append(row)
            continue
        if data.get(f"{name}-was", "") != row.field:
            row.op = spec.ops[0].code
            rows.append(row)
            continue
        op = data.get(f"{name}-op", "")
        row.op = op if op in spec.op_codes() else spec.ops[0].code
        if spec.kind == TEXTS:
            row.values = [v for v in _SPLIT.split(data.get(f"{name}-value", "")) if v.strip()]
        else:
            row.values = [v for v in data.getlist(f"{name}-value") if v]
        row.number = data.get(f"{name}-number", "")
        row.days = data.get(f"{name}-days", "")
        row.flag = "0" if data.get(f"{name}-flag") == "0" else "1"
        rows.append(row)
    action = data.get(ACTION, "")
    if action == "add" and len(rows) < segments.MAX_CONDITIONS:
        rows.append(RuleRow())
    elif action.startswith("remove-") and action[7:].isdigit():
        position = int(action[7:])
        if position < len(rows):
            del rows[position]
    for n, row in enumerate(rows):
        row.index = n
    return RuleEditor(match="any" if data.get(f"{PREFIX}-match") == "any" else "all", rows=rows)


def is_editor_action(data: Any) -> bool:
    """Whether a post only asks to redraw the editor (add, remove, update), not to save."""
    return bool(data.get(ACTION))
