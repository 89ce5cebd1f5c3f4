"""The staff sheet import (admin インポート of the provider CSV/XLSX) as a background job
(``provider_sheet_import``): preview, then apply exactly that preview.

The rows are read by ``resources.ProviderResource`` (django-import-export) and written through
``resourcemap.providers``, as before; what moved is where the work runs. A sheet above
``admin_views.SHEET_SYNC_MAX_BYTES`` is previewed and applied by a worker while the import page
shows the progress; a smaller one runs the same job in the request (``jobs.staged.run_here``).

Stages (``job.params["stage"]``):

- ``preview``: a dry run; the result file is a JSON payload (``preview_payload``) with the rows
  and their changes as the page shows them, the errors by row and column, the provider versions
  the preview saw (signed into the confirmation form, as before) and a fingerprint of the
  outcome (new / changed / unchanged of every row);
- ``apply``: the same file with the preview's versions as the base of every update, inside one
  transaction that is rolled back when any row fails (e.g. a value changed after the preview)
  or the outcome differs from the preview: all or nothing.
"""

from __future__ import annotations

import hashlib
import json

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export.results import RowResult
from import_export.signals import post_import

from jobs import runner, staged
from jobs.models import Job

from . import formats
from .models import Provider
from .resources import ProviderResource

SHEET_KIND = "provider_sheet_import"
# To download a job's file (the preview's JSON may hold the survey contact columns) or retry it;
# starting the import needs the admin's import permission (change providers).
SHEET_PERMISSION = Provider.PRIVATE_CONTACT_PERMISSION
SCOPE = "provider_sheet"


class Aborted(Exception):
    """The apply step failed at a row or found another outcome than the preview."""

    def __init__(self, details: list[str] | None = None):
        super().__init__(details)
        self.details = details or []


def start_preview(*, user, upload, fmt: int, run_here: bool = False) -> Job:
    params = {"file_name": upload.name, "size": upload.size, "format": int(fmt)}
    return staged.start_preview(SHEET_KIND, user=user, scope=SCOPE, params=params, upload=upload,
                                run_here=run_here)


def start_apply(*, user, preview: Job, run_here: bool = False) -> Job | None:
    """None when the preview was used up or replaced meanwhile (a second click)."""
    return staged.start_apply(SHEET_KIND, user=user, scope=SCOPE, preview=preview, params={}, run_here=run_here)


def preview_for(token: str, user) -> Job | None:
    return staged.preview_for(SHEET_KIND, token, user)


def read_error(error: Exception) -> str:
    """What staff read when the file cannot be opened as the chosen format."""
    if isinstance(error, formats.FileFormatError):
        return str(error)
    return _("ファイルを読めませんでした。選んだ形式（csv / xlsx）とファイルが合っているか確かめてください。")


# ---------------------------------------------------------------------------------------------
# The job


