"""The portal's error codes (STYLE.md habit 8): each a clear answer on the page and in the API."""

from __future__ import annotations

from enum import StrEnum

from yiti.core.errors import YitiError


class PortalErrorCode(StrEnum):
    INVALID_PHONE = "invalid_phone"
    CODE_REQUIRED = "code_required"
    CODE_WRONG = "code_wrong"
    CODE_EXPIRED = "code_expired"
    CODE_USED = "code_used"
    NO_CODE = "no_code"
    LOCKED = "locked"
    TOO_MANY_REQUESTS = "too_many_requests"
    TOO_SOON = "too_soon"
    NOT_SIGNED_IN = "not_signed_in"
    ACCOUNT_REQUIRED = "account_required"
    ATTACHMENT_TOO_LARGE = "attachment_too_large"
    ATTACHMENT_NOT_IMAGE = "attachment_not_image"
    REOPEN_TOO_LATE = "reopen_too_late"
    NOT_REOPENABLE = "not_reopenable"
    NO_SURVEY = "no_survey"
    TOKEN_INVALID = "token_invalid"  # noqa: S105  (an error code)


class Throttled(YitiError):
    """Too many requests: answered with 429 and how long to wait."""

    code = PortalErrorCode.TOO_MANY_REQUESTS.value
    status = 429

    def __init__(self, message: str, *, code: str | None = None, retry_after: int = 60):
        super().__init__(message, code=code)
        self.retry_after = max(1, int(retry_after))


class Unauthenticated(YitiError):
    code = PortalErrorCode.NOT_SIGNED_IN.value
    status = 401
