"""Runs an import job of any kind: streams the file, maps its columns, validates, writes.

The importers (``yiti.customers.importing``) validate chunks of rows and write them; this
module does everything around them, the same way for every kind:

* **Reading.** A CSV file is read as a stream: its encoding (UTF-8, GBK/GB18030) is chosen
  from the first megabyte, so the file is decoded once; an ``.xlsx`` workbook is read by
  openpyxl in read-only mode after a zip-bomb check (the uncompressed size of its XML parts is
  capped before openpyxl parses anything). Files larger than ``YITI_IMPORT_MAX_BYTES`` are
  refused before they are parsed.
* **Two phases.** Phase one reads the whole file and validates it chunk by chunk
  (``CHUNK`` rows) outside any transaction; the rows that can be written are pickled to a
  spool file next to the upload, so memory does not grow with the file. Phase two, only when
  something is to be written (not a dry run; no error, or the user chose to skip invalid rows),
  reads the spool back and writes every chunk in ONE transaction, then ``finish``; a database
  error rolls all of it back and the job is FAILED.
* **Progress** is written at most twice a second. While reading, the job's own row is updated
  (``bytes_read``, ``rows_read``, ``error_count``) in short autocommit statements — there is no
  long transaction open yet, so on SQLite nothing waits for a lock. While writing, the import
  holds SQLite's write lock, and an ``UPDATE`` of the job row from the same connection would
  stay invisible until commit (from another connection it would block until then); so this
  phase reports to a small JSON file beside the upload (``progress.json``, replaced
  atomically), which the job page and the API read while the job is RUNNING. Measured on the
  development machine (2 shared cores, load ~8): a progress report costs 2.6 ms as a file
  (write, rename) and 0.9 ms as a committed SQLite UPDATE, both negligible at two per second;
  the file is used for the write phase only because the database cannot carry it there.
  Splitting the phases also keeps the write transaction short: validating a million rows does
  not hold the write lock that the web pages' own writes (sessions, audit) need.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import pickle
import shutil
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, cast

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.core.errors import ValidationFailed, YitiError
from yiti.customers.choices import ImportStatus
from yiti.customers.importing import (
    CHUNK,
    Column,
    ImportContext,
    Importer,
    RowError,
    auto_mapping,
    importer_for,
)
from yiti.customers.models import ImportJob
from yiti.customers.rules import require_perm
from yiti.org.models import User
from yiti.org.roles import Perm

MAX_STORED_ERRORS = 100_000
PROGRESS_EVERY = 0.5  # seconds between progress reports
SAMPLE_BYTES = 1 << 20  # what the encoding and delimiter are chosen from
PREVIEW_ROWS = 5
STALLED_AFTER = timedelta(minutes=10)


def max_bytes() -> int:
    """The largest file accepted (``YITI_IMPORT_MAX_BYTES``, default 1 GiB)."""
    return int(getattr(settings, "YITI_IMPORT_MAX_BYTES", 1 << 30))


def max_xlsx_xml_bytes() -> int:
    """The largest uncompressed sheet XML of a workbook (``YITI_IMPORT_MAX_XLSX_XML_BYTES``)."""
    return int(getattr(settings, "YITI_IMPORT_MAX_XLSX_XML_BYTES", 2 << 30))


MAX_XLSX_RATIO = 200  # compressed → uncompressed; real sheets stay far below (zip bombs do not)


def data_dir() -> Path:
    return Path(getattr(settings, "YITI_DATA_DIR", settings.DATA_DIR)) / "imports"


def job_dir(job_id: int) -> Path:
    return data_dir() / str(job_id)


# --- reading files --------------------------------------------------------------------------


def _file_error(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, field="file", code=code)


def _encoding_error() -> ValidationFailed:
    return _file_error(
        _(
            "The file is neither UTF-8 nor GBK/GB18030 text, so it cannot be read. "
            "In Excel choose “Save as” › “CSV UTF-8”, or upload the .xlsx file."
        ),
        "bad_encoding",
    )


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10] if getattr(value, "hour", 0) == 0 else value.isoformat()
    return str(value)


def _decodes(sample: bytes, encoding: str) -> bool:
    """Whether ``sample`` is text in ``encoding`` (a character cut at the end is allowed)."""
    try:
        sample.decode(encoding)
    except UnicodeDecodeError as exc:
        return exc.start >= len(sample) - 4 and len(sample) >= SAMPLE_BYTES
    return True


@dataclass
class Source:
    """An open file: its header and a stream of ``(row number, cells)`` for the data rows."""

    headers: list[str]
    rows: Iterator[tuple[int, list[str]]]
    bytes_total: int
    position: Callable[[], int]  # bytes read so far (estimated for workbooks)
    close: Callable[[], None]


def _kind_of(file_name: str, head: bytes) -> str:
    suffix = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    if suffix == "xls":
        raise _file_error(
            _(
                "Old Excel .xls files are not supported. "
                "Save the sheet as .xlsx or CSV and upload that."
            ),
            "unknown_file_type",
        )
    if suffix == "xlsx" or (suffix == "" and head[:4] == b"PK\x03\x04"):
        return "xlsx"
    if suffix in ("csv", "txt", "tsv", ""):
        return "csv"
    raise _file_error(
        _("Unknown file type “.%(ext)s”. Upload a .csv or .xlsx file.") % {"ext": suffix},
        "unknown_file_type",
    )


def _open_csv(path: Path, size: int) -> Source:
    raw = path.open("rb")
    try:
        sample = raw.read(SAMPLE_BYTES)
        if sample[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16, as some tools save "Unicode text"
            raise _encoding_error()
        if b"\x00" in sample:
            raise _file_error(
                _("The file contains binary data; it is not a CSV text file."), "bad_encoding"
            )
        if _decodes(sample, "utf-8"):
            encoding = "utf-8-sig"
        elif _decodes(sample, "gb18030"):
            encoding = "gb18030"
        else:
            raise _encoding_error()
        raw.seek(0)
        first_line = sample.split(b"\n", 1)[0].decode(encoding, errors="replace")
        delimiter = max([",", "\t", ";"], key=first_line.count)
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        reader = csv.reader(text, delimiter=delimiter)
        try:
            headers = next(reader, [])
        except (csv.Error, UnicodeDecodeError) as exc:
            raise _encoding_error() from exc
    except BaseException:
        raw.close()
        raise

    def rows() -> Iterator[tuple[int, list[str]]]:
        number = 1
        try:
            for number, record in enumerate(reader, start=2):
                if record and "".join(record).strip():
                    yield number, record
        except UnicodeDecodeError as exc:
            raise _file_error(
                _(
                    "The file stops being %(encoding)s text after row %(n)s; save it again "
                    "as CSV UTF-8 and upload that."
                )
                % {"encoding": encoding.replace("-sig", "").upper(), "n": number},
                "bad_encoding",
            ) from exc
        except csv.Error as exc:
            raise _file_error(
                _("The CSV file is malformed near record %(n)s: %(e)s")
                % {"n": reader.line_num, "e": exc},
                "bad_csv",
            ) from exc

    return Source(
        headers=headers,
        rows=rows(),
        bytes_total=size,
        position=raw.tell,
        close=text.close,
    )


def xlsx_guard(path: Path) -> None:
    """Refuse a workbook whose XML would unpack to more than the cap (a zip bomb) — from the
    zip directory alone, before anything is decompressed or parsed."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise _file_error(
            _(
                "This is not a valid .xlsx workbook (it is not a zip archive). "
                "Save it again from Excel as .xlsx, or as CSV."
            ),
            "bad_xlsx",
        ) from exc
    unpacked = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if unpacked > max_xlsx_xml_bytes() or (
        unpacked > 50 * (1 << 20) and unpacked / packed > MAX_XLSX_RATIO
    ):
        raise _file_error(
            _(
                "This workbook unpacks to %(mb)s MB, more than Yiti reads; split it or save "
                "it as CSV."
            )
            % {"mb": unpacked >> 20},
            "file_too_large",
        )


