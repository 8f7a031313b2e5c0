"""Sign-in with rate limiting, the global audit log and each user's API tokens."""

from __future__ import annotations

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
from yiti.core.panels import render_panels
from yiti.core.selectors import AuditFilters, audit_display, audit_events
from yiti.core.web import yiti_errors
from yiti.org.access import access_for
from yiti.org.forms import AuditFilterForm, TokenCreateForm, apply_error
from yiti.org.notices import kind_label, kinds_of, notifications_expire, notifications_filtered
from yiti.org.ratelimit import login_check
from yiti.org.roles import Perm
from yiti.org.selectors import notifications_of, tokens_of
from yiti.org.services import (
    first_password_expired,
    login_attempt_record,
    login_key,
    must_change_password,
    notification_mark_read,
    own_password_changed,
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
        decision = login_check(key=login_key(username), ip=client_ip(request))
        if not decision.allowed:
            form = self.get_form_class()(request, initial={"username": username})
            context = self.get_context_data(
                form=form, rate_limited=True, retry_minutes=decision.retry_minutes
            )
            response = self.render_to_response(context, status=429)
            response["Retry-After"] = str(decision.retry_after)
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        ip = client_ip(self.request)
        if first_password_expired(user):
            # the password an administrator chose was never replaced in time: it no longer
            # opens the account (a new one, or a set-password link, is needed)
            login_attempt_record(username=user.get_username(), ip=ip, succeeded=False)
            context = self.get_context_data(form=form, password_expired=True)
            return self.render_to_response(context, status=403)
        login_attempt_record(username=user.get_username(), ip=ip, succeeded=True)
        response = super().form_valid(form)
        if must_change_password(user):
            messages.info(
                self.request,
                _("Choose your own password now: the first password you were given expires."),
            )
            return redirect("org:password_change")
        return response

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
    """The user's notifications, grouped by kind: what still needs him (unread) by default,
    everything with ``?show=all``. Notifications whose subject is done (a resolved ticket, a
    campaign signed off) are put away first (``notices.notifications_expire``)."""
    user = acting_user(request)
    notifications_expire(user=user)
    kinds = kinds_of(user)
    kind = request.GET.get("kind", "")
    if kind not in {k.kind for k in kinds}:
        kind = ""
    unread_only = request.GET.get("show") != "all"
    page = paginate(
        notifications_filtered(user, kind=kind, unread_only=unread_only),
        page=parse_page(request.GET.get("page")),
        size=settings.YITI_PAGE_SIZE,
    )
    for n in page.items:
        n.kind_label = kind_label(n.kind)
    context = {
        "page": page,
        "kinds": kinds,
        "kind": kind,
        "unread_only": unread_only,
        "unread_total": sum(k.unread for k in kinds),
        # the daily digest switch, from the app that keeps it (customers)
        "panels": render_panels("notifications", request, user),
    }
    return render(request, "org/notifications.html", context)


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
        own_password_changed(user=form.user)  # a first password no longer needs changing
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
        own_password_changed(user=form.user)
        audit_record(actor=form.user, action="org.password_set_by_link", obj=form.user, changes={})
        messages.success(self.request, _("Your password is set. Sign in with it."))
        return response
