"""Importing a file: check every row, then (with commit) write through the write path."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .. import formats, kana, providers
from .. import hours as hours_mod
from ..models import Area, Municipality, Provider, ProviderChange, ProviderExternalId, ProviderType
from ..reference import derive_geometry
from .layouts import (
    ALIASES,
    NAVII,
    REQUIRED_KEYS,
    SOURCE_LABELS,
    STANDARD,
    LayoutError,
    column_map,
    detect_layout,
)
from .matching import ProviderIndex, provider_match, same_as_key
from .navii import read_navii_hours
from .normalise import _norm, katakana, norm_name
from .report import ERROR, NEW, NOT_LISTED, SKIPPED, UNCHANGED, UPDATE, ImportReport, RowOutcome
from .rows import _Importer

PROGRESS_EVERY = 200  # rows between two progress reports


def read_dataset(data: bytes):
    """Decode (utf-8-sig, cp932, utf-16; XLSX/ZIP refused) and parse the CSV."""
    return formats.read_csv(data)


def import_file(
    data: bytes,
    *,
    file_name: str = "",
    commit: bool = False,
    user=None,
    leave_out_errors: bool = False,
    hours_data: bytes | None = None,
    hours_file_name: str = "",
    base_versions: Mapping[int, int] | None = None,
    merges: Mapping[int, int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Check (and with ``commit`` save) a public-format CSV. Raises ``formats.FileFormatError``
    for an unreadable file or unknown layout; row problems are in the report.

    Without ``leave_out_errors`` nothing is saved when any row has a problem; with it, the rows
    with problems are left out and the others saved (``report.left_out_rows``). ``hours_data``
    is a ナビイ ``*_speciality_hours`` file for the facility file in ``data``.

    ``base_versions`` ({provider id: version}, from a preview's ``RowOutcome.version``) makes
    each update refuse what changed after the preview (see ``providers.provider_update``); a
    provider the preview did not match is then an error too.

    ``merges`` ({file line: provider id}) is the staff decision on likely duplicates: the row
    is that provider (only the provider it was offered as, ``RowOutcome.likely_id``). Such a
    row, and from then on every row matched to that provider, only adds what the provider lacks
    (事業所番号, phone …) and changes nothing else, so the two sources never undo each other.
    ``progress(done, total)`` is called as rows are worked through (background jobs)."""
    started = time.monotonic()
    dataset = read_dataset(data)
    raw_headers = [h or "" for h in dataset.headers or []]
    headers = [_norm(h) for h in raw_headers]
    layout = detect_layout(headers)
    columns = column_map(headers, layout)
    missing = [" / ".join(ALIASES[k]) for k in REQUIRED_KEYS[layout] if k not in columns]
    if layout == STANDARD and not any(k in columns for k in ("type_name", "service", "medical_kind")):
        missing.append("種別 / 実施サービス / 医療機関の種類")
    if missing:
        raise LayoutError(
            _("必要な列「%(names)s」がありません。このファイルの列: %(columns)s")
            % {"names": "」「".join(missing), "columns": "、".join(h for h in headers if h) or "-"}
        )
    with Municipality.pinned():
        return _import(data=data, dataset=dataset, layout=layout, columns=columns, raw_headers=raw_headers,
                       headers=headers, file_name=file_name, commit=commit, user=user,
                       leave_out_errors=leave_out_errors, hours_data=hours_data,
                       hours_file_name=hours_file_name, started=started, base_versions=base_versions,
                       merges=merges or {}, progress=progress)


