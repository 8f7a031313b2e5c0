"""Online backup and restore of a Yiti installation (``yiti backup`` / ``yiti restore``).

A backup is one uncompressed tar file, ``yiti-backup-<UTC time>.tar``, written with mode
0600, holding:

* ``manifest.json`` — format, Yiti version, time, database engine, the last migration of each
  app, the row count of every table *in the copy taken*, and the files included;
* the database, taken while the server keeps running and writing:

  - **SQLite**: ``database.sqlite3``, made with SQLite's online backup API
    (``sqlite3.Connection.backup``) in a single step, i.e. inside one read transaction: a
    consistent copy as of that instant, while writers go on (WAL mode). The row counts are
    read from the copy itself.
  - **PostgreSQL**: ``database.pgdump``, ``pg_dump --format=custom``. The row counts are read
    in a REPEATABLE READ transaction whose snapshot is exported (``pg_export_snapshot``) and
    handed to ``pg_dump --snapshot``, so the dump and the counts see the same instant.

* ``data/…`` — the data directory's files that are not in the database: uploads
  (``media/``), import files and their error reports (``imports/``), generated reports
  (``reports/``, ``exports/``) and the demo transports' outbox (``outbox/``). Not included:
  the SQLite database file itself (the consistent copy above replaces it), collected static
  files (``yiti collectstatic`` rebuilds them), test databases and earlier backups.
* ``data/secret_key`` — **included** when the key is the embedded one kept in the data
  directory. Django signs with it the campaign response links already sent to customers
  (valid 180 days), password-reset links and sessions; API tokens are stored as hashes and do
  not depend on it. A restore without it would break every link in customers' inboxes, so
  the archive holds it and must be kept as secret as the database. When the key comes from
  ``YITI_SECRET_KEY`` (production) it is not in the archive: keep it with the backup.

``restore`` loads an archive into an **empty** database only (no table at all: create a new
database, point ``YITI_DATABASE_URL`` at it, restore, then ``yiti migrate`` if the code is
newer than the backup), and refuses otherwise. It then counts the rows of every table and
compares them with the manifest; any difference is an error. An archive restores into the
engine it was taken from (a SQLite backup into SQLite, a PostgreSQL dump into PostgreSQL).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from glob import glob
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import dj_database_url
from django.conf import settings
from django.utils.translation import gettext as _

FORMAT = 1
MANIFEST = "manifest.json"
DATA_PREFIX = "data/"
DATA_SUBDIRS = ("media", "imports", "reports", "exports", "outbox")
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name
DUMP_NAMES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Database:
    """The connection settings of one database, from Django's settings or a URL."""

    engine: str  # "sqlite" or "postgresql"
    name: str
    user: str = ""
    password: str = ""
    host: str = ""
    port: str = ""

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> Database:
        engine = str(config.get("ENGINE", ""))
        if engine.endswith("sqlite3"):
            kind = "sqlite"
        elif engine.endswith("postgresql"):
            kind = "postgresql"
        else:
            raise BackupError(_("Unsupported database engine %(engine)s.") % {"engine": engine})
        return cls(
            engine=kind,
            name=str(config.get("NAME") or ""),
            user=str(config.get("USER") or ""),
            password=str(config.get("PASSWORD") or ""),
            host=str(config.get("HOST") or ""),
            port=str(config.get("PORT") or ""),
        )

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls.of(dj_database_url.parse(url))

    def conninfo(self) -> dict[str, str]:
        keys = {"dbname": self.name, "user": self.user, "password": self.password}
        keys |= {"host": self.host, "port": self.port}
        return {k: v for k, v in keys.items() if v}

    def pg_args(self) -> list[str]:
        args = ["--dbname", self.name]
        for flag, value in (
            ("--host", self.host),
            ("--port", self.port),
            ("--username", self.user),
        ):
            if value:
                args += [flag, value]
        return args

    def pg_env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env


