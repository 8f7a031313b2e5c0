"""The portal API (/api/v1/portal/) for the mobile business hall (掌上营业厅), documented apart
from staff's (its own OpenAPI at ``/api/v1/portal/openapi.json``).

Sign-in is the one-time code flow: ``POST /auth/code`` then ``POST /auth/token`` answer a
short-lived access token (``Authorization: Bearer yp_…``, 15 minutes) and a refresh token
(30 days, rotated by ``POST /auth/refresh``). A phone of several customers gets tokens that
open nothing until ``POST /auth/account`` picks the account. Staff tokens and sessions are not
accepted here, nor portal tokens by the staff API. Another customer's ticket, message or
order id is a 404, like one that does not exist. Errors are ``{"code", "message", "field"}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import File, Form, NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.files import UploadedFile
from ninja.security import HttpBearer

from yiti.core.errors import YitiError
from yiti.core.middleware import client_ip
from yiti.portal import auth, selectors, services
from yiti.portal.choices import SessionKind
from yiti.portal.errors import PortalErrorCode, Throttled
from yiti.portal.models import PortalSession


class PortalBearer(HttpBearer):
    """``Authorization: Bearer yp_…``: a live access token of a session with its account."""

    def __init__(self, *, account_required: bool = True) -> None:
        super().__init__()
        self.account_required = account_required

    def authenticate(self, request: HttpRequest, token: str) -> PortalSession | None:
        session = auth.session_from_key(token.strip(), kind=SessionKind.API)
        if session is None or (self.account_required and session.customer is None):
            return None
        return session


BEARER = PortalBearer()
BEARER_ANY = PortalBearer(account_required=False)

api = NinjaAPI(
    title="Yiti portal API",
    version="1",
    description=__doc__ or "",
    urls_namespace="portal_api",
    auth=BEARER,
    docs_url=None,  # the document is the JSON; the staff API's viewer is not for customers
)


# --- errors ------------------------------------------------------------------------------------


class ErrorOut(Schema):
    code: str
    message: str
    field: str | None = None


def _error(
    request: HttpRequest, code: str, message: str, status: int, field: str | None = None
) -> HttpResponse:
    return api.create_response(
        request, {"code": code, "message": str(message), "field": field}, status=status
    )


def _on_yiti(request: HttpRequest, exc: Any) -> HttpResponse:
    response = api.create_response(request, exc.as_dict(), status=exc.status)
    if isinstance(exc, Throttled):
        response["Retry-After"] = str(exc.retry_after)
    return response


def _on_validation(request: HttpRequest, exc: Any) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "form", "query", "path")]
    field = loc[-1] if loc else None
    return _error(request, "validation_error", first.get("msg", _("Not valid.")), 422, field)


def _on_http(request: HttpRequest, exc: Any) -> HttpResponse:
    if isinstance(exc, AuthenticationError):
        response: HttpResponse = _error(
            request,
            PortalErrorCode.NOT_SIGNED_IN,
            _("Sign in: send “Authorization: Bearer <access token>” from /auth/token."),
            401,
        )
        response["WWW-Authenticate"] = 'Bearer realm="yiti-portal"'
        return response
    return _error(request, "error", str(exc), exc.status_code)


def _on_404(request: HttpRequest, exc: Any) -> HttpResponse:
    return _error(request, "not_found", _("Not found."), 404)


def _on_403(request: HttpRequest, exc: Any) -> HttpResponse:
    return _error(request, "permission_denied", _("Not allowed."), 403)


api.add_exception_handler(YitiError, _on_yiti)
api.add_exception_handler(NinjaValidationError, _on_validation)
api.add_exception_handler(HttpError, _on_http)
api.add_exception_handler(Http404, _on_404)
api.add_exception_handler(DjangoPermissionDenied, _on_403)


def _customer(request: HttpRequest) -> Any:
    session: PortalSession = request.auth  # type: ignore[attr-defined]
    return session.customer


# --- schemas -----------------------------------------------------------------------------------


class PhoneIn(Schema):
    phone: str


class CodeSent(Schema):
    message: str
    expires_in: int


class TokenIn(Schema):
    phone: str
    code: str


class AccountOut(Schema):
    account: int
    name: str
    unit: str


class TokensOut(Schema):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"  # noqa: S105  (the scheme, not a secret)
    expires_in: int
    accounts: list[AccountOut] | None = None


class RefreshIn(Schema):
    refresh_token: str


class AccountIn(Schema):
    account: int


class TicketOut(Schema):
    id: int
    kind: str
    subject: str
    status: str
    status_label: str
    opened_at: datetime
    campaign_id: int | None = None


class ThreadItemOut(Schema):
    at: datetime
    mine: bool
    text: str
    headline: str = ""
    photo_id: int | None = None


class TicketDetailOut(TicketOut):
    description: str
    thread: list[ThreadItemOut]
    can_reply: bool
    reopen_until: datetime | None = None
    survey: list[dict[str, Any]] | None = None


class OrderOut(Schema):
    id: int
    product: str
    quantity: int
    amount: str
    status: str
    ordered_at: datetime
    step: int


class MessageOut(Schema):
    id: int
    channel: str
    subject: str
    body: str
    created_at: datetime
    read: bool
    response_link: str = ""


class OfferOut(Schema):
    action: str
    name: str
    detail: list[str]


class HomeOut(Schema):
    name: str
    open_tickets: list[TicketOut]
    orders_in_progress: list[OrderOut]
    unread_messages: int
    offers: list[OfferOut]


class CampaignOut(Schema):
    id: int
    name: str


class ReopenIn(Schema):
    reason: str


class RatingIn(Schema):
    answers: dict[int, Any]


class AcceptIn(Schema):
    action: str


class ConsentOut(Schema):
    channel: str
    purpose: str
    granted: bool | None
    since: datetime | None = None


class ConsentIn(Schema):
    channel: str
    purpose: str
    granted: bool


class ContactOut(Schema):
    kind: str
    value: str
    primary: bool


class ProfileOut(Schema):
    name: str
    contacts: list[ContactOut]


class ContactIn(Schema):
    kind: str
    value: str


class ContactConfirmIn(ContactIn):
    code: str


class Done(Schema):
    ok: bool = True


def _ticket(t: Any) -> dict[str, Any]:
    return {
        "id": t.pk,
        "kind": t.kind,
        "subject": t.subject,
        "status": t.status,
        "status_label": selectors.status_label(t.status),
        "opened_at": t.opened_at,
        "campaign_id": t.campaign_id,
    }


def _order(view: selectors.OrderView) -> dict[str, Any]:
    o = view.order
    return {
        "id": o.pk,
        "product": o.product.name,
        "quantity": o.quantity,
        "amount": str(o.amount),
        "status": o.status,
        "ordered_at": o.ordered_at,
        "step": view.step,
    }


def _message(m: Any) -> dict[str, Any]:
    return {
        "id": m.pk,
        "channel": m.channel,
        "subject": m.subject,
        "body": m.body,
        "created_at": m.created_at,
        "read": m.read_at is not None,
        "response_link": selectors.response_link(m),
    }


def _offer(o: selectors.OfferView) -> dict[str, Any]:
    return {"action": o.key, "name": o.name, "detail": o.reasons}


def _tokens(signed: auth.SignedIn) -> dict[str, Any]:
    return {
        "access_token": signed.key,
        "refresh_token": signed.refresh,
        "expires_in": int(auth.access_ttl().total_seconds()),
        "accounts": [
            {"account": i, **selectors.account_label(c)}
            for i, c in enumerate(signed.accounts, start=1)
        ]
        if signed.accounts
        else None,
    }


# --- sign-in -----------------------------------------------------------------------------------

ERRORS = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 429: ErrorOut}


@api.post("/auth/code", auth=None, response={202: CodeSent, **ERRORS}, tags=["sign-in"])
def code_request(request: HttpRequest, payload: PhoneIn) -> Status:
    """Send a six-digit code by SMS. The answer is the same whether or not the number is a
    customer's. Limited per number and per address (429 with ``Retry-After``)."""
    auth.code_request(phone=payload.phone, ip=client_ip(request))
    return Status(
        202,
        {
            "message": _("If this number is one we know, a code is on its way."),
            "expires_in": int(auth.code_ttl().total_seconds()),
        },
    )


