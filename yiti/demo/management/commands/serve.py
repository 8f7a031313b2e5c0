"""``yiti serve``: the production web server — granian (HTTP in Rust) running Yiti's WSGI
application in one worker process per core. Background work runs beside it in ``yiti worker``.

``yiti demo`` keeps waitress: one process that also runs the task worker in a thread, which
granian's worker processes do not (ADR 0008).
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

WSGI_TARGET = "yiti.config.wsgi:application"


class Command(BaseCommand):
    help = (
        "Serve Yiti in production with granian: one worker process per core (WSGI). Run "
        "`yiti worker` beside it for background work; put a reverse proxy in front for HTTPS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
        parser.add_argument("--port", type=int, default=8000, help="Port to listen on.")
        parser.add_argument(
            "--workers",
            type=int,
            default=os.cpu_count() or 1,
            help="Worker processes (default: one per core).",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=1,
            help="Python threads per worker (default 1: a second thread only waits for the "
            "first one's interpreter lock on CPU-bound requests).",
        )
        parser.add_argument(
            "--access-log", action="store_true", help="Log every request (off by default)."
        )

    def handle(self, *args: object, **opts: Any) -> None:
        from granian import Granian
        from granian.constants import Interfaces

        workers, threads = int(opts["workers"]), int(opts["threads"])
        if workers < 1 or threads < 1:
            raise CommandError("--workers and --threads must be at least 1.")
        self.stdout.write(
            f"Serving Yiti on http://{opts['host']}:{opts['port']}/ with granian: "
            f"{workers} worker process(es) × {threads} thread(s). Stop with Ctrl+C."
        )
        self.stdout.flush()
        Granian(
            WSGI_TARGET,
            address=str(opts["host"]),
            port=int(opts["port"]),
            interface=Interfaces.WSGI,
            workers=workers,
            blocking_threads=threads,
            log_access=bool(opts["access_log"]),
            respawn_failed_workers=True,
        ).serve()
