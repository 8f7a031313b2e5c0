"""Per-request context (client address, request id) for the audit trail."""

from __future__ import annotations

import contextvars
import ipaddress
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

_request_meta: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "yiti_request_meta", default=None
)


def current_request_meta() -> dict[str, Any]:
    return _request_meta.get() or {}


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: ``REMOTE_ADDR``, or behind a trusted reverse proxy
    (``YITI_TRUSTED_PROXIES``) the last address in ``X-Forwarded-For`` that is not one of
    those proxies. The header of anybody else is ignored: a client could write anything."""
    remote = request.META.get("REMOTE_ADDR") or None
    trusted = set(getattr(settings, "YITI_TRUSTED_PROXIES", ()))
    if remote is None or remote not in trusted:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
        if hop not in trusted:
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote
    return remote


@contextmanager
def request_meta(meta: dict[str, Any]) -> Iterator[None]:
    """``meta`` is the current request's context while the block runs."""
    token = _request_meta.set(meta)
    try:
        yield
    finally:
        _request_meta.reset(token)


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with request_meta({"ip": client_ip(request), "request_id": uuid.uuid4().hex}):
            return self.get_response(request)
