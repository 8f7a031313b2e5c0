"""Who is calling: a bearer token (scripts, integrations) or the browser's session.

Session callers must send the CSRF token on unsafe methods, as the web UI does; token
callers need none, since a browser never adds an ``Authorization`` header by itself.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from yiti.core.errors import PermissionDenied
from yiti.org.services import token_authenticate

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class BearerToken(HttpBearer):
    """``Authorization: Bearer yiti_...``, a token made with ``yiti token create``."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return token_authenticate(token.strip())


class SessionCookie(APIKeyCookie):
    """The signed-in browser session; unsafe methods need the ``X-CSRFToken`` header."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        # CSRF is checked in authenticate(), only once a session user is known, so that an
        # anonymous POST gets a clear 401 rather than a CSRF failure.
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise PermissionDenied(
                _("CSRF check failed: send the X-CSRFToken header with the session cookie."),
                code="csrf_failed",
            )
        return user


API_AUTH = [BearerToken(), SessionCookie()]
