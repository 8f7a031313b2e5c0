"""The one interface every channel adapter implements.

The caller (the sending task) owns the idempotency key, normally one per delivery, and
passes the same key on every retry. Each adapter carries it to where duplicates can be
recognised: the SMS gateway receives it as the ``Idempotency-Key`` header, e-mail uses it
as the ``Message-ID`` (``<key@yiti>``), the inbox stores it under a unique constraint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from yiti.channels.choices import Channel, SendStatus

_KEY = re.compile(r"[A-Za-z0-9._:=+/-]{1,200}")


@dataclass(frozen=True)
class OutboundMessage:
    """One message to one recipient.

    ``to`` is an e-mail address, a phone number (E.164) or, for push and the inbox, the
    customer id. ``idempotency_key`` is required and must be usable inside a Message-ID:
    1-200 characters of letters, digits and ``. _ : = + / -``.
    """

    channel: Channel
    to: str
    body: str
    idempotency_key: str
    subject: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "channel", Channel(self.channel))
        if not _KEY.fullmatch(self.idempotency_key or ""):
            raise ValueError(f"invalid idempotency key {self.idempotency_key!r}")


@dataclass(frozen=True)
class SendResult:
    """What happened: ``sent`` (with the provider's id), ``failed`` (retry later) or
    ``rejected`` (the provider refused the message; retrying will not help)."""

    status: SendStatus
    provider_id: str = ""
    error: str = ""

    @property
    def retryable(self) -> bool:
        return self.status == SendStatus.FAILED

    @classmethod
    def sent(cls, provider_id: str) -> SendResult:
        return cls(SendStatus.SENT, provider_id=provider_id)

    @classmethod
    def failed(cls, error: str) -> SendResult:
        return cls(SendStatus.FAILED, error=error)

    @classmethod
    def rejected(cls, error: str) -> SendResult:
        return cls(SendStatus.REJECTED, error=error)


@runtime_checkable
class ChannelAdapter(Protocol):
    """Sends one message; never raises for delivery problems, returns them as a result."""

    def send(self, message: OutboundMessage) -> SendResult: ...
