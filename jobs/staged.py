"""Two-step imports on a worker: a preview job, then a job that applies exactly that preview.

Used by the open-data import (``resourcemap.import_jobs``) and the staff sheet import
(``resourcemap.sheet_import``). What both share lives here:

- ``start_preview`` stores the upload with a job (or reuses the file of an earlier preview,
  which it replaces) and gives the preview a one-time ``token``;
- ``start_apply`` uses that token up in one statement, so of two clicks on the same preview
  one starts the apply job and the other gets None; a replaced or stale preview (older than
  ``PREVIEW_MAX_AGE``) has no token any more;
- ``run_here`` runs a job in the request instead (small files): the same path for both sizes;
- a job's result is a JSON file (``save_json``/``payload``); its progress is a small file in the
  shared storage (``ProgressFile``), because an import works inside one database transaction
  whose writes no one else sees;
- ``own_job`` and ``preview_for`` find a job of the requesting user only, and never fail on a
  hostile id or token;
- ``progress_context`` is what the progress template (``admin/jobs/_import_progress.html``)
  shows while a job runs.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from . import runner
from .models import Job

PREVIEW, APPLY = "preview", "apply"
PREVIEW_MAX_AGE = dt.timedelta(hours=24)  # a preview older than this must be made again
PROGRESS_REFRESH_SECONDS = 3


def start_preview(kind: str, *, user, scope: str, params: dict, upload=None, from_job: Job | None = None,
                  run_here: bool = False) -> Job:
    """A preview job for an uploaded file, or (``from_job``) for the file of an earlier preview,
    which is replaced: only the newest preview of a file can be applied."""
    params = {**params, "stage": PREVIEW, "token": secrets.token_hex(16)}
    if from_job is not None:
        params["input_job"] = from_job.params.get("input_job", from_job.pk)
        job = runner.create(kind, params=params, scope=scope, user=user)
        Job.objects.filter(pk=from_job.pk).update(params={**from_job.params, "token": ""})
    else:
        job = runner.create(kind, params=params, scope=scope, user=user, input_file=upload, input_name=upload.name)
    return go(job, run_here)


def start_apply(kind: str, *, user, scope: str, preview: Job, params: dict, run_here: bool = False) -> Job | None:
    """The job applying ``preview``, or None when its token was used up (or replaced) meanwhile."""
    token = preview.params.get("token")
    with transaction.atomic():
        claimed = Job.objects.filter(pk=preview.pk, params__token=token).update(params={**preview.params, "token": ""})
        if not token or not claimed:
            return None
        params = {"file_name": preview.params.get("file_name", ""), "size": preview.params.get("size", 0),
                  **params, "stage": APPLY, "preview_job": preview.pk}
        job = runner.create(kind, params=params, scope=scope, user=user)
    return go(job, run_here)


def go(job: Job, run_here: bool) -> Job:
    if run_here:
        return runner.run_here(job)
    runner.enqueue(job)
    job.refresh_from_db()
    return job


def preview_for(kind: str, token: str, user) -> Job | None:
    """The finished, not yet applied (nor replaced) preview of this user with this token."""
    if not token or not token.isascii() or not token.isalnum() or len(token) > 64:
        return None
    job = (Job.objects.filter(kind=kind, requested_by=user, params__token=token, status=Job.Status.DONE,
                              created_at__gte=timezone.now() - PREVIEW_MAX_AGE)
           .order_by("-pk").first())
    return job if job is not None and job.params.get("stage") == PREVIEW else None


def own_job(kind: str, user, value: str) -> Job | None:
    """The job of this kind with the id ``value`` if this user started it (None for anything else)."""
    if not value or not value.isascii() or not value.isdigit() or len(value) > 18:
        return None
    return Job.objects.filter(pk=int(value), kind=kind, requested_by=user).first()


def preview_of(job: Job) -> Job:
    """The preview job an apply job applies (the job itself for a preview)."""
    return Job.objects.get(pk=job.params["preview_job"]) if job.params.get("stage") == APPLY else job


def read_input(job: Job) -> bytes:
    """The uploaded file a preview or apply job works on (stored once, with the first preview)."""
    source = preview_of(job)
    input_job = Job.objects.get(pk=source.params.get("input_job", source.pk))
    with input_job.input_file.open("rb") as handle:
        return handle.read()


def payload(job: Job) -> dict | None:
    """The JSON a finished job left (its result file)."""
    if job.status != Job.Status.DONE or not job.result_file:
        return None
    try:
        with job.result_file.open("rb") as handle:
            return json.loads(handle.read().decode("utf-8"))
    except (OSError, ValueError):
        return None


def to_json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def save_json(job: Job, name: str, value) -> None:
    runner.save_result(job, name, to_json(value))


def file_stem(job: Job) -> str:
    return (job.params.get("file_name", "").rsplit(".", 1)[0] or "import")[:60]


# ---------------------------------------------------------------------------------------------
# Progress


def progress_path(job: Job) -> str:
    return f"private/jobs/progress/{job.kind}-{job.pk}.json"


class ProgressFile:
    """Progress of a running import, in a small file beside the job's files.

    The import works inside one database transaction (rolled back for a preview), so progress
    written to the job's row would be seen by no one; the shared storage is outside it."""

    def __init__(self, job: Job):
        self.path = progress_path(job)

    def __call__(self, done: int, total: int) -> None:
        try:
            if default_storage.exists(self.path):
                default_storage.delete(self.path)
            default_storage.save(self.path, ContentFile(to_json([done, total])))
        except OSError:
            pass  # progress is a courtesy: never a reason to fail the import


def progress_of(job: Job) -> tuple[int, int]:
    """(rows done, rows in the file) of a running import job, as far as known."""
    try:
        with default_storage.open(progress_path(job), "rb") as handle:
            done, total = json.loads(handle.read().decode("utf-8"))
        return int(done), int(total)
    except (OSError, ValueError, TypeError):
        return job.done, job.total


def with_progress_file(handler: Callable[[Job, Callable], str]) -> Callable[[Job, Callable], str]:
    """A job handler whose progress file is removed when it ends, however it ends."""

    def run(job: Job, progress) -> str:
        try:
            return handler(job, progress)
        finally:
            try:
                default_storage.delete(progress_path(job))
            except OSError:
                pass

    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


def progress_context(job: Job, job_url: str) -> dict:
    """What ``admin/jobs/_import_progress.html`` shows of a queued or running job."""
    done, total = progress_of(job)
    return {"running_job": job, "refresh_seconds": PROGRESS_REFRESH_SECONDS, "job_url": job_url,
            "done": done, "total": total, "percent": round(100 * done / total) if total else 0}
