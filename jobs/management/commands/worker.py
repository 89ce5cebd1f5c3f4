"""``manage.py worker``: run queued work (letters, e-mail, exports, imports).

Start one or more on any machine that reaches the database; see README "Workers".
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import (
    logger as db_logger,
)
from django_tasks_db.management.commands.db_worker import (
    valid_interval,
    valid_max_tasks,
)

from jobs.worker import Worker


class Command(BaseCommand):
    help = "Run queued background work (letters, e-mail, exports, imports) until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--queue-name", default="default",
                            help="queues to process, comma-separated, or * for all (default: default)")
        parser.add_argument("--interval", type=valid_interval, default=1.0,
                            help="seconds to wait when the queue is empty (default: 1)")
        parser.add_argument("--batch", action="store_true",
                            help="run what is queued now, then exit")
        parser.add_argument("--max-tasks", type=valid_max_tasks, default=None,
                            help="exit after this many tasks (a supervisor restarts the worker)")
        parser.add_argument("--worker-id", default="",
                            help="unique name of this worker (default: random)")

    def handle(self, *args, queue_name, interval, batch, max_tasks, worker_id, verbosity, **options):
        import logging

        level = logging.WARNING if verbosity == 0 else logging.INFO
        for name in ("jobs", db_logger.name):
            logger = logging.getLogger(name)
            logger.setLevel(level)
            if not logger.hasHandlers():
                logger.addHandler(logging.StreamHandler(self.stdout))
        worker = Worker(
            queue_names=queue_name.split(","), interval=interval, batch=batch,
            backend_name="default", startup_delay=not batch, max_tasks=max_tasks,
            worker_id=(worker_id or get_random_string(32))[:64], excluded_queue_names=[],
        )
        worker.configure_signals()
        worker.run()
