"""Strict field types for the API's request bodies (issue 18 item 17).

pydantic's lax mode turns ``0.0`` into 1970-01-01, ``0`` into ``False`` and ``"12"`` into
``12``; a JSON client that sends such a value has a bug the API must refuse, and the OpenAPI
schema must say what is accepted so generated clients and fuzzers agree with the server.
Request bodies use these types (query strings stay lax: everything there is text):

- ``Flag``: ``true`` or ``false`` only;
- ``Int`` / ``Id`` / ``Count``: JSON integers only (no floats, strings or booleans), ids within
  the 64-bit range of the id columns;
- ``IsoDateTime`` / ``IsoDate`` / ``IsoTime``: ISO 8601 text only, never a number (times are
  moved to UTC: PostgreSQL refuses offsets past ±15:59);
- ``Clock``: ``HH:MM``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    WithJsonSchema,
)

from yiti.core.ids import MAX_ID

_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?")


def _text_only(kind: type, pattern: re.Pattern[str], example: str) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, kind):
            return value
        if isinstance(value, str) and pattern.match(value):
            return value
        raise ValueError(f"must be ISO 8601 text, e.g. {example}")

    return BeforeValidator(check)


def _utc(value: datetime) -> datetime:
    """An aware time moved to UTC (a naive one is left for the view to localise): the
    databases store UTC, and PostgreSQL refuses offsets past ±15:59 that ISO text may carry."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("is out of range") from exc


def _plain_date(value: Any) -> Any:
    if isinstance(value, datetime):
        raise ValueError("must be a date, e.g. 2026-01-31")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        return value
    raise ValueError("must be an ISO 8601 date, e.g. 2026-01-31")


IsoDateTime = Annotated[
    datetime,
    _text_only(datetime, _DATETIME, "2026-01-31T09:30:00+08:00"),
    AfterValidator(_utc),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
# a query string's time (text anyway): moved to UTC like IsoDateTime
QueryDateTime = Annotated[datetime, AfterValidator(_utc)]
IsoDate = Annotated[
    date, BeforeValidator(_plain_date), WithJsonSchema({"type": "string", "format": "date"})
]
IsoTime = Annotated[
    time,
    _text_only(time, _TIME, "09:30"),
    WithJsonSchema({"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$"}),
]
Flag = StrictBool
Int = StrictInt
Id = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
Text = StrictStr
Clock = Annotated[StrictStr, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")]
