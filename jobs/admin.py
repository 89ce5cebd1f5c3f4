"""Back office: background jobs with progress and downloads, workers, and the e-mail outbox."""

from __future__ import annotations

import re
import threading

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from resourcemap.models import Provider
from resourcemap.security import GuardedLookupsMixin

from . import mail, runner
from .models import Job, OutgoingEmail, WorkerProcess

_ADDRESS = re.compile(r"[^\s<>'\"(),;:\[\]]+@[^\s<>'\"(),;:\[\]]+")


def download_response(request, job: Job) -> FileResponse:
    """The only way to a job's file: staff with the kind's permission, in every mode."""
    if not runner.can_use(request.user, job):
        raise PermissionDenied
    if job.status != Job.Status.DONE or not job.result_file:
        raise Http404
    try:
        handle = job.result_file.open("rb")
    except FileNotFoundError as error:
        raise Http404 from error
    response = FileResponse(handle, as_attachment=True, filename=job.result_name or "result")
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


class KindFilter(admin.SimpleListFilter):
    title = gettext_lazy("種類")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return runner.kind_choices()

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(kind=self.value())
        return queryset


class NoAddNoDeleteMixin:
    """For rows the system writes and keeps: staff may look and act on them, never add or delete."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Job)
class JobAdmin(NoAddNoDeleteMixin, admin.ModelAdmin):
    list_display = ("kind_name", "status", "progress", "message", "requested_by", "created_at",
                    "finished_at")
    list_filter = (KindFilter, "status")
    list_select_related = ("requested_by",)
    readonly_fields = ("kind_name", "status", "progress", "message", "error", "attempts",
                       "requested_by", "created_at", "started_at", "finished_at")
    actions = ["retry_jobs"]

    def get_urls(self):
        return [
            path("<int:pk>/download/", self.admin_site.admin_view(self.download_view),
                 name="jobs_job_download"),
        ] + super().get_urls()

    def download_view(self, request, pk):
        return download_response(request, get_object_or_404(Job, pk=pk))

    @admin.display(description=gettext_lazy("種類"), ordering="kind")
    def kind_name(self, obj):
        return runner.kind_label(obj.kind)

    @admin.display(description=gettext_lazy("進み具合"))
    def progress(self, obj):
        return f"{obj.done}/{obj.total}" if obj.total else "—"

    # The download column depends on who looks: the request's user is kept per thread (one
    # request at a time per thread) while the list or the detail page is built.
    _local = threading.local()

    @admin.display(description=gettext_lazy("ダウンロード"))
    def download(self, obj):
        if obj.status != Job.Status.DONE or not obj.result_file:
            return "—"
        user = getattr(self._local, "user", None)
        if user is None or not runner.can_use(user, obj):
            return _("（権限がありません）")
        return format_html('<a href="{}">{}</a>', reverse("admin:jobs_job_download", args=[obj.pk]),
                           obj.result_name or _("ダウンロード"))

    def get_list_display(self, request):
        self._local.user = request.user
        return (*self.list_display, "download")

    def get_readonly_fields(self, request, obj=None):
        self._local.user = request.user
        return (*self.readonly_fields, "download")

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj)

    @admin.action(description=gettext_lazy("失敗した処理をもう一度実行する"), permissions=["change"])
    def retry_jobs(self, request, queryset):
        n = 0
        for job in queryset.filter(status=Job.Status.FAILED):
            if runner.can_use(request.user, job):
                runner.retry(job)
                n += 1
        self.message_user(request, _("%(n)s 件をもう一度実行します。") % {"n": n})


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(GuardedLookupsMixin, NoAddNoDeleteMixin, admin.ModelAdmin):
    """Staff see what was sent, what waits for a retry and what failed (never the body, which
    may hold a provider's secret link and code). The recipients are mostly survey contacts
    (``surveys.emails``): shown to staff with that permission only."""

    list_display = ("created_at", "kind_name", "recipients", "subject", "status", "attempts",
                    "next_attempt_at", "sent_at", "short_error")
    list_filter = ("status", "kind")
    search_fields = ("subject",)
    readonly_fields = ("kind_name", "recipients", "subject", "status", "attempts", "last_error",
                       "created_at", "next_attempt_at", "sent_at")
    fields = readonly_fields
    actions = ["resend_now"]
    private_lookups = ("to",)
    secret_lookups = ("body",)

    def get_list_display(self, request):
        return self._without_recipients(request, super().get_list_display(request))

    def get_fields(self, request, obj=None):
        return self._without_recipients(request, super().get_fields(request, obj))

    def get_readonly_fields(self, request, obj=None):
        return self._without_recipients(request, super().get_readonly_fields(request, obj))

    # Without the permission: no recipients column, and errors with every address blanked
    # (a mail server's refusal names the recipient: "<a@example.jp>: Recipient address rejected").
    _HIDDEN = {"short_error": "short_error_hidden", "last_error": "last_error_hidden"}

    @classmethod
    def _without_recipients(cls, request, names):
        if Provider.may_see_private_contact(request.user):
            return names
        return tuple(cls._HIDDEN.get(name, name) for name in names if name != "recipients")

    @staticmethod
    def _blank_addresses(text: str) -> str:
        return _ADDRESS.sub(_("（非公開）"), text)

    @admin.display(description=gettext_lazy("種類"), ordering="kind")
    def kind_name(self, obj):
        return mail.EMAIL_KINDS.get(obj.kind, obj.kind)

    @admin.display(description=gettext_lazy("宛先"))
    def recipients(self, obj):
        return ", ".join(obj.to)

    @admin.display(description=gettext_lazy("エラー"))
    def short_error(self, obj):
        return obj.last_error[:80] or "—"

    @admin.display(description=gettext_lazy("エラー"))
    def short_error_hidden(self, obj):
        return self._blank_addresses(obj.last_error)[:80] or "—"

    @admin.display(description=gettext_lazy("最後のエラー"))
    def last_error_hidden(self, obj):
        return self._blank_addresses(obj.last_error)

    @admin.action(description=gettext_lazy("選んだメールを今すぐ送り直す"), permissions=["change"])
    def resend_now(self, request, queryset):
        n = 0
        for email in queryset.filter(status__in=(OutgoingEmail.Status.FAILED, OutgoingEmail.Status.PENDING)):
            mail.resend(email)
            n += 1
        level = messages.SUCCESS if n else messages.WARNING
        self.message_user(request, _("%(n)s 件を送り直します。") % {"n": n}, level)


@admin.register(WorkerProcess)
class WorkerProcessAdmin(admin.ModelAdmin):
    list_display = ("hostname", "pid", "worker_id", "started_at", "seen_at")
    readonly_fields = list_display
    fields = list_display

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
