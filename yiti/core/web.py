"""Turning typed errors raised inside a view into answers a person can act on.

Views catch ``ValidationFailed`` themselves where a form can show it next to the field.
Anything else that escapes becomes: 404 for ``NotFound``, 403 for ``PermissionDenied``, and
the error page with the message and the error's status for the rest; for htmx requests a
small alert that replaces the page's ``#htmx-errors`` region. Never a 500 for bad input.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from yiti.core.errors import NotFound, PermissionDenied, YitiError
from yiti.core.htmx import is_htmx

View = Callable[..., HttpResponse]


def error_response(request: HttpRequest, error: YitiError) -> HttpResponse:
    if is_htmx(request):
        response = render(request, "partials/_error.html", {"error": error}, status=error.status)
        response["HX-Retarget"] = "#htmx-errors"
        response["HX-Reswap"] = "innerHTML"
        return response
    return render(request, "error.html", {"error": error}, status=error.status)


def yiti_errors(view: View) -> View:
    """Decorate a view so that a :class:`YitiError` it raises becomes a clear answer."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except YitiError as exc:
            if is_htmx(request):
                return error_response(request, exc)
            if isinstance(exc, NotFound):
                raise Http404(exc.message) from exc
            if isinstance(exc, PermissionDenied):
                raise DjangoPermissionDenied(exc.message) from exc
            return error_response(request, exc)
        except DjangoPermissionDenied as exc:
            if is_htmx(request):
                return error_response(
                    request,
                    PermissionDenied(str(exc) or _("You do not have permission to do this.")),
                )
            raise

    return wrapper
