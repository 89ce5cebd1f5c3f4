"""Checking the input of a write: capabilities, hours, dated exceptions and references by code."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .. import hours as hours_mod
from ..models import Area, Capability, HoursException, Provider, ProviderType
from .snapshot import CAPABILITIES_KEY, EXCEPTIONS_KEY, HOURS_KEY, CapabilityInput


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
    normalised = [hours_mod._as_period(p) for p in periods]
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
