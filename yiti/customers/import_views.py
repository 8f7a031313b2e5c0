"""The import pages (/imports/): upload, map the columns, follow the job. Thin: the work is in
``import_jobs`` (creating and queueing jobs) and ``imports_runner`` (running them)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from yiti.core.errors import NotFound, ValidationFailed
from yiti.core.htmx import is_htmx
from yiti.core.web import yiti_errors
from yiti.customers.choices import ImportStatus, SalesChannel
from yiti.customers.exports import csv_bytes
from yiti.customers.import_jobs import (
    ERRORS_SHOWN,
    error_report_rows,
    import_job_create,
    import_job_get_for,
    import_jobs_for,
    importer_of,
    kinds_for,
    staged,
    staged_discard,
    template_rows,
    upload_stage,
)
from yiti.customers.importing import ImportContext, Importer
from yiti.customers.imports_runner import preview, progress_of
from yiti.org.selectors import units_visible

RUNNING = (ImportStatus.QUEUED, ImportStatus.RUNNING)


def _kinds(request: HttpRequest) -> list[tuple[str, str]]:
    kinds = kinds_for(request.user)
    if not kinds:
        raise PermissionDenied(_("You do not have permission to do this."))
    return kinds


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What to import"))
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "CSV (UTF-8 or GBK) or Excel .xlsx; the first row names the columns."
        ),
    )

    def __init__(self, *args: Any, kinds: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kinds  # type: ignore[attr-defined]


class OptionsForm(forms.Form):
    skip_invalid = forms.BooleanField(
        required=False, label=gettext_lazy("Skip invalid rows and import the valid ones")
    )
    dry_run = forms.BooleanField(
        required=False, label=gettext_lazy("Validate only: check every row, write nothing")
    )
    default_unit: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=None,
        required=False,
        to_field_name="code",
        label=gettext_lazy("Default unit"),
        help_text=gettext_lazy("Used for new customers whose row names no unit."),
    )
    channel = forms.ChoiceField(
        required=False,
        label=gettext_lazy("Default sales channel"),
        help_text=gettext_lazy("Used for orders whose row names no channel."),
    )

    def __init__(self, *args: Any, user: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["default_unit"].queryset = units_visible(user)  # type: ignore[attr-defined]
        self.fields["channel"].choices = [("", "—"), *SalesChannel.choices]  # type: ignore[attr-defined]
        if kind != "customers":
            del self.fields["default_unit"]
        if kind != "orders":
            del self.fields["channel"]


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def index(request: HttpRequest) -> HttpResponse:
    """Step 1: choose what to import and upload the file."""
    user: Any = request.user  # login_required: a User
    kinds = _kinds(request)
    wanted = request.GET.get("kind", "")
    initial = {"kind": wanted if wanted in dict(kinds) else kinds[0][0]}
    form = UploadForm(request.POST or None, request.FILES or None, kinds=kinds, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            kind = form.cleaned_data["kind"]
            token = ""
            try:
                token = upload_stage(
                    session=request.session,
                    actor=user,
                    kind=kind,
                    upload=form.cleaned_data["file"],
                    options={},
                )
                path, meta = staged(session=request.session, actor=user, token=token)
                preview(path, meta["file_name"], importer_of(kind))  # a bad file is told here
            except ValidationFailed as exc:
                if token:
                    staged_discard(token)
                form.add_error("file", exc.message)
            else:
                return redirect("imports:map", token=token)
        status = 422
    context = {
        "form": form,
        "kinds": kinds,
        "jobs": import_jobs_for(request.user),
    }
    return render(request, "customers_io/imports_index.html", context, status=status)


def _columns(importer: Importer) -> list[dict[str, Any]]:
    return [
        {
            "key": c.key,
            "label": c.label,
            "required": c.required,
            "help": c.help,
            "aliases": ", ".join(c.aliases[:4]),
        }
        for c in importer.columns
    ]


@login_required
@yiti_errors
@require_http_methods(["GET", "POST"])
def mapping(request: HttpRequest, token: str) -> HttpResponse:
    """Step 2: see the first rows, map each column, choose the options, start."""
    user: Any = request.user
    path, meta = staged(session=request.session, actor=user, token=token)
    kind = meta["kind"]
    importer = importer_of(kind)
    shown = preview(path, meta["file_name"], importer)
    options = OptionsForm(request.POST or None, user=user, kind=kind)
    chosen = {position: key for key, position in shown.mapping.items()}
    problems: list[str] = []
    status = 200
    if request.method == "POST":
        keys = {c.key for c in importer.columns}
        chosen = {}
        for position in range(len(shown.headers)):
            key = request.POST.get(f"col_{position}", "")
            if key in keys:
                chosen[position] = key
        by_key: dict[str, int] = {}
        for position, key in chosen.items():
            if key in by_key:
                label = next(str(c.label) for c in importer.columns if c.key == key)
                problems.append(
                    _("Two columns are mapped to “%(label)s”; choose one.") % {"label": label}
                )
            by_key[key] = position
        required = getattr(importer, "required_columns", None)
        needed = (
            [c.key for c in importer.columns if c.required]
            if required is None
            else list(
                required(
                    ImportContext(
                        actor=user,
                        access=None,
                        job_id=0,
                        options={"default_unit": request.POST.get("default_unit", "")},
                    )
                )
            )
        )
        for key in needed:
            if key not in by_key:
                label = next(str(c.label) for c in importer.columns if c.key == key)
                problems.append(
                    _("Map a column to “%(label)s”: it is required.") % {"label": label}
                )
        if options.is_valid() and not problems:
            data = options.cleaned_data
            unit = data.get("default_unit")
            try:
                job = import_job_create(
                    actor=user,
                    kind=kind,
                    file_name=meta["file_name"],
                    content=path,
                    mapping=by_key,
                    options={
                        "default_unit": unit.code if unit else "",
                        "channel": data.get("channel", ""),
                    },
                    dry_run=data["dry_run"],
                    skip_invalid=data["skip_invalid"],
                )
            except ValidationFailed as exc:
                problems.append(exc.message)
            else:
                staged_discard(token)
                return redirect("imports:job", job_id=job.pk)
        status = 422
    width = len(shown.headers)
    context = {
        "token": token,
        "kind": kind,
        "kind_label": dict(kinds_for(user)).get(kind, kind),
        "file_name": meta["file_name"],
        "columns": _columns(importer),
        "headers": [
            {"position": i, "text": h, "key": chosen.get(i, "")}
            for i, h in enumerate(shown.headers)
        ],
        "rows": [[*row[:width], *[""] * (width - len(row))] for row in shown.rows],
        "options": options,
        "problems": problems,
    }
    return render(request, "customers_io/imports_map.html", context, status=status)


def _job_context(job: Any) -> dict[str, Any]:
    blocked = job.status in (ImportStatus.REJECTED, ImportStatus.FAILED) or (
        job.error_count > 0
        and (
            not job.skip_invalid or job.created_count + job.updated_count + job.unchanged_count == 0
        )
    )
    return {
        "job": job,
        "running": job.status in RUNNING,
        "progress": progress_of(job),
        "blocked": blocked,
        "errors": job.errors[:ERRORS_SHOWN],
        "errors_shown": min(len(job.errors), ERRORS_SHOWN),
        "more_errors": max(job.error_count - ERRORS_SHOWN, 0),
    }


@login_required
@yiti_errors
@require_GET
def job(request: HttpRequest, job_id: int) -> HttpResponse:
    """Step 3: the job: a progress bar while it runs, then counts and errors."""
    found = import_job_get_for(request.user, job_id)
    context = _job_context(found)
    context["jobs"] = import_jobs_for(request.user)
    if is_htmx(request):
        return render(request, "customers_io/_import_job_poll.html", context)
    return render(request, "customers_io/imports_job.html", context)


@login_required
@yiti_errors
@require_GET
def errors_csv(request: HttpRequest, job_id: int) -> HttpResponse:
    found = import_job_get_for(request.user, job_id)
    response = HttpResponse(
        csv_bytes(error_report_rows(found)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{found.pk}-errors.csv"'
    return response


@login_required
@yiti_errors
@require_GET
def template(request: HttpRequest, kind: str) -> HttpResponse:
    """An empty sheet of a kind with the column names in the user's language and an example."""
    if kind not in dict(_kinds(request)):
        raise NotFound(_("Unknown kind of import."))
    if kind == "customers":
        return redirect("customers_io:import_template")
    response = HttpResponse(csv_bytes(template_rows(kind)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{kind}-template.csv"'
    return response
