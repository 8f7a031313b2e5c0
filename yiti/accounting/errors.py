"""Error codes of accounting (STYLE.md habit 8): every refusal carries one of these codes,
which the API answers with a 4xx and the pages show next to the field."""

from __future__ import annotations

from enum import StrEnum


class AccountingErrorCode(StrEnum):
    NOT_ALLOWED = "accounting_not_allowed"  # the role may not see or change this
    INVALID_PERIOD = "invalid_period"  # the period ends before it starts
    PERIOD_TOO_LONG = "period_too_long"  # more than MAX_PERIOD_DAYS
    UNIT_NOT_VISIBLE = "unit_not_visible"  # a unit outside the user's scope
    UNIT_NOT_IN_CAMPAIGN = "unit_not_in_campaign"  # neither owner nor participant
    INVALID_AMOUNT = "invalid_amount"  # negative, not a number, too large
    INVALID_KIND = "invalid_cost_kind"
    DESCRIPTION_REQUIRED = "description_required"
    CAMPAIGN_COMPLETED = "campaign_completed"  # cost lines of a completed campaign are closed
    INVALID_CHANNEL = "invalid_channel"
