"""Database ids from user text: ASCII digits only, within the 64-bit range of the id columns."""

from __future__ import annotations

import re

MAX_ID = 2**63 - 1
_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_id(text: object) -> int | None:
    """The id written in ``text``, or None when it is not one.

    ``str.isdigit`` accepts superscripts and other scripts' digits (``"¹"``) that ``int``
    refuses, and a number past the 64-bit range overflows the database driver; both would be
    a server error. Such text is simply not an id.
    """
    value = str(text).strip()
    if not _ASCII_DIGITS.fullmatch(value):
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None
