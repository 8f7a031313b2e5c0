"""``yiti backup`` / ``yiti restore`` (issue 18 item 20): a backup taken while the server keeps
writing restores into a fresh database with every row committed before it started, the row
counts of its manifest, and the data directory's files; a database that is not empty is
refused.

Runs on the suite's engine: on SQLite through the online backup API, on PostgreSQL through
pg_dump into a restore database made (and dropped) by the test next to the test database.
"""

from __future__ import annotations

import io
import sqlite3
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction

from yiti.core.backup import (
    BackupError,
    Database,
    backup,
    count_rows,
    read_manifest,
    restore,
)
from yiti.core.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)

WRITER_ACTION = "test.backup_writer"


class Writer(threading.Thread):
    """Keeps committing one audit event at a time, each in its own transaction, and
    remembers the id of every one whose commit returned."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.committed: list[int] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            n = 0
            while not self.stop.is_set():
                with transaction.atomic():
                    event = AuditEvent.objects.create(action=WRITER_ACTION, summary=str(n))
                with self.lock:
                    self.committed.append(event.pk)
                n += 1
                time.sleep(0.001)
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            connections.close_all()

    def ids(self) -> set[int]:
        with self.lock:
            return set(self.committed)

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 30
        while len(self.ids()) < count:
            assert self.error is None, self.error
            assert time.monotonic() < deadline, "the writer did not write"
            time.sleep(0.01)


@pytest.fixture
def writer() -> Iterator[Writer]:
    thread = Writer()
    thread.start()
    yield thread
    thread.stop.set()
    thread.join(30)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory with an upload, an import file, an outbox message and the key."""
    root = tmp_path / "data"
    for path, text in {
        "media/uploads/contract.pdf": "%PDF-1.4 合同",
        "imports/7/customers.csv": "name,phone\n张伟,13912345678\n",
        "outbox/email/1.eml": "Subject: hi\n",
        "static/app.css": "body{}",  # rebuilt by collectstatic: not backed up
        "secret_key": "k" * 64,
    }.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[Database]:
    """An empty database of the suite's engine, dropped afterwards."""
    live = Database.of(connection.settings_dict)
    if live.engine == "sqlite":
        yield Database(engine="sqlite", name=str(tmp_path / "restored.sqlite3"))
        return
    import psycopg

    name = f"{live.name}_restore"[:63]
    admin = {**live.conninfo(), "dbname": "postgres"}
    with psycopg.connect(**admin, autocommit=True) as pg:  # type: ignore[arg-type]
        pg.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        pg.execute(f'CREATE DATABASE "{name}"')
    try:
        yield Database(
            engine="postgresql",
            name=name,
            user=live.user,
            password=live.password,
            host=live.host,
            port=live.port,
        )
    finally:
        with psycopg.connect(**admin, autocommit=True) as pg:  # type: ignore[arg-type]
            pg.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def restored_writer_ids(db: Database) -> set[int]:
    table = AuditEvent._meta.db_table
    query = f"SELECT id FROM {table} WHERE action = '{WRITER_ACTION}'"  # noqa: S608
    if db.engine == "sqlite":
        conn = sqlite3.connect(db.name)
        try:
            return {row[0] for row in conn.execute(query)}
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(**db.conninfo()) as pg:  # type: ignore[arg-type]
        return {row[0] for row in pg.execute(query).fetchall()}


