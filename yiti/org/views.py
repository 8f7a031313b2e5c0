"""Sign-in with rate limiting, the global audit log and each user's API tokens."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.contrib.auth.views import LoginView, LogoutView, PasswordResetConfirmView
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from yiti.core.audit import audit_record, audit_values_reveal
from yiti.core.errors import ValidationFailed
from yiti.core.htmx import render_page_or_partial
from yiti.core.middleware import client_ip
from yiti.core.pagination import paginate, parse_page
from yiti.core.selectors import AuditFilters, audit_display, audit_events
from yiti.core.web import yiti_errors
from yiti.org.access import access_for
from yiti.org.forms import AuditFilterForm, TokenCreateForm, apply_error
from yiti.org.roles import Perm
from yiti.org.selectors import notifications_of, tokens_of
from yiti.org.services import (
    login_allowed,
    login_attempt_record,
    notification_mark_read,
    token_create,
)
from yiti.org.services import token_revoke as token_revoke_service
from yiti.org.web import acting_user


def home(request: HttpRequest) -> HttpResponse:
    """Where a signed-in user starts (``administration.views.home`` is mounted as ``home``
    and adds the first-run checklist for administrators)."""
    return redirect("customers:list" if request.user.is_authenticated else "login")


class SignInView(LoginView):
    """Django's sign-in, refusing with 429 after too many failures per username or address."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        # administrators go through "home", which opens the first-run checklist while the
        # company is not set up (administration.views.home); everybody else where they always did
        if access_for(self.request.user).has(Perm.ORG_MANAGE):
            return reverse("home")
        return resolve_url(settings.LOGIN_REDIRECT_URL)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username = request.POST.get("username", "")
        if not login_allowed(username=username, ip=client_ip(request)):
            form = self.get_form_class()(request, initial={"username": username})
            context = self.get_context_data(
                form=form,
                rate_limited=True,
                retry_minutes=max(1, math.ceil(settings.YITI_LOGIN_WINDOW_SECONDS / 60)),
            )
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        login_attempt_record(
            username=form.get_user().get_username(), ip=client_ip(self.request), succeeded=True
        )
        return super().form_valid(form)

    def form_invalid(self, form: Any) -> HttpResponse:
        login_attempt_record(
            username=self.request.POST.get("username", ""),
            ip=client_ip(self.request),
            succeeded=False,
        )
        return super().form_invalid(form)


class SignOutView(LogoutView):
    """POST only (Django's rule): a link cannot sign anybody out."""


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def audit_log(request: HttpRequest) -> HttpResponse:
    """Every audit event, personal data masked; POST ``reveal`` (the filters stay in the
    query string) shows this page's values in full, recorded as ``pii.reveal``."""
    access = access_for(request.user)
    access.require(Perm.AUDIT_VIEW_ALL)
    filters = AuditFilters.from_mapping(request.GET)
    page = paginate(
        audit_events(filters),
        page=parse_page(request.GET.get("page")),
        size=settings.YITI_PAGE_SIZE,
    )
    revealed = request.method == "POST" and "reveal" in request.POST
    if revealed:
        audit_values_reveal(
            actor=acting_user(request),
            allowed=access.has(Perm.PII_REVEAL),
            events=page.items,
            where=_("audit log"),
        )
    context = {
        "page": page,
        "filters": filters,
        "form": AuditFilterForm(request.GET or None),
        **audit_display(page.items, can_reveal=access.has(Perm.PII_REVEAL), revealed=revealed),
    }
    response = render_page_or_partial(
        request, "org/audit_log.html", "org/_audit_results.html", context
    )
    if revealed:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    form = TokenCreateForm(request.POST or None)
    created = raw = None
    if request.method == "POST" and form.is_valid():
        try:
            created, raw = token_create(user=acting_user(request), name=form.cleaned_data["name"])
        except ValidationFailed as exc:
            apply_error(form, exc)
        else:
            form = TokenCreateForm()
    context = {
        "tokens": tokens_of(acting_user(request)),
        "form": form,
        "created": created,
        "raw_token": raw,  # shown once, in this response only; never stored
    }
    response = render(request, "org/tokens.html", context)
    if raw:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = tokens_of(acting_user(request)).filter(pk=token_id, revoked_at__isnull=True).first()
    if token is None:
        raise Http404(_("No such active token."))
    if request.method == "POST":
        token_revoke_service(user=acting_user(request), token_id=token.pk)
        messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
        return redirect("org:tokens")
    return render(request, "org/token_revoke.html", {"token": token})


@login_required
@require_http_methods(["GET"])
def notifications(request: HttpRequest) -> HttpResponse:
    """The user's in-app notifications: SLA warnings and breaches, care escalations, …"""
    page = paginate(
        notifications_of(acting_user(request)),
        page=parse_page(request.GET.get("page")),
        size=settings.YITI_PAGE_SIZE,
    )
    return render(request, "org/notifications.html", {"page": page})


@login_required
@require_http_methods(["POST"])
def notifications_read(request: HttpRequest) -> HttpResponse:
    """Mark one notification (``id``) or all of them read; open the one's link if it has one."""
    user = acting_user(request)
    raw_id = request.POST.get("id")
    if raw_id:
        try:
            notification_id = int(raw_id)
        except ValueError as exc:
            raise Http404 from exc
        notification = notifications_of(user).filter(pk=notification_id).first()
        if notification is None:
            raise Http404
        notification_mark_read(user=user, notification_id=notification_id)
        if notification.link.startswith("/"):
            return redirect(notification.link)
    else:
        notification_mark_read(user=user)
    return redirect("org:notifications")


@login_required
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    """Change my own password: the current one, then a new one twice (Django's validators)."""
    user = acting_user(request)
    form = PasswordChangeForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        update_session_auth_hash(request, form.user)  # stay signed in on this device
        audit_record(actor=user, action="org.password_change", obj=user, changes={})
        messages.success(request, _("Your password was changed."))
        return redirect("org:password_change")
    return render(
        request, "org/password_change.html", {"form": form}, status=422 if form.errors else 200
    )


class PasswordSetView(PasswordResetConfirmView):
    """The page behind the set-password link an administrator sent (Django's reset token)."""

    template_name = "org/password_set.html"
    form_class = SetPasswordForm  # type: ignore[assignment]  # Django's own form, generic in the stubs
    success_url = reverse_lazy("login")
    post_reset_login = False

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        audit_record(actor=form.user, action="org.password_set_by_link", obj=form.user, changes={})
        messages.success(self.request, _("Your password is set. Sign in with it."))
        return response
