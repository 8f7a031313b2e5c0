"""API of import jobs (mounted at /api/v1/imports).

``POST /imports`` stores the uploaded file and queues the job (202): the worker runs it and
``GET /imports/{id}`` reports progress, counts and the first errors while it runs and after;
``GET /imports/{id}/errors.csv`` is the full error report. Each kind needs its own permission.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from yiti.core.errors import ValidationFailed
from yiti.customers.exports import csv_bytes
from yiti.customers.import_jobs import (
    error_report_rows,
    import_job_create,
    import_job_get_for,
    import_jobs_for,
    importer_of,
)
from yiti.customers.importing import auto_mapping
from yiti.customers.imports_runner import open_source, progress_of
from yiti.customers.models import ImportJob

router = Router(tags=["imports"])

ERRORS_IN_ANSWER = 100


class ImportErrorOut(Schema):
    row: int
    column: str
    value: str
    reason: str


class ImportJobOut(Schema):
    id: int
    kind: str
    file_name: str
    status: str
    status_label: str
    dry_run: bool
    skip_invalid: bool
    mapping: dict[str, int]
    options: dict[str, Any]
    bytes_total: int
    bytes_read: int
    rows_read: int
    percent: int
    phase: str
    rows: int
    created: int
    updated: int
    unchanged: int
    skipped: int
    errors_total: int
    errors: list[ImportErrorOut]
    message: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    seconds: float

    @classmethod
    def of(cls, job: ImportJob, *, with_errors: bool = True) -> ImportJobOut:
        progress = progress_of(job)
        errors = job.errors[:ERRORS_IN_ANSWER] if with_errors else []
        return cls(
            id=job.pk,
            kind=job.kind,
            file_name=job.file_name,
            status=job.status,
            status_label=str(job.get_status_display()),
            dry_run=job.dry_run,
            skip_invalid=job.skip_invalid,
            mapping=job.mapping or {},
            options=job.options or {},
            bytes_total=job.bytes_total,
            bytes_read=int(progress["bytes_read"]),
            rows_read=int(progress["rows_read"]),
            percent=int(progress["percent"]),
            phase=str(progress["phase"]),
            rows=job.row_count,
            created=job.created_count,
            updated=job.updated_count,
            unchanged=job.unchanged_count,
            skipped=job.skipped_count,
            errors_total=max(job.error_count, int(progress["errors"])),
            errors=[
                ImportErrorOut(row=int(r), column=str(c), value=str(v), reason=str(m))
                for r, c, v, m in errors
            ],
            message=job.message,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            seconds=job.seconds,
        )


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _mapping(text: str, upload: UploadedFile, kind: str) -> dict[str, int] | None:
    """``{"key": "header text" | position}`` -> key -> position (the rest mapped automatically)."""
    if not text.strip():
        return None
    try:
        wanted = json.loads(text)
    except ValueError:
        wanted = None
    if not isinstance(wanted, dict):
        raise ValidationFailed(
            _("The mapping is a JSON object: column key -> header text or position."),
            field="mapping",
        )
    importer = importer_of(kind)
    keys = {c.key for c in importer.columns}
    headers: list[str] = []
    if any(isinstance(v, str) for v in wanted.values()):
        headers = _headers_of(upload)
    mapping: dict[str, int] = {}
    for key, target in wanted.items():
        if key not in keys:
            raise ValidationFailed(_("Unknown column key %(key)s.") % {"key": key}, field="mapping")
        if isinstance(target, bool) or not isinstance(target, int | str):
            raise ValidationFailed(_("Give a header text or a position."), field="mapping")
        if isinstance(target, str):
            if target.strip() not in headers:
                raise ValidationFailed(
                    _("The file has no column %(h)s.") % {"h": target}, field="mapping"
                )
            target = headers.index(target.strip())
        if target < 0:
            raise ValidationFailed(_("Give a header text or a position."), field="mapping")
        mapping[key] = target
    if headers:
        taken = set(mapping.values())
        for key, position in auto_mapping(headers, importer.columns).items():
            if key not in mapping and position not in taken:
                mapping[key] = position
    return mapping


def _headers_of(upload: UploadedFile) -> list[str]:
    """The header row of an upload (read from its temporary file, before it is stored)."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / (upload.name or "upload.csv")
        with path.open("wb") as out:
            for piece in upload.chunks():
                out.write(piece)
        upload.seek(0)
        source = open_source(path, path.name)
        source.close()
        return [h.strip() for h in source.headers]


@router.post(
    "",
    response={202: ImportJobOut},
    summary="Upload a file and queue its import",
    description=(
        "Multipart form: file (CSV UTF-8/GBK or .xlsx), kind (customers, products, orders, "
        "interactions, suppressions), dry_run, skip_invalid, mapping (optional JSON object "
        "column key -> header text or position; unmapped columns are matched by their "
        "headers), default_unit (customers), channel (orders). Answers at once; poll the job."
    ),
)
def imports_create(
    request: HttpRequest,
    file: File[UploadedFile],
    kind: Form[str],
    dry_run: Form[bool] = False,
    skip_invalid: Form[bool] = False,
    mapping: Form[str] = "",
    default_unit: Form[str] = "",
    channel: Form[str] = "",
) -> Status[ImportJobOut]:
    user = _user(request)
    importer_of(kind)
    job = import_job_create(
        actor=user,
        kind=kind,
        file_name=file.name or "upload.csv",
        content=file.chunks(),
        mapping=_mapping(mapping, file, kind),
        options={"default_unit": default_unit, "channel": channel},
        dry_run=dry_run,
        skip_invalid=skip_invalid,
    )
    return Status(202, ImportJobOut.of(job))


@router.get("", response=list[ImportJobOut], summary="Your recent imports")
def imports_list(request: HttpRequest) -> list[ImportJobOut]:
    return [ImportJobOut.of(job, with_errors=False) for job in import_jobs_for(_user(request))]


@router.get("/{job_id}", response=ImportJobOut, summary="One import: progress, counts, errors")
def imports_detail(request: HttpRequest, job_id: int) -> ImportJobOut:
    return ImportJobOut.of(import_job_get_for(_user(request), job_id))


@router.get(
    "/{job_id}/errors.csv",
    summary="The error report of an import (CSV)",
    response={200: None},
    openapi_extra={"responses": {200: {"content": {"text/csv": {}}}}},
)
def imports_errors_csv(request: HttpRequest, job_id: int) -> HttpResponse:
    job = import_job_get_for(_user(request), job_id)
    response = HttpResponse(
        csv_bytes(error_report_rows(job)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response