@dataclass
class Manifest:
    engine: str
    tables: dict[str, int]
    migrations: dict[str, str]
    files: list[str] = field(default_factory=list)
    key_included: bool = False  # the embedded secret key file is in the archive
    created_at: str = ""
    yiti_version: str = ""
    format: int = FORMAT

    def as_json(self) -> str:
        return json.dumps(self.__dict__, indent=2, sort_keys=True, ensure_ascii=False)

    @classmethod
    def of(cls, data: dict[str, Any]) -> Manifest:
        if data.get("format") != FORMAT:
            raise BackupError(
                _("The archive's format %(format)s is not one this Yiti reads (%(ours)s).")
                % {"format": data.get("format"), "ours": FORMAT}
            )
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: Manifest
    bytes: int


@dataclass(frozen=True)
class RestoreResult:
    manifest: Manifest
    database: str
    tables: int
    rows: int
    files: int


def yiti_version() -> str:
    try:
        return version("yiti")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"


def find_pg_tool(name: str) -> str:
    """``pg_dump``/``pg_restore``: on PATH, else the newest /usr/lib/postgresql/*/bin one."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if candidates:
        return candidates[-1]
    raise BackupError(
        _(
            "%(tool)s was not found (looked on PATH and in /usr/lib/postgresql/*/bin). Install "
            "the PostgreSQL client of your server's version (Debian: apt-get install "
            "postgresql-client)."
        )
        % {"tool": name}
    )


def _sqlite_counts(conn: sqlite3.Connection) -> dict[str, int]:
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    return {
        name: int(conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])  # noqa: S608
        for name in names
    }


def _pg_connect(db: Database) -> Any:
    import psycopg

    return psycopg.connect(**db.conninfo())  # type: ignore[arg-type]


def _pg_tables(cursor: Any) -> list[str]:
    cursor.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
    )
    return [row[0] for row in cursor.fetchall()]


def _pg_counts(cursor: Any) -> dict[str, int]:
    from psycopg import sql

    counts: dict[str, int] = {}
    for name in _pg_tables(cursor):
        cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name)))
        counts[name] = int(cursor.fetchone()[0])
    return counts


def _migrations_of(counts_source: Callable[[str], list[tuple[str, str]]]) -> dict[str, str]:
    latest: dict[str, str] = {}
    for app, name in counts_source("SELECT app, name FROM django_migrations ORDER BY id"):
        latest[app] = name
    return latest


def _data_files(data_dir: Path, exclude: set[Path]) -> Iterator[tuple[Path, str]]:
    """(path, name in the archive) of every file to back up from the data directory."""
    for sub in DATA_SUBDIRS:
        root = data_dir / sub
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink() and path.resolve() not in exclude:
                yield path, DATA_PREFIX + path.relative_to(data_dir).as_posix()


def _secret_key_file(data_dir: Path) -> Path | None:
    """The embedded secret key file when the running key is the one kept there."""
    if os.environ.get("YITI_SECRET_KEY"):
        return None
    path = data_dir / SECRET_KEY_FILE
    return path if path.is_file() else None


# --- backup -----------------------------------------------------------------------------------


def _backup_sqlite(db: Database, target: Path) -> tuple[dict[str, int], dict[str, str]]:
    """Copy the live database into ``target`` in one step of the online backup API (one read
    transaction: consistent while other connections write), then count the copy's rows."""
    source_path = Path(db.name)
    if not source_path.is_file():
        raise BackupError(_("The database file %(path)s does not exist.") % {"path": db.name})
    source = sqlite3.connect(source_path, timeout=60)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy, pages=-1)
    finally:
        source.close()
    try:
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file in the archive
        counts = _sqlite_counts(copy)
        migrations = _migrations_of(lambda q: list(copy.execute(q)))
    finally:
        copy.close()
    return counts, migrations


