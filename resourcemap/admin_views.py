"""Back-office pages that are not a model's own admin: the open-data import (preview, choice, apply).

Imported one way: ``admin.py`` mounts these URLs; nothing here imports ``admin.py``.

The work itself is the ``opendata_import`` job (``import_jobs``): a file above
``SYNC_MAX_BYTES`` is previewed and applied by a worker while this page shows the progress
(reloading itself every few seconds while the job runs); a smaller one runs the same job here,
in the request.
"""

from __future__ import annotations

from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jobs.models import Job

from . import import_jobs, spreadsheet_limits
from .models import Provider

# Files up to this size (about 2,000 rows) are previewed and applied in the request.
SYNC_MAX_BYTES = 1024 * 1024
PROGRESS_REFRESH_SECONDS = 3


class UploadForm(forms.Form):
    import_file = forms.FileField(
        label=gettext_lazy("ファイル（CSV）"),
        help_text=gettext_lazy(
            "介護サービス情報公表システム、推奨データセット（医療機関一覧・介護サービス事業所一覧）、"
            "自治体標準オープンデータセット、医療情報ネット（ナビイ）の施設のCSV。文字コードは自動で判定します。"
        ),
    )
    hours_file = forms.FileField(
        label=gettext_lazy("診療時間のファイル（任意）"),
        required=False,
        help_text=gettext_lazy(
            "医療情報ネット（ナビイ）の施設のファイルと一緒に公開されている「…_speciality_hours_…」のCSV。"
            "選ぶと診療時間も取り込みます。選ばないときは診療日をお知らせ欄に入れ、時間は調査で確かめます。"
        ),
    )


def _merges(values: list[str]) -> dict[int, int]:
    """``line:provider id`` pairs from the "same office" boxes of the preview."""
    merges = {}
    for value in values:
        line, _sep, pk = value.partition(":")
        if line.isdigit() and pk.isdigit() and len(line) < 9 and len(pk) < 19:
            merges[int(line)] = int(pk)
    return merges


def _small(job: Job) -> bool:
    return job.params.get("size", 0) <= SYNC_MAX_BYTES


def _own_job(request, value: str) -> Job | None:
    if not value.isdigit() or len(value) > 18:
        return None
    return Job.objects.filter(pk=int(value), kind=import_jobs.IMPORT_KIND, requested_by=request.user).first()


def _show_preview(context, job: Job, here: str) -> None:
    preview = import_jobs.payload(job) or {}
    context.update(
        report=preview, rows=preview.get("rows", []), totals=preview.get("totals", {}),
        error_lines=preview.get("error_lines", []), left_out_count=preview.get("left_out_count", 0),
        good_changes=preview.get("good_changes", 0),
        merge_offered=any(row.get("likely_id") for row in preview.get("rows", [])),
    )
    token = job.params.get("token")
    if token and preview.get("can_apply"):
        context["token"] = token
        if preview.get("has_errors"):
            context["left_out_url"] = f"{here}?left_out={token}"


def _after_apply(request, job: Job, here: str):
    result = import_jobs.payload(job) or {}
    if result.get("committed"):
        messages.success(request, result["message"])
        return HttpResponseRedirect(reverse("admin:resourcemap_provider_changelist"))
    messages.error(request, result.get("message") or _("取り込めませんでした。何も保存されていません。"))
    return HttpResponseRedirect(here)


def _expired(request, here: str):
    messages.error(request, _("確認の期限が切れました。もう一度ファイルを選んでください。"))
    return HttpResponseRedirect(here)


