"""The portal's pages (网上营业厅): thin views over ``auth``, ``selectors`` and ``services``."""

from __future__ import annotations

from typing import Any

from django.core import signing
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yiti.core.errors import ValidationFailed, YitiError
from yiti.core.masking import mask_email, mask_phone
from yiti.core.middleware import client_ip
from yiti.customers.choices import ContactKind
from yiti.portal import auth, selectors, services
from yiti.portal.choices import SessionKind
from yiti.portal.errors import Throttled
from yiti.portal.forms import (
    CodeForm,
    ContactForm,
    PhoneForm,
    ReopenForm,
    ReplyForm,
    TicketForm,
)
from yiti.portal.web import clear_cookie, current_session, portal_page, set_cookie

PHONE_COOKIE = "yiti_portal_phone"
CONTACT_COOKIE = "yiti_portal_contact"
PENDING_SALT = "yiti.portal.pending"
PENDING_AGE = 15 * 60


def _pending_set(response: HttpResponse, name: str, value: Any) -> None:
    response.set_cookie(
        name,
        signing.dumps(value, salt=PENDING_SALT),
        max_age=PENDING_AGE,
        path=auth.COOKIE_PATH,
        httponly=True,
        samesite="Lax",
    )


def _pending(request: HttpRequest, name: str) -> Any:
    raw = request.COOKIES.get(name)
    if not raw:
        return None
    try:
        return signing.loads(raw, salt=PENDING_SALT, max_age=PENDING_AGE)
    except signing.BadSignature:
        return None


