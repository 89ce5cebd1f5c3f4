"""Records of long work done by the worker processes: jobs with progress and a result file,
the workers' heartbeats, and the e-mail outbox.

The queue itself is django-tasks with its database backend (``django_tasks_db``): a task row
per unit of work in the same database. These models are what staff see in the admin.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Job(models.Model):
    """One piece of long work (letters, bulk e-mail, export, import) started by staff."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("待機中")
        RUNNING = "running", _("実行中")
        DONE = "done", _("完了")
        FAILED = "failed", _("失敗")

    kind = models.CharField(_("種類"), max_length=40)
    # What the job belongs to, e.g. "surveyround:3", so a page can list its own jobs.
    scope = models.CharField(max_length=80, blank=True, db_index=True, editable=False)
    params = models.JSONField(default=dict, blank=True, editable=False)
    status = models.CharField(_("状態"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(_("全体"), default=0)
    done = models.PositiveIntegerField(_("済み"), default=0)
    message = models.CharField(_("結果"), max_length=300, blank=True)
    error = models.TextField(_("エラー"), blank=True)
    # Files live in the configured storage (STORAGES["default"]), shared by every app server
    # and worker; they are never served from a public URL, only by the download view.
    input_file = models.FileField(upload_to="private/jobs/in/%Y/%m/", blank=True, editable=False)
    result_file = models.FileField(upload_to="private/jobs/out/%Y/%m/", blank=True, editable=False)
    result_name = models.CharField(max_length=200, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(_("実行回数"), default=0)
    task_id = models.CharField(max_length=64, blank=True, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("依頼した職員"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    created_at = models.DateTimeField(_("依頼日時"), auto_now_add=True)
    started_at = models.DateTimeField(_("開始日時"), null=True, blank=True)
    finished_at = models.DateTimeField(_("終了日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("バックグラウンド処理")
        verbose_name_plural = _("バックグラウンド処理")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        from .runner import kind_label

        return f"{kind_label(self.kind)} #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


class WorkerProcess(models.Model):
    """A running ``manage.py worker``; its heartbeat tells others whether its tasks are alive."""

    worker_id = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=200, blank=True)
    pid = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField()

    class Meta:
        verbose_name = _("ワーカー")
        verbose_name_plural = _("ワーカー")

    def __str__(self) -> str:
        return f"{self.hostname}:{self.pid}"


class OutgoingEmail(models.Model):
    """An e-mail to send. Requests only write this row; a worker sends it and retries failures."""

    class Status(models.TextChoices):
        PENDING = "pending", _("送信待ち")
        SENDING = "sending", _("送信中")
        SENT = "sent", _("送信済み")
        FAILED = "failed", _("送信できず")

    kind = models.CharField(_("種類"), max_length=40)
    to = models.JSONField(_("宛先"), default=list)
    subject = models.CharField(_("件名"), max_length=300)
    body = models.TextField(editable=False)
    status = models.CharField(_("状態"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("試行回数"), default=0)
    last_error = models.TextField(_("最後のエラー"), blank=True)
    # One pending e-mail per key (e.g. "invitation:12:emailed_at"): a second click does not
    # send the same invitation twice.
    dedupe_key = models.CharField(max_length=120, blank=True, db_index=True, editable=False)
    # Dotted path of a function called with (email) after a successful send.
    on_sent = models.CharField(max_length=200, blank=True, editable=False)
    on_sent_args = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    next_attempt_at = models.DateTimeField(_("次の送信"), null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(_("送信日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("送信メール")
        verbose_name_plural = _("送信メール")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return self.subject
