"""The product catalogue pages: the list (everyone signed in), create and edit, put on or
take off sale (``product.manage``: administrators and campaign managers)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yiti.core.errors import ValidationFailed
from yiti.core.htmx import render_page_or_partial
from yiti.core.pagination import paginate, parse_page
from yiti.core.web import yiti_errors
from yiti.customers import selectors, services
from yiti.customers.choices import ProductCategory
from yiti.customers.product_forms import ProductForm
from yiti.org.access import access_for
from yiti.org.forms import apply_error
from yiti.org.roles import Perm
from yiti.org.web import acting_user

ACTIVE_CHOICES = (("true", _("On sale")), ("false", _("Deactivated")), ("all", _("All")))


@login_required
@yiti_errors
@require_GET
def product_list(request: HttpRequest) -> HttpResponse:
    filters = selectors.ProductFilters.from_mapping(request.GET)
    page = paginate(
        selectors.product_list(filters),
        page=parse_page(request.GET.get("page")),
        size=settings.YITI_PAGE_SIZE,
    )
    active = {True: "true", False: "false", None: "all"}[filters.active]
    context = {
        "page": page,
        "filters": filters,
        "active": active,
        "categories": ProductCategory.choices,
        "active_choices": [(v, str(label)) for v, label in ACTIVE_CHOICES],
        "can_manage": access_for(request.user).has(Perm.PRODUCT_MANAGE),
    }
    return render_page_or_partial(
        request, "customers/products/list.html", "customers/products/_results.html", context
    )


def _save(request: HttpRequest, form: ProductForm) -> bool:
    data = form.cleaned_data
    fields = {
        "code": data["code"],
        "name": data["name"],
        "category": data["category"],
        "price": data["price"],
        "margin_rate": data["margin_rate"],
        "unit_margin": data["unit_margin"],
        "active": data["active"],
    }
    try:
        if form.product is None:
            product = services.product_create(actor=acting_user(request), **fields)
        else:
            product = services.product_update(
                actor=acting_user(request), product=form.product, **fields
            )
    except ValidationFailed as exc:
        apply_error(form, exc)
        return False
    messages.success(request, _("Product “%(name)s” saved.") % {"name": product.name})
    return True


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def product_create(request: HttpRequest) -> HttpResponse:
    access_for(request.user).require(Perm.PRODUCT_MANAGE)
    form = ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and _save(request, form):
        return redirect("products:list")
    return render(
        request,
        "customers/products/form.html",
        {"form": form, "product": None},
        status=422 if form.errors else 200,
    )


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def product_edit(request: HttpRequest, code: str) -> HttpResponse:
    access_for(request.user).require(Perm.PRODUCT_MANAGE)
    product = selectors.product_get(code)
    form = ProductForm(request.POST or None, product=product)
    if request.method == "POST" and form.is_valid() and _save(request, form):
        return redirect("products:list")
    return render(
        request,
        "customers/products/form.html",
        {"form": form, "product": product},
        status=422 if form.errors else 200,
    )


@login_required
@yiti_errors
@require_POST
def product_set_active(request: HttpRequest, code: str) -> HttpResponse:
    """Take a product off sale (``active=0``) or back on sale (``active=1``)."""
    product = selectors.product_get(code)
    active = request.POST.get("active") == "1"
    services.product_update(actor=acting_user(request), product=product, active=active)
    if active:
        messages.success(request, _("“%(name)s” is on sale again.") % {"name": product.name})
    else:
        messages.success(
            request,
            _("“%(name)s” is deactivated: order forms no longer offer it.")
            % {"name": product.name},
        )
    return redirect("products:list")