@api.post("/auth/token", auth=None, response={200: TokensOut, **ERRORS}, tags=["sign-in"])
def token(request: HttpRequest, payload: TokenIn) -> dict[str, Any]:
    """Exchange the code for tokens. With ``accounts`` listed, pick one (``/auth/account``)."""
    signed = auth.sign_in(
        kind=SessionKind.API,
        phone=payload.phone,
        code=payload.code,
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
    )
    return _tokens(signed)


@api.post("/auth/account", auth=BEARER_ANY, response={200: Done, **ERRORS}, tags=["sign-in"])
def account(request: HttpRequest, payload: AccountIn) -> dict[str, Any]:
    """Which of the phone's accounts the tokens open (1-based, as listed by ``/auth/token``)."""
    auth.account_pick(session=request.auth, choice=payload.account)  # type: ignore[attr-defined]
    return {"ok": True}


@api.post("/auth/refresh", auth=None, response={200: TokensOut, **ERRORS}, tags=["sign-in"])
def refresh(request: HttpRequest, payload: RefreshIn) -> dict[str, Any]:
    """A new access token and refresh token; the old refresh token stops working."""
    return _tokens(auth.tokens_refresh(refresh=payload.refresh_token))


@api.post("/auth/sign-out", auth=BEARER_ANY, response={200: Done, **ERRORS}, tags=["sign-in"])
def sign_out(request: HttpRequest) -> dict[str, Any]:
    auth.sign_out(session=request.auth)  # type: ignore[attr-defined]
    return {"ok": True}


