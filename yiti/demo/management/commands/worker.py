"""``yiti worker``: the background task worker (django-tasks-db's ``db_worker``, all queues)
and the scheduler that enqueues periodic jobs."""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from yiti.demo.server import SchedulerThread


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
            call_command("db_worker", *argv, verbosity=opts.get("verbosity", 1))
        finally:
            if scheduler is not None:
                scheduler.stop()
