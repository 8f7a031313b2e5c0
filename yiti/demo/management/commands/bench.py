"""``yiti bench NAME``: run ``bench/NAME.py`` against a benchmark database of its own."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from yiti.demo.bench import bench_dir, machine_facts

CHILD_ENV = "YITI_BENCH_CHILD"


class Command(BaseCommand):
    help = (
        "Run a benchmark from bench/ (e.g. 'yiti bench customers') against its own database "
        "(var/bench/NAME.sqlite3, or --database-url) and print a JSON result and a summary."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Benchmark name: the module bench/NAME.py")
        parser.add_argument("--customers", type=int, default=1_000_000, help="Customers to seed.")
        parser.add_argument(
            "--reuse",
            action="store_true",
            help="Reuse the benchmark database if it is already seeded.",
        )
        parser.add_argument(
            "--database-url",
            default="",
            help="Run against this database (e.g. postgres://…) instead of var/bench/NAME.sqlite3.",
        )

    def handle(self, *args: object, **opts: object) -> None:
        name = str(opts["name"])
        folder = bench_dir()
        if folder is None:
            raise CommandError("No bench/ folder here or beside the yiti package.")
        script = folder / f"{name}.py"
        if not script.is_file():
            known = ", ".join(
                sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))
            )
            raise CommandError(f"No benchmark {name!r} (known: {known or 'none'}).")
        data = folder.parent / "var" / "bench"
        if os.environ.get(CHILD_ENV) != "1":
            sys.exit(self._spawn(name, data, opts))
        self._run(name, script, data, opts)

    def _spawn(self, name: str, data: Path, opts: dict) -> int:
        """Re-run this command in a child whose settings point at the benchmark database."""
        data.mkdir(parents=True, exist_ok=True)
        url = str(opts["database_url"] or "")
        if not url:
            db = data / f"{name}.sqlite3"
            if not opts["reuse"]:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{db}{suffix}").unlink(missing_ok=True)
            url = f"sqlite:///{db}"
        env = {**os.environ, CHILD_ENV: "1", "YITI_DATA_DIR": str(data), "YITI_DATABASE_URL": url}
        argv = [
            sys.executable,
            "-c",
            "from yiti.cli import main; main()",
            "bench",
            name,
            f"--customers={opts['customers']}",
        ]
        if opts["reuse"]:
            argv.append("--reuse")
        return subprocess.call(argv, env=env)  # noqa: S603

    def _run(self, name: str, script: Path, data: Path, opts: dict) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        (data / "static").mkdir(parents=True, exist_ok=True)  # whitenoise's STATIC_ROOT
        spec = importlib.util.spec_from_file_location(f"yiti_bench_{name}", script)
        if spec is None or spec.loader is None:
            raise CommandError(f"Cannot load {script}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)

        def log(message: str) -> None:
            self.stdout.write(message)
            self.stdout.flush()

        result = module.run(customers=int(opts["customers"]), reuse=bool(opts["reuse"]), log=log)
        result = {"benchmark": name, "machine": machine_facts(), **result}
        stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%S")
        out = data / f"{name}-{stamp}.json"
        out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
        self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False, default=str))
        if hasattr(module, "summary"):
            self.stdout.write("")
            self.stdout.write(module.summary(result))
        self.stdout.write(f"\nResult written to {out}")