# --- home, tickets -----------------------------------------------------------------------------


@api.get("/home", response={200: HomeOut, **ERRORS}, tags=["home"])
def home(request: HttpRequest) -> dict[str, Any]:
    customer = _customer(request)
    return {
        "name": customer.name,
        "open_tickets": [_ticket(t) for t in selectors.open_tickets_of(customer)],
        "orders_in_progress": [
            _order(o)
            for o in selectors.orders_of(customer, in_progress=True, limit=5, tickets=False)
        ],
        "unread_messages": selectors.unread_of(customer)[0],
        "offers": [_offer(o) for o in selectors.offers_for(customer, top=3)],
    }


@api.get("/tickets", response={200: list[TicketOut], **ERRORS}, tags=["tickets"])
def tickets(request: HttpRequest) -> list[dict[str, Any]]:
    return [_ticket(t) for t in selectors.tickets_of(_customer(request))[:100]]


@api.get("/campaigns", response={200: list[CampaignOut], **ERRORS}, tags=["tickets"])
def campaigns(request: HttpRequest) -> list[dict[str, Any]]:
    """The campaigns that reached me: what a complaint may be about."""
    return [{"id": c.id, "name": c.name} for c in selectors.campaigns_reaching(_customer(request))]


@api.post("/tickets", response={201: TicketOut, **ERRORS}, tags=["tickets"])
def ticket_open(
    request: HttpRequest,
    kind: Form[str],
    subject: Form[str],
    description: Form[str] = "",
    complaint_class: Form[str] = "",
    campaign_id: Form[int | None] = None,
    photo: File[UploadedFile | None] = None,
) -> Status:
    """Open a consultation, repair or complaint (multipart form; ``photo`` optional: JPEG, PNG,
    GIF or WebP, at most 5 MB)."""
    ticket = services.ticket_open(
        customer=_customer(request),
        kind=kind,
        subject=subject,
        description=description,
        complaint_class=complaint_class,
        campaign_id=campaign_id,
        photo=photo,
    )
    return Status(201, _ticket(ticket))


