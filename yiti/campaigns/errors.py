"""Error types of campaigns that carry more than a message (STYLE.md habit 8)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from yiti.core.errors import ValidationFailed


class NotReady(ValidationFailed):
    """The launch is refused: ``missing`` lists what stands in the way, one sentence each.

    The API answers it as ``{"code": "not_ready", "message", "field", "missing": [...]}``.
    """

    code = "not_ready"

    def __init__(self, message: str, *, missing: Iterable[str]):
        super().__init__(message, code=self.code)
        self.missing = [str(m) for m in missing]

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "missing": self.missing}
