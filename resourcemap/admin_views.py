"""Back-office import pages: the open-data import (preview, choice, apply) and the pages of the
staff sheet import (the provider admin's インポート: preview, confirm).

Imported one way: ``admin.py`` mounts these URLs and views; nothing here imports ``admin.py``.

The work itself is a two-step job (``jobs.staged``): ``opendata_import`` (``import_jobs``) and
``provider_sheet_import`` (``sheet_import``). A file above ``SYNC_MAX_BYTES`` (open data) or
``SHEET_SYNC_MAX_BYTES`` (staff sheet) is previewed and applied by a worker while the page shows
the progress (reloading itself every few seconds while the job runs); a smaller one runs the
same job here, in the request.
"""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jobs import staged
from jobs.models import Job

from . import import_jobs, sheet_import, spreadsheet_limits
from .forms import VersionedConfirmImportForm, sign_versions
from .models import Provider

# Open-data files up to this size (about 2,000 rows) are previewed and applied in the request.
SYNC_MAX_BYTES = 1024 * 1024
# Staff sheets up to this size (about 150 rows of every column) too; bigger ones on a worker.
SHEET_SYNC_MAX_BYTES = 64 * 1024


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
    """The outcome of an apply job: to the list when saved, else back with what went wrong."""
    result = staged.payload(job) or {}
    if result.get("committed"):
        messages.success(request, result["message"])
        return HttpResponseRedirect(reverse("admin:resourcemap_provider_changelist"))
    message = result.get("message") or _("取り込めませんでした。何も保存されていません。")
    if result.get("details"):
        message = format_html("{}<ul>{}</ul>", message,
                              format_html_join("", "<li>{}</li>", ((line,) for line in result["details"])))
    messages.error(request, message)
    return HttpResponseRedirect(here)


def _expired(request, here: str):
    messages.error(request, _("確認の期限が切れました。もう一度ファイルを選んでください。"))
    return HttpResponseRedirect(here)


def _stopped(request, here: str):
    messages.error(request, _("取り込みの処理が途中で止まりました。何も保存されていません。もう一度ファイルを選んでください。"))
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
        job = staged.own_job(import_jobs.IMPORT_KIND, request.user, request.GET["job"])
        if job is None:
            return _expired(request, here)
        if job.is_active:
            context.update(staged.progress_context(job, f"{here}?job={job.pk}"))
            return TemplateResponse(request, page, context)
        if job.status == Job.Status.FAILED:
            return _stopped(request, here)
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


# ---------------------------------------------------------------------------------------------
# The staff sheet import (the provider admin's import and process_import views)


class SheetPreview:
    """A finished sheet preview job's payload, read by the import template as it reads a
    django-import-export result (rows with their changes, errors by row and column)."""

    def __init__(self, data: dict):
        self.diff_headers = data.get("diff_headers", [])
        self.totals = data.get("totals", {})
        self.base_errors = [SimpleNamespace(error=message, traceback="") for message in data.get("base_errors", [])]
        self._row_errors = [
            (number, [SimpleNamespace(error=message, traceback="", row=None) for message in errors])
            for number, errors in data.get("row_errors", [])
        ]
        self.invalid_rows = [
            SimpleNamespace(number=row["number"], field_specific_errors=row["fields"],
                            non_field_specific_errors=row["other"], values=(),
                            error_count=sum(map(len, row["fields"].values())) + len(row["other"]))
            for row in data.get("invalid_rows", [])
        ]
        # The cells were escaped by format_html when the job made them (resources.diff_cells).
        self._rows = [SimpleNamespace(import_type=row["import_type"],
                                      diff=[mark_safe(cell) for cell in row["diff"]])  # noqa: S308
                      for row in data.get("rows", [])]

    def row_errors(self):
        return self._row_errors

    def has_errors(self) -> bool:
        return bool(self.base_errors or self._row_errors)

    def has_validation_errors(self) -> bool:
        return bool(self.invalid_rows)

    def valid_rows(self):
        return self._rows


def _blank_import_form(request, model_admin):
    return model_admin.get_import_form_class(request)(
        model_admin.get_import_formats(), model_admin.get_import_resource_classes(request))