def _detail(customer: Any, ticket_id: int) -> dict[str, Any]:
    ticket = selectors.ticket_for(customer, ticket_id)
    task = selectors.survey_task(ticket)
    survey = None
    if task is not None and not selectors.survey_answered(task):
        survey = [
            {"id": q.pk, "kind": q.kind, "text": q.text, "required": q.required}
            for q in selectors.survey_questions(task)
        ]
    return {
        **_ticket(ticket),
        "description": ticket.description,
        "thread": [vars(i) for i in selectors.thread(ticket)],
        "can_reply": ticket.status not in ("resolved", "closed"),
        "reopen_until": selectors.reopen_until(ticket),
        "survey": survey,
    }


@api.get("/tickets/{ticket_id}", response={200: TicketDetailOut, **ERRORS}, tags=["tickets"])
def ticket(request: HttpRequest, ticket_id: int) -> dict[str, Any]:
    """The request with its public replies (never internal notes or staff names)."""
    return _detail(_customer(request), ticket_id)


@api.post(
    "/tickets/{ticket_id}/replies", response={201: TicketDetailOut, **ERRORS}, tags=["tickets"]
)
def ticket_reply(
    request: HttpRequest,
    ticket_id: int,
    body: Form[str] = "",
    photo: File[UploadedFile | None] = None,
) -> Status:
    customer = _customer(request)
    found = selectors.ticket_for(customer, ticket_id)
    services.ticket_reply(customer=customer, ticket=found, body=body, photo=photo)
    return Status(201, _detail(customer, ticket_id))


@api.post(
    "/tickets/{ticket_id}/reopen", response={200: TicketDetailOut, **ERRORS}, tags=["tickets"]
)
def ticket_reopen(request: HttpRequest, ticket_id: int, payload: ReopenIn) -> dict[str, Any]:
    customer = _customer(request)
    found = selectors.ticket_for(customer, ticket_id)
    services.ticket_reopen_by_customer(customer=customer, ticket=found, reason=payload.reason)
    return _detail(customer, ticket_id)


@api.post("/tickets/{ticket_id}/rating", response={200: Done, **ERRORS}, tags=["tickets"])
def ticket_rate(request: HttpRequest, ticket_id: int, payload: RatingIn) -> dict[str, Any]:
    """Answer the follow-up survey (``survey`` of the ticket): ``{"answers": {id: value}}``."""
    customer = _customer(request)
    found = selectors.ticket_for(customer, ticket_id)
    services.ticket_rate(customer=customer, ticket=found, answers=payload.answers)
    return {"ok": True}


@api.get("/tickets/{ticket_id}/photos/{photo_id}", response={404: ErrorOut}, tags=["tickets"])
def ticket_photo(request: HttpRequest, ticket_id: int, photo_id: int) -> FileResponse:
    customer = _customer(request)
    found = selectors.ticket_for(customer, ticket_id)
    message = selectors.photo_for(customer, found, photo_id)
    return FileResponse(message.photo.open("rb"), content_type=message.photo_type)


# --- orders, messages, offers ---------------------------------------------------------------------


@api.get("/orders", response={200: list[OrderOut], **ERRORS}, tags=["orders"])
def orders(request: HttpRequest) -> list[dict[str, Any]]:
    """My orders; ``step`` 1 received, 2 being processed, 3 done, 0 cancelled."""
    return [_order(o) for o in selectors.orders_of(_customer(request))]


@api.get("/orders/{order_id}", response={200: OrderOut, **ERRORS}, tags=["orders"])
def order(request: HttpRequest, order_id: int) -> dict[str, Any]:
    return _order(selectors.order_for(_customer(request), order_id))


@api.get("/messages", response={200: list[MessageOut], **ERRORS}, tags=["messages"])
def messages(request: HttpRequest) -> list[dict[str, Any]]:
    return [_message(m) for m in selectors.messages_of(_customer(request))[:100]]


