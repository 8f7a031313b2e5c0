"""A tiny real SMTP server on a loopback thread, for tests that send e-mail over the wire.

It speaks enough of RFC 5321 for Django's SMTP backend: HELO/EHLO, MAIL FROM, RCPT TO,
DATA (with dot-unstuffing), RSET, NOOP, QUIT; no TLS and no AUTH. Messages are kept as
:class:`email.message.Message` objects together with the envelope.

    with SmtpServer() as smtp:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = smtp.host, smtp.port
        ...
        assert smtp.messages[0].rcpt_to == ["rm@example.com"]

or use the ``smtp_server`` fixture of tests/service/conftest.py as an example of a fixture.
"""

from __future__ import annotations

import email
import socket
import socketserver
import threading
from dataclasses import dataclass, field
from email.message import Message
from typing import Any


@dataclass
class Received:
    mail_from: str
    rcpt_to: list[str]
    data: bytes
    message: Message = field(init=False)

    def __post_init__(self) -> None:
        self.message = email.message_from_bytes(self.data)

    @property
    def subject(self) -> str:
        from email.header import decode_header, make_header

        return str(make_header(decode_header(self.message.get("Subject", ""))))

    @property
    def body(self) -> str:
        part = self.message
        if part.is_multipart():
            part = next(p for p in part.walk() if p.get_content_type() == "text/plain")
        payload = part.get_payload(decode=True)
        charset = part.get_content_charset() or "utf-8"
        return payload.decode(charset) if isinstance(payload, bytes) else str(payload)


def _address(arg: str) -> str:
    start, end = arg.find("<"), arg.rfind(">")
    return arg[start + 1 : end] if 0 <= start < end else arg.split(":", 1)[-1].strip()


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def setup(self) -> None:
        super().setup()
        # answer at once: a multi-line reply in small writes would otherwise wait for the
        # client's delayed ACK (Nagle), ~40 ms a message
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _send(self, *lines: str) -> None:
        self.wfile.write(b"".join(line.encode("ascii") + b"\r\n" for line in lines))
        self.wfile.flush()

    def handle(self) -> None:
        self._send("220 localhost test SMTP ready")
        mail_from, rcpt_to = "", []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self._send("250-localhost", "250-8BITMIME", "250 SMTPUTF8")
            elif verb == "HELO":
                self._send("250 localhost")
            elif verb == "MAIL":
                mail_from, rcpt_to = _address(arg), []
                self._send("250 OK")
            elif verb == "RCPT":
                rcpt_to.append(_address(arg))
                self._send("250 OK")
            elif verb == "DATA":
                if not rcpt_to:
                    self._send("503 need RCPT first")
                    continue
                self._send("354 End data with <CR><LF>.<CR><LF>")
                chunks: list[bytes] = []
                while True:
                    data_line = self.rfile.readline()
                    if not data_line or data_line in (b".\r\n", b".\n"):
                        break
                    if data_line.startswith(b".."):
                        data_line = data_line[1:]
                    chunks.append(data_line)
                with self.server.lock:
                    self.server.messages.append(
                        Received(mail_from, list(rcpt_to), b"".join(chunks))
                    )
                self._send("250 OK queued")
                mail_from, rcpt_to = "", []
            elif verb == "RSET":
                mail_from, rcpt_to = "", []
                self._send("250 OK")
            elif verb == "NOOP":
                self._send("250 OK")
            elif verb == "QUIT":
                self._send("221 Bye")
                return
            else:
                self._send("502 Command not implemented")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self.messages: list[Received] = []
        self.lock = threading.Lock()


class SmtpServer:
    """Starts on a free loopback port; ``stop()`` (or leaving the ``with``) shuts it down."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._server = _Server((host, 0))
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def messages(self) -> list[Received]:
        with self._server.lock:
            return list(self._server.messages)

    def start(self) -> SmtpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
