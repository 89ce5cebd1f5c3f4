"""Retention: finished jobs with their files and old e-mails are deleted after their days;
work still to do is never touched."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from jobs import retention, runner
from jobs.models import Job, OutgoingEmail
from jobs.worker import Worker

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def _job(status, finished_days_ago, *, name="letters.pdf"):
    now = timezone.now()
    job = Job.objects.create(kind="providers_export", status=status)
    job.result_file.save(name, ContentFile(b"%PDF secret codes"), save=False)
    job.input_file.save("upload.csv", ContentFile(b"name,contact"), save=False)
    Job.objects.filter(pk=job.pk).update(
        result_file=job.result_file.name, input_file=job.input_file.name,
        finished_at=None if finished_days_ago is None else now - finished_days_ago * DAY,
        created_at=now - 100 * DAY,
    )
    job.refresh_from_db()
    return job


def _email(status, days_ago):
    now = timezone.now()
    email = OutgoingEmail.objects.create(kind="invitation", to=["a@example.jp"], subject="s",
                                         body="https://example.jp/survey/t/secret/", status=status)
    OutgoingEmail.objects.filter(pk=email.pk).update(
        created_at=now - days_ago * DAY,
        sent_at=now - days_ago * DAY if status == OutgoingEmail.Status.SENT else None,
    )
    return email


def _exists(field) -> bool:
    return default_storage.exists(field.name)


def test_old_finished_jobs_lose_their_files_and_rows_and_nothing_else(settings):
    settings.JOB_RETENTION_DAYS = 30
    old_done = _job(Job.Status.DONE, 31)
    old_failed = _job(Job.Status.FAILED, 40)
    recent = _job(Job.Status.DONE, 29)
    running = _job(Job.Status.RUNNING, None)
    queued = _job(Job.Status.QUEUED, None)
    assert _exists(old_done.result_file) and _exists(old_done.input_file)
    result = retention.prune()
    assert result.jobs == 2 and result.files == 4
    assert set(Job.objects.values_list("pk", flat=True)) == {recent.pk, running.pk, queued.pk}
    for gone in (old_done, old_failed):
        assert not _exists(gone.result_file) and not _exists(gone.input_file)
    for kept in (recent, running, queued):
        assert _exists(kept.result_file) and _exists(kept.input_file)


def test_sent_and_failed_emails_go_after_their_days_pending_ones_stay(settings):
    settings.EMAIL_RETENTION_DAYS = 90
    old_sent = _email(OutgoingEmail.Status.SENT, 91)
    old_failed = _email(OutgoingEmail.Status.FAILED, 120)
    recent_sent = _email(OutgoingEmail.Status.SENT, 10)
    old_pending = _email(OutgoingEmail.Status.PENDING, 200)
    old_sending = _email(OutgoingEmail.Status.SENDING, 200)
    assert retention.prune().emails == 2
    left = set(OutgoingEmail.objects.values_list("pk", flat=True))
    assert left == {recent_sent.pk, old_pending.pk, old_sending.pk}
    assert old_sent.pk not in left and old_failed.pk not in left


def test_files_no_job_refers_to_are_removed_when_old(settings):
    settings.JOB_RETENTION_DAYS = 30
    kept_job = _job(Job.Status.DONE, 1)
    old_orphan = default_storage.save("private/jobs/out/2026/01/crashed.pdf", ContentFile(b"x"))
    new_orphan = default_storage.save("private/jobs/out/2026/12/just-written.pdf", ContentFile(b"x"))
    other = default_storage.save("private/other/keep.txt", ContentFile(b"x"))
    now = timezone.now().timestamp()
    for name, age_days in ((old_orphan, 45), (new_orphan, 0), (other, 400),
                           (kept_job.result_file.name, 400)):
        os.utime(default_storage.path(name), (now - age_days * 86400, now - age_days * 86400))
    assert retention.prune().orphan_files == 1
    assert not default_storage.exists(old_orphan)
    assert default_storage.exists(new_orphan) and default_storage.exists(other)
    assert _exists(kept_job.result_file), "a job's own file is the job's to keep"


def test_command_counts_with_dry_run_then_deletes(settings, capsys):
    settings.JOB_RETENTION_DAYS = 30
    job = _job(Job.Status.DONE, 10)
    _email(OutgoingEmail.Status.SENT, 10)
    call_command("prune_jobs", "--days", "5", "--email-days", "5", "--dry-run")
    assert "would delete: jobs 1 (files 2)" in capsys.readouterr().out
    assert Job.objects.filter(pk=job.pk).exists() and _exists(job.result_file)
    assert OutgoingEmail.objects.count() == 1
    call_command("prune_jobs", "--days", "5", "--email-days", "5")
    assert "deleted: jobs 1 (files 2)" in capsys.readouterr().out
    assert not Job.objects.filter(pk=job.pk).exists() and not _exists(job.result_file)
    assert OutgoingEmail.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_worker_prunes_when_it_starts(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.JOB_RETENTION_DAYS = 30
    old = _job(Job.Status.DONE, 60)
    # A finished task-queue row of the same age goes too.
    result = runner.run_job.enqueue(old.pk)
    DBTaskResult.objects.filter(id=result.id).update(
        status="SUCCESSFUL", finished_at=timezone.now() - 60 * DAY)
    worker = Worker(queue_names=["default"], interval=0, batch=True, backend_name="default",
                    startup_delay=False, max_tasks=None, worker_id="w-prune", excluded_queue_names=[])
    worker.run()
    assert not Job.objects.filter(pk=old.pk).exists()
    assert not _exists(old.result_file)
    assert not DBTaskResult.objects.filter(id=result.id).exists()
