"""SMS through an HTTP gateway, or to a JSON-lines file when no gateway is configured."""

from __future__ import annotations

import http.client
import json
import logging
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from django.utils import timezone

from yiti.channels.base import OutboundMessage, SendResult

log = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"
# 4xx answers that mean "not now" rather than "never": retried like 5xx.
_RETRYABLE_4XX = {408, 425, 429}


class SmsHttpAdapter:
    """POSTs ``{"to", "text", "idempotency_key"}`` as JSON with a bearer token.

    The key is also sent as the ``Idempotency-Key`` header, so the gateway can drop a
    retried request it has already accepted. 2xx is ``sent`` (provider id from the
    answer's ``id`` or ``message_id``), other 4xx ``rejected``, 5xx, 408/425/429,
    network errors and timeouts ``failed``.
    """

    def __init__(self, *, url: str, token: str = "", timeout: float = 10.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"SMS gateway URL must be http(s), got {url!r}")
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, message: OutboundMessage) -> SendResult:
        payload = {
            "to": message.to,
            "text": message.body,
            "idempotency_key": message.idempotency_key,
        }
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
            IDEMPOTENCY_HEADER: message.idempotency_key,
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        # The scheme is checked in __init__: only http(s), never file: or custom schemes.
        request = urllib.request.Request(  # noqa: S310
            self.url, data=json.dumps(payload).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:500].decode("utf-8", "replace")
            error = f"gateway HTTP {exc.code}: {detail}"
            if 400 <= exc.code < 500 and exc.code not in _RETRYABLE_4XX:
                return SendResult.rejected(error)
            return SendResult.failed(error)
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out
            log.warning("SMS %s not sent: %s", message.idempotency_key, exc)
            return SendResult.failed(f"gateway unreachable: {exc}")
        return SendResult.sent(_provider_id(body))


def _provider_id(body: bytes) -> str:
    try:
        data: Any = json.loads(body or b"{}")
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    return str(data.get("id") or data.get("message_id") or "")


class FileSmsAdapter:
    """Appends one JSON line per message to ``path`` (demo and development; never a no-op)."""

    _lock = threading.Lock()

    def __init__(self, *, path: Path) -> None:
        self.path = Path(path)

    def send(self, message: OutboundMessage) -> SendResult:
        line = json.dumps(
            {
                "at": timezone.now().isoformat(),
                "to": message.to,
                "text": message.body,
                "idempotency_key": message.idempotency_key,
                "metadata": message.metadata,
            },
            ensure_ascii=False,
            default=str,
        )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._lock, self.path.open("a", encoding="utf-8") as out:
                out.write(line + "\n")
        except OSError as exc:
            return SendResult.failed(f"cannot write {self.path}: {exc}")
        return SendResult.sent(f"file:{message.idempotency_key}")
