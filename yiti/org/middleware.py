"""A user signed in with a first password (``User.password_expires_at``) may only change it.

Every other page sends him to the change-password page; once the first password has expired
the session ends. API requests are not concerned: tokens are made from a signed-in session.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from yiti.org.services import first_password_expired, must_change_password

_OPEN_PREFIXES = ("/static/", "/api/", "/i18n/", "/healthz", "/favicon")


class FirstPasswordMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and must_change_password(user)
            and not request.path.startswith(_OPEN_PREFIXES)
        ):
            if first_password_expired(user):
                logout(request)
                messages.error(
                    request,
                    _("Your first password has expired. Ask your administrator for a new one."),
                )
                return redirect("login")
            allowed = {reverse("org:password_change"), reverse("logout")}
            if request.path not in allowed:
                return redirect("org:password_change")
        return self.get_response(request)
