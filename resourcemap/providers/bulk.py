"""Bulk creation (demo data, large imports), validated like provider_create."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ..models import Area, DataVersion, Provider, ProviderChange, ProviderType
from .snapshot import CAPABILITIES_KEY, EXCEPTIONS_KEY, HOURS_KEY, _diff, field_label, field_value
from .validation import _apply_fields, capability_catalogue, normalise_related, related_text
from .write import RELATED_MODELS, related_rows


def _row_messages(index: int, provider: Provider, errors: Mapping[str, list[str]]) -> list[str]:
    messages = []
    for field, field_errors in errors.items():
        label = field_label(field)
        for message in field_errors:
            messages.append(
                _("%(row)s行目（%(name)s）%(field)s: %(message)s")
                % {
                    "row": index,
                    "name": provider.name or "-",
                    "field": f" {label}" if label else "",
                    "message": message,
                }
            )
    return messages


def providers_bulk_create(
    *,
    rows: Iterable[Mapping[str, Any]],
    actor_kind: str,
    user=None,
    source: str = "",
) -> list[Provider]:
    """Create many providers in one transaction, validated like :func:`provider_create`.

    Each row is a mapping with ``data`` (the fields, as for ``provider_create``; types and
    areas by code) and optional ``capabilities``, ``periods`` and ``exceptions``. Every row is
    checked first (``full_clean``, capabilities applicable to the type, hours, 医療機関コード and
    介護保険事業所番号 unique in the database and within the rows); if any row is bad, a
    ValidationError lists each problem with its 1-based row number and nothing is saved. The
    rows' problems are also on ``error.row_errors`` as ``{row number: {field: [messages]}}``.

    Lookups are batched (a few queries per call, plus one per row for the municipality check
    in ``Provider.clean``), so thousands of rows take seconds. Each provider gets a
    ``ProviderChange`` (action create) with the same content ``provider_create`` would record.
    """
    types = {t.code: t for t in ProviderType.objects.all()}
    types_by_pk = {t.pk: t for t in types.values()}
    areas = {a.code: a for a in Area.objects.all()}
    areas_by_pk = {a.pk: a for a in areas.values()}
    catalogue = capability_catalogue()

    prepared: list[tuple[Provider, dict, list, list]] = []
    row_errors: dict[int, dict[str, list[str]]] = {}
    messages: list[str] = []
    for index, row in enumerate(rows, 1):
        data = dict(row.get("data") or {})
        errors: dict[str, list[str]] = {}
        for name, by_code, by_pk in (("provider_type", types, types_by_pk), ("area", areas, areas_by_pk)):
            value = data.get(name)
            if value is None or value == "" or isinstance(value, ProviderType | Area):
                continue
            found = by_pk.get(value) if isinstance(value, int) else by_code.get(str(value))
            if found is None:
                errors[name] = [_("「%(value)s」は登録されていません。") % {"value": value}]
                data[name] = None
            else:
                data[name] = found
        provider = Provider()
        _apply_fields(provider, data)
        if provider.provider_type_id is None and "provider_type" not in errors:
            errors["provider_type"] = [Provider._meta.get_field("provider_type").error_messages["null"]]
        try:
            # The foreign keys were resolved from the rows loaded above (an area's level is
            # checked in Provider.clean), so skip Django's one-query-per-key existence check.
            provider.full_clean(exclude=["provider_type", "area"], validate_constraints=False)
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                errors.setdefault(field, []).extend(field_errors)
        related = {CAPABILITIES_KEY: {}, HOURS_KEY: [], EXCEPTIONS_KEY: []}
        if provider.provider_type_id:
            given = {
                CAPABILITIES_KEY: row.get("capabilities") or {},
                HOURS_KEY: row.get("periods") or [],
                EXCEPTIONS_KEY: row.get("exceptions") or [],
            }
            related = normalise_related(provider, given, errors, catalogue)  # checked before use
        if errors:
            row_errors[index] = errors
            messages.extend(_row_messages(index, provider, errors))
        prepared.append((provider, related[CAPABILITIES_KEY], related[HOURS_KEY], related[EXCEPTIONS_KEY]))

    _check_bulk_codes(prepared, row_errors, messages)
    if messages:
        error = ValidationError(messages)
        error.row_errors = row_errors
        raise error

    created = [p for p, _caps, _periods, _exc in prepared]
    for provider in created:
        provider.refresh_search_text()  # bulk_create does not call save()
    with transaction.atomic():
        Provider.objects.bulk_create(created, batch_size=500)
        if any(p.pk is None for p in created):  # pragma: no cover - SQLite >= 3.35 and PostgreSQL return ids
            raise RuntimeError("The database did not return ids for bulk-created providers.")
        rows_by_kind = zip(*(related_rows(*item) for item in prepared), strict=True)
        for model, rows in zip(RELATED_MODELS, rows_by_kind, strict=True):
            model.objects.bulk_create((row for provider_rows in rows for row in provider_rows), batch_size=1000)
        actor = user if getattr(user, "is_authenticated", False) else None
        ProviderChange.objects.bulk_create(
            (
                ProviderChange(
                    provider=p,
                    actor_kind=actor_kind,
                    user=actor,
                    action=ProviderChange.Action.CREATE,
                    source=source[:300],
                    changes=_diff({}, _bulk_snapshot(p, caps, periods, exceptions)),
                    version=p.version,
                )
                for p, caps, periods, exceptions in prepared
            ),
            batch_size=500,
        )
        DataVersion.bump()
    return created


def _bulk_snapshot(provider, caps, periods, exceptions) -> dict[str, Any]:
    """What ``provider_snapshot`` returns right after saving, built from the rows in memory."""
    data = {name: field_value(provider, name) for name in Provider.TRACKED_FIELDS}
    for key, value in ((CAPABILITIES_KEY, caps), (HOURS_KEY, periods), (EXCEPTIONS_KEY, exceptions)):
        data[key] = related_text(key, value)
    return data


def _check_bulk_codes(prepared, row_errors, messages) -> None:
    """医療機関コード (unique) and 介護保険事業所番号 (unique per type), in the rows and the database."""
    medical: dict[str, int] = {}
    care: dict[tuple[str, int], int] = {}
    clashes: list[tuple[int, str, str]] = []
    for index, (provider, *_rest) in enumerate(prepared, 1):
        if provider.medical_code:
            if provider.medical_code in medical:
                clashes.append((index, "medical_code", _("この医療機関コードは既に登録されています。")))
            else:
                medical[provider.medical_code] = index
        if provider.care_code and provider.provider_type_id:
            key = (provider.care_code, provider.provider_type_id)
            if key in care:
                clashes.append(
                    (index, "care_code", _("この介護保険事業所番号は同じ種別で既に登録されています。"))
                )
            else:
                care[key] = index
    codes = list(medical)
    for start in range(0, len(codes), 500):
        for code in Provider.objects.filter(medical_code__in=codes[start : start + 500]).values_list(
            "medical_code", flat=True
        ):
            clashes.append((medical[code], "medical_code", _("この医療機関コードは既に登録されています。")))
    care_codes = sorted({code for code, _type in care})
    for start in range(0, len(care_codes), 500):
        for code, type_id in Provider.objects.filter(
            care_code__in=care_codes[start : start + 500]
        ).values_list("care_code", "provider_type_id"):
            if (code, type_id) in care:
                clashes.append(
                    (care[(code, type_id)], "care_code", _("この介護保険事業所番号は同じ種別で既に登録されています。"))
                )
    for index, field, message in sorted(clashes):
        row_errors.setdefault(index, {}).setdefault(field, []).append(message)
        messages.extend(_row_messages(index, prepared[index - 1][0], {field: [message]}))
