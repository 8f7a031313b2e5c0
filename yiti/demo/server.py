"""The embedded one-command run: the task worker in a thread beside a waitress web server."""

from __future__ import annotations

import logging
import threading

from django.db import connections
from django_tasks_db.management.commands.db_worker import Worker

logger = logging.getLogger(__name__)


class ThreadWorker(Worker):
    """The django-tasks-db worker, run in a background thread of the web process.

    Signal handlers can only be installed from the main thread, so this worker installs
    none; the main thread stops it with ``stop()``. Between tasks it sleeps ``interval``
    seconds, so it stops within one interval (a running task is allowed to finish).
    """

    def configure_signals(self) -> None:  # the main thread owns the signals
        return None

    def stop(self) -> None:
        self.running = False


class WorkerThread(threading.Thread):
    def __init__(self, *, interval: float = 1.0, queues: list[str] | None = None):
        super().__init__(name="yiti-worker", daemon=True)
        self.worker = ThreadWorker(
            queue_names=queues or ["*"],
            interval=interval,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=f"embedded-{threading.get_ident()}",
            excluded_queue_names=[],
        )
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.worker.run()
        except BaseException as exc:
            self.error = exc
            logger.exception("The embedded task worker stopped with an error")
        finally:
            connections.close_all()

    def stop(self, timeout: float = 10.0) -> None:
        self.worker.stop()
        self.join(timeout)


class SchedulerThread(threading.Thread):
    """Enqueues the periodic jobs (SLA sweep, follow-ups, reports) when their slots come due."""

    def __init__(self, *, interval: float = 20.0):
        super().__init__(name="yiti-scheduler", daemon=True)
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        from yiti.core.scheduling import scheduler_loop

        try:
            scheduler_loop(self._stop_event, interval=self.interval)
        finally:
            connections.close_all()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop_event.set()
        self.join(timeout)
