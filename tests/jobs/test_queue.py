"""The task queue on the database: jobs run by a worker, survive worker restarts, e-mails are
retried. These tests use the real database backend and run the worker loop in-process (in
transactional tests: the worker closes and reopens connections as in production)."""

import datetime as dt
import os
import signal
import time

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from jobs import mail as outbox
from jobs import runner
from jobs.models import Job, OutgoingEmail, WorkerProcess
from jobs.worker import Worker, recover_stale

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
CALLS: list[int] = []


@runner.register_kind("test_count", label="test", permission="jobs.change_job")
def _count_job(job, progress):
    progress(1, 2)
    if job.params.get("stop") and not CALLS:
        CALLS.append(job.pk)
        os.kill(os.getpid(), signal.SIGTERM)  # systemd stopping the worker mid-job
        time.sleep(1)
        raise AssertionError("the stop did not interrupt the task")
    CALLS.append(job.pk)
    progress(2, 2)
    runner.save_result(job, "count.txt", b"two")
    return "counted"


@pytest.fixture(autouse=True)
def _database_queue(settings):
    settings.TASKS = DB_TASKS
    CALLS.clear()


def run_worker(worker_id="w-test", *, signals=False):
    worker = Worker(queue_names=["default"], interval=0, batch=True, backend_name="default",
                    startup_delay=False, max_tasks=None, worker_id=worker_id, excluded_queue_names=[])
    if signals:
        worker.configure_signals()
    try:
        worker.run()
    finally:
        worker.reset_signals()


@pytest.mark.django_db(transaction=True)
def test_a_job_waits_on_the_queue_until_a_worker_runs_it():
    job = runner.start("test_count")
    assert job.status == Job.Status.QUEUED
    assert DBTaskResult.objects.filter(status="READY").count() == 1
    run_worker()
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.message == "counted"
    assert (job.done, job.total) == (2, 2)
    assert job.result_file.read() == b"two"
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    # The worker removed its heartbeat row when it stopped.
    assert not WorkerProcess.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_stopped_worker_puts_its_task_back_and_the_next_one_finishes_it():
    job = runner.start("test_count", params={"stop": True})
    run_worker("w-first", signals=True)  # SIGTERM in the middle of the job
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED
    assert DBTaskResult.objects.get().status == "READY"
    run_worker("w-second")
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.attempts == 2
    assert CALLS == [job.pk, job.pk]


@pytest.mark.django_db(transaction=True)
def test_tasks_of_a_killed_worker_are_recovered_after_its_heartbeat_stops():
    job = runner.start("test_count")
    # A worker claimed the task and was killed (no clean stop): the row says RUNNING.
    now = timezone.now()
    WorkerProcess.objects.create(worker_id="w-killed", seen_at=now)
    task = DBTaskResult.objects.get()
    task.claim("w-killed")
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING)
    # While its heartbeat is fresh, nobody takes the task over.
    assert recover_stale(now + dt.timedelta(seconds=30)) == 0
    assert recover_stale(now + dt.timedelta(seconds=90)) == 1
    task.refresh_from_db()
    job.refresh_from_db()
    assert task.status == "READY" and job.status == Job.Status.QUEUED
    run_worker()
    job.refresh_from_db()
    assert job.status == Job.Status.DONE


@pytest.mark.django_db(transaction=True)
def test_failed_email_is_recorded_retried_later_and_then_sent(settings):
    settings.EMAIL_BACKEND = "tests.failing_mail.DownBackend"
    settings.EMAIL_RETRY_DELAYS = [60, 300]
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        email = outbox.queue_email(kind="receipt", to=["a@example.jp"], subject="件名", body="本文")
        run_worker()
        email.refresh_from_db()
        assert email.status == OutgoingEmail.Status.PENDING and email.attempts == 1
        assert "mail server unavailable" in email.last_error
        assert email.next_attempt_at == start + dt.timedelta(seconds=60)
        assert outbox.sweep() == 0  # not due yet
    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False):
        run_worker()  # the worker's sweep queues the due retry; the server is still down
        email.refresh_from_db()
        assert email.attempts == 2 and email.status == OutgoingEmail.Status.PENDING
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(start + dt.timedelta(seconds=400), tick=False):
        run_worker()
        email.refresh_from_db()
    assert email.status == OutgoingEmail.Status.SENT and email.attempts == 3
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["a@example.jp"]
    # A later duplicate task does not send it again.
    outbox.send_email.enqueue(email.pk)
    run_worker()
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_email_fails_for_good_after_the_last_retry_and_staff_can_resend(settings, staff_client):
    settings.EMAIL_BACKEND = "tests.failing_mail.DownBackend"
    settings.EMAIL_RETRY_DELAYS = [1]
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        email = outbox.queue_email(kind="receipt", to=["a@example.jp"], subject="件名X", body="秘密の本文")
        run_worker()
    with time_machine.travel(start + dt.timedelta(seconds=5), tick=False):
        run_worker()
    email.refresh_from_db()
    assert email.status == OutgoingEmail.Status.FAILED and email.attempts == 2
    page = staff_client.get("/admin/jobs/outgoingemail/").content.decode()
    assert "件名X" in page and "送信できず" in page and "a@example.jp" in page
    detail = staff_client.get(f"/admin/jobs/outgoingemail/{email.pk}/change/").content.decode()
    assert "mail server unavailable" in detail
    assert "秘密の本文" not in detail  # bodies can hold secret links and codes
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    staff_client.post("/admin/jobs/outgoingemail/", {"action": "resend_now", "_selected_action": [email.pk]})
    run_worker()
    email.refresh_from_db()
    assert email.status == OutgoingEmail.Status.SENT
    assert mail.outbox[0].subject == "件名X"


@pytest.mark.django_db(transaction=True)
def test_an_idle_worker_still_sends_retries_when_they_fall_due(monkeypatch):
    from django.db import connection

    from jobs import worker as worker_module

    monkeypatch.setattr(worker_module, "HEARTBEAT_EVERY", 0.1)
    monkeypatch.setattr(worker_module, "SWEEP_EVERY", 0)
    worker = Worker(queue_names=["default"], interval=0.1, batch=False, backend_name="default",
                    startup_delay=False, max_tasks=None, worker_id="w-idle", excluded_queue_names=[])

    def failed_earlier():  # an e-mail whose retry falls due while the worker waits for work
        now = timezone.now()
        OutgoingEmail.objects.create(
            kind="receipt", to=["later@example.jp"], subject="再送", body="本文", attempts=1,
            next_attempt_at=now, queued_at=now - dt.timedelta(minutes=1),
        )
        connection.close()

    def stop_when_sent():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not OutgoingEmail.objects.filter(
                status=OutgoingEmail.Status.SENT).exists():
            time.sleep(0.1)
        worker.running = False
        connection.close()

    import threading

    threading.Timer(0.5, failed_earlier).start()
    stopper = threading.Thread(target=stop_when_sent)
    stopper.start()
    worker.run()
    stopper.join()
    assert OutgoingEmail.objects.get().status == OutgoingEmail.Status.SENT
    assert mail.outbox[0].to == ["later@example.jp"]
