"""Channel fixtures: a real loopback SMTP server and a real loopback SMS gateway.

The gateway (``SmsGateway``) is a tiny HTTP server that records every request it receives
and, like a real provider, counts one SMS per ``Idempotency-Key``: a retried request with
a key it has seen is answered with the first answer and sends nothing new. ``answer`` sets
the status code of the next answers; ``delay`` makes it slower than the client's timeout.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.smtp_server import SmtpServer


@dataclass
class GatewayRequest:
    path: str
    headers: dict[str, str]
    payload: dict[str, Any]


class _Handler(BaseHTTPRequestHandler):
    server: _GatewayServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        gateway = self.server.gateway
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        request = GatewayRequest(self.path, dict(self.headers.items()), json.loads(body))
        with gateway.lock:
            gateway.requests.append(request)
            status, delay = gateway.status, gateway.delay
        if delay:
            time.sleep(delay)
        if self.headers.get("Authorization") != f"Bearer {gateway.token}":
            status = 401
        key = self.headers.get("Idempotency-Key", "")
        if 200 <= status < 300:
            with gateway.lock:
                if key not in gateway.sent:
                    gateway.sent[key] = {"id": f"gw-{len(gateway.sent) + 1}", **request.payload}
                answer = {"id": gateway.sent[key]["id"]}
        else:
            answer = {"error": f"status {status}"}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    gateway: SmsGateway


class SmsGateway:
    token = "gw-token"

    def __init__(self) -> None:
        self.status, self.delay = 200, 0.0
        self.requests: list[GatewayRequest] = []
        self.sent: dict[str, dict[str, Any]] = {}  # one entry per SMS actually sent
        self.lock = threading.Lock()
        self._server = _GatewayServer(("127.0.0.1", 0), _Handler)
        self._server.gateway = self
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}/v1/sms"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> SmsGateway:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def sms_gateway(settings):
    """A running gateway, with the settings pointing the SMS adapter at it."""
    with SmsGateway() as gateway:
        settings.YITI_SMS_BACKEND = "http"
        settings.YITI_SMS_GATEWAY_URL = gateway.url
        settings.YITI_SMS_GATEWAY_TOKEN = gateway.token
        settings.YITI_SMS_TIMEOUT = 1
        yield gateway


@pytest.fixture
def smtp_server(settings):
    """A running SMTP server, with Django's SMTP backend pointed at it."""
    with SmtpServer() as smtp:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = smtp.host, smtp.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        yield smtp
