"""E-mail through Django's mail API: real SMTP in production, files in the embedded default."""

from __future__ import annotations

import logging
import smtplib

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from yiti.channels.base import OutboundMessage, SendResult

log = logging.getLogger(__name__)


def message_id(idempotency_key: str) -> str:
    """The Message-ID a send with this key carries, so a re-send is recognisable."""
    return f"<{idempotency_key}@yiti>"


class EmailAdapter:
    """Sends with the connection of ``settings.EMAIL_BACKEND`` (``get_connection()``).

    SMTP 5xx answers and refused recipients are ``rejected``; 4xx answers, refused
    connections and timeouts are ``failed`` and may be retried with the same key.
    """

    def __init__(self, *, from_email: str | None = None) -> None:
        self.from_email = from_email or settings.DEFAULT_FROM_EMAIL

    def send(self, message: OutboundMessage) -> SendResult:
        if "@" not in message.to:
            return SendResult.rejected(f"not an e-mail address: {message.to!r}")
        mid = message_id(message.idempotency_key)
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=self.from_email,
            to=[message.to],
            headers={"Message-ID": mid},
            connection=get_connection(),
        )
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            return SendResult.rejected(f"recipient refused: {exc.recipients}")
        except smtplib.SMTPResponseException as exc:
            error = f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"
            if 500 <= exc.smtp_code < 600:
                return SendResult.rejected(error)
            return SendResult.failed(error)
        except (smtplib.SMTPException, OSError) as exc:
            log.warning("e-mail %s not sent: %s", mid, exc)
            return SendResult.failed(f"{type(exc).__name__}: {exc}")
        return SendResult.sent(mid)
