"""系统管理: the unit tree, people and their roles, the roles explained, the first-run path."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from yiti.administration import selectors
from yiti.administration.forms import (
    PASSWORD_LINK,
    PASSWORD_SET,
    MembershipForm,
    PasswordResetForm,
    UnitCreateForm,
    UnitMoveForm,
    UnitRenameForm,
    UserCreateForm,
    UserEditForm,
    UserFilterForm,
)
from yiti.administration.services import unit_deactivate, unit_reactivate
from yiti.core.errors import Conflict, ValidationFailed, YitiError
from yiti.core.htmx import render_page_or_partial
from yiti.core.pagination import paginate, parse_page
from yiti.core.web import yiti_errors
from yiti.customers.models import Customer
from yiti.org.access import access_for
from yiti.org.choices import Role, UnitKind
from yiti.org.forms import apply_error
from yiti.org.models import Membership, OrgUnit, User
from yiti.org.roles import PERM_SENTENCES, ROLE_PERMS, ROLE_SCOPE, UNIT_ONLY_ROLES, Perm
from yiti.org.services import (
    MembershipInput,
    can_manage_people,
    can_manage_user,
    membership_end,
    membership_grant,
    password_link_send,
    unit_create,
    unit_move,
    unit_rename,
    user_create,
    user_set_active,
    user_set_password,
    user_update,
)
from yiti.org.views import home as default_home
from yiti.org.web import acting_user


def _require_admin(request: HttpRequest) -> None:
    if not access_for(request.user).has(Perm.ORG_MANAGE):
        raise DjangoPermissionDenied(_("Only administrators manage the organisation."))


def _require_people(request: HttpRequest) -> None:
    if not can_manage_people(request.user):
        raise DjangoPermissionDenied(
            _("Only administrators and region managers manage people and their roles.")
        )


def home(request: HttpRequest) -> HttpResponse:
    """The start page (URL name ``home``): an administrator of a company that is not set up
    yet lands on the first-run checklist; everybody else where they always did."""
    if (
        request.user.is_authenticated
        and access_for(request.user).has(Perm.ORG_MANAGE)
        and not selectors.checklist_complete()
    ):
        return redirect("administration:start")
    return default_home(request)


# --- index, checklist, roles -------------------------------------------------------------------


CHECKLIST_LINKS: dict[str, tuple[str, Any]] = {
    "units": ("administration:units", _("Company and units")),
    "users": ("administration:users", _("Users and their roles")),
    "products": ("products:list", _("Products")),
    "customers": ("imports:index", _("Import customers")),
    "orders": ("imports:index", _("Import orders")),
    "policy": ("policy:index", _("Contact policy")),
    "calendar": ("service:calendars", _("SLA calendar")),
}


def _checklist_rows() -> list[dict[str, Any]]:
    hints = {
        "units": _("The company and at least one unit below it (regions, branches, departments)."),
        "users": _("Somebody besides the superuser, with a role in a unit."),
        "products": _("What you sell, with prices and margins."),
        "customers": _("Your existing customers, from a CSV or Excel file."),
        "orders": _("Historic orders, so customer value and the next best action have data."),
        "policy": _("How often customers may be contacted, and when not."),
        "calendar": _("Working hours and holidays for the service SLA clocks."),
    }
    return [
        {
            "key": item.key,
            "done": item.done,
            "count": item.count,
            "url_name": CHECKLIST_LINKS[item.key][0],
            "label": CHECKLIST_LINKS[item.key][1],
            "hint": hints[item.key],
        }
        for item in selectors.checklist()
    ]


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    _require_people(request)
    rows = _checklist_rows()
    context = {
        "is_admin": access_for(request.user).has(Perm.ORG_MANAGE),
        "checklist_done": sum(1 for r in rows if r["done"]),
        "checklist_total": len(rows),
    }
    return render(request, "administration/index.html", context)


@login_required
@require_GET
def start(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    rows = _checklist_rows()
    return render(
        request,
        "administration/start.html",
        {"rows": rows, "complete": all(r["done"] for r in rows)},
    )


@login_required
@require_GET
def roles(request: HttpRequest) -> HttpResponse:
    rows = []
    for value, label in Role.choices:
        perms = ROLE_PERMS.get(value, frozenset())
        rows.append(
            {
                "value": value,
                "label": label,
                "scope": ROLE_SCOPE[value],
                "unit_only": value in UNIT_ONLY_ROLES,
                "may": [PERM_SENTENCES.get(p, str(p)) for p in Perm if p in perms],
                "may_not": [PERM_SENTENCES.get(p, str(p)) for p in Perm if p not in perms],
                "reveal": Perm.PII_REVEAL in perms,
            }
        )
    return render(request, "administration/roles.html", {"roles": rows})


# --- units --------------------------------------------------------------------------------------


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def units(request: HttpRequest) -> HttpResponse:
    """The tree; with no company yet, the form to create it."""
    _require_admin(request)
    has_company = OrgUnit.objects.exists()
    form = None
    if not has_company:
        form = UnitCreateForm(
            request.POST or None,
            units=OrgUnit.objects.none(),
            initial={"kind": UnitKind.COMPANY},
        )
        form.fields["kind"].choices = [(UnitKind.COMPANY, UnitKind.COMPANY.label)]  # type: ignore[attr-defined]
        if request.method == "POST" and form.is_valid():
            try:
                unit_create(
                    actor=acting_user(request),
                    name=form.cleaned_data["name"],
                    code=form.cleaned_data["code"],
                    kind=UnitKind.COMPANY,
                )
            except ValidationFailed as exc:
                apply_error(form, exc)
            else:
                messages.success(request, _("Company created. Now add its regions and branches."))
                return redirect("administration:units")
    elif request.method == "POST":
        return redirect("administration:units")
    context = {"rows": selectors.unit_tree(), "form": form}
    return render(
        request,
        "administration/units.html",
        context,
        status=422 if form is not None and form.errors else 200,
    )


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def unit_create_view(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    pickable = OrgUnit.objects.filter(active=True).order_by("path")
    initial: dict[str, Any] = {"kind": UnitKind.BRANCH}
    parent_raw = request.GET.get("parent", "")
    if parent_raw.isdigit() and len(parent_raw) < 19:
        initial["parent"] = pickable.filter(pk=int(parent_raw)).first()
    form = UnitCreateForm(request.POST or None, units=pickable, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            unit = unit_create(
                actor=acting_user(request),
                name=data["name"],
                code=data["code"],
                kind=data["kind"],
                parent=data["parent"],
            )
        except ValidationFailed as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Unit “%(name)s” created.") % {"name": unit.name})
            return redirect("administration:units")
    return render(
        request,
        "administration/unit_create.html",
        {"form": form},
        status=422 if form.errors else 200,
    )


MAX_ID = 2**63 - 1


def _unit_or_404(unit_id: int) -> OrgUnit:
    unit = OrgUnit.objects.select_related("parent").filter(pk=min(unit_id, MAX_ID)).first()
    if unit is None:
        raise Http404(_("No such unit."))
    return unit


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def unit_edit(request: HttpRequest, unit_id: int) -> HttpResponse:
    """Rename, move, deactivate or reactivate one unit; each form posts its ``action``."""
    _require_admin(request)
    unit = _unit_or_404(unit_id)
    actor = acting_user(request)
    targets = OrgUnit.objects.filter(active=True).exclude(path__startswith=unit.path)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    rename = UnitRenameForm(
        request.POST if action == "rename" else None, initial={"name": unit.name}
    )
    move = UnitMoveForm(
        request.POST if action == "move" else None,
        units=targets.order_by("path"),
        initial={"parent": unit.parent},
    )
    active_error = ""
    if action == "rename" and rename.is_valid():
        try:
            unit_rename(unit=unit, name=rename.cleaned_data["name"], actor=actor)
        except ValidationFailed as exc:
            apply_error(rename, exc)
        else:
            messages.success(request, _("Unit renamed."))
            return redirect("administration:unit_edit", unit_id=unit.pk)
    elif action == "move" and move.is_valid():
        try:
            unit_move(unit=unit, parent=move.cleaned_data["parent"], actor=actor)
        except ValidationFailed as exc:
            apply_error(move, exc)
        else:
            messages.success(
                request,
                _("Unit moved: everybody's access below it follows from now on."),
            )
            return redirect("administration:unit_edit", unit_id=unit.pk)
    elif action == "deactivate" and request.POST.get("confirm") != "1":
        active_error = _("Tick the box to confirm the deactivation.")
    elif action in ("deactivate", "reactivate"):
        try:
            if action == "deactivate":
                n = unit_deactivate(unit=unit, actor=actor)
                messages.success(request, _("%(n)d unit(s) deactivated.") % {"n": n})
            else:
                n = unit_reactivate(unit=unit, actor=actor)
                messages.success(request, _("%(n)d unit(s) reactivated.") % {"n": n})
        except (Conflict, ValidationFailed) as exc:
            active_error = exc.message
        else:
            return redirect("administration:unit_edit", unit_id=unit.pk)
    unit.refresh_from_db()
    held = selectors.unit_holdings(unit)
    context = {
        "unit": unit,
        "rename": rename,
        "move": move,
        "active_error": active_error,
        "held": held,
        "is_company": unit.kind == UnitKind.COMPANY,
        "members": Membership.objects.current()
        .filter(unit=unit)
        .select_related("user")
        .order_by("role", "user__username")[:50],
    }
    failed = rename.errors or move.errors or active_error
    return render(request, "administration/unit_edit.html", context, status=422 if failed else 200)


# --- users --------------------------------------------------------------------------------------


def _user_or_404(request: HttpRequest, user_id: int) -> User:
    user = selectors.users_visible(request.user).filter(pk=min(user_id, MAX_ID)).first()
    if user is None:
        raise Http404(_("No such user."))
    return user


@login_required
@require_GET
def users(request: HttpRequest) -> HttpResponse:
    _require_people(request)
    filters = selectors.UserFilters.from_mapping(request.GET)
    page = paginate(
        selectors.user_list(request.user, filters),
        page=parse_page(request.GET.get("page")),
        size=settings.YITI_PAGE_SIZE,
    )
    roles_of = selectors.memberships_by_user([u.pk for u in page.items])
    rows = [{"user": u, "memberships": roles_of.get(u.pk, [])} for u in page.items]
    form = UserFilterForm(
        request.GET or None, units=selectors.units_pickable(request.user, manageable_only=True)
    )
    context = {"page": page, "rows": rows, "form": form, "filters": filters}
    return render_page_or_partial(
        request, "administration/users.html", "administration/_users_results.html", context
    )


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def user_create_view(request: HttpRequest) -> HttpResponse:
    _require_people(request)
    actor = acting_user(request)
    is_admin = access_for(actor).has(Perm.ORG_MANAGE)
    form = UserCreateForm(
        request.POST or None,
        units=selectors.units_pickable(actor, manageable_only=True),
        with_admin=is_admin,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        link = data["password_mode"] == PASSWORD_LINK
        try:
            user = user_create(
                actor=actor,
                username=data["username"],
                password=None if link else data["password"],
                display_name=data["display_name"],
                email=data["email"],
                phone=data["phone"],
                memberships=[
                    MembershipInput(
                        unit=data["unit"],
                        role=data["role"],
                        starts_on=data["starts_on"],
                        ends_on=data["ends_on"],
                    )
                ],
                send_link=link,
                base_url=request.build_absolute_uri("/"),
            )
        except YitiError as exc:
            apply_error(form, exc)
        else:
            if link:
                messages.success(
                    request,
                    _("%(user)s created; a link to choose a password is on its way to %(email)s.")
                    % {"user": user, "email": user.email},
                )
            else:
                messages.success(request, _("%(user)s created.") % {"user": user})
            return redirect("administration:user_detail", user_id=user.pk)
    return render(
        request,
        "administration/user_create.html",
        {"form": form},
        status=422 if form.errors else 200,
    )


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    """One person: details, memberships (grant, end), password, deactivate/reactivate."""
    _require_people(request)
    actor = acting_user(request)
    user = _user_or_404(request, user_id)
    may = can_manage_user(actor, user)
    is_admin = access_for(actor).has(Perm.ORG_MANAGE)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if action and not may:
        raise DjangoPermissionDenied(_("You may not change this person."))
    edit = UserEditForm(
        request.POST if action == "edit" else None,
        initial={"display_name": user.display_name, "email": user.email, "phone": user.phone},
    )
    grant = MembershipForm(
        request.POST if action == "grant" else None,
        units=selectors.units_pickable(actor, manageable_only=True),
        with_admin=is_admin,
        prefix="grant",
    )
    password = PasswordResetForm(request.POST if action == "password" else None, prefix="pw")
    if action == "edit" and edit.is_valid():
        try:
            user_update(user=user, actor=actor, **edit.cleaned_data)
        except YitiError as exc:
            apply_error(edit, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("administration:user_detail", user_id=user.pk)
    elif action == "grant" and grant.is_valid():
        data = grant.cleaned_data
        try:
            membership_grant(
                user=user,
                unit=data["unit"],
                role=data["role"],
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                actor=actor,
            )
        except YitiError as exc:
            apply_error(grant, exc)
        else:
            messages.success(request, _("Role granted."))
            return redirect("administration:user_detail", user_id=user.pk)
    elif action == "password" and password.is_valid():
        try:
            if password.cleaned_data["mode"] == PASSWORD_SET:
                user_set_password(
                    user=user, password=password.cleaned_data["password"], actor=actor
                )
                messages.success(request, _("New password set."))
            else:
                password_link_send(user=user, actor=actor, base_url=request.build_absolute_uri("/"))
                messages.success(
                    request, _("A link to choose a new password is on its way to the user.")
                )
        except YitiError as exc:
            apply_error(password, exc, fields={"email": "mode"})
        else:
            return redirect("administration:user_detail", user_id=user.pk)
    context = {
        "subject": user,
        "may": may,
        "edit": edit,
        "grant": grant,
        "password": password,
        "memberships": selectors.user_memberships(user),
        "history": selectors.user_history(user),
        "is_self": user.pk == actor.pk,
    }
    failed = edit.errors or grant.errors or password.errors
    return render(
        request, "administration/user_detail.html", context, status=422 if failed else 200
    )


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def user_active(request: HttpRequest, user_id: int) -> HttpResponse:
    """Deactivate or reactivate, after a confirmation page."""
    _require_people(request)
    user = _user_or_404(request, user_id)
    if request.method == "POST":
        active = request.POST.get("active") == "1"
        user_set_active(user=user, active=active, actor=acting_user(request))
        if active:
            messages.success(request, _("%(user)s can sign in again.") % {"user": user})
        else:
            messages.success(
                request,
                _("%(user)s is deactivated: sign-in and API tokens stopped.") % {"user": user},
            )
        return redirect("administration:user_detail", user_id=user.pk)
    owned = 0
    if user.is_active:
        owned = Customer.objects.filter(owner=user).count()
    return render(request, "administration/user_active.html", {"subject": user, "owned": owned})


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def membership_end_view(request: HttpRequest, membership_id: int) -> HttpResponse:
    _require_people(request)
    membership = (
        Membership.objects.select_related("user", "unit")
        .filter(pk=min(membership_id, MAX_ID))
        .first()
    )
    if (
        membership is None
        or not selectors.users_visible(request.user).filter(pk=membership.user_id).exists()
    ):
        raise Http404(_("No such membership."))
    if request.method == "POST":
        membership_end(membership=membership, actor=acting_user(request))
        messages.success(request, _("Role ended today."))
        return redirect("administration:user_detail", user_id=membership.user_id)
    return render(request, "administration/membership_end.html", {"membership": membership})
