"""The open-data import as a background job (``opendata_import``): preview, then apply.

A large file (a whole national MHLW file has 5,000–20,000 rows) is never read in a web
request: the import page stores the upload with a job (``jobs.runner``), a worker computes
the preview with progress, and staff see it on the import page. Their choice — import
everything, or import the good rows and leave out the listed ones, optionally after marking
likely duplicates as the same office — starts a second job that applies it. Small files run
the same two steps in the request (``run_here``), so there is one path for both.

Stages (``job.params["stage"]``):

- ``preview``: ``opendata.import_file(commit=False)``; the result file is a JSON payload
  (``preview_payload``) with the rows to show, the problems, the left-out CSV, a fingerprint
  of the outcome and the provider versions the preview saw;
- ``apply``: the same file (read from the preview job) with ``commit=True`` and the staff
  choice, based on the versions the preview saw, inside one transaction that is rolled back
  when the outcome differs from the preview (data changed meanwhile): all or nothing.

Tokens, progress, the result files and running small files in the request are
``jobs.staged``, shared with the staff sheet import.
"""

from __future__ import annotations

import hashlib
import json
import secrets

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jobs import runner, staged
from jobs.models import Job
from jobs.staged import APPLY, PREVIEW, PREVIEW_MAX_AGE, payload, progress_of  # noqa: F401 - used by the views

from . import formats, opendata
from .history import change_cell, code_names, field_label

IMPORT_KIND = "opendata_import"
IMPORT_PERMISSION = "resourcemap.change_provider"
LEAVE_OUT = "leave_out"
SCOPE = "opendata"
_ProgressFile = staged.ProgressFile


class Aborted(Exception):
    """The apply step found another outcome than the preview: nothing was saved."""


# ---------------------------------------------------------------------------------------------
# Starting


def start_preview(*, user, upload, hours_upload=None, merges: dict[int, int] | None = None,
                  from_job: Job | None = None, run_here: bool = False) -> Job:
    """A preview job for an uploaded file (or, with ``from_job``, the file of an earlier preview
    again, e.g. with likely duplicates marked as the same office in ``merges``)."""
    params = {"merges": {str(line): pk for line, pk in (merges or {}).items()}}
    if from_job is not None:
        for key in ("file_name", "hours_name", "hours_path", "size"):
            params[key] = from_job.params.get(key, "")
    else:
        params.update(file_name=upload.name, hours_name=hours_upload.name if hours_upload else "",
                      size=upload.size + (hours_upload.size if hours_upload else 0))
        if hours_upload is not None:
            params["hours_path"] = default_storage.save(
                f"private/jobs/in/opendata-hours-{secrets.token_hex(8)}.csv", ContentFile(hours_upload.read()))
    return staged.start_preview(IMPORT_KIND, user=user, scope=SCOPE, params=params, upload=upload,
                                from_job=from_job, run_here=run_here)


def start_apply(*, user, preview: Job, choice: str, run_here: bool = False) -> Job | None:
    """Apply the staff choice (``"all"`` or ``LEAVE_OUT``) to the file a preview job read; None
    when the preview was used up meanwhile (a second click)."""
    return staged.start_apply(IMPORT_KIND, user=user, scope=SCOPE, preview=preview, run_here=run_here,
                              params={"choice": LEAVE_OUT if choice == LEAVE_OUT else "all"})


def preview_for(token: str, user) -> Job | None:
    """The finished, not yet applied preview of this user with this token."""
    return staged.preview_for(IMPORT_KIND, token, user)


# ---------------------------------------------------------------------------------------------
# The job


@runner.register_kind(IMPORT_KIND, label=gettext_lazy("オープンデータ取込"), permission=IMPORT_PERMISSION)
@staged.with_progress_file
def opendata_import_job(job: Job, progress) -> str:
    source = staged.preview_of(job)
    data = staged.read_input(job)
    hours = None
    if source.params.get("hours_path"):
        with default_storage.open(source.params["hours_path"], "rb") as handle:
            hours = handle.read()
    merges = {int(line): pk for line, pk in source.params.get("merges", {}).items()}
    kwargs = {"file_name": source.params["file_name"], "hours_data": hours,
              "hours_file_name": source.params.get("hours_name", ""), "merges": merges,
              "progress": staged.ProgressFile(job)}
    stem = staged.file_stem(source)
    if job.params["stage"] == PREVIEW:
        try:
            report = opendata.import_file(data, commit=False, user=job.requested_by, **kwargs)
        except formats.FileFormatError as error:
            result = {"file_error": str(error), "hours_error": "診療時間" in str(error) and bool(hours)}
            staged.save_json(job, f"{stem}-preview.json", result)
            return str(error)[:300]
        progress(report.rows_read, report.rows_read)
        staged.save_json(job, f"{stem}-preview.json", preview_payload(report))
        return report.summary()
    preview = payload(source) or {}
    leave_out = job.params["choice"] == LEAVE_OUT
    versions = {int(pk): version for pk, version in preview.get("versions", {}).items()}
    try:
        with transaction.atomic():
            report = opendata.import_file(data, commit=True, user=job.requested_by, leave_out_errors=leave_out,
                                          base_versions=versions, **kwargs)
            if (report.has_errors and not leave_out) or fingerprint(report) != preview.get("fingerprint"):
                raise Aborted
            if not report.committed:
                raise Aborted
    except (Aborted, formats.FileFormatError):
        result = {"committed": False, "message": _(
            "確認の間にデータが変わったため取り込みを中止しました。何も保存されていません。もう一度ファイルを選んでください。")}
    else:
        progress(report.rows_read, report.rows_read)
        result = {"committed": True, "message": _("取り込みました: %(summary)s") % {"summary": report.summary()}}
    staged.save_json(job, f"{stem}-result.json", result)
    return result["message"][:300]


# ---------------------------------------------------------------------------------------------
# What the preview shows


def fingerprint(report: opendata.ImportReport) -> str:
    rows = [(r.line, r.status, r.type_name, sorted((k, str(v)) for k, v in r.changes.items())) for r in report.rows]
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()


def preview_rows(report: opendata.ImportReport) -> list[dict]:
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
                "status_label": str(opendata.STATUS_LABELS[outcome.status]),
                "name": outcome.name,
                "type_name": outcome.type_name,
                "provider_id": outcome.provider_id if report.committed or outcome.status != opendata.NEW else None,
                "likely_id": outcome.likely_id,
                "merged_id": outcome.merged_id,
                "changes": [
                    (field_label(k), shown(k, old), shown(k, new))
                    for k, (old, new) in outcome.changes.items()
                ],
                "errors": outcome.errors,
                "note": outcome.note,
            }
        )
    return rows


def preview_payload(report: opendata.ImportReport) -> dict:
    changes = report.count(opendata.NEW) + report.count(opendata.UPDATE)
    return {
        "file_name": report.file_name,
        "layout_label": report.layout_label,
        "summary": report.summary(),
        "rows_read": report.rows_read,
        "seconds": round(report.seconds, 2),
        "rows": preview_rows(report),
        "totals": report.totals,
        "error_lines": report.error_lines(),
        "left_out_count": len(report.error_line_numbers),
        "good_changes": report.good_changes,
        "has_errors": report.has_errors,
        "can_apply": bool(changes or report.has_errors),
        "fingerprint": fingerprint(report),
        "versions": {str(r.provider_id): r.version for r in report.rows if r.provider_id and r.version},
        "left_out_csv": opendata.left_out_csv(report).decode("utf-8-sig") if report.has_errors else "",
    }