def _sheet_page(request, model_admin, form, **extra):
    """The import page as django-import-export lays it out, with a job's progress or preview."""
    context = model_admin.get_import_context_data()
    context.update(model_admin.admin_site.each_context(request))
    resource_kwargs = model_admin.get_import_resource_kwargs(request, form=form)
    resources = [cls(**resource_kwargs) for cls in model_admin.get_import_resource_classes(request)]
    context.update(
        title=_("インポート"), form=form, opts=model_admin.model._meta, media=model_admin.media + form.media,
        fields_list=[(r.get_display_name(), [f.column_name for f in r.get_user_visible_fields()]) for r in resources],
        import_error_display=model_admin.import_error_display, **extra,
    )
    return TemplateResponse(request, [model_admin.import_template_name], context)


def _sheet_preview(request, model_admin, form, job: Job):
    data = staged.payload(job) or {}
    if data.get("file_error"):
        if not form.is_bound:
            form.cleaned_data = {}  # a job's page: the form was not sent in this request
        form.add_error("import_file", data["file_error"])
        return _sheet_page(request, model_admin, form)
    extra = {"result": SheetPreview(data)}
    token = job.params.get("token")
    if token and data.get("can_apply"):
        versions = {int(pk): version for pk, version in data.get("versions", {}).items()}
        extra["confirm_form"] = VersionedConfirmImportForm(
            initial={"token": token, "base_versions": sign_versions(versions)})
    return _sheet_page(request, model_admin, form, **extra)


def sheet_import_view(request, model_admin):
    """インポート: choose a sheet; its preview (here or, for a big one, on a worker)."""
    if not model_admin.has_import_permission(request):
        raise PermissionDenied
    here = reverse("admin:resourcemap_provider_import")
    form = model_admin.create_import_form(request)
    if request.method == "GET" and "job" in request.GET:
        job = staged.own_job(sheet_import.SHEET_KIND, request.user, request.GET["job"])
        if job is None:
            return _expired(request, here)
        if job.is_active:
            return _sheet_page(request, model_admin, form, **staged.progress_context(job, f"{here}?job={job.pk}"))
        if job.status == Job.Status.FAILED:
            return _stopped(request, here)
        if job.params.get("stage") == staged.APPLY:
            return _after_apply(request, job, here)
        return _sheet_preview(request, model_admin, form, job)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["import_file"]
        small = upload.size <= SHEET_SYNC_MAX_BYTES
        job = sheet_import.start_preview(user=request.user, upload=upload, fmt=int(form.cleaned_data["format"]),
                                         run_here=small)
        if not small:
            return HttpResponseRedirect(f"{here}?job={job.pk}")
        return _sheet_preview(request, model_admin, form, job)
    return _sheet_page(request, model_admin, form)


def sheet_confirm_view(request, model_admin):
    """The confirmation of a preview: applies exactly that preview, once."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not model_admin.has_import_permission(request):
        raise PermissionDenied
    here = reverse("admin:resourcemap_provider_import")
    confirm = VersionedConfirmImportForm(request.POST)
    if not confirm.is_valid():
        form = _blank_import_form(request, model_admin)
        # A broken or altered confirmation (its signature): choose the file again.
        return _sheet_page(request, model_admin, form,
                           confirm_errors=[_("確認の期限が切れました。もう一度ファイルを選んでください。")])
    preview = sheet_import.preview_for(confirm.cleaned_data["token"], request.user)
    if preview is None:
        return _expired(request, here)
    seen = {int(pk): version for pk, version in (staged.payload(preview) or {}).get("versions", {}).items()}
    if confirm.cleaned_data["base_versions"] != seen:
        return _expired(request, here)  # versions of another preview: not what was shown
    small = preview.params.get("size", 0) <= SHEET_SYNC_MAX_BYTES
    job = sheet_import.start_apply(user=request.user, preview=preview, run_here=small)
    if job is None:
        return _expired(request, here)
    if not small:
        return HttpResponseRedirect(f"{here}?job={job.pk}")
    return _after_apply(request, job, here)


def admin_urls(model_admin) -> list:
    view = model_admin.admin_site.admin_view(lambda request: admin_import_view(request, model_admin))
    return [path("opendata-import/", view, name="resourcemap_provider_opendata_import")]
