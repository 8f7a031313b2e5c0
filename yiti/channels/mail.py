"""E-mail through Django's mail API: real SMTP in production, files in the embedded default."""

from __future__ import annotations

import contextlib
import logging
import smtplib
from typing import Any

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

    Used as a context manager (``with EmailAdapter() as mail: ...``) the adapter keeps one
    SMTP session open for many messages (a sending batch) and reconnects after an error.
    """

    def __init__(self, *, from_email: str | None = None) -> None:
        self.from_email = from_email or settings.DEFAULT_FROM_EMAIL
        self._session = False
        self._connection: Any = None

    def __enter__(self) -> EmailAdapter:
        self._session = True
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()
        self._session = False

    def _close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):  # the session is gone
                self._connection.close()
            self._connection = None

    def _connection_for_send(self) -> Any:
        """A new connection per message; inside ``with``, one session opened here once (Django
        closes after the message a connection that its own ``send`` had to open)."""
        if not self._session:
            return get_connection()
        if self._connection is None:
            self._connection = get_connection()
            self._connection.open()
        return self._connection

    def send(self, message: OutboundMessage) -> SendResult:
        if "@" not in message.to:
            return SendResult.rejected(f"not an e-mail address: {message.to!r}")
        mid = message_id(message.idempotency_key)
        try:
            email = EmailMessage(
                subject=message.subject,
                body=message.body,
                from_email=self.from_email,
                to=[message.to],
                headers={"Message-ID": mid},
                connection=self._connection_for_send(),
            )
            # files named by the sender (e.g. a report's XLSX and PDF), read at send time
            for path in (message.metadata or {}).get("attachments", []):
                email.attach_file(str(path))
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            self._close()
            return SendResult.rejected(f"recipient refused: {exc.recipients}")
        except smtplib.SMTPResponseException as exc:
            self._close()
            error = f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"
            if 500 <= exc.smtp_code < 600:
                return SendResult.rejected(error)
            return SendResult.failed(error)
        except (smtplib.SMTPException, OSError) as exc:
            self._close()
            log.warning("e-mail %s not sent: %s", mid, exc)
            return SendResult.failed(f"{type(exc).__name__}: {exc}")
        return SendResult.sent(mid)
