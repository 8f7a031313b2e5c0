"""The portal's own sign-in check for pages: the ``yiti_portal`` cookie, never the staff session."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse

from yiti.core.errors import NotFound, YitiError
from yiti.core.htmx import is_htmx
from yiti.portal import auth
from yiti.portal.choices import SessionKind
from yiti.portal.models import PortalSession

View = Callable[..., HttpResponseBase]


def current_session(request: HttpRequest) -> PortalSession | None:
    if hasattr(request, "_portal_session"):
        cached: PortalSession | None = request._portal_session
        return cached
    session = auth.session_from_key(request.COOKIES.get(auth.COOKIE_NAME), kind=SessionKind.WEB)
    request._portal_session = session  # type: ignore[attr-defined]
    return session


def set_cookie(response: HttpResponse, key: str) -> None:
    response.set_cookie(
        auth.COOKIE_NAME,
        key,
        max_age=int(auth.web_session_age().total_seconds()),
        path=auth.COOKIE_PATH,
        secure=getattr(settings, "SESSION_COOKIE_SECURE", False),
        httponly=True,
        samesite="Lax",
    )


def clear_cookie(response: HttpResponse) -> None:
    response.delete_cookie(auth.COOKIE_NAME, path=auth.COOKIE_PATH, samesite="Lax")


def portal_page(view: View) -> View:
    """A page for a signed-in customer: ``request.customer`` is his record. Without a live
    portal session the browser goes to the portal's sign-in (a staff session does not count);
    with a session still choosing its account, to the account choice. A record of another
    customer (``NotFound``) is the ordinary 404 page; other typed errors the error page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        session = current_session(request)
        if session is None:
            return redirect(f"{reverse('portal:sign_in')}")
        if session.customer is None:
            return redirect("portal:account")
        request.customer = session.customer  # type: ignore[attr-defined]
        request.portal_session = session  # type: ignore[attr-defined]
        try:
            response = view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except YitiError as exc:
            template = "portal/_error.html" if is_htmx(request) else "portal/error.html"
            return render(request, template, {"error": exc}, status=exc.status)
        response["Cache-Control"] = "private, no-store"
        return response

    return wrapper