@api.get("/messages/{message_id}", response={200: MessageOut, **ERRORS}, tags=["messages"])
def message(request: HttpRequest, message_id: int) -> dict[str, Any]:
    return _message(selectors.message_for(_customer(request), message_id))


@api.post("/messages/{message_id}/read", response={200: MessageOut, **ERRORS}, tags=["messages"])
def message_read(request: HttpRequest, message_id: int) -> dict[str, Any]:
    """Mark read; a campaign's message counts as opened in its wave's funnel."""
    customer = _customer(request)
    found = selectors.message_for(customer, message_id)
    return _message(services.message_read(customer=customer, message=found))


@api.get("/offers", response={200: list[OfferOut], **ERRORS}, tags=["offers"])
def offers(request: HttpRequest) -> list[dict[str, Any]]:
    return [_offer(o) for o in selectors.offers_for(_customer(request))]


@api.post("/offers/accept", response={201: OrderOut, **ERRORS}, tags=["offers"])
def offer_accept(request: HttpRequest, payload: AcceptIn) -> Status:
    """Accept an offer (``action`` from ``/offers``): the order is taken as the agent's order
    form takes it; refused (409) with the reason when it is no longer proposed."""
    customer = _customer(request)
    taken = services.offer_accept(customer=customer, action=payload.action)
    if taken is None:
        raise Http404
    return Status(201, _order(selectors.order_for(customer, taken.pk)))


@api.post("/offers/decline", response={200: Done, **ERRORS}, tags=["offers"])
def offer_decline(request: HttpRequest, payload: AcceptIn) -> dict[str, Any]:
    """Not interested in an offer (``action`` from ``/offers``)."""
    services.offer_decline(customer=_customer(request), action=payload.action)
    return {"ok": True}


# --- consent and profile -----------------------------------------------------------------------


def _consent(customer: Any) -> list[dict[str, Any]]:
    return [
        {"channel": c.channel, "purpose": c.purpose, "granted": c.granted, "since": c.since}
        for row in selectors.consent_grid(customer)
        for c in row
    ]


@api.get("/consent", response={200: list[ConsentOut], **ERRORS}, tags=["consent"])
def consent(request: HttpRequest) -> list[dict[str, Any]]:
    """Every channel × purpose; ``granted`` null: never asked."""
    return _consent(_customer(request))


@api.put("/consent", response={200: list[ConsentOut], **ERRORS}, tags=["consent"])
def consent_set(request: HttpRequest, payload: ConsentIn) -> list[dict[str, Any]]:
    """Change one choice; binding at once for planned waves and sends."""
    customer = _customer(request)
    services.consent_set(
        customer=customer, channel=payload.channel, purpose=payload.purpose, granted=payload.granted
    )
    return _consent(customer)


@api.get("/profile", response={200: ProfileOut, **ERRORS}, tags=["profile"])
def profile(request: HttpRequest) -> dict[str, Any]:
    customer = _customer(request)
    return {
        "name": customer.name,
        "contacts": [
            {"kind": c.kind, "value": c.value, "primary": c.primary}
            for c in selectors.contacts_of(customer)
        ],
    }


@api.post("/profile/contact", response={202: CodeSent, **ERRORS}, tags=["profile"])
def contact_code(request: HttpRequest, payload: ContactIn) -> Status:
    """Send a code to a new phone (``kind`` phone) or e-mail address (``kind`` email)."""
    auth.contact_code_request(
        customer=_customer(request), kind=payload.kind, value=payload.value, ip=client_ip(request)
    )
    return Status(
        202,
        {
            "message": _("A code is on its way."),
            "expires_in": int(auth.code_ttl().total_seconds()),
        },
    )


@api.post("/profile/contact/confirm", response={200: ProfileOut, **ERRORS}, tags=["profile"])
def contact_confirm(request: HttpRequest, payload: ContactConfirmIn) -> dict[str, Any]:
    """The code sent to the new value: it replaces the main phone or e-mail."""
    services.contact_change_confirm(
        customer=_customer(request), kind=payload.kind, value=payload.value, code=payload.code
    )
    return profile(request)
