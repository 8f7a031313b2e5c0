"""The API's hot path: ``POST /api/v1/decisions/next-best-action`` answered ahead of the rest.

An agent waits for the next best action while serving a customer, and integrations call it
for every contact, so its answer has a latency target (p99 ≤ 50 ms at 50 concurrent
requests on 2 cores; ``bench/nba.py``). Going through the whole middleware stack, the URL
resolver (over a hundred patterns) and django-ninja's operation cost more CPU than the
decision itself, so this middleware, placed right after the security and static-file
middleware, answers the common call directly: a bearer token, a valid JSON body, no
``Idempotency-Key`` (a read needs none).

It is a shortcut, not a second API: the body is parsed with the operation's own schema, the
token checked by the same ``token_authenticate``, the language chosen as ``LocaleMiddleware``
chooses it, the answer built by the same ``decisions.api.nba_answer`` and errors rendered
by the API's own handlers. Anything else — a session caller, a missing or unknown token, a
body that does not validate, another path — goes on down the stack to the operation, which
answers it (401, 422 …) exactly as before. ``ADR 0008`` says why.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pydantic
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers

from yiti.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from yiti.core.errors import YitiError
from yiti.core.middleware import client_ip, request_meta
from yiti.decisions.api import NbaIn, nba_answer
from yiti.org.services import token_authenticate

PREFIX = "/api/v1/"
_IDEMPOTENCY_META = "HTTP_" + IDEMPOTENCY_HEADER.upper().replace("-", "_")

# path -> (the operation's body schema, the answer for an authenticated user); POST only
ROUTES: dict[str, tuple[type[pydantic.BaseModel], Callable[[Any, Any], HttpResponse]]] = {
    PREFIX + "decisions/next-best-action": (NbaIn, nba_answer),
}


class HotPathMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        route = ROUTES.get(request.path_info) if request.method == "POST" else None
        if route is None or request.META.get(_IDEMPOTENCY_META):
            return self.get_response(request)
        scheme, _sep, raw = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer":
            return self.get_response(request)
        schema, answer = route
        try:
            payload = schema.model_validate_json(request.body)
        except pydantic.ValidationError:
            return self.get_response(request)  # the operation explains what is wrong
        request.get_host()  # ALLOWED_HOSTS, as CommonMiddleware checks it (400 otherwise)
        user = token_authenticate(raw.strip())
        if user is None:
            return self.get_response(request)  # 401 with the API's message
        language = translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        with request_meta({"ip": client_ip(request), "request_id": uuid.uuid4().hex}):
            try:
                response = answer(user, payload)
            except YitiError as exc:
                response = _error(request, exc)
        response.headers.setdefault("Content-Length", str(len(response.content)))
        response.headers.setdefault("Content-Language", language)
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response


def _error(request: HttpRequest, exc: YitiError) -> HttpResponse:
    from yiti.api import errors
    from yiti.api.urls import api  # the API instance imports this module's routes

    return errors.on_yiti_error(api, request, exc)