@runner.register_kind(SHEET_KIND, label=gettext_lazy("事業所の一括取込（インポート）"), permission=SHEET_PERMISSION)
@staged.with_progress_file
def sheet_import_job(job: Job, progress) -> str:
    source = staged.preview_of(job)
    stem = staged.file_stem(source)
    user = job.requested_by
    # The survey contact columns only for staff who may see them (checked again on apply).
    include_private = bool(user and user.is_active and Provider.may_see_private_contact(user))
    try:
        fmt = formats.STAFF_FORMATS[int(source.params.get("format", 0))]()
        dataset = fmt.create_dataset(staged.read_input(job))
    except Exception as error:  # noqa: BLE001 - any unreadable file is a message at the field
        result = {"file_error": read_error(error)}
        staged.save_json(job, f"{stem}-preview.json", result)
        return result["file_error"][:300]
    if not dataset:
        result = {"file_error": _("取り込む行がありません。見出しの下に行があるか確かめてください。")}
        staged.save_json(job, f"{stem}-preview.json", result)
        return result["file_error"][:300]
    options = {"raise_errors": False, "rollback_on_validation_errors": True, "use_transactions": True,
               "file_name": source.params.get("file_name", ""), "user": user}
    total = len(dataset)
    if job.params["stage"] == staged.PREVIEW:
        seen: dict[int, int] = {}
        resource = ProviderResource(include_private=include_private, seen_versions=seen,
                                    progress=staged.ProgressFile(job))
        result = resource.import_data(dataset, dry_run=True, **options)
        progress(total, total)
        staged.save_json(job, f"{stem}-preview.json", preview_payload(result, resource, seen))
        totals = result.totals
        return _("確認: 新規 %(new)d件、変更 %(update)d件、変更なし %(skip)d件、誤り %(invalid)d件") % {
            "new": totals["new"], "update": totals["update"], "skip": totals["skip"], "invalid": totals["invalid"]}
    preview = staged.payload(source) or {}
    versions = {int(pk): int(version) for pk, version in preview.get("versions", {}).items()}
    resource = ProviderResource(include_private=include_private, base_versions=versions,
                                progress=staged.ProgressFile(job))
    try:
        with transaction.atomic():
            result = resource.import_data(dataset, dry_run=False, retain_instance_in_row_result=True, **options)
            if result.has_errors() or result.has_validation_errors():
                raise Aborted(row_details(result))
            if not preview.get("can_apply") or fingerprint(result) != preview.get("fingerprint"):
                raise Aborted
            _log_entries(result, user)
    except Aborted as aborted:
        outcome = {"committed": False, "details": aborted.details, "message": _(
            "確認の間にデータが変わったため取り込みを中止しました。何も保存されていません。もう一度ファイルを選んでください。")}
    else:
        post_import.send(sender=None, model=Provider)
        progress(total, total)
        totals = result.totals
        outcome = {"committed": True, "message": _(
            "取り込みました: 新規 %(new)d件、変更 %(update)d件、変更なし %(skip)d件。")
            % {"new": totals["new"], "update": totals["update"], "skip": totals["skip"]}}
    staged.save_json(job, f"{stem}-result.json", outcome)
    return outcome["message"][:300]


def _log_entries(result, user) -> None:
    """The admin's history of the imported providers, as the admin import wrote it."""
    if user is None:
        return
    flags = {RowResult.IMPORT_TYPE_NEW: ADDITION, RowResult.IMPORT_TYPE_UPDATE: CHANGE}
    for import_type, flag in flags.items():
        instances = [row.instance for row in result if row.import_type == import_type and row.instance is not None]
        if instances:
            LogEntry.objects.log_actions(user.pk, instances, flag, change_message=f"{import_type} through import_export",
                                         single_object=len(instances) == 1)


# ---------------------------------------------------------------------------------------------
# What the preview shows


def fingerprint(result) -> str:
    """New, changed or unchanged, row by row: the apply must come to the same."""
    kinds = [row.import_type for row in result.rows]
    return hashlib.sha256(json.dumps(kinds).encode()).hexdigest()


def row_details(result, limit: int = 10) -> list[str]:
    """「2行目 電話: …」 for the first rows that failed."""
    return [
        _("%(line)d行目 %(column)s: %(message)s") % {
            "line": invalid.number + 1,
            "column": "" if column == NON_FIELD_ERRORS else column,
            "message": message,
        }
        for invalid in result.invalid_rows[:limit]
        for column, column_messages in invalid.error_dict.items()
        for message in column_messages
    ]


def preview_payload(result, resource: ProviderResource, versions: dict[int, int]) -> dict:
    has_errors, has_invalid = result.has_errors(), result.has_validation_errors()
    return {
        "diff_headers": list(resource.get_diff_headers()),
        "base_errors": [str(error.error) for error in result.base_errors],
        "row_errors": [[number, [str(error.error) for error in errors]] for number, errors in result.row_errors()],
        "invalid_rows": [
            {"number": row.number,
             "fields": {str(name): [str(m) for m in messages] for name, messages in row.field_specific_errors.items()},
             "other": [str(m) for m in row.non_field_specific_errors]}
            for row in result.invalid_rows
        ],
        # Cells were escaped when made (format_html), so the page shows them as they are.
        "rows": [{"import_type": row.import_type, "diff": [str(cell) for cell in row.diff or []]}
                 for row in result.valid_rows()],
        "totals": dict(result.totals),
        "can_apply": not has_errors and not has_invalid,
        "fingerprint": fingerprint(result),
        "versions": {str(pk): version for pk, version in versions.items()},
    }
