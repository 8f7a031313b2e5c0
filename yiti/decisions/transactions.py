"""Reading an analyst's transaction file (``customer_id,date,amount``) into numpy arrays.

Used by ``yiti value fit`` so that the value model can be checked on outside data. Every
problem is a :class:`~yiti.core.errors.ValidationFailed` naming the row (the file's line
number; the header is row 1) and the column.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
from django.utils.translation import gettext as _

from yiti.core.errors import ValidationFailed

COLUMNS = ("customer_id", "date", "amount")


@dataclass(frozen=True)
class Transactions:
    customer_ids: np.ndarray  # str
    dates: np.ndarray  # datetime64[D]
    amounts: np.ndarray  # float64

    def __len__(self) -> int:
        return len(self.amounts)


def _bad(row: int, column: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        _("Row %(row)s, column '%(column)s': %(message)s")
        % {"row": row, "column": column, "message": message},
        field=column,
    )


def read_transactions_csv(path: str | Path) -> Transactions:
    """Read ``path`` (UTF-8, with a header naming customer_id, date and amount, any order).

    Dates are ISO ``YYYY-MM-DD`` (a time after the date is ignored); amounts are non-negative
    decimal numbers. Blank lines are skipped.
    """
    try:
        with Path(path).open(encoding="utf-8-sig", newline="") as handle:
            ids, dates, amounts, rows = _read_rows(handle)
    except OSError as exc:
        raise ValidationFailed(
            _("Cannot read %(path)s: %(error)s") % {"path": path, "error": exc.strerror},
            field="transactions",
        ) from exc
    if not ids:
        raise ValidationFailed(
            _("The file has a header but no transactions."), field="transactions"
        )
    return Transactions(
        customer_ids=np.array(ids),
        dates=_parse_dates(dates, rows),
        amounts=_parse_amounts(amounts, rows),
    )


def _read_rows(handle: TextIO) -> tuple[list[str], list[str], list[str], list[int]]:
    """The raw customer_id, date and amount cells and the row number of each."""
    ids: list[str] = []
    dates: list[str] = []
    amounts: list[str] = []
    rows: list[int] = []
    reader = csv.reader(handle)
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationFailed(
            _("The file is empty: expected a header customer_id,date,amount."),
            field="transactions",
        ) from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ValidationFailed(
            _("Row 1: not a UTF-8 CSV file (%(error)s).") % {"error": exc},
            field="transactions",
        ) from exc
    names = [name.strip().lower() for name in header]
    missing = [column for column in COLUMNS if column not in names]
    if missing:
        raise ValidationFailed(
            _("The header lacks the column(s) %(missing)s (it has: %(found)s).")
            % {"missing": ", ".join(missing), "found": ", ".join(names) or "-"},
            field=missing[0],
        )
    i_id, i_date, i_amount = (names.index(column) for column in COLUMNS)
    width = max(i_id, i_date, i_amount) + 1
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            line = reader.line_num
            if len(row) < width:
                column = next(
                    name
                    for name, i in zip(COLUMNS, (i_id, i_date, i_amount), strict=True)
                    if i >= len(row)
                )
                raise _bad(line, column, _("the value is missing"))
            customer = row[i_id].strip()
            if not customer:
                raise _bad(line, "customer_id", _("the value is missing"))
            day = row[i_date].strip()
            if len(day) > 10 and day[10] in "T ":
                day = day[:10]
            if len(day) != 10:
                raise _bad(
                    line,
                    "date",
                    _("%(value)r is not a date YYYY-MM-DD") % {"value": row[i_date]},
                )
            ids.append(customer)
            dates.append(day)
            amounts.append(row[i_amount].strip())
            rows.append(line)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ValidationFailed(
            _("Row %(row)s: unreadable CSV (%(error)s).") % {"row": reader.line_num, "error": exc},
            field="transactions",
        ) from exc
    return ids, dates, amounts, rows


def _parse_dates(values: list[str], rows: list[int]) -> np.ndarray:
    try:
        return np.array(values, dtype="datetime64[D]")
    except ValueError:
        pass
    for value, row in zip(values, rows, strict=True):
        try:
            np.datetime64(value, "D")
        except ValueError:
            raise _bad(
                row, "date", _("%(value)r is not a date YYYY-MM-DD") % {"value": value}
            ) from None
    raise AssertionError("unreachable: a date failed in bulk but not alone")  # pragma: no cover


def _parse_amounts(values: list[str], rows: list[int]) -> np.ndarray:
    try:
        amounts = np.array(values).astype(np.float64)
    except ValueError:
        amounts = None
    if amounts is None:
        for value, row in zip(values, rows, strict=True):
            try:
                float(value)
            except ValueError:
                raise _bad(
                    row, "amount", _("%(value)r is not a number") % {"value": value}
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover
    bad = np.flatnonzero(~np.isfinite(amounts) | (amounts < 0))
    if len(bad):
        i = int(bad[0])
        raise _bad(
            rows[i],
            "amount",
            _("%(value)r is not a non-negative finite amount") % {"value": values[i]},
        )
    return amounts
