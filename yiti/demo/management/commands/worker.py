"""``yiti worker``: the background task worker (django-tasks-db's ``db_worker``, all queues)
and the scheduler that enqueues periodic jobs."""

from __future__ import annotations

import logging
import signal
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import InterfaceError, OperationalError, connections

from yiti.demo.server import SchedulerThread

logger = logging.getLogger("yiti.worker")


class Command(BaseCommand):
    help = (
        "Run the background task worker. Arguments are passed to db_worker; without "
        "--queue-name it processes every queue."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("worker_args", nargs="*", help="Options for db_worker (after --).")
        parser.add_argument(
            "--queue-name", default="*", help="Queues, comma-separated ('*' = all)."
        )
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between polls when idle."
        )
        parser.add_argument(
            "--batch", action="store_true", help="Run the outstanding tasks, then exit."
        )
        parser.add_argument(
            "--max-tasks", type=int, default=None, help="Exit after this many tasks."
        )
        parser.add_argument(
            "--no-scheduler",
            action="store_true",
            help="Do not enqueue periodic jobs from this worker (run the scheduler elsewhere).",
        )

    def handle(self, *args: object, **opts: object) -> None:
        argv = [f"--queue-name={opts['queue_name']}", f"--interval={opts['interval']}"]
        if opts["batch"]:
            argv.append("--batch")
        if opts["max_tasks"]:
            argv.append(f"--max-tasks={opts['max_tasks']}")
        argv += [str(a) for a in opts["worker_args"]]  # type: ignore[attr-defined]
        scheduler = None
        if not opts["batch"] and not opts["no_scheduler"]:
            # every worker may tick: a slot is enqueued once (unique ScheduledRun rows)
            scheduler = SchedulerThread()
            scheduler.start()
        try:
            _run_reconnecting(argv, verbosity=int(opts.get("verbosity", 1)))  # type: ignore[call-overload]
        finally:
            if scheduler is not None:
                scheduler.stop()


def _run_reconnecting(argv: list[str], *, verbosity: int) -> None:
    """Run db_worker; when the database connection is lost (a restart, a failover, a backend
    terminated) close it, wait (1 s, doubling to 30 s) and run again, so the worker survives
    and finishes its queue. The task that was running is retried by its own recovery (a
    sending batch's lease ends and the dispatch job hands it on)."""
    delay = 1.0
    while True:
        try:
            call_command("db_worker", *argv, verbosity=verbosity)
            return
        except (OperationalError, InterfaceError) as exc:
            logger.warning("database connection lost (%s); reconnecting in %.0f s", exc, delay)
            # db_worker's own signal handlers belong to the worker that just ended: while we
            # wait, SIGTERM and SIGINT stop the process as usual
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            connections.close_all()
            time.sleep(delay)
            delay = min(delay * 2, 30.0)