def test_a_backup_taken_during_writes_restores_every_row_committed_before_it(
    writer, data_dir, fresh_database, tmp_path
):
    # Given a server that keeps committing rows
    writer.wait_for(30)
    # When a backup is taken while it writes
    before = writer.ids()
    result = backup(output=tmp_path / "backups", data_dir=data_dir)
    writer.wait_for(len(writer.ids()) + 30)  # the writer went on during and after the backup
    writer.stop.set()
    writer.join(30)
    assert writer.error is None
    manifest = result.manifest
    assert manifest.engine == fresh_database.engine
    assert manifest.tables[AuditEvent._meta.db_table] >= len(before)
    assert manifest.migrations["core"] and manifest.key_included
    # And restored into a fresh, empty database and data directory
    restored_dir = tmp_path / "restored-data"
    done = restore(result.path, database=fresh_database, data_dir=restored_dir)
    # Then every row committed before the backup started is there
    found = restored_writer_ids(fresh_database)
    assert before <= found, sorted(before - found)[:10]
    # And every table has exactly the rows the manifest lists (the copy was consistent)
    assert count_rows(fresh_database) == manifest.tables
    assert done.rows == sum(manifest.tables.values())
    # And the uploads, imports, outbox and the secret key came back; static files did not
    assert (restored_dir / "media/uploads/contract.pdf").read_text() == "%PDF-1.4 合同"
    assert (restored_dir / "imports/7/customers.csv").read_text().startswith("name,phone")
    assert (restored_dir / "outbox/email/1.eml").exists()
    assert (restored_dir / "secret_key").read_text() == "k" * 64
    assert (restored_dir / "secret_key").stat().st_mode & 0o077 == 0
    assert not (restored_dir / "static").exists()
    # And the archive is readable by its owner only and holds no copy of the live database
    assert result.path.stat().st_mode & 0o077 == 0
    with tarfile.open(result.path) as tar:
        names = tar.getnames()
    assert not any(n.endswith(("-wal", "-shm")) for n in names)


def test_restore_refuses_a_database_that_is_not_empty(data_dir, fresh_database, tmp_path):
    # Given a backup restored once into a fresh database
    AuditEvent.objects.create(action=WRITER_ACTION)
    result = backup(output=tmp_path / "b", data_dir=data_dir)
    restore(result.path, database=fresh_database, data_dir=tmp_path / "d1")
    # When it is restored into the same database again, or into the live one
    # Then it is refused, saying why and what to do
    with pytest.raises(BackupError, match=r"not empty.*empty database only"):
        restore(result.path, database=fresh_database, data_dir=tmp_path / "d2")
    with pytest.raises(BackupError, match="not empty"):
        restore(result.path, data_dir=tmp_path / "d3")
    assert not (tmp_path / "d2").exists() and not (tmp_path / "d3").exists()


def test_the_commands_back_up_and_restore(data_dir, fresh_database, tmp_path, settings):
    settings.DATA_DIR = data_dir
    AuditEvent.objects.create(action=WRITER_ACTION)
    out = io.StringIO()
    # When 'yiti backup --output DIR' runs
    call_command("backup", "--output", str(tmp_path / "out"), stdout=out)
    archive = next((tmp_path / "out").glob("yiti-backup-*.tar"))
    assert str(archive) in out.getvalue() and "secret key" in out.getvalue()
    with tarfile.open(archive) as tar:
        manifest = read_manifest(tar)
    assert manifest.yiti_version and manifest.created_at
    # Then 'yiti restore ARCHIVE' restores it into an empty database given by URL
    if fresh_database.engine == "sqlite":
        url = f"sqlite:///{fresh_database.name}"
    else:
        live = fresh_database
        url = f"postgres://{live.user}@{live.host or '127.0.0.1'}:{live.port or 5432}/{live.name}"
        if live.password:
            url = url.replace(f"{live.user}@", f"{live.user}:{live.password}@")
    restored = io.StringIO()
    call_command(
        "restore",
        str(archive),
        "--database-url",
        url,
        "--data-dir",
        str(tmp_path / "restored"),
        stdout=restored,
    )
    assert "as the manifest lists" in restored.getvalue()
    assert restored_writer_ids(fresh_database)
    # And into the configured (live, not empty) database it is refused with the reason
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", str(archive))
    with pytest.raises(CommandError, match=r"no manifest|not a tar"):
        bogus = tmp_path / "bogus.tar"
        bogus.write_bytes(b"not a tar")
        call_command("restore", str(bogus), "--database-url", url)