def _import(*, data, dataset, layout, columns, raw_headers, headers, file_name, commit, user,
            leave_out_errors, hours_data, hours_file_name, started, base_versions=None, merges=None,
            progress=None) -> ImportReport:
    importer = _Importer(layout, columns, file_name)
    report = ImportReport(layout=layout, file_name=file_name, committed=False, headers=raw_headers,
                          leave_out_errors=leave_out_errors, hours_file_name=hours_file_name)
    source = f"{SOURCE_LABELS[layout]} {file_name}".strip()
    actor_kind = ProviderChange.Actor.IMPORT
    rows_by_line: dict[int, list[str]] = {}

    with transaction.atomic():
        index = ProviderIndex()
        new_rows: list[dict[str, Any]] = []
        new_outcomes: list[RowOutcome] = []
        wanted: list[tuple[dict, str]] = []
        for line, values in enumerate(dataset.dict, start=2):
            report.rows_read += 1
            row = {_norm(k): (v or "") for k, v in values.items()}
            if not importer.in_municipality(row):
                report.rows.append(RowOutcome(line, SKIPPED, name=importer.cell(row, "name")))
                continue
            wanted.append((row, line))
            rows_by_line[line] = [values.get(h) or "" for h in raw_headers]
        total = report.rows_read
        done = total - len(wanted)
        if progress:
            progress(done, total)
        if layout == NAVII and hours_data is not None:
            ids = {_norm(importer.cell(row, "navii_id")) for row, _line in wanted}
            importer.hours = read_navii_hours(hours_data, ids)
        for row, line in wanted:
            done += 1
            if progress and done % PROGRESS_EVERY == 0:
                progress(done, total)
            errors: list[tuple[str, str]] = []
            not_listed: list[str] = []
            ptypes = importer.types_for(row, errors, not_listed)
            if ptypes:
                report.not_listed.update(not_listed)  # 実施サービス parts the map does not list
            if not ptypes and not errors:
                report.rows.append(RowOutcome(line, NOT_LISTED, name=norm_name(importer.cell(row, "name")),
                                              type_name="、".join(not_listed)))
                report.not_listed.update(not_listed)
                continue
            data = importer.parse(row, errors)
            if errors:
                report.rows.append(RowOutcome(line, ERROR, name=data.get("name", ""), errors=errors))
                continue
            navii_id = _norm(importer.cell(row, "navii_id")) if layout == NAVII else ""
            for ptype in ptypes:
                outcome = RowOutcome(line, UNCHANGED, name=data["name"], type_name=ptype.name,
                                     note=" ".join(importer.row_notes))
                report.rows.append(outcome)
                found = provider_match(data, type_id=ptype.pk, index=index, line=line, external_id=navii_id)
                same_as = None
                if found.provider is None and not found.duplicate:
                    same_as = index.same_as(data, ptype)
                    if same_as is None and found.likely is not None and merges.get(line) == found.likely.pk:
                        same_as = found.likely
                        outcome.merged_id = found.likely.pk
                if found.provider is not None or same_as is not None:
                    existing = found.provider or same_as
                    _update(importer, existing, data, outcome, user, source, actor_kind, navii_id,
                            index, base_versions=base_versions,
                            fill_only=same_as is not None or existing.pk in index.merged)
                elif found.problem:
                    outcome.status = ERROR
                    if found.likely is not None:
                        outcome.provider_id = outcome.likely_id = found.likely.pk
                    outcome.errors.append((importer.header("name"), found.problem))
                else:
                    _prepare_new(importer, row, data, ptype, outcome, new_rows, new_outcomes, navii_id)
        if new_rows:
            _create_all(importer, new_rows, new_outcomes, user, source, actor_kind)
        if progress:
            progress(total, total)
        for outcome in report.rows:
            if outcome.errors:
                outcome.status = ERROR
        bad_lines = set(report.error_line_numbers)
        if bad_lines and not leave_out_errors:
            report.committed = False
        else:
            report.committed = commit
        report.left_out_rows = {line: rows_by_line[line] for line in sorted(bad_lines) if line in rows_by_line}
        if not report.committed:
            transaction.set_rollback(True)
        elif importer.municipality is not None and (
            importer.municipality.geometry_derived or any(a.center_derived for a in importer.districts)
            or Area.objects.filter(center_derived=True).exists()
        ):
            derive_geometry()  # a minimal reference file: centre and bounds from the providers
    report.seconds = time.monotonic() - started
    return report


def _prepare_new(importer, row, data, ptype, outcome, new_rows, new_outcomes, navii_id) -> None:
    errors: list[tuple[str, str]] = []
    periods, hours_note, exceptions = importer.hours_for_new(row, errors)
    if errors:
        outcome.errors.extend(errors)
        return
    fields = dict(data)
    fields["provider_type"] = ptype.code
    kana_note = ""
    if not fields.get("kana"):
        # Blank カナ is allowed in municipal files: the reading is derived from the name (kana as
        # written, kanji read with the offline dictionary); a name it cannot read is kept as
        # it is, so the 五十音 order stays usable until staff or the survey fill it in.
        fields["kana"] = kana.reading(fields.get("name", ""))
        if fields["kana"]:
            kana_note = _("よみがなは名称から推定しました。確かめてください。")
        else:
            fields["kana"] = katakana(fields.get("name", ""))
            kana_note = _("よみがなが空で、名称から決められませんでした（名称をそのまま入れます）。調査か職員の入力で直してください。")
    fields["status"] = Provider.Status.ACTIVE
    fields["area"], how = importer.district_for(data)
    fields["hours_unknown"] = periods is None
    if hours_note:
        fields["hours_note"] = hours_note
    notes = importer.cell(row, "notes")
    if notes:
        fields["notes"] = notes
    outcome.status = NEW
    outcome.changes = {
        k: [None, providers.plain_value(v.code if isinstance(v, ProviderType | Area) else v)]
        for k, v in fields.items() if v not in (None, "", False)
    }
    note_parts = [outcome.note]
    if fields["area"]:
        note_parts.append(_("地区は住所の町丁目から決めました。") if how == "town" else _(
            "地区はいちばん近い地区の中心から決めました（町丁目の表にない住所）。"
        ))
    elif importer.district_table.towns or importer.districts:
        note_parts.append(_("地区が決まりません（町丁目の表になく、近くの地区も分かりません）。取り込んだ後で地区を選んでください。"))
    note_parts.append(kana_note)
    outcome.note = " ".join(n for n in note_parts if n)
    if periods:
        outcome.changes[providers.HOURS_KEY] = [None, hours_mod.format_periods(periods)]
    if exceptions:
        outcome.changes[providers.EXCEPTIONS_KEY] = [None, hours_mod.format_exceptions(exceptions)]
    if navii_id:
        outcome.changes["navii_id"] = [None, navii_id]
    new_rows.append({"data": fields, "periods": periods or [], "capabilities": {},
                     "exceptions": exceptions, "navii_id": navii_id})
    new_outcomes.append(outcome)