def _open_xlsx(path: Path, size: int) -> Source:
    from openpyxl import load_workbook

    xlsx_guard(path)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        iterator = sheet.iter_rows(values_only=True)
        headers = [_cell_text(v) for v in next(iterator, ())]
    except ValidationFailed:
        raise
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise _file_error(
            _("The .xlsx workbook cannot be read: %(e)s") % {"e": exc}, "bad_xlsx"
        ) from exc
    total_rows = max(int(sheet.max_row or 0), 1)
    read = [1]

    def rows() -> Iterator[tuple[int, list[str]]]:
        for number, values in enumerate(iterator, start=2):
            read[0] = number
            cells = [_cell_text(v) for v in values]
            if any(cells):
                yield number, cells

    return Source(
        headers=headers,
        rows=rows(),
        bytes_total=size,
        position=lambda: min(size, size * read[0] // total_rows),
        close=workbook.close,
    )


def open_source(path: Path, file_name: str) -> Source:
    """Open a stored upload; ``ValidationFailed`` (field "file") when it cannot be read."""
    size = path.stat().st_size
    if size > max_bytes():
        raise _file_error(
            _("The file is %(mb)s MB; Yiti imports files up to %(max)s MB.")
            % {"mb": size >> 20, "max": max_bytes() >> 20},
            "file_too_large",
        )
    with path.open("rb") as f:
        head = f.read(4096)
    if not head.strip():
        raise _file_error(_("The file is empty."), "empty_file")
    kind = _kind_of(file_name, head)
    source = _open_xlsx(path, size) if kind == "xlsx" else _open_csv(path, size)
    if not any(h.strip() for h in source.headers):
        source.close()
        raise _file_error(_("The file is empty."), "empty_file")
    return source


@dataclass
class Preview:
    headers: list[str]
    rows: list[list[str]]
    mapping: dict[str, int]  # the automatic mapping: column key -> header position


def preview(path: Path, file_name: str, importer: Importer) -> Preview:
    """The header, the first rows and the automatic mapping, for the mapping step."""
    source = open_source(path, file_name)
    try:
        rows = []
        for _number, cells in source.rows:
            rows.append(cells)
            if len(rows) >= PREVIEW_ROWS:
                break
    finally:
        source.close()
    headers = [h.strip() for h in source.headers]
    return Preview(headers=headers, rows=rows, mapping=auto_mapping(headers, importer.columns))


# --- progress -------------------------------------------------------------------------------


class Progress:
    """Reports how far a job is, at most every ``PROGRESS_EVERY`` seconds (module docstring)."""

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.path = job_dir(job.pk) / "progress.json"
        self.last = 0.0
        self.phase = "reading"
        self.values: dict[str, int] = {}

    def report(self, *, force: bool = False, **values: int) -> None:
        self.values.update(values)
        now = time.monotonic()
        if not force and now - self.last < PROGRESS_EVERY:
            return
        self.last = now
        state = {"phase": self.phase, **self.values}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state))
        os.replace(temporary, self.path)
        if self.phase == "reading":  # no transaction is open: commit it to the job's row
            ImportJob.objects.filter(pk=self.job.pk).update(
                bytes_read=self.values.get("bytes_read", 0),
                rows_read=self.values.get("rows_read", 0),
                error_count=self.values.get("errors", 0),
            )


