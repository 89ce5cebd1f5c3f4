"""The worker process: django_tasks_db's worker loop plus what production needs.

- a heartbeat row per worker (``WorkerProcess``), refreshed by a thread;
- recovery: tasks left "running" by a worker whose heartbeat stopped (killed, machine lost)
  are put back on the queue, and so are their jobs; every worker checks this at start and
  every ``RECOVER_EVERY`` seconds;
- a clean stop (SIGTERM from systemd, Ctrl+C from ``make run``) interrupts the running task
  and puts it back on the queue at once, so a restart never loses a job;
- the e-mail sweep (due retries, interrupted sends), see ``jobs.mail.sweep``;
- retention: finished jobs with their files and old e-mails are deleted at start and every
  ``PRUNE_EVERY`` seconds, see ``jobs.retention``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import sys
import threading
import time
from types import FrameType

from django.db import close_old_connections, connection
from django.db.utils import DatabaseError
from django.utils import timezone
from django_tasks_db.compat import TaskContext, task_finished, task_started
from django_tasks_db.management.commands.db_worker import Worker as DBWorker
from django_tasks_db.models import DBTaskResult

from . import mail, retention
from .models import Job, WorkerProcess

log = logging.getLogger("jobs.worker")

HEARTBEAT_EVERY = 5  # seconds
STALE_AFTER = dt.timedelta(seconds=60)  # no heartbeat for this long: the worker is gone
RECOVER_EVERY = 30
SWEEP_EVERY = 15
PRUNE_EVERY = 6 * 3600  # old jobs, files and e-mails (jobs.retention)


class WorkerStopping(BaseException):  # noqa: N818 - like KeyboardInterrupt, not an error
    """Raised inside the running task when the worker is asked to stop."""


def requeue(task_ids: list) -> int:
    """Put tasks back on the queue (and their jobs back to waiting)."""
    if not task_ids:
        return 0
    n = DBTaskResult.objects.filter(id__in=task_ids, status="RUNNING").update(
        status="READY", started_at=None,
    )
    job_ids = []
    for row in DBTaskResult.objects.filter(id__in=task_ids).values("task_path", "args_kwargs"):
        if row["task_path"].endswith("run_job") and row["args_kwargs"].get("args"):
            job_ids.append(row["args_kwargs"]["args"][0])
    if job_ids:
        Job.objects.filter(pk__in=job_ids, status=Job.Status.RUNNING).update(
            status=Job.Status.QUEUED, done=0,
        )
    return n


def recover_stale(now=None) -> int:
    """Requeue tasks marked running by workers that stopped sending heartbeats."""
    now = now or timezone.now()
    alive = set(
        WorkerProcess.objects.filter(seen_at__gte=now - STALE_AFTER).values_list("worker_id", flat=True)
    )
    stale = [
        row["id"] for row in DBTaskResult.objects.filter(status="RUNNING").values("id", "worker_ids")
        if not row["worker_ids"] or row["worker_ids"][-1] not in alive
    ]
    n = requeue(stale)
    WorkerProcess.objects.filter(seen_at__lt=now - STALE_AFTER).delete()
    if n:
        log.warning("put %s task(s) of stopped workers back on the queue", n)
    return n


class Worker(DBWorker):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._current = None
        self._stop_heartbeat = threading.Event()
        self._last_recover = 0.0
        self._last_sweep = 0.0
        self._last_prune = None

    # -- heartbeat ---------------------------------------------------------------------------

    def beat(self) -> None:
        WorkerProcess.objects.update_or_create(
            worker_id=self.worker_id,
            defaults={"hostname": socket.gethostname()[:200], "pid": os.getpid(),
                      "seen_at": timezone.now()},
        )

    def _heartbeat_loop(self) -> None:
        """Beat, recover and sweep on this thread, so they go on while a long task runs and
        while the queue is idle."""
        try:
            while not self._stop_heartbeat.wait(HEARTBEAT_EVERY):
                try:
                    self.beat()
                except DatabaseError:
                    log.warning("heartbeat failed; trying again", exc_info=True)
                self.maintenance()
        finally:
            connection.close()

    # -- signals -----------------------------------------------------------------------------

    def shutdown(self, signum: int, frame: FrameType | None) -> None:
        log.warning("received %s: stopping", signal.strsignal(signum))
        self.running = False
        if self.running_task:
            self.reset_signals()
            raise WorkerStopping
        self._cleanup()
        sys.exit(0)

    def _cleanup(self) -> None:
        self._stop_heartbeat.set()
        try:
            WorkerProcess.objects.filter(worker_id=self.worker_id).delete()
        except DatabaseError:
            pass

    # -- loop --------------------------------------------------------------------------------

    def maintenance(self, *, force: bool = False) -> None:
        now = time.monotonic()
        try:
            if force or now - self._last_recover >= RECOVER_EVERY:
                self._last_recover = now
                recover_stale()
            if force or now - self._last_sweep >= SWEEP_EVERY:
                self._last_sweep = now
                mail.sweep()
            if force or self._last_prune is None or now - self._last_prune >= PRUNE_EVERY:
                self._last_prune = now
                retention.prune()
        except DatabaseError:
            log.warning("maintenance failed; trying again later", exc_info=True)

    def run(self) -> None:
        self.beat()
        self.maintenance(force=True)
        thread = threading.Thread(target=self._heartbeat_loop, name="heartbeat", daemon=True)
        thread.start()
        try:
            super().run()
        except WorkerStopping:
            pass
        finally:
            self._cleanup()

    def run_task(self, db_task_result: DBTaskResult) -> None:
        """As django_tasks_db's, except that a stop puts the task back instead of failing it."""
        self.running_task = True
        try:
            task = db_task_result.task
            task_result = db_task_result.task_result
            backend_type = task.get_backend()
            task_started.send(sender=backend_type, task_result=task_result)
            if task.takes_context:
                value = task.call(TaskContext(task_result=task_result), *task_result.args,
                                  **task_result.kwargs)
            else:
                value = task.call(*task_result.args, **task_result.kwargs)
            db_task_result.set_successful(value)
            task_finished.send(sender=backend_type, task_result=db_task_result.task_result)
        except WorkerStopping:
            requeue([db_task_result.id])
            log.warning("task %s put back on the queue", db_task_result.id)
        except Exception as error:  # noqa: BLE001 - recorded on the task row
            log.exception("task %s failed", db_task_result.id)
            db_task_result.set_failed(error)
        finally:
            self.running_task = False
            self._run_tasks += 1
            close_old_connections()
