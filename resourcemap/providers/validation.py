"""Checking a write before anything is written: fields, capabilities, hours, dated exceptions,
references by code and conflicts with changes saved meanwhile.

``provider_validate`` runs the same checks as ``provider_update`` and writes nothing (a form
that wants the write path's messages before the user submits, e.g. the survey form).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .. import hours as hours_mod
from ..models import Area, Capability, HoursException, Provider, ProviderChange, ProviderType
from .conflicts import NO_CONFLICT_FIELDS, ProviderConflict, _base_values, _conflict, changes_since
from .snapshot import (
    CAPABILITIES_KEY,
    EXCEPTIONS_KEY,
    HOURS_KEY,
    CapabilityInput,
    _exceptions_plain,
    capabilities_text,
    field_value,
    provider_snapshot,
)


def capability_catalogue(codes: Iterable[str] | None = None) -> dict[str, tuple[Capability, set[int]]]:
    """{code: (capability, ids of the provider types it applies to)} in two queries."""
    qs = Capability.objects.prefetch_related("provider_types")
    if codes is not None:
        qs = qs.filter(code__in=list(codes))
    return {c.code: (c, {t.pk for t in c.provider_types.all()}) for c in qs}


def _normalise_capabilities(
    provider: Provider,
    capabilities: CapabilityInput,
    catalogue: Mapping[str, tuple[Capability, set[int]]] | None = None,
) -> dict[Capability, dict[str, Any]]:
    if catalogue is None:
        catalogue = capability_catalogue(capabilities)
    errors = []
    result: dict[Capability, dict[str, Any]] = {}
    for code, value in capabilities.items():
        value = value or {}
        entry = catalogue.get(code)
        if entry is None:
            errors.append(_("「%(code)s」という対応項目はありません。") % {"code": code})
            continue
        capability, allowed = entry
        if provider.provider_type_id not in allowed:
            errors.append(
                _("「%(cap)s」は「%(type)s」には設定できません。")
                % {"cap": capability.name, "type": provider.provider_type.name}
            )
            continue
        count = value.get("count")
        if count in ("", None):
            count = None
        else:
            try:
                count = int(count)
            except (TypeError, ValueError):
                errors.append(_("「%(cap)s」の件数は数字で入力してください。") % {"cap": capability.name})
                continue
            if count < 0:
                errors.append(_("「%(cap)s」の件数は0以上にしてください。") % {"cap": capability.name})
                continue
            if not capability.has_count:
                errors.append(_("「%(cap)s」には件数を入力できません。") % {"cap": capability.name})
                continue
        result[capability] = {"count": count, "note": (value.get("note") or "").strip()}
    if errors:
        raise ValidationError({CAPABILITIES_KEY: errors})
    return result


def _normalise_periods(periods: Iterable) -> list[hours_mod.Period]:
    normalised = [hours_mod.as_period(p) for p in periods]
    errors = hours_mod.validate_periods(normalised)
    if errors:
        raise ValidationError({HOURS_KEY: errors})
    return normalised


def _normalise_exceptions(exceptions: Iterable[Mapping[str, Any]]) -> list[HoursException]:
    """Validated, unsaved exceptions; the provider is attached when they are written.

    ``HoursException.clean()`` enforces the date-order rule of its check constraint, so no
    constraint query is made per exception; the database still enforces it on insert.
    """
    result = []
    errors = []
    for data in exceptions:
        exc = HoursException(
            start_date=data["start_date"],
            end_date=data.get("end_date") or data["start_date"],
            closed=data.get("closed", True),
            opens=data.get("opens"),
            closes=data.get("closes"),
            note=data.get("note", ""),
        )
        try:
            exc.clean_fields(exclude=["provider"])
            exc.clean()
        except ValidationError as error:
            errors.extend(f"{exc.start_date}: {m}" for m in error.messages)
        result.append(exc)
    if errors:
        raise ValidationError({EXCEPTIONS_KEY: errors})
    return result


def normalise_related(
    provider: Provider,
    given: Mapping[str, Any],
    errors: dict[str, list[str]],
    catalogue: Mapping[str, tuple[Capability, set[int]]] | None = None,
) -> dict[str, Any]:
    """The capabilities, weekly hours and dated exceptions given (by key, None: not given),
    checked for ``provider``'s type and normalised. A kind that is not given or has a problem
    is None; the problems go into ``errors``."""
    normalisers = {
        CAPABILITIES_KEY: lambda value: _normalise_capabilities(provider, value, catalogue),
        HOURS_KEY: _normalise_periods,
        EXCEPTIONS_KEY: _normalise_exceptions,
    }
    normalised: dict[str, Any] = dict.fromkeys(normalisers)
    for key, normalise in normalisers.items():
        if given.get(key) is None:
            continue
        try:
            normalised[key] = normalise(given[key])
        except ValidationError as error:
            errors.update(error.message_dict)
    return normalised


def _resolve_fk(name: str, value: Any):
    if value is None or value == "":
        return None
    model = {"provider_type": ProviderType, "area": Area}[name]
    if isinstance(value, model):
        return value
    try:
        if isinstance(value, int):
            return model.objects.get(pk=value)
        return model.objects.get(code=value)
    except model.DoesNotExist as error:
        raise ValidationError({name: _("「%(value)s」は登録されていません。") % {"value": value}}) from error


def _apply_fields(provider: Provider, changes: Mapping[str, Any]) -> None:
    unknown = set(changes) - set(Provider.TRACKED_FIELDS)
    if unknown:
        raise ValueError(f"Not provider fields: {sorted(unknown)}")
    for name, value in changes.items():
        if name in ("provider_type", "area"):
            setattr(provider, name, _resolve_fk(name, value))
        elif value is None and name not in ("latitude", "longitude", "last_confirmed_on"):
            setattr(provider, name, False if name in ("hours_unknown", "is_demo") else "")
        else:
            setattr(provider, name, value)


def related_text(key: str, value) -> str:
    """Normalised capabilities, hours or exceptions in the text form of the history."""
    if key == CAPABILITIES_KEY:
        return capabilities_text((cap.code, v["count"], v["note"]) for cap, v in value.items())
    if key == HOURS_KEY:
        return hours_mod.format_periods(value)
    return _exceptions_plain(value)


@dataclass
class CheckedWrite:
    """A write that passed every check: the record before it, and the related rows to write
    (``None`` for a kind left as it is)."""

    before: dict[str, Any]
    related: dict[str, Any]


def check_write(
    *,
    provider: Provider,
    changes: Mapping[str, Any],
    capabilities: CapabilityInput | None,
    periods: Iterable | None,
    exceptions: Iterable[Mapping[str, Any]] | None,
    creating: bool,
    base_version: int | None = None,
) -> CheckedWrite:
    """Apply ``changes`` to ``provider`` in memory and check the whole result; writes nothing.

    Raises ValidationError (keyed by field, or ``capabilities`` / ``opening_periods`` /
    ``hours_exceptions``) or ``ProviderConflict`` (see ``provider_update``).
    """
    before = {} if creating else provider_snapshot(provider)
    # What the caller saw: the record now, with the changes recorded after base_version undone.
    meanwhile_rows: list[ProviderChange] = []
    base = dict(before)
    if base_version is not None and not creating and base_version != provider.version:
        rows = changes_since(provider, base_version)
        if rows is None:
            raise ProviderConflict([], current_version=provider.version, stale=True)
        meanwhile_rows = rows
        base.update(_base_values(rows))
    meanwhile = {name for name in base if base[name] != before.get(name)}
    kept = {name: getattr(provider, name) for name in changes if name in meanwhile}
    _apply_fields(provider, changes)
    wanted: dict[str, Any] = {}  # field -> the caller's value, for fields changed meanwhile
    for name, value in kept.items():
        mine = field_value(provider, name)
        if mine == base[name]:
            setattr(provider, name, value)  # not changed by the caller: keep the newer value
        else:
            wanted[name] = mine
    errors: dict[str, list[str]] = {}
    try:
        provider.full_clean()
    except ValidationError as error:
        errors.update(error.message_dict)
    normalised: dict[str, Any] = dict.fromkeys((CAPABILITIES_KEY, HOURS_KEY, EXCEPTIONS_KEY))
    if provider.provider_type_id:
        given = {CAPABILITIES_KEY: capabilities, HOURS_KEY: periods, EXCEPTIONS_KEY: exceptions}
        normalised = normalise_related(provider, given, errors)
        for key in normalised:
            if key not in meanwhile or normalised[key] is None:
                continue
            mine = related_text(key, normalised[key])
            if mine == base[key]:
                normalised[key] = None
            else:
                wanted[key] = mine
    if errors:
        raise ValidationError(errors)
    conflicts = [
        name for name, mine in wanted.items() if mine != before.get(name) and name not in NO_CONFLICT_FIELDS
    ]
    if conflicts:
        raise ProviderConflict(
            [_conflict(name, before.get(name), wanted[name], meanwhile_rows) for name in conflicts],
            current_version=provider.version,
        )
    return CheckedWrite(before=before, related=normalised)


def provider_validate(
    *,
    provider: Provider,
    changes: Mapping[str, Any],
    capabilities: CapabilityInput | None = None,
    periods: Iterable | None = None,
    exceptions: Iterable[Mapping[str, Any]] | None = None,
) -> dict[str, list[str]]:
    """The messages ``provider_update`` would raise for these arguments; empty when it would
    save. Reads the record, writes nothing and leaves ``provider`` as it is."""
    copy = Provider.objects.select_related("provider_type", "area").get(pk=provider.pk)
    try:
        check_write(
            provider=copy, changes=changes, capabilities=capabilities, periods=periods,
            exceptions=exceptions, creating=False,
        )
    except ValidationError as error:
        return error.message_dict
    return {}
