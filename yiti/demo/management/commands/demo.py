"""``yiti demo``: migrate, seed once, run the task worker and serve the web UI in one process."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from types import FrameType

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.core.servers.basehttp import get_internal_wsgi_application
from waitress.server import create_server

from yiti.demo.company import company_exists, logins_load, logins_table
from yiti.demo.seed import SeedOptions, seed, seed_summary
from yiti.demo.server import SchedulerThread, WorkerThread


class Command(BaseCommand):
    help = (
        "Run Yiti on this machine in one command: migrate the database, seed a demo company "
        "the first time, start the background worker and serve the web UI with waitress."
    )
    requires_system_checks: list[str] = []  # migrate runs the checks

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
        parser.add_argument("--port", type=int, default=8000, help="Port to listen on.")
        parser.add_argument(
            "--customers",
            type=int,
            default=20_000,
            help="Customers to seed on first start (a million: yiti seed --customers 1000000).",
        )
        parser.add_argument("--seed", type=int, default=2026, help="Random seed for the demo data.")
        parser.add_argument("--threads", type=int, default=8, help="Web server threads.")
        parser.add_argument(
            "--no-browser-hint",
            action="store_true",
            help="Do not print the hint to open a browser.",
        )

    def handle(self, *args: object, **opts: object) -> None:
        host, port = str(opts["host"]), int(opts["port"])  # type: ignore[call-overload]
        out = self.stdout
        call_command("migrate", interactive=False, verbosity=0)
        if not company_exists():
            customers = int(opts["customers"])  # type: ignore[call-overload]
            out.write(f"First start: seeding a demo company with {customers:,} customers…")
            out.flush()
            report = seed(SeedOptions(customers=customers, seed=int(opts["seed"])))  # type: ignore[call-overload]
            out.write(seed_summary(report))

        # whitenoise serves the apps' static files through its finders; an existing (empty)
        # STATIC_ROOT keeps it from warning about a missing collectstatic directory.
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
        application = get_internal_wsgi_application()  # settings.WSGI_APPLICATION

        server = create_server(application, host=host, port=port, threads=int(opts["threads"]))  # type: ignore[call-overload]
        worker = WorkerThread()
        worker.start()
        scheduler = SchedulerThread()
        scheduler.start()

        def stop(signum: int, frame: FrameType | None) -> None:
            raise SystemExit(0)

        signal.signal(signal.SIGTERM, stop)
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, stop)

        shown = "localhost" if host in {"0.0.0.0", "::"} else host  # noqa: S104
        out.write("")
        out.write(logins_table(logins_load()))
        out.write("")
        out.write(
            f"Yiti is running at http://{shown}:{port}/  (task worker and scheduler running; Ctrl+C stops them)"
        )
        if not opts["no_browser_hint"]:
            out.write(
                f"Open http://{shown}:{port}/login/ in your browser and sign in with a login above."
            )
        out.flush()
        try:
            server.run()  # returns on Ctrl+C (KeyboardInterrupt) or SIGTERM (SystemExit)
        finally:
            server.close()
            scheduler.stop()
            worker.stop()
            out.write("Yiti stopped.")
            out.flush()
        if worker.error is not None:
            sys.exit(1)
