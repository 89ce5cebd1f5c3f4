"""Job kinds, starting a job, and the task that runs one on a worker.

A module registers a kind once::

    @register_kind("survey_letters", label=_("案内状PDF"), permission="surveys.change_invitation")
    def letters_job(job, progress):
        ...                      # progress(done, total) as it goes
        save_result(job, "letters.pdf", path_or_bytes)
        return "3,000 letters"  # shown to staff as the result

and starts it from a view or command with ``start("survey_letters", params={...}, user=...)``.
Input files (an uploaded import) go with ``start(..., input_file=uploaded)`` and are read on
the worker from ``job.input_file``: every app server and worker sees the same storage.
``permission`` is what staff need to start the job and to download its file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .compat import task
from .models import Job

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobKind:
    name: str
    label: str
    permission: str
    handler: Callable


_KINDS: dict[str, JobKind] = {}


def register_kind(name: str, *, label, permission: str):
    def decorate(handler: Callable) -> Callable:
        _KINDS[name] = JobKind(name=name, label=label, permission=permission, handler=handler)
        return handler

    return decorate


def get_kind(name: str) -> JobKind | None:
    return _KINDS.get(name)


def kind_label(name: str) -> str:
    kind = _KINDS.get(name)
    return str(kind.label) if kind else name


def kind_choices() -> list[tuple[str, str]]:
    return [(k.name, str(k.label)) for k in _KINDS.values()]


def can_use(user, job_or_kind) -> bool:
    """Staff may start a job and download its file only with the kind's permission."""
    name = job_or_kind.kind if isinstance(job_or_kind, Job) else job_or_kind
    kind = _KINDS.get(name)
    return bool(kind and user.is_active and user.is_staff and user.has_perm(kind.permission))


def start(kind: str, *, params: dict | None = None, scope: str = "", user=None,
          input_file=None, input_name: str = "") -> Job:
    """Record a job and put it on the queue (in the same transaction as the record)."""
    with transaction.atomic():
        job = create(kind, params=params, scope=scope, user=user, input_file=input_file,
                     input_name=input_name)
        enqueue(job)
    job.refresh_from_db()
    return job


def create(kind: str, *, params: dict | None = None, scope: str = "", user=None,
           input_file=None, input_name: str = "") -> Job:
    """Record a job without queueing it (``run_here`` runs it in this process)."""
    if kind not in _KINDS:
        raise KeyError(kind)
    job = Job.objects.create(
        kind=kind, params=params or {}, scope=scope,
        requested_by=user if getattr(user, "pk", None) else None,
    )
    if input_file is not None:
        job.input_file.save(input_name or getattr(input_file, "name", "input"), input_file, save=True)
    return job


def run_here(job: Job, *, progress: Callable[[int, int], None] | None = None) -> Job:
    """Run a job in this process (management commands), with an optional progress callback."""
    _execute(job.pk, progress)
    job.refresh_from_db()
    return job


def enqueue(job: Job) -> None:
    result = run_job.enqueue(job.pk)
    Job.objects.filter(pk=job.pk).update(task_id=str(result.id)[:64])


def retry(job: Job) -> Job:
    """Run a failed job again (staff action)."""
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.QUEUED, error="", done=0, started_at=None, finished_at=None,
    )
    enqueue(job)
    job.refresh_from_db()
    return job


def save_result(job: Job, name: str, content) -> None:
    """Store the job's result file (a path, bytes or a file object) in the configured storage."""
    if job.result_file:
        job.result_file.delete(save=False)
    if isinstance(content, Path):
        with open(content, "rb") as handle:
            job.result_file.save(name, File(handle), save=False)
    elif isinstance(content, bytes | bytearray):
        job.result_file.save(name, ContentFile(bytes(content)), save=False)
    else:
        job.result_file.save(name, File(content), save=False)
    job.result_name = name
    Job.objects.filter(pk=job.pk).update(result_file=job.result_file.name, result_name=name)


@task()
def run_job(job_id: int) -> str:
    """The one task every job kind runs through (``jobs.runner.run_job``)."""
    return _execute(job_id)


def _execute(job_id: int, extra_progress: Callable[[int, int], None] | None = None) -> str:
    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.status in (Job.Status.DONE, Job.Status.FAILED):
        return "skipped"  # a duplicate or stale task: the job already finished
    kind = _KINDS.get(job.kind)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, started_at=timezone.now(), done=0, error="",
        attempts=F("attempts") + 1,
    )
    job.refresh_from_db()

    def progress(done: int, total: int) -> None:
        Job.objects.filter(pk=job.pk).update(done=done, total=total)
        if extra_progress:
            extra_progress(done, total)

    try:
        if kind is None:
            raise LookupError(f"unknown job kind {job.kind!r}")
        message = kind.handler(job, progress) or ""
    except Exception as error:  # noqa: BLE001 - recorded for staff, never lost
        log.exception("job %s (%s) failed", job.pk, job.kind)
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.FAILED, error=repr(error)[:2000], finished_at=timezone.now(),
        )
        return "failed"
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.DONE, message=str(message)[:300], finished_at=timezone.now(),
    )
    return "done"
