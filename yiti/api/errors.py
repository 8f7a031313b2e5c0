"""Every API error is JSON ``{"code", "message", "field"}`` with a 4xx status.

Services raise ``yiti.core.errors`` types; ninja raises its own for bad input; Django raises
``Http404``/``PermissionDenied``. All of them are mapped here, so a client never parses an
HTML page or meets a 500 for something it sent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from yiti.core.errors import YitiError


class ErrorOut(Schema):
    """The body of every error answer."""

    code: str
    message: str
    field: str | None = None


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"code": code, "message": str(message), "field": field}


def _status_codes() -> dict[int, tuple[str, str]]:
    return {
        400: ("bad_request", _("The request body is not valid JSON.")),
        401: (
            "unauthenticated",
            _("Authentication required: send “Authorization: Bearer <token>” or sign in."),
        ),
        403: ("permission_denied", _("You do not have permission to do this.")),
        404: ("not_found", _("Not found.")),
        405: ("method_not_allowed", _("This method is not allowed here.")),
        429: ("throttled", _("Too many requests; try again later.")),
    }


_SOURCES = frozenset({"body", "query", "path", "header", "cookie", "form", "file"})
# pydantic names the member of a union that failed: ``("unit", "int")``, ``"str-enum[Kind]"``
_UNION_TAGS = frozenset({"int", "str", "bool", "float", "none", "date", "datetime", "decimal"})


def _after_index(parts: Sequence[Any], i: int) -> bool:
    return i > 0 and isinstance(parts[i - 1], int)


def _field_of(loc: Sequence[Any]) -> str | None:
    """``("body", "payload", "contacts", 0, "value")`` -> ``"contacts.0.value"``.

    The first element is where the value came from (body, query, path, header); for a body
    schema the second is the handler's parameter name, which means nothing to a client.
    """
    parts = list(loc)
    if parts and parts[0] in _SOURCES:
        source = parts.pop(0)
        if source == "body" and len(parts) > 1:
            parts.pop(0)
    # a union tag follows the field it belongs to; after a list index it is a field's name
    # (``exceptions.0.date``)
    parts = [
        p
        for i, p in enumerate(parts)
        if not (
            isinstance(p, str)
            and ("[" in p or "-" in p or (p in _UNION_TAGS and not _after_index(parts, i)))
        )
    ]
    return ".".join(str(p) for p in parts) or None


def on_yiti_error(api: NinjaAPI, request: HttpRequest, exc: YitiError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


def on_validation_error(
    api: NinjaAPI, request: HttpRequest, exc: NinjaValidationError
) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    message = first.get("msg") or _("The request is not valid.")
    return api.create_response(
        request,
        error_body("validation_error", message, _field_of(first.get("loc", ()))),
        status=422,
    )


def on_http_error(api: NinjaAPI, request: HttpRequest, exc: HttpError) -> HttpResponse:
    code, message = _status_codes().get(exc.status_code, ("error", str(exc)))
    response = api.create_response(request, error_body(code, message), status=exc.status_code)
    if isinstance(exc, AuthenticationError):
        response["WWW-Authenticate"] = 'Bearer realm="yiti"'
    return response


def on_not_found(api: NinjaAPI, request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(request, error_body("not_found", _("Not found.")), status=404)


def on_permission_denied(api: NinjaAPI, request: HttpRequest, exc: Exception) -> HttpResponse:
    message = str(exc) or _("You do not have permission to do this.")
    return api.create_response(request, error_body("permission_denied", message), status=403)


def on_django_validation_error(
    api: NinjaAPI, request: HttpRequest, exc: DjangoValidationError
) -> HttpResponse:
    field = None
    if hasattr(exc, "error_dict"):
        field = next(iter(exc.error_dict), None)
    return api.create_response(
        request, error_body("validation_error", "; ".join(exc.messages), field), status=422
    )


def install(api: NinjaAPI) -> None:
    """Register the handlers on ``api`` (most specific class wins, by MRO)."""

    def bind(handler: Any) -> Any:
        return lambda request, exc: handler(api, request, exc)

    api.add_exception_handler(YitiError, bind(on_yiti_error))
    api.add_exception_handler(NinjaValidationError, bind(on_validation_error))
    api.add_exception_handler(HttpError, bind(on_http_error))
    api.add_exception_handler(Http404, bind(on_not_found))
    api.add_exception_handler(DjangoPermissionDenied, bind(on_permission_denied))
    api.add_exception_handler(DjangoValidationError, bind(on_django_validation_error))


def json_error(code: str, message: str, *, status: int) -> HttpResponse:
    """An error answer outside an operation (unknown path, wrong method)."""
    return HttpResponse(
        json.dumps(error_body(code, message)),
        status=status,
        content_type="application/json; charset=utf-8",
    )