def admin_import_view(request, model_admin):
    if not (request.user.is_active and request.user.is_staff
            and request.user.has_perm(import_jobs.IMPORT_PERMISSION)):
        raise PermissionDenied
    opts = Provider._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": opts,
        "title": _("オープンデータ取込"),
        "form": UploadForm(),
        "report": None,
        "has_view_permission": True,
    }
    here = reverse("admin:resourcemap_provider_opendata_import")
    page = "admin/resourcemap/opendata_import.html"

    if request.method == "GET" and request.GET.get("left_out"):
        # The rows with problems, as in the file, with the reason in the last column.
        job = import_jobs.preview_for(request.GET["left_out"], request.user)
        text = (import_jobs.payload(job) or {}).get("left_out_csv") if job else None
        if not text:
            return _expired(request, here)
        response = HttpResponse(text.encode("utf-8-sig"), content_type="text/csv; charset=utf-8")
        stem = (job.params["file_name"].rsplit(".", 1)[0] or "import")[:60]
        response["Content-Disposition"] = (
            f'attachment; filename="left-out-rows.csv"; filename*=UTF-8\'\'{quote(stem + "-left-out.csv")}'
        )
        return response

    if request.method == "GET" and request.GET.get("job"):
        # A job on the worker: its progress, then the preview or the outcome.
        job = _own_job(request, request.GET["job"])
        if job is None:
            return _expired(request, here)
        if job.is_active:
            done, total = import_jobs.progress_of(job)
            context.update(running_job=job, refresh_seconds=PROGRESS_REFRESH_SECONDS,
                           job_url=f"{here}?job={job.pk}", done=done, total=total,
                           percent=round(100 * done / total) if total else 0)
            return TemplateResponse(request, page, context)
        if job.status == Job.Status.FAILED:
            messages.error(request, _("取り込みの処理が途中で止まりました。何も保存されていません。もう一度ファイルを選んでください。"))
            return HttpResponseRedirect(here)
        if job.params.get("stage") == import_jobs.APPLY:
            return _after_apply(request, job, here)
        file_error = (import_jobs.payload(job) or {}).get("file_error")
        if file_error:
            context["file_error"] = _("%(name)s: %(error)s") % {"name": job.params["file_name"], "error": file_error}
        else:
            _show_preview(context, job, here)
        return TemplateResponse(request, page, context)

    if request.method == "POST" and request.POST.get("token"):
        preview = import_jobs.preview_for(request.POST["token"], request.user)
        if preview is None:
            return _expired(request, here)
        small = _small(preview)
        if request.POST.get("merge_again"):
            merges = _merges(request.POST.getlist("merge"))
            job = import_jobs.start_preview(user=request.user, upload=None, from_job=preview, merges=merges,
                                            run_here=small)
        else:
            job = import_jobs.start_apply(user=request.user, preview=preview, choice=request.POST.get("choice", ""),
                                          run_here=small)
            if job is None:
                return _expired(request, here)
            if small:
                return _after_apply(request, job, here)
        if not small:
            return HttpResponseRedirect(f"{here}?job={job.pk}")
        _show_preview(context, job, here)
        return TemplateResponse(request, page, context)

    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        context["form"] = form
        if form.is_valid():
            upload = form.cleaned_data["import_file"]
            hours_upload = form.cleaned_data.get("hours_file")
            limit = spreadsheet_limits.MAX_UPLOAD
            if upload.size > limit or (hours_upload and hours_upload.size > limit):
                form.add_error("import_file", _("ファイルが大きすぎます（30MBまで）。"))
                return TemplateResponse(request, page, context)
            small = upload.size + (hours_upload.size if hours_upload else 0) <= SYNC_MAX_BYTES
            job = import_jobs.start_preview(user=request.user, upload=upload, hours_upload=hours_upload,
                                            run_here=small)
            if not small:
                return HttpResponseRedirect(f"{here}?job={job.pk}")
            result = import_jobs.payload(job) or {}
            if result.get("file_error"):
                form.add_error("hours_file" if result.get("hours_error") else "import_file", result["file_error"])
            else:
                _show_preview(context, job, here)
    return TemplateResponse(request, page, context)


def admin_urls(model_admin) -> list:
    view = model_admin.admin_site.admin_view(lambda request: admin_import_view(request, model_admin))
    return [path("opendata-import/", view, name="resourcemap_provider_opendata_import")]
