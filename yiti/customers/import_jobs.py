"""Import jobs: creating one from an upload (web, API, CLI), queueing it, reading it back.

A web or API upload is copied under ``<data dir>/imports/<job id>/`` and the job is queued for
the worker after the transaction commits (``tasks.import_job_task``), so the request returns
at once whatever the size of the file. The web page's column-mapping step keeps the upload in
a staging folder (``imports/staging/<token>/``) until the user confirms the mapping; the
token is remembered in the user's session, so nobody else can use it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from yiti.core.audit import audit_record
from yiti.core.errors import NotFound, ValidationFailed
from yiti.customers.choices import ImportKind, ImportStatus
from yiti.customers.importing import Importer, importer_for, registered_kinds
from yiti.customers.imports_runner import (
    Outcome,
    data_dir,
    import_run,
    job_dir,
    move_into_job,
    stage_file,
)
from yiti.customers.models import ImportJob
from yiti.customers.rules import require_perm
from yiti.org.access import access_for
from yiti.org.models import User
from yiti.org.roles import Perm

logger = logging.getLogger(__name__)

ERRORS_SHOWN = 200
KIND_ORDER = [k.value for k in ImportKind]


def kinds_for(user: Any) -> list[tuple[str, str]]:
    """The kinds this user may import, as ``(value, label)`` in a stable order."""
    access = access_for(user)
    labels = dict(ImportKind.choices)
    registered = set(registered_kinds())
    return [
        (kind, str(labels[kind]))
        for kind in KIND_ORDER
        if kind in registered and access.has(Perm(importer_for(kind).perm))
    ]


def importer_of(kind: str) -> Importer:
    try:
        return importer_for(kind)
    except KeyError:
        raise ValidationFailed(
            _("Unknown kind of import."), field="kind", code="unknown_kind"
        ) from None


def _clean_options(kind: str, options: dict[str, Any] | None) -> dict[str, Any]:
    allowed = {"default_unit", "channel"}
    return {k: v for k, v in (options or {}).items() if k in allowed and v not in (None, "")}


@transaction.atomic
def import_job_create(
    *,
    actor: User | None,
    kind: str,
    file_name: str,
    content: IO[bytes] | Iterable[bytes] | Path | None = None,
    stored_at: Path | None = None,
    mapping: dict[str, int] | None = None,
    options: dict[str, Any] | None = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    queue: bool = True,
) -> ImportJob:
    """Store the file and create a QUEUED job; with ``queue`` the worker runs it after commit.

    ``content`` is an open file, an iterable of byte chunks, or a staged file (moved in);
    ``stored_at`` a file read where it is (the CLI: a large file is not copied).
    """
    importer = importer_of(kind)
    require_perm(actor, Perm(importer.perm))
    job = ImportJob.objects.create(
        kind=kind,
        actor=actor,
        file_name=(file_name or "upload.csv")[:255],
        mapping={str(k): int(v) for k, v in (mapping or {}).items()},
        options=_clean_options(kind, options),
        status=ImportStatus.QUEUED,
        dry_run=dry_run,
        skip_invalid=skip_invalid,
    )
    target = job_dir(job.pk) / ("upload" + (Path(job.file_name).suffix.lower() or ".csv"))
    if stored_at is not None:
        target = stored_at.resolve()
        size = target.stat().st_size
    elif isinstance(content, Path):
        target = move_into_job(content, job)
        size = target.stat().st_size
    else:
        try:
            size = stage_file(target, content)  # type: ignore[arg-type]
        except ValidationFailed:
            shutil.rmtree(job_dir(job.pk), ignore_errors=True)
            raise
    job.upload, job.bytes_total = str(target), size
    job.save(update_fields=["upload", "bytes_total", "updated_at"])
    audit_record(
        actor=actor,
        action="import.queue",
        obj=job,
        changes={"kind": kind, "file": job.file_name, "bytes": size, "dry_run": dry_run},
        summary=_("Import queued: %(file)s") % {"file": job.file_name},
    )
    if queue:
        job_id = job.pk
        transaction.on_commit(lambda: _enqueue(job_id))
    return job


def _enqueue(job_id: int) -> None:
    from yiti.customers.tasks import import_job_task

    try:
        import_job_task.enqueue(job_id=job_id)
    except Exception as exc:
        ImportJob.objects.filter(pk=job_id, status=ImportStatus.QUEUED).update(
            status=ImportStatus.FAILED,
            message=(_("The import could not be queued: %(e)s") % {"e": exc})[:500],
            finished_at=timezone.now(),
        )
        logger.exception("could not queue import #%s", job_id)


def import_job_run(job_id: int) -> Outcome | None:
    """Run a queued job (the worker's task; the CLI runs ``import_run`` in the foreground)."""
    job = (
        ImportJob.objects.select_related("actor")
        .filter(pk=job_id, status=ImportStatus.QUEUED)
        .first()
    )
    if job is None:
        return None
    return import_run(job)


# --- the staging area of the mapping step ---------------------------------------------------

SESSION_KEY = "yiti_import_uploads"


def upload_stage(
    *, session: Any, actor: User, kind: str, upload: Any, options: dict[str, Any]
) -> str:
    """Keep an upload until its mapping is confirmed; returns the token naming it."""
    importer = importer_of(kind)
    require_perm(actor, Perm(importer.perm))
    _staging_sweep()
    token = secrets.token_urlsafe(16)
    folder = data_dir() / "staging" / token
    name = Path(getattr(upload, "name", "") or "upload.csv").name[:255]
    stage_file(folder / ("upload" + (Path(name).suffix.lower() or ".csv")), upload)
    (folder / "meta.json").write_text(
        json.dumps({"kind": kind, "file_name": name, "user": actor.pk, "options": options})
    )
    tokens = [t for t in session.get(SESSION_KEY, []) if (data_dir() / "staging" / t).exists()]
    session[SESSION_KEY] = [*tokens[-9:], token]
    return token


def staged(*, session: Any, actor: User, token: str) -> tuple[Path, dict[str, Any]]:
    """The staged file and what was chosen with it; NotFound for a token not the user's."""
    folder = data_dir() / "staging" / token
    if token not in session.get(SESSION_KEY, []) or not (folder / "meta.json").exists():
        raise NotFound(_("This upload is gone; upload the file again."))
    meta = json.loads((folder / "meta.json").read_text())
    if meta.get("user") != actor.pk:
        raise NotFound(_("This upload is gone; upload the file again."))
    files = [p for p in folder.iterdir() if p.name.startswith("upload")]
    if not files:
        raise NotFound(_("This upload is gone; upload the file again."))
    return files[0], meta


STAGING_HOURS = 24


def _staging_sweep() -> None:
    """Uploads left at the mapping step for a day are removed (with their personal data)."""
    root = data_dir() / "staging"
    if not root.exists():
        return
    limit = time.time() - STAGING_HOURS * 3600
    for folder in root.iterdir():
        with contextlib.suppress(OSError):
            if folder.stat().st_mtime < limit:
                shutil.rmtree(folder, ignore_errors=True)


def staged_discard(token: str) -> None:
    shutil.rmtree(data_dir() / "staging" / token, ignore_errors=True)


# --- reading --------------------------------------------------------------------------------


def import_jobs_for(user: Any, *, limit: int = 10) -> list[ImportJob]:
    return list(ImportJob.objects.filter(actor_id=user.pk).defer("errors")[:limit])


def import_job_get_for(user: Any, job_id: int) -> ImportJob:
    """A job its author (or an administrator) may reopen."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None or (job.actor_id != user.pk and not access_for(user).is_admin):
        raise NotFound(_("Import not found."))
    return job


def error_report_rows(job: ImportJob) -> Iterable[list[Any]]:
    yield [_("Row"), _("Column"), pgettext("field value", "Value"), _("Reason")]
    yield from job.errors


def template_rows(kind: str) -> list[list[str]]:
    """The header row of a kind's template, in the user's language, and an example row."""
    importer = importer_of(kind)
    examples: dict[str, dict[str, str]] = {
        "products": {
            "code": "5G-199",
            "name": _("5G plan 199"),
            "category": "mobile_plan",
            "price": "199.00",
            "margin_rate": "35%",
            "unit_margin": "",
            "active": _("yes"),
        },
        "orders": {
            "customer": "CRM-000001",
            "phone": "13812345678",
            "product": "5G-199",
            "ordered_at": "2025-03-31 14:30",
            "quantity": "1",
            "amount": "199.00",
            "margin": "",
            "status": "fulfilled",
            "channel": "branch",
            "sold_by": "",
            "order_no": "SO-2025-000001",
        },
    }
    example = examples.get(kind, {})
    return [
        [str(c.label) for c in importer.columns],
        [example.get(c.key, "") for c in importer.columns],
    ]
