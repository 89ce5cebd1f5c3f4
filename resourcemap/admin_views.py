"""Back-office pages that are not a model's own admin: the open-data import (preview, choice, apply).

Imported one way: ``admin.py`` mounts these URLs; nothing here imports ``admin.py``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import formats, opendata, spreadsheet_limits
from .history import change_cell, code_names, field_label
from .models import Provider

CACHE_PREFIX = "opendata-import:"
CACHE_SECONDS = 3600
FIELD_LABELS_EXTRA = {"provider_type": gettext_lazy("種別"), "area": gettext_lazy("地区")}


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


def _fingerprint(report: opendata.ImportReport) -> str:
    rows = [(r.line, r.status, r.type_name, sorted((k, str(v)) for k, v in r.changes.items())) for r in report.rows]
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()


def _field_label(name: str) -> str:
    if name in FIELD_LABELS_EXTRA:
        return str(FIELD_LABELS_EXTRA[name])
    return field_label(name)


def _preview_rows(report: opendata.ImportReport) -> list[dict]:
    names = code_names()

    def shown(name, value):
        return "" if value in (None, "") else change_cell(name, value, names)

    rows = []
    for outcome in report.rows:
        if outcome.status in (opendata.SKIPPED, opendata.NOT_LISTED):
            continue  # national files: thousands of rows of other municipalities, counted only
        rows.append(
            {
                "line": outcome.line,
                "status": outcome.status,
                "status_label": opendata.STATUS_LABELS[outcome.status],
                "name": outcome.name,
                "type_name": outcome.type_name,
                "provider_id": outcome.provider_id if report.committed or outcome.status != opendata.NEW else None,
                "changes": [
                    (_field_label(k), shown(k, old), shown(k, new))
                    for k, (old, new) in outcome.changes.items()
                ],
                "errors": outcome.errors,
                "note": outcome.note,
            }
        )
    return rows


def _stored(request, token: str):
    stored = cache.get(CACHE_PREFIX + token) if token.isalnum() else None
    if not stored or stored.get("user") != request.user.pk:
        return None
    return stored


def _run(stored, request, *, commit: bool, leave_out: bool, confirming: bool = False) -> opendata.ImportReport:
    # On confirmation each update is based on the provider version the preview saw.
    return opendata.import_file(
        stored["data"], file_name=stored["name"], commit=commit, user=request.user,
        leave_out_errors=leave_out, hours_data=stored.get("hours"), hours_file_name=stored.get("hours_name", ""),
        base_versions=stored.get("versions", {}) if confirming else None,
    )


def admin_import_view(request, model_admin):
    if not (request.user.is_active and request.user.is_staff
            and request.user.has_perm("resourcemap.change_provider")):
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
    changelist = reverse("admin:resourcemap_provider_changelist")
    here = reverse("admin:resourcemap_provider_opendata_import")

    if request.method == "GET" and request.GET.get("left_out"):
        # The rows with problems, as in the file, with the reason in the last column.
        stored = _stored(request, request.GET["left_out"])
        if not stored:
            messages.error(request, _("確認の期限が切れました。もう一度ファイルを選んでください。"))
            return HttpResponseRedirect(here)
        try:
            report = _run(stored, request, commit=False, leave_out=True)
        except formats.FileFormatError as error:
            messages.error(request, str(error))
            return HttpResponseRedirect(here)
        response = HttpResponse(opendata.left_out_csv(report), content_type="text/csv; charset=utf-8")
        stem = (stored["name"].rsplit(".", 1)[0] or "import")[:60]
        response["Content-Disposition"] = (
            f'attachment; filename="left-out-rows.csv"; filename*=UTF-8\'\'{quote(stem + "-left-out.csv")}'
        )
        return response

    if request.method == "POST" and request.POST.get("token"):
        stored = _stored(request, request.POST["token"])
        if not stored:
            messages.error(request, _("確認の期限が切れました。もう一度ファイルを選んでください。"))
            return HttpResponseRedirect(here)
        leave_out = request.POST.get("choice") == "leave_out"
        try:
            check = _run(stored, request, commit=False, leave_out=leave_out, confirming=True)
            if (check.has_errors and not leave_out) or _fingerprint(check) != stored["fingerprint"]:
                messages.error(
                    request,
                    _("確認の間にデータが変わったため取り込みを中止しました。何も保存されていません。もう一度ファイルを選んでください。"),
                )
                return HttpResponseRedirect(here)
            report = _run(stored, request, commit=True, leave_out=leave_out, confirming=True)
        except formats.FileFormatError as error:
            messages.error(request, str(error))
            return HttpResponseRedirect(here)
        cache.delete(CACHE_PREFIX + request.POST["token"])
        if not report.committed:
            messages.error(request, _("取り込めませんでした。何も保存されていません。"))
            return HttpResponseRedirect(here)
        messages.success(request, _("取り込みました: %(summary)s") % {"summary": report.summary()})
        return HttpResponseRedirect(changelist)

    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        context["form"] = form
        if form.is_valid():
            upload = form.cleaned_data["import_file"]
            hours_upload = form.cleaned_data.get("hours_file")
            limit = spreadsheet_limits.MAX_UPLOAD
            if upload.size > limit or (hours_upload and hours_upload.size > limit):
                form.add_error("import_file", _("ファイルが大きすぎます（30MBまで）。"))
            else:
                stored = {"data": upload.read(), "name": upload.name, "user": request.user.pk,
                          "hours": hours_upload.read() if hours_upload else None,
                          "hours_name": hours_upload.name if hours_upload else ""}
                try:
                    report = _run(stored, request, commit=False, leave_out=False)
                except formats.FileFormatError as error:
                    form.add_error("hours_file" if hours_upload and "診療時間" in str(error) else "import_file",
                                   str(error))
                else:
                    context["report"] = report
                    context["rows"] = _preview_rows(report)
                    context["totals"] = report.totals
                    context["error_lines"] = report.error_lines()
                    context["left_out_count"] = len(report.error_line_numbers)
                    context["good_changes"] = report.good_changes
                    changes = report.count(opendata.NEW) + report.count(opendata.UPDATE)
                    if changes or report.has_errors:
                        token = secrets.token_hex(16)
                        stored["fingerprint"] = _fingerprint(report)
                        stored["versions"] = {
                            r.provider_id: r.version for r in report.rows if r.provider_id and r.version
                        }
                        cache.set(CACHE_PREFIX + token, stored, CACHE_SECONDS)
                        context["token"] = token
                        context["left_out_url"] = f"{here}?left_out={token}"
    return TemplateResponse(request, "admin/resourcemap/opendata_import.html", context)


def admin_urls(model_admin) -> list:
    view = model_admin.admin_site.admin_view(lambda request: admin_import_view(request, model_admin))
    return [path("opendata-import/", view, name="resourcemap_provider_opendata_import")]
