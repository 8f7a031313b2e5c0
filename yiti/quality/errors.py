"""Error codes of the quality layer (published in the OpenAPI error schema's ``code``)."""

from __future__ import annotations

from enum import StrEnum


class QualityErrorCode(StrEnum):
    NOT_ALLOWED = "quality_not_allowed"
    BAD_MONTH = "quality_bad_month"
    BAD_WEEK = "quality_bad_week"
    FUTURE_PERIOD = "quality_future_period"
    PERIOD_TOO_EARLY = "quality_period_too_early"
    TARGET_ON_WRONG_SIDE = "quality_target_on_wrong_side"
    BAD_NUMBER = "quality_bad_number"
    ALREADY_RUNNING = "quality_already_running"