def _field_error(form: Any, exc: YitiError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


# --- sign-in -----------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    """Step 1: the phone. The answer is the same whether or not the number is a customer's."""
    if request.method == "POST":
        form = PhoneForm(request.POST)
        if form.is_valid():
            try:
                row = auth.code_request(phone=form.cleaned_data["phone"], ip=client_ip(request))
            except Throttled as exc:
                form.add_error(None, exc.message)
                return render(request, "portal/sign_in.html", {"form": form}, status=429)
            except YitiError as exc:
                _field_error(form, exc)
            else:
                response = redirect("portal:sign_in_code")
                _pending_set(response, PHONE_COOKIE, row.target)
                return response
        return render(request, "portal/sign_in.html", {"form": form}, status=422)
    if current_session(request) is not None:
        return redirect("portal:home")
    return render(request, "portal/sign_in.html", {"form": PhoneForm()})


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in_code(request: HttpRequest) -> HttpResponse:
    """Step 2: the code from the SMS."""
    phone = _pending(request, PHONE_COOKIE)
    if not isinstance(phone, str):
        return redirect("portal:sign_in")
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            signed = auth.sign_in(
                kind=SessionKind.WEB,
                phone=phone,
                code=form.cleaned_data["code"],
                ip=client_ip(request),
                user_agent=request.headers.get("User-Agent", ""),
            )
        except Throttled as exc:
            form.add_error(None, exc.message)
            status = 429
        except YitiError as exc:
            _field_error(form, exc)
            status = exc.status
        else:
            target = "portal:home" if signed.session.customer_id else "portal:account"
            response = redirect(target)
            set_cookie(response, signed.key)
            response.delete_cookie(PHONE_COOKIE, path=auth.COOKIE_PATH)
            return response
    elif request.method == "POST":
        status = 422
    context = {"form": form, "phone": mask_phone(phone)}
    return render(request, "portal/sign_in_code.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    """Step 3 for a phone of several customers: which account."""
    session = current_session(request)
    if session is None:
        return redirect("portal:sign_in")
    if session.customer is not None:
        return redirect("portal:home")
    accounts = auth.customers_by_phone(session.phone)
    error = ""
    if request.method == "POST":
        try:
            choice = int(request.POST.get("account", "0"))
        except ValueError:
            choice = 0
        try:
            auth.account_pick(session=session, choice=choice)
        except YitiError as exc:
            error = exc.message
        else:
            return redirect("portal:home")
    options = [(i, selectors.account_label(c)) for i, c in enumerate(accounts, start=1)]
    return render(
        request,
        "portal/account.html",
        {"options": options, "error": error},
        status=422 if error else 200,
    )


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    session = current_session(request)
    if session is not None:
        auth.sign_out(session=session)
    response = redirect("portal:sign_in")
    clear_cookie(response)
    return response


# --- home --------------------------------------------------------------------------------------


@require_GET
@portal_page
def home(request: HttpRequest) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    unread, latest = selectors.unread_of(customer)
    context = {
        "tickets": selectors.open_tickets_of(customer),
        "orders": selectors.orders_of(customer, in_progress=True, limit=5, tickets=False),
        "unread": unread,
        "unread_more": unread > selectors.UNREAD_CAP,
        "messages": latest,
        "offers": selectors.offers_for(customer, top=3),
        "nav": "home",
    }
    return render(request, "portal/home.html", context)


# --- tickets -----------------------------------------------------------------------------------


@require_GET
@portal_page
def tickets(request: HttpRequest) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    rows = list(selectors.tickets_of(customer)[:100])
    return render(request, "portal/tickets.html", {"tickets": rows, "nav": "tickets"})


@require_http_methods(["GET", "POST"])
@portal_page
def ticket_new(request: HttpRequest) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    campaigns = selectors.campaigns_reaching(customer)
    form = TicketForm(request.POST or None, request.FILES or None, campaigns=campaigns)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                ticket = services.ticket_open(
                    customer=customer,
                    kind=data["kind"],
                    subject=data["subject"],
                    description=data["description"],
                    complaint_class=data["complaint_class"],
                    campaign_id=data["campaign"],
                    photo=data["photo"] or None,
                )
            except ValidationFailed as exc:
                _field_error(form, exc)
            else:
                return redirect("portal:ticket", ticket.pk)
        status = 422
    initial_kind = request.GET.get("kind", "")
    context = {"form": form, "nav": "tickets", "initial_kind": initial_kind}
    return render(request, "portal/ticket_new.html", context, status=status)


def _ticket_page(
    request: HttpRequest, ticket_id: int, *, status: int = 200, **forms: Any
) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    ticket = selectors.ticket_for(customer, ticket_id)
    task = selectors.survey_task(ticket)
    until = selectors.reopen_until(ticket)
    context = {
        "ticket": ticket,
        "status_label": selectors.status_label(ticket.status),
        "thread": selectors.thread(ticket),
        "reply_form": forms.get("reply_form") or ReplyForm(),
        "reopen_form": forms.get("reopen_form") or ReopenForm(),
        "can_reply": ticket.status not in ("resolved", "closed"),
        "reopen_until": until if until and until >= timezone.now() else None,
        "survey": selectors.survey_questions(task)
        if task and not selectors.survey_answered(task)
        else None,
        "rated": bool(task and selectors.survey_answered(task)),
        "rate_error": forms.get("rate_error", ""),
        "page_error": forms.get("page_error", ""),
        "nav": "tickets",
    }
    return render(request, "portal/ticket.html", context, status=status)


@require_GET
@portal_page
def ticket(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _ticket_page(request, ticket_id)


@require_POST
@portal_page
def ticket_reply(request: HttpRequest, ticket_id: int) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    found = selectors.ticket_for(customer, ticket_id)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.ticket_reply(
                customer=customer,
                ticket=found,
                body=form.cleaned_data["body"],
                photo=form.cleaned_data["photo"] or None,
            )
        except ValidationFailed as exc:
            if exc.field in form.fields:
                _field_error(form, exc)
            else:
                return _ticket_page(request, ticket_id, status=422, page_error=exc.message)
        else:
            return redirect(reverse("portal:ticket", args=[found.pk]) + "#thread")
    return _ticket_page(request, ticket_id, status=422, reply_form=form)


@require_POST
@portal_page
def ticket_reopen(request: HttpRequest, ticket_id: int) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    found = selectors.ticket_for(customer, ticket_id)
    form = ReopenForm(request.POST)
    if form.is_valid():
        try:
            services.ticket_reopen_by_customer(
                customer=customer, ticket=found, reason=form.cleaned_data["reason"]
            )
        except ValidationFailed as exc:
            if exc.field in form.fields:
                _field_error(form, exc)
            else:
                return _ticket_page(request, ticket_id, status=422, page_error=exc.message)
        else:
            return redirect("portal:ticket", found.pk)
    return _ticket_page(request, ticket_id, status=422, reopen_form=form)


@require_POST
@portal_page
def ticket_rate(request: HttpRequest, ticket_id: int) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    found = selectors.ticket_for(customer, ticket_id)
    answers = {
        int(key[1:]): value
        for key, value in request.POST.items()
        if key.startswith("q") and key[1:].isdigit()
    }
    try:
        services.ticket_rate(customer=customer, ticket=found, answers=answers)
    except YitiError as exc:
        return _ticket_page(request, ticket_id, status=exc.status, rate_error=exc.message)
    return redirect(reverse("portal:ticket", args=[found.pk]) + "#rate")


@require_GET
@portal_page
def ticket_photo(request: HttpRequest, ticket_id: int, message_id: int) -> FileResponse:
    customer = request.customer  # type: ignore[attr-defined]
    found = selectors.ticket_for(customer, ticket_id)
    message = selectors.photo_for(customer, found, message_id)
    return FileResponse(message.photo.open("rb"), content_type=message.photo_type)


# --- orders, messages, offers ---------------------------------------------------------------------


@require_GET
@portal_page
def orders(request: HttpRequest) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    return render(
        request, "portal/orders.html", {"orders": selectors.orders_of(customer), "nav": "orders"}
    )


@require_GET
@portal_page
def messages(request: HttpRequest) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    rows = list(selectors.messages_of(customer)[:100])
    return render(request, "portal/messages.html", {"messages": rows, "nav": "messages"})


@require_GET
@portal_page
def message(request: HttpRequest, message_id: int) -> HttpResponse:
    """Opening a message reads it: the campaign's funnel counts it as opened."""
    customer = request.customer  # type: ignore[attr-defined]
    found = selectors.message_for(customer, message_id)
    found = services.message_read(customer=customer, message=found)
    context = {"message": found, "link": selectors.response_link(found), "nav": "messages"}
    return render(request, "portal/message.html", context)


@require_GET
@portal_page
def offers(request: HttpRequest) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    context = {"offers": selectors.offers_for(customer), "nav": "offers"}
    return render(request, "portal/offers.html", context)


@require_POST
@portal_page
def offer_accept(request: HttpRequest) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    try:
        services.offer_accept(customer=customer, action=request.POST.get("action", ""))
    except YitiError as exc:
        context = {"offers": selectors.offers_for(customer), "nav": "offers", "error": exc.message}
        return render(request, "portal/offers.html", context, status=exc.status)
    return redirect(reverse("portal:orders") + "?accepted=1")


@require_POST
@portal_page
def offer_decline(request: HttpRequest) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    try:
        services.offer_decline(customer=customer, action=request.POST.get("action", ""))
    except YitiError as exc:
        context = {"offers": selectors.offers_for(customer), "nav": "offers", "error": exc.message}
        return render(request, "portal/offers.html", context, status=exc.status)
    return redirect(reverse("portal:offers") + "?declined=1")


# --- consent and profile -----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@portal_page
def consent(request: HttpRequest) -> HttpResponse:
    """Every channel × purpose; each row is one form with the two choices."""
    customer = request.customer  # type: ignore[attr-defined]
    if request.method == "POST":
        choice = request.POST.get("granted", "")
        if choice not in ("yes", "no"):
            raise ValidationFailed(_("Choose yes or no."), field="granted")
        services.consent_set(
            customer=customer,
            channel=request.POST.get("channel", ""),
            purpose=request.POST.get("purpose", ""),
            granted=choice == "yes",
        )
        return redirect(reverse("portal:consent") + "?saved=1")
    context = {
        "grid": selectors.consent_grid(customer),
        "saved": request.GET.get("saved") == "1",
        "nav": "consent",
    }
    return render(request, "portal/consent.html", context)


@require_http_methods(["GET", "POST"])
@portal_page
def profile(request: HttpRequest) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    form = ContactForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            kind, value = form.cleaned_data["kind"], form.cleaned_data["value"]
            try:
                auth.contact_code_request(
                    customer=customer, kind=kind, value=value, ip=client_ip(request)
                )
            except YitiError as exc:
                _field_error(form, exc)
                status = exc.status
            else:
                response = redirect("portal:contact_confirm")
                _pending_set(response, CONTACT_COOKIE, {"kind": kind, "value": value})
                return response
        else:
            status = 422
    context = {
        "customer": customer,
        "contacts": selectors.contacts_of(customer),
        "form": form,
        "changed": request.GET.get("changed") == "1",
        "nav": "profile",
    }
    return render(request, "portal/profile.html", context, status=status)


@require_http_methods(["GET", "POST"])
@portal_page
def contact_confirm(request: HttpRequest) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    pending = _pending(request, CONTACT_COOKIE)
    if not isinstance(pending, dict):
        return redirect("portal:profile")
    kind, value = str(pending.get("kind", "")), str(pending.get("value", ""))
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_change_confirm(
                customer=customer, kind=kind, value=value, code=form.cleaned_data["code"]
            )
        except YitiError as exc:
            _field_error(form, exc)
            status = exc.status
        else:
            response = redirect(reverse("portal:profile") + "?changed=1")
            response.delete_cookie(CONTACT_COOKIE, path=auth.COOKIE_PATH)
            return response
    elif request.method == "POST":
        status = 422
    shown = mask_phone(value) if kind == ContactKind.PHONE else mask_email(value)
    context = {"form": form, "target": shown, "nav": "profile"}
    return render(request, "portal/contact_confirm.html", context, status=status)
