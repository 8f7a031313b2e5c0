"""``Idempotency-Key`` on writes: a retried POST replays the first answer instead of writing twice.

Installed on every operation of the API (``api.add_decorator(idempotent)``); it acts only on
POST requests that carry the header. The first successful answer is stored with the user,
the key, the endpoint and a hash of the body, in the same transaction as the write, so a
write and its stored answer commit together or not at all. A retry with the same key and
body gets the stored answer (``Idempotent-Replayed: true``); the same key on a different
request is refused with 409 ``idempotency_key_reused``. Keys older than 24 hours are forgotten.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.http.request import RawPostDataException
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Status
from ninja.responses import NinjaJSONEncoder
from pydantic import BaseModel

from yiti.api.models import IdempotencyKey
from yiti.core.errors import Conflict, ValidationFailed

HEADER = "Idempotency-Key"
REPLAY_WINDOW = timedelta(hours=24)
MAX_KEY_LENGTH = 255


def _render(result: Any) -> tuple[int, Any]:
    """The status and the JSON-ready body ninja will send for a handler's result."""
    status, value = (
        (result.status_code, result.value) if isinstance(result, Status) else (200, result)
    )
    if isinstance(value, BaseModel):
        value = value.model_dump()
    return status, json.loads(json.dumps(value, cls=NinjaJSONEncoder))


def _replay(stored: IdempotencyKey, *, endpoint: str, request_hash: str) -> HttpResponse:
    if stored.endpoint != endpoint or stored.request_hash != request_hash:
        raise Conflict(
            _("This Idempotency-Key was already used for a different request."),
            code="idempotency_key_reused",
            field=HEADER,
        )
    response = HttpResponse(
        json.dumps(stored.response_body, cls=NinjaJSONEncoder),
        status=stored.response_status,
        content_type="application/json; charset=utf-8",
    )
    response["Idempotent-Replayed"] = "true"
    return response


def _stored(user_id: int, key: str) -> IdempotencyKey | None:
    since = timezone.now() - REPLAY_WINDOW
    return IdempotencyKey.objects.filter(user_id=user_id, key=key, created_at__gte=since).first()


class KeyTooLong(ValidationFailed):
    """The key is refused (422, field ``Idempotency-Key``). ``extra`` holds the fields an
    operation's documented 422 always carries (``launch``: ``missing``), set on its view as
    ``error_fields``, so the answer still matches the operation's schema."""

    code = "invalid_idempotency_key"

    def __init__(self, message: str, *, extra: dict[str, Any]) -> None:
        super().__init__(message, code=self.code, field=HEADER)
        self.extra = dict(extra)

    def as_dict(self) -> dict[str, Any]:
        return {**self.extra, **super().as_dict()}


def _request_hash(request: HttpRequest) -> str:
    """SHA-256 of the body; for a multipart upload, whose stream Django has already read into
    ``POST`` and ``FILES``, of its fields and files (name, file name, content) in order."""
    try:
        return hashlib.sha256(request.body).hexdigest()
    except RawPostDataException:
        digest = hashlib.sha256()
        for name, values in sorted(request.POST.lists()):
            digest.update(repr((name, values)).encode())
        for name, files in sorted(request.FILES.lists()):
            for upload in files:
                digest.update(repr((name, upload.name, upload.size)).encode())
                for chunk in upload.chunks():
                    digest.update(chunk)
                upload.seek(0)
        return digest.hexdigest()


def idempotent(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        key = (request.headers.get(HEADER) or "").strip()
        user = getattr(request, "auth", None)
        if request.method != "POST" or not key or user is None:
            return func(request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            raise KeyTooLong(
                _("The Idempotency-Key header is longer than 255 characters."),
                extra=getattr(func, "error_fields", None) or {},
            )
        endpoint = f"{request.method} {request.path}"[:255]
        request_hash = _request_hash(request)
        stored = _stored(user.pk, key)
        if stored is not None:
            return _replay(stored, endpoint=endpoint, request_hash=request_hash)
        expired = timezone.now() - REPLAY_WINDOW
        IdempotencyKey.objects.filter(user_id=user.pk, key=key, created_at__lt=expired).delete()
        try:
            with transaction.atomic():
                result = func(request, *args, **kwargs)
                if isinstance(result, HttpResponseBase):
                    return result  # a handler that builds its own answer opts out
                status, body = _render(result)
                if 200 <= status < 300:
                    IdempotencyKey.objects.create(
                        user_id=user.pk,
                        key=key,
                        endpoint=endpoint,
                        request_hash=request_hash,
                        response_status=status,
                        response_body=body,
                    )
        except IntegrityError:
            # A concurrent request with the same key committed first: our write was rolled
            # back with the failed insert; answer as that request did.
            stored = _stored(user.pk, key)
            if stored is None:
                raise
            return _replay(stored, endpoint=endpoint, request_hash=request_hash)
        return result

    return wrapper


def idempotency_keys_purge(*, older_than: timedelta = REPLAY_WINDOW) -> int:
    """Delete stored answers past the replay window (for a periodic task)."""
    deleted, _rows = IdempotencyKey.objects.filter(
        created_at__lt=timezone.now() - older_than
    ).delete()
    return deleted
