"""Web pages for importing and exporting customers. Thin: the work is in imports/exports."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from yiti.core.errors import ValidationFailed
from yiti.core.web import yiti_errors
from yiti.customers.choices import CustomerKind, CustomerStatus
from yiti.customers.exports import (
    FORMATS,
    XLSX_MAX_ROWS,
    csv_bytes,
    csv_chunks,
    customers_export,
    xlsx_file,
)
from yiti.customers.import_jobs import (
    error_report_rows,
    import_job_create,
    import_job_get_for,
    import_jobs_for,
)
from yiti.customers.imports import COLUMNS, template_headers
from yiti.customers.selectors import CustomerFilters
from yiti.org.access import access_for
from yiti.org.models import OrgUnit
from yiti.org.roles import Perm
from yiti.org.selectors import account_managers_visible, units_visible


def _require(request: HttpRequest, perm: Perm) -> None:
    if not access_for(request.user).has(perm):
        raise PermissionDenied(_("You do not have permission to do this."))


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "CSV (UTF-8 or GBK) or Excel .xlsx; the first row names the columns."
        ),
    )
    unit = forms.ModelChoiceField(
        queryset=OrgUnit.objects.none(),
        required=False,
        to_field_name="code",
        label=gettext_lazy("Default unit"),
        help_text=gettext_lazy("Used for new customers whose row names no unit."),
    )
    skip_invalid = forms.BooleanField(
        required=False, label=gettext_lazy("Skip invalid rows and import the valid ones")
    )
    dry_run = forms.BooleanField(
        required=False, label=gettext_lazy("Validate only: check every row, write nothing")
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units_visible(user)  # type: ignore[attr-defined]


def _column_help() -> list[dict[str, Any]]:
    return [
        {
            "key": c.key,
            "label": c.label,
            "aliases": ", ".join(c.aliases[:4]),
            "required": c.required,
        }
        for c in COLUMNS
    ]


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def import_page(request: HttpRequest) -> HttpResponse:
    """The old one-step customer import: the page moved to /imports/ (upload, map, follow).

    A POST (a bookmarked form or a script) still works: the file is queued as a customers job
    with the columns mapped from its headers, and the answer is the job's page.
    """
    _require(request, Perm.CUSTOMER_IMPORT)
    if request.method == "GET":
        return redirect(f"{reverse('imports:index')}?kind=customers")
    form = ImportForm(request.POST, request.FILES, user=request.user)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        unit = form.cleaned_data["unit"]
        try:
            job = import_job_create(
                actor=request.user,  # type: ignore[arg-type]  # login_required: a User
                kind="customers",
                file_name=upload.name,
                content=upload,
                options={"default_unit": unit.code if unit else ""},
                skip_invalid=form.cleaned_data["skip_invalid"],
                dry_run=form.cleaned_data["dry_run"],
            )
        except ValidationFailed as exc:
            form.add_error("file", exc.message)
        else:
            return redirect("imports:job", job_id=job.pk)
    context = {
        "form": form,
        "columns": _column_help(),
        "jobs": import_jobs_for(request.user),
    }
    return render(request, "customers_io/import.html", context, status=422)


@login_required
@yiti_errors
@require_GET
def import_result(request: HttpRequest, job_id: int) -> HttpResponse:
    import_job_get_for(request.user, job_id)
    return redirect("imports:job", job_id=job_id)


@login_required
@yiti_errors
@require_GET
def import_errors_csv(request: HttpRequest, job_id: int) -> HttpResponse:
    job = import_job_get_for(request.user, job_id)
    body = csv_bytes(error_report_rows(job))
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response


@login_required
@require_GET
def import_template(request: HttpRequest) -> HttpResponse:
    """An empty sheet with the column names in the user's language and one example row."""
    _require(request, Perm.CUSTOMER_IMPORT)
    unit = units_visible(request.user).exclude(kind="company").first()
    owner = account_managers_visible(request.user).first()
    example = {
        "name": _("Zhang Wei"),
        "unit": unit.code if unit else "",
        "phone": "13812345678",
        "email": "zhang.wei@example.com",
        "wechat": "",
        "external_id": "CRM-000001",
        "owner": owner.username if owner else "",
        "kind": str(CustomerKind.PERSON.label),
        "city": _("Hangzhou"),
        "address": "",
        "industry": "",
        "sms_marketing": _("yes"),
        "note": "",
    }
    body = csv_bytes([template_headers(), [example[c.key] for c in COLUMNS]])
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="customers-template.csv"'
    return response


@login_required
@yiti_errors
@require_GET
def export(request: HttpRequest) -> HttpResponse:
    """``?<customer list filters>&format=csv|xlsx[&reveal=1]``; without a format, the form."""
    _require(request, Perm.CUSTOMER_EXPORT)
    fmt = request.GET.get("format", "")
    access = access_for(request.user)
    if fmt not in FORMATS:
        context = {
            "filters": CustomerFilters.from_mapping(request.GET),
            "units": units_visible(request.user),
            "kinds": CustomerKind.choices,
            "statuses": [*CustomerStatus.choices, ("all", _("All"))],
            "can_reveal": access.has(Perm.PII_REVEAL),
            "xlsx_max": XLSX_MAX_ROWS,
            "bad_format": fmt,
        }
        return render(request, "customers_io/export.html", context, status=422 if fmt else 200)
    filters = CustomerFilters.from_mapping(request.GET)
    try:
        result = customers_export(
            actor=request.user, filters=filters, fmt=fmt, reveal=request.GET.get("reveal") == "1"
        )
    except ValidationFailed as exc:
        query = request.GET.copy()
        query.pop("format", None)
        context = {"message": exc.message, "query": query.urlencode()}
        return render(request, "customers_io/export_refused.html", context, status=422)
    if fmt == "csv":
        response: HttpResponseBase = StreamingHttpResponse(
            csv_chunks(result), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{result.file_stem}.csv"'
    else:
        response = FileResponse(
            xlsx_file(result),
            as_attachment=True,
            filename=f"{result.file_stem}.xlsx",
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["X-Yiti-Rows"] = str(result.count)
    response["Cache-Control"] = "no-store"
    return cast(HttpResponse, response)  # streaming and file responses alike