def _create_all(importer, new_rows, new_outcomes, user, source, actor_kind) -> None:
    rows, outcomes = list(new_rows), list(new_outcomes)
    for _attempt in range(2):
        try:
            created = providers.providers_bulk_create(rows=rows, actor_kind=actor_kind, user=user, source=source)
        except ValidationError as error:
            row_errors = getattr(error, "row_errors", {}) or {}
            for index, field_errors in row_errors.items():
                outcome = outcomes[index - 1]
                for field_name, messages in field_errors.items():
                    outcome.errors.extend((importer.error_column(field_name), m) for m in messages)
            if not row_errors:
                outcomes[0].errors.extend(("-", m) for m in error.messages)
                return
            # Try once more with the good rows, for the preview and for "leave out the bad rows".
            keep = [i for i in range(len(rows)) if (i + 1) not in row_errors]
            rows, outcomes = [rows[i] for i in keep], [outcomes[i] for i in keep]
            if not rows:
                return
            continue
        for outcome, provider in zip(outcomes, created, strict=True):
            outcome.provider_id = provider.pk
        providers.provider_external_ids_add(
            ids=[(p.pk, ProviderExternalId.Scheme.NAVII, row["navii_id"])
                 for p, row in zip(created, rows, strict=True) if row.get("navii_id")],
        )
        return


def _update(importer, provider: Provider, data, outcome: RowOutcome, user, source, actor_kind,
            navii_id: str = "", index: ProviderIndex | None = None,
            base_versions: Mapping[int, int] | None = None, fill_only: bool = False) -> None:
    outcome.provider_id = provider.pk
    outcome.version = provider.version
    base_version = None
    if base_versions is not None:
        base_version = base_versions.get(provider.pk)
        if base_version is None:
            outcome.errors.append((importer.header("name"), _(
                "確認画面の後に登録された事業所と同じです。もう一度ファイルを選んでください。"
            )))
            return
    # Only the fields the file has are given (the rest are never touched by an import), and to
    # a provider fed by two sources (merged by staff) only what it lacks; capabilities, hours
    # and exceptions are left as they are (None). The write path finds what differs.
    changes = {k: v for k, v in data.items()
               if not (fill_only and providers.field_value(provider, k) not in (None, ""))}
    if provider.area_id is None and provider.latitude is None and "latitude" in changes:
        # A provider placed for the first time gets its 地区 as a new one would (a provider
        # left without one stays so: a second import of the same file changes nothing).
        changes["area"], _how = importer.district_for(data)
    new_ids = []
    if navii_id and index is not None and (ProviderExternalId.Scheme.NAVII, navii_id) not in index.external:
        new_ids.append((ProviderExternalId.Scheme.NAVII, navii_id))
    if outcome.merged_id and index is not None:
        key = same_as_key(data, provider.provider_type)
        if (ProviderExternalId.Scheme.SAME_AS, key) not in index.external:
            new_ids.append((ProviderExternalId.Scheme.SAME_AS, key))
    try:
        change = providers.provider_update(
            provider=provider, changes=changes, actor_kind=actor_kind, user=user, source=source,
            base_version=base_version,
        )
    except ValidationError as error:
        for field_name, messages in error.message_dict.items():
            outcome.errors.extend((importer.error_column(field_name), m) for m in messages)
        return
    if change is None and not new_ids:
        return
    outcome.status = UPDATE
    outcome.changes = dict(change.changes) if change is not None else {}
    if any(scheme == ProviderExternalId.Scheme.NAVII for scheme, _value in new_ids):
        outcome.changes["navii_id"] = [None, navii_id]
    if new_ids:
        providers.provider_external_ids_add(ids=[(provider.pk, scheme, value) for scheme, value in new_ids])
        for scheme, value in new_ids:
            index.external[(scheme, value)] = provider.pk