def progress_of(job: ImportJob) -> dict[str, Any]:
    """What a page shows of a job: from its row, and while it runs from its progress file."""
    state: dict[str, Any] = {
        "phase": "",
        "bytes_read": job.bytes_read,
        "bytes_total": job.bytes_total,
        "rows_read": job.rows_read,
        "errors": job.error_count,
        "rows_written": 0,
        "rows_valid": 0,
    }
    last_move = job.updated_at
    if job.status == ImportStatus.RUNNING:
        with contextlib.suppress(OSError, ValueError):
            path = job_dir(job.pk) / "progress.json"
            moved = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
            since = job.started_at or job.created_at
            # a file older than this run is another's (a killed run, or a database made
            # again whose ids start over): it says nothing about this job
            if since is None or moved >= since - timedelta(seconds=1):
                state.update(json.loads(path.read_text()))
                last_move = max(last_move, moved) if last_move else moved
    # a job that has not moved for a while: the worker is not running, or stopped mid-way
    state["stalled"] = bool(
        job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)
        and last_move is not None
        and timezone.now() - last_move > STALLED_AFTER
    )
    total = state["bytes_total"] or 0
    if job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        percent = 100
    elif state["phase"] == "writing" and state["rows_valid"]:
        percent = 90 + 10 * min(state["rows_written"], state["rows_valid"]) // state["rows_valid"]
    elif total:
        percent = 90 * min(state["bytes_read"], total) // total
    else:
        percent = 0
    state["percent"] = int(percent)
    return state


