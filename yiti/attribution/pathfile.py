"""Reading a path summary, the format other attribution tools exchange.

One row per distinct path: ``path`` (channel names joined by `` > ``), ``total_conversions``,
``total_conversion_value`` and ``total_null`` (the times the path did not convert), comma or
semicolon separated (the separator is read from the header; in a semicolon file a decimal
comma is accepted). ``total_conversion_value`` and ``total_null`` may be left out (0). Any
fault refuses the whole file with its line and reason: an unknown or missing column, a
negative or non-numeric count, an empty path or an empty step in a path.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext as _

from yiti.attribution.models_math import Paths

SEPARATOR = ">"
COLUMNS = ("path", "total_conversions", "total_conversion_value", "total_null")
REQUIRED = ("path", "total_conversions")


class PathFileError(ValueError):
    """The file is refused: ``line`` (1 = the header) and a ``reason`` a person can act on."""

    def __init__(self, line: int, reason: str):
        super().__init__(_("line %(line)d: %(reason)s") % {"line": line, "reason": reason})
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class PathBook:
    channels: list[str]  # code → name
    paths: Paths


def _number(text: str, *, line: int, column: str, decimal_comma: bool) -> float:
    raw = text.strip()
    if decimal_comma:
        raw = raw.replace(",", ".")
    if raw == "":
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise PathFileError(
            line,
            _("%(column)s is not a number: “%(value)s”") % {"column": column, "value": text},
        ) from None
    if not math.isfinite(value):
        raise PathFileError(
            line,
            _("%(column)s is not a number: “%(value)s”") % {"column": column, "value": text},
        )
    if value < 0:
        raise PathFileError(
            line,
            _("%(column)s is negative (%(value)s)") % {"column": column, "value": text.strip()},
        )
    return value


def read_paths(text: str) -> PathBook:
    """Parse a path summary (see the module docstring); raises ``PathFileError``."""
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise PathFileError(1, _("the file is empty; the first line must name the columns"))
    header_line = lines[0]
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader)]
    for name in header:
        if name not in COLUMNS:
            raise PathFileError(
                1,
                _("unknown column “%(column)s” (expected: %(expected)s)")
                % {"column": name, "expected": ", ".join(COLUMNS)},
            )
    if len(set(header)) != len(header):
        raise PathFileError(1, _("a column is named twice"))
    for name in REQUIRED:
        if name not in header:
            raise PathFileError(1, _("the column “%(column)s” is missing") % {"column": name})
    index = {name: i for i, name in enumerate(header)}
    codes: dict[str, int] = {}
    flat: list[int] = []
    ptr = [0]
    conversions: list[float] = []
    values: list[float] = []
    nulls: list[float] = []
    for row in reader:
        line_no = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue  # blank lines are allowed
        if len(row) != len(header):
            raise PathFileError(
                line_no,
                _("%(found)d fields where the header has %(expected)d")
                % {"found": len(row), "expected": len(header)},
            )
        steps = [s.strip() for s in row[index["path"]].split(SEPARATOR)]
        if not row[index["path"]].strip():
            raise PathFileError(line_no, _("the path is empty"))
        if any(not s for s in steps):
            raise PathFileError(line_no, _("the path has an empty step"))
        numbers = {}
        for column in COLUMNS[1:]:
            numbers[column] = (
                _number(
                    row[index[column]], line=line_no, column=column, decimal_comma=delimiter == ";"
                )
                if column in index
                else 0.0
            )
        for step in steps:
            flat.append(codes.setdefault(step, len(codes)))
        ptr.append(len(flat))
        conversions.append(numbers["total_conversions"])
        values.append(numbers["total_conversion_value"])
        nulls.append(numbers["total_null"])
    return PathBook(
        channels=list(codes),
        paths=Paths(
            ptr=np.array(ptr, dtype=np.int64),
            channels=np.array(flat, dtype=np.int64),
            conversions=np.array(conversions, dtype=np.float64),
            value=np.array(values, dtype=np.float64),
            nulls=np.array(nulls, dtype=np.float64),
            n_channels=len(codes),
        ),
    )