def _backup_postgresql(db: Database, target: Path) -> tuple[dict[str, int], dict[str, str]]:
    """pg_dump --format=custom of the snapshot in which the row counts are taken (the
    exporting transaction stays open while pg_dump runs, as ``--snapshot`` requires)."""
    pg_dump = find_pg_tool("pg_dump")
    with _pg_connect(db) as pg, pg.transaction(), pg.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = str(cursor.fetchone()[0])
        counts = _pg_counts(cursor)
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY id")
        migrations = {app: name for app, name in cursor.fetchall()}
        done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [
                pg_dump,
                "--format=custom",
                f"--snapshot={snapshot}",
                "--no-owner",
                "--file",
                str(target),
                *db.pg_args(),
            ],
            env=db.pg_env(),
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise BackupError(_("pg_dump failed: %(error)s") % {"error": done.stderr.strip()[:2000]})
    return counts, migrations


def backup(
    *,
    output: Path,
    database: Database | None = None,
    data_dir: Path | None = None,
    now: datetime | None = None,
) -> BackupResult:
    """Write a backup archive into the directory ``output`` and return its path and manifest."""
    db = database or Database.of(settings.DATABASES["default"])
    data_dir = Path(data_dir or settings.DATA_DIR)
    at = (now or datetime.now(UTC)).astimezone(UTC)
    output.mkdir(parents=True, exist_ok=True)
    archive = output / f"yiti-backup-{at:%Y%m%d-%H%M%S}.tar"
    if archive.exists():
        raise BackupError(_("%(path)s exists already.") % {"path": archive})
    with tempfile.TemporaryDirectory(dir=output, prefix=".yiti-backup-") as work:
        dump = Path(work) / DUMP_NAMES[db.engine]
        if db.engine == "sqlite":
            counts, migrations = _backup_sqlite(db, dump)
        else:
            counts, migrations = _backup_postgresql(db, dump)
        exclude = {archive.resolve(), Path(work).resolve()}
        if db.engine == "sqlite":
            exclude.add(Path(db.name).resolve())
        files = list(_data_files(data_dir, exclude))
        key = _secret_key_file(data_dir)
        manifest = Manifest(
            engine=db.engine,
            tables=counts,
            migrations=migrations,
            files=[name for _path, name in files],
            key_included=key is not None,
            created_at=at.isoformat(),
            yiti_version=yiti_version(),
        )
        partial = archive.with_suffix(".tar.part")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
            _add_bytes(tar, MANIFEST, manifest.as_json().encode())
            tar.add(dump, arcname=dump.name)
            if key:
                tar.add(key, arcname=DATA_PREFIX + SECRET_KEY_FILE)
            for path, name in files:
                tar.add(path, arcname=name)
        partial.rename(archive)
    return BackupResult(path=archive, manifest=manifest, bytes=archive.stat().st_size)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    import io

    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


# --- restore ----------------------------------------------------------------------------------


def read_manifest(tar: tarfile.TarFile) -> Manifest:
    try:
        member = tar.extractfile(MANIFEST)
    except KeyError:
        member = None
    if member is None:
        raise BackupError(_("This is not a Yiti backup: it has no manifest.json."))
    return Manifest.of(json.loads(member.read().decode()))


def _tables_in(db: Database) -> list[str]:
    if db.engine == "sqlite":
        if not Path(db.name).exists():
            return []
        conn = sqlite3.connect(db.name)
        try:
            return list(_sqlite_counts(conn))
        finally:
            conn.close()
    import psycopg

    try:
        with _pg_connect(db) as pg, pg.cursor() as cursor:
            return _pg_tables(cursor)
    except psycopg.OperationalError as exc:
        raise BackupError(
            _("Cannot connect to the database %(name)s: %(error)s")
            % {"name": db.name, "error": str(exc).strip()}
        ) from exc


def count_rows(db: Database) -> dict[str, int]:
    """Rows per table of ``db`` (what a restore is checked with)."""
    if db.engine == "sqlite":
        conn = sqlite3.connect(db.name)
        try:
            return _sqlite_counts(conn)
        finally:
            conn.close()
    with _pg_connect(db) as pg, pg.cursor() as cursor:
        return _pg_counts(cursor)


