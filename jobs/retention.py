"""Keeping finished work only as long as it is needed.

Letters and exports hold personal data (names, contact fields, the secret survey links and
access codes on letters), and the outbox holds e-mail bodies with secret links. After their
retention period they are deleted:

- finished jobs (完了 / 失敗) older than ``JOB_RETENTION_DAYS``: their input and result files
  in the configured storage, then the job row;
- files under ``private/jobs/`` that no job refers to any more (left by a crashed worker or a
  deleted row) and older than the same period;
- sent and failed e-mails (送信済み / 送信できず) older than ``EMAIL_RETENTION_DAYS``;
- finished task-queue rows (django-tasks-db) older than ``JOB_RETENTION_DAYS``, and expired
  rate-limit counters.

Queued and running jobs and e-mails waiting to be sent are never touched. Every worker runs
this every ``PRUNE_EVERY`` seconds (``jobs.worker``); ``manage.py prune_jobs`` runs it by hand
(``--dry-run`` counts only).
"""

from __future__ import annotations

import datetime as dt
import logging
import posixpath
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import caches
from django.core.files.storage import default_storage
from django.db.models import Q
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from .models import Job, OutgoingEmail

log = logging.getLogger("jobs.retention")

JOB_FILES_ROOT = "private/jobs"
FINISHED_TASKS = ("SUCCESSFUL", "FAILED")


@dataclass
class Pruned:
    jobs: int = 0
    files: int = 0
    orphan_files: int = 0
    emails: int = 0
    task_rows: int = 0
    counters: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"jobs {self.jobs} (files {self.files}), unreferenced files {self.orphan_files}, "
            f"e-mails {self.emails}, task rows {self.task_rows}, rate counters {self.counters}"
        )


def _days(name: str) -> int:
    return int(getattr(settings, name))


def _walk(storage, folder: str):
    try:
        folders, files = storage.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        yield posixpath.join(folder, name)
    for name in folders:
        yield from _walk(storage, posixpath.join(folder, name))


def prune(*, now: dt.datetime | None = None, job_days: int | None = None,
          email_days: int | None = None, dry_run: bool = False) -> Pruned:
    now = now or timezone.now()
    job_days = _days("JOB_RETENTION_DAYS") if job_days is None else job_days
    email_days = _days("EMAIL_RETENTION_DAYS") if email_days is None else email_days
    job_cutoff = now - dt.timedelta(days=job_days)
    email_cutoff = now - dt.timedelta(days=email_days)
    done = Pruned()

    old_jobs = Job.objects.filter(
        status__in=(Job.Status.DONE, Job.Status.FAILED)
    ).filter(Q(finished_at__lt=job_cutoff) | Q(finished_at__isnull=True, created_at__lt=job_cutoff))
    for job in old_jobs.iterator(chunk_size=200):
        for stored in (job.input_file, job.result_file):
            if stored:
                done.files += 1
                if not dry_run:
                    try:
                        stored.delete(save=False)
                    except OSError as error:  # kept for the next run
                        done.errors.append(f"{stored.name}: {error}")
        done.jobs += 1
        if not dry_run:
            job.delete()

    storage = default_storage
    referenced = {
        name for pair in Job.objects.values_list("input_file", "result_file") for name in pair if name
    }
    for name in _walk(storage, JOB_FILES_ROOT):
        if name in referenced:
            continue
        try:
            modified = storage.get_modified_time(name)
        except (NotImplementedError, OSError):
            continue
        if timezone.is_naive(modified):
            modified = timezone.make_aware(modified, dt.UTC)
        if modified < job_cutoff:
            done.orphan_files += 1
            if not dry_run:
                storage.delete(name)

    emails = OutgoingEmail.objects.filter(
        Q(status=OutgoingEmail.Status.SENT, sent_at__lt=email_cutoff)
        | Q(status=OutgoingEmail.Status.SENT, sent_at__isnull=True, created_at__lt=email_cutoff)
        | Q(status=OutgoingEmail.Status.FAILED, created_at__lt=email_cutoff)
    )
    tasks = DBTaskResult.objects.filter(status__in=FINISHED_TASKS, finished_at__lt=job_cutoff)
    if dry_run:
        done.emails = emails.count()
        done.task_rows = tasks.count()
    else:
        done.emails = emails.delete()[0]
        done.task_rows = tasks.delete()[0]
        done.counters = caches[settings.RATELIMIT_USE_CACHE].delete_expired()
    if done.jobs or done.orphan_files or done.emails:
        log.info("pruned %s", done)
    return done