# --- running --------------------------------------------------------------------------------


@dataclass
class Outcome:
    job: ImportJob
    file_error: ValidationFailed | None = None
    errors: list[RowError] = field(default_factory=list)


def required_keys(importer: Importer, ctx: ImportContext) -> list[str]:
    """The columns a file must have: the importer's ``required_columns(ctx)`` if it has one."""
    custom = getattr(importer, "required_columns", None)
    if custom is not None:
        return list(custom(ctx))
    return [c.key for c in importer.columns if c.required]


def _mapping(job: ImportJob, headers: list[str], columns: tuple[Column, ...]) -> dict[str, int]:
    known = {c.key for c in columns}
    if job.mapping:
        mapping: dict[str, int] = {}
        for key, position in job.mapping.items():
            if key in known and str(position).isdigit() and 0 <= int(position) < len(headers):
                mapping[key] = int(position)
        return mapping
    return auto_mapping([h.strip() for h in headers], columns)


def _finish_job(job: ImportJob, started: float, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(job, name, value)
    job.seconds = time.monotonic() - started
    job.finished_at = timezone.now()
    job.save()
    _discard_upload(job)


def _discard_upload(job: ImportJob) -> None:
    """A stored upload goes once its job is done: the file holds personal data, and the job
    keeps what its pages need (counts and errors). A file the CLI read in place stays."""
    if not job.upload:
        return
    path = Path(job.upload)
    folder = job_dir(job.pk)
    with contextlib.suppress(OSError):
        if path.parent == folder:
            path.unlink(missing_ok=True)
        if folder.exists() and not any(folder.iterdir()):
            folder.rmdir()


def import_run(
    job: ImportJob, *, on_progress: Callable[[dict[str, Any]], None] | None = None
) -> Outcome:
    """Run a QUEUED job to its end (COMPLETED, VALIDATED, REJECTED or FAILED)."""
    started = time.monotonic()
    importer = importer_for(job.kind)
    actor: User | None = job.actor
    progress = Progress(job)
    job.status, job.started_at = ImportStatus.RUNNING, timezone.now()
    path = Path(job.upload) if job.upload else None
    job.bytes_total = path.stat().st_size if path is not None and path.exists() else 0
    job.save(update_fields=["status", "started_at", "bytes_total", "updated_at"])
    try:
        if actor is not None and not actor.is_active:
            raise ValidationFailed(_("The user who started this import is no longer active."))
        access = require_perm(actor, Perm(importer.perm))
        if path is None or not path.exists():
            raise _file_error(_("The uploaded file is gone; upload it again."), "missing_file")
        ctx = ImportContext(
            actor=actor,
            access=access,
            job_id=job.pk,
            options=dict(job.options or {}),
            dry_run=job.dry_run,
            skip_invalid=job.skip_invalid,
        )
        importer.begin(ctx)
        source = open_source(path, job.file_name)
    except YitiError as exc:
        error = (
            exc
            if isinstance(exc, ValidationFailed)
            else ValidationFailed(exc.message, code=exc.code)
        )
        _finish_job(job, started, status=ImportStatus.REJECTED, message=exc.message[:500])
        return Outcome(job=job, file_error=error)

    spool_path = job_dir(job.pk) / "valid.spool"
    spool_path.parent.mkdir(parents=True, exist_ok=True)
    errors: list[RowError] = []
    error_count = 0
    rows_read = 0
    valid = 0
    chunks = 0
    try:
        with spool_path.open("wb") as spool:
            try:
                headers = [h.strip() for h in source.headers]
                mapping = _mapping(job, headers, importer.columns)
                missing = [k for k in required_keys(importer, ctx) if k not in mapping]
                check = getattr(importer, "check_columns", None)
                if check is not None and not missing:
                    check(set(mapping), ctx)
                if missing:
                    labels = {c.key: c for c in importer.columns}
                    raise _file_error(
                        _("Required column “%(label)s” (%(key)s) is missing.")
                        % {"label": labels[missing[0]].label, "key": missing[0]},
                        "missing_column",
                    )
                header_of = {key: headers[pos] or key for key, pos in mapping.items()}
                items = list(mapping.items())
                chunk: list[tuple[int, dict[str, str]]] = []

                def flush() -> None:
                    take(*importer.validate(chunk, ctx))
                    chunk.clear()

                by_columns = getattr(importer, "validate_columns", None)
                numbers: list[int] = []
                records: list[list[str]] = []
                width = len(headers)

                def flush_columns() -> None:
                    # the chunk as columns: short records padded, each mapped column stripped
                    padded = (
                        records
                        if min(map(len, records)) >= width
                        else [r + [""] * (width - len(r)) for r in records]
                    )
                    transposed = list(zip(*padded, strict=False))
                    columns = {key: list(map(str.strip, transposed[pos])) for key, pos in items}
                    take(*cast(Callable[..., Any], by_columns)(numbers, columns, ctx))
                    numbers.clear()
                    records.clear()

                def take(good: list[tuple[Any, ...]], bad: list[RowError]) -> None:
                    nonlocal valid, error_count, chunks
                    if good:
                        pickle.dump(good, spool, protocol=pickle.HIGHEST_PROTOCOL)
                        chunks += 1
                        valid += len(good)
                    error_count += len(bad)
                    room = MAX_STORED_ERRORS - len(errors)
                    if room > 0:
                        errors.extend(
                            RowError(e.row, header_of.get(e.column, e.column), e.value, e.reason)
                            for e in bad[:room]
                        )

                def pending() -> int:
                    return len(records) if by_columns is not None else len(chunk)

                def flush_any() -> None:
                    if by_columns is not None:
                        flush_columns()
                    else:
                        flush()

                for number, cells in source.rows:
                    if by_columns is not None:
                        numbers.append(number)
                        records.append(cells)
                    else:
                        size = len(cells)
                        chunk.append(
                            (number, {k: cells[p].strip() if p < size else "" for k, p in items})
                        )
                    if pending() >= CHUNK:
                        rows_read += pending()
                        flush_any()
                        progress.report(
                            bytes_read=source.position(), rows_read=rows_read, errors=error_count
                        )
                        if on_progress is not None:
                            on_progress(progress.values)
                if pending():
                    rows_read += pending()
                    flush_any()
                end = getattr(importer, "validate_end", None)
                if end is not None:
                    good, bad = end(ctx)
                    if good:
                        pickle.dump(good, spool, protocol=pickle.HIGHEST_PROTOCOL)
                        chunks += 1
                        valid += len(good)
                    error_count += len(bad)
                    errors.extend(
                        RowError(e.row, header_of.get(e.column, e.column), e.value, e.reason)
                        for e in bad[: max(MAX_STORED_ERRORS - len(errors), 0)]
                    )
            finally:
                source.close()
        if not rows_read:
            raise _file_error(_("The file has a header row but no rows below it."), "empty_file")
    except ValidationFailed as exc:
        spool_path.unlink(missing_ok=True)
        _finish_job(
            job,
            started,
            status=ImportStatus.REJECTED,
            message=exc.message[:500],
            rows_read=rows_read,
            row_count=rows_read,
        )
        return Outcome(job=job, file_error=exc)

    errors.sort(key=lambda e: e.row)
    invalid_rows = len({e.row for e in errors}) if error_count <= MAX_STORED_ERRORS else None
    skipped = invalid_rows if invalid_rows is not None else rows_read - valid_rows(ctx, valid)
    progress.report(force=True, bytes_read=job.bytes_total, rows_read=rows_read, errors=error_count)
    job.rows_read = job.row_count = rows_read
    job.bytes_read = job.bytes_total
    job.error_count = error_count
    job.errors = [e.as_list() for e in errors]
    job.skipped_count = skipped
    if not (ctx.created or ctx.updated or ctx.unchanged):
        ctx.created = valid
    counts = {
        "created_count": ctx.created,
        "updated_count": ctx.updated,
        "unchanged_count": ctx.unchanged,
    }

    if job.dry_run or (error_count and not job.skip_invalid) or not valid:
        spool_path.unlink(missing_ok=True)
        if job.dry_run:
            status = ImportStatus.VALIDATED
        elif error_count and not job.skip_invalid:
            status = ImportStatus.REJECTED
            counts = dict.fromkeys(counts, 0)
            job.skipped_count = rows_read
        else:  # nothing to write: every row invalid (skipped) or unchanged
            status = ImportStatus.COMPLETED
        _finish_job(job, started, status=status, **counts)
        return Outcome(job=job, errors=errors)

    ctx.created = ctx.updated = 0  # now counted as written (unchanged rows were counted)
    ctx.rows_to_write = valid
    progress.phase = "writing"
    written = 0
    guard = getattr(importer, "write_guard", None)
    try:
        with guard(ctx) if guard is not None else contextlib.nullcontext(), transaction.atomic():
            with spool_path.open("rb") as spooled:
                for _n in range(chunks):
                    rows = pickle.load(spooled)  # noqa: S301 (our own spool file)
                    importer.write(rows, ctx)
                    written += len(rows)
                    progress.report(rows_valid=valid, rows_written=written)
                    if on_progress is not None:
                        on_progress(progress.values)
            importer.finish(ctx)
            _finish_job(
                job,
                started,
                status=ImportStatus.COMPLETED,
                created_count=ctx.created,
                updated_count=ctx.updated,
                unchanged_count=ctx.unchanged,
            )
    except DatabaseError as exc:
        job.refresh_from_db(fields=["created_at"])
        _finish_job(
            job,
            started,
            status=ImportStatus.FAILED,
            created_count=0,
            updated_count=0,
            unchanged_count=0,
            message=(_("The database refused the import, nothing was written: %(e)s") % {"e": exc})[
                :500
            ],
        )
    finally:
        spool_path.unlink(missing_ok=True)
        (job_dir(job.pk) / "progress.json").unlink(missing_ok=True)
        _discard_upload(job)
    return Outcome(job=job, errors=errors)


def valid_rows(ctx: ImportContext, valid: int) -> int:
    """Rows that validated (``valid`` tuples, or what a whole-file importer reported)."""
    return int(ctx.state.get("valid_rows", valid))


# --- creating jobs --------------------------------------------------------------------------


def stage_file(target: Path, chunks: Iterator[bytes] | IO[bytes]) -> int:
    """Copy an upload to ``target`` (chunk by chunk), refusing it past the size cap."""
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    limit = max_bytes()
    with target.open("wb") as out:
        reader = getattr(chunks, "read", None)
        iterable = chunks if reader is None else iter(lambda: reader(1 << 20), b"")
        for piece in iterable:
            size += len(piece)
            if size > limit:
                out.close()
                target.unlink(missing_ok=True)
                raise _file_error(
                    _("The file is larger than %(max)s MB, the most Yiti imports.")
                    % {"max": limit >> 20},
                    "file_too_large",
                )
            out.write(piece)
    if not size:
        target.unlink(missing_ok=True)
        raise _file_error(_("The file is empty."), "empty_file")
    return size


def move_into_job(source: Path, job: ImportJob) -> Path:
    target = job_dir(job.pk) / ("upload" + (Path(job.file_name).suffix.lower() or ".csv"))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(source), target)
    return target