@contextmanager
def _extracted(tar: tarfile.TarFile, name: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="yiti-restore-") as work:
        try:
            tar.extract(name, work, filter="data")
        except KeyError as exc:
            raise BackupError(_("The archive has no %(name)s.") % {"name": name}) from exc
        yield Path(work) / name


def _restore_sqlite(source: Path, db: Database) -> None:
    target = Path(db.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=WAL")  # as the running server uses it
    finally:
        src.close()
        dst.close()


def _restore_postgresql(source: Path, db: Database) -> None:
    pg_restore = find_pg_tool("pg_restore")
    done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [
            pg_restore,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            *db.pg_args(),
            str(source),
        ],
        env=db.pg_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BackupError(
            _("pg_restore failed, nothing was restored: %(error)s")
            % {"error": done.stderr.strip()[:2000]}
        )


def _restore_files(tar: tarfile.TarFile, data_dir: Path, *, secret_key: bool) -> int:
    members = [
        m
        for m in tar.getmembers()
        if m.name.startswith(DATA_PREFIX) and m.isfile() and m.name != DATA_PREFIX + SECRET_KEY_FILE
    ]
    data_dir.mkdir(parents=True, exist_ok=True)
    for member in members:
        member.name = member.name[len(DATA_PREFIX) :]
        tar.extract(member, data_dir, filter="data")  # refuses absolute paths and ".."
    if secret_key:
        key = tar.extractfile(DATA_PREFIX + SECRET_KEY_FILE)
        if key is not None:
            path = data_dir / SECRET_KEY_FILE
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(key.read())
            path.chmod(0o600)
    return len(members)


def restore(
    archive: Path,
    *,
    database: Database | None = None,
    data_dir: Path | None = None,
) -> RestoreResult:
    """Restore ``archive`` into the empty ``database`` (default: the configured one) and the
    data directory, then check every table's row count against the manifest."""
    db = database or Database.of(settings.DATABASES["default"])
    data_dir = Path(data_dir or settings.DATA_DIR)
    if not archive.is_file():
        raise BackupError(_("Cannot read %(path)s.") % {"path": archive})
    try:
        tar = tarfile.open(archive, mode="r:*")  # noqa: SIM115 - closed by the with below
    except tarfile.TarError as exc:
        raise BackupError(_("%(path)s is not a tar archive.") % {"path": archive}) from exc
    with tar:
        manifest = read_manifest(tar)
        if manifest.engine != db.engine:
            raise BackupError(
                _(
                    "This backup is of a %(archive)s database and cannot be restored into "
                    "%(target)s: restore it into the engine it was taken from."
                )
                % {"archive": manifest.engine, "target": db.engine}
            )
        existing = _tables_in(db)
        if existing:
            raise BackupError(
                _(
                    "The database %(name)s is not empty (%(n)s tables): a backup is restored "
                    "into an empty database only. Create a new database, point "
                    "YITI_DATABASE_URL at it and run 'yiti restore' again."
                )
                % {"name": db.name, "n": len(existing)}
            )
        with _extracted(tar, DUMP_NAMES[db.engine]) as dump:
            if db.engine == "sqlite":
                _restore_sqlite(dump, db)
            else:
                _restore_postgresql(dump, db)
        counts = count_rows(db)
        differences: dict[str, tuple[int | None, int | None]] = {
            name: (expected, counts.get(name))
            for name, expected in manifest.tables.items()
            if counts.get(name) != expected
        }
        differences |= {
            name: (None, n) for name, n in counts.items() if name not in manifest.tables
        }
        if differences:
            listed = ", ".join(
                f"{name}: {want} → {got}" for name, (want, got) in sorted(differences.items())[:20]
            )
            raise BackupError(
                _("The restored row counts differ from the backup's manifest: %(tables)s")
                % {"tables": listed}
            )
        files = _restore_files(tar, data_dir, secret_key=manifest.key_included)
    return RestoreResult(
        manifest=manifest,
        database=db.name,
        tables=len(counts),
        rows=sum(counts.values()),
        files=files,
    )
