"""Per-request context (client address, request id) for the audit trail."""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.http import HttpRequest, HttpResponse

_request_meta: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "yiti_request_meta", default=None
)


def current_request_meta() -> dict[str, Any]:
    return _request_meta.get() or {}


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


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
