"""Plain representations of a provider, used for history, import/export round trips and survey
snapshots, and how staff read them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import hours as hours_mod
from ..models import Area, HoursException, Provider, ProviderType

CAPABILITIES_KEY = "capabilities"
HOURS_KEY = "opening_periods"
EXCEPTIONS_KEY = "hours_exceptions"

CapabilityInput = Mapping[str, Mapping[str, Any] | None]


def plain_value(value: Any) -> Any:
    """A field value as stored in history and snapshots (text, numbers, codes)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.000001")))
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, ProviderType | Area):
        return value.code
    return value


def field_value(provider: Provider, name: str) -> Any:
    if name in ("provider_type", "area"):
        related = getattr(provider, name, None) if getattr(provider, f"{name}_id") else None
        return related.code if related else None
    return plain_value(getattr(provider, name))


def capabilities_text(items: Iterable[tuple[str, int | None, str]]) -> str:
    """``h24; mitori:12; psychiatry(夜間は要相談)`` – sorted by code, stable for diffs."""
    parts = []
    for code, count, note in sorted(items):
        part = code
        if count is not None:
            part += f":{count}"
        if note:
            part += f"({note})"
        parts.append(part)
    return "; ".join(parts)


def current_capabilities(provider: Provider) -> dict[str, dict[str, Any]]:
    if provider.pk is None:
        return {}
    return {
        pc.capability.code: {"count": pc.count, "note": pc.note}
        for pc in provider.provider_capabilities.select_related("capability")
    }


def current_periods(provider: Provider) -> list[hours_mod.Period]:
    if provider.pk is None:
        return []
    return [
        hours_mod.Period(p.weekday, p.opens, p.closes)
        for p in provider.opening_periods.order_by("weekday", "opens")
    ]


def current_exceptions(provider: Provider) -> list[dict[str, Any]]:
    if provider.pk is None:
        return []
    return [_exception_dict(e) for e in provider.hours_exceptions.order_by("start_date")]


def _exception_dict(e: HoursException) -> dict[str, Any]:
    return {
        "start_date": e.start_date,
        "end_date": e.end_date,
        "closed": e.closed,
        "opens": e.opens,
        "closes": e.closes,
        "note": e.note,
    }


def provider_snapshot(provider: Provider) -> dict[str, Any]:
    """Every tracked value as plain JSON-able data (used for history and survey snapshots)."""
    data = {name: field_value(provider, name) for name in Provider.TRACKED_FIELDS}
    data[CAPABILITIES_KEY] = capabilities_text(
        (code, v["count"], v["note"]) for code, v in current_capabilities(provider).items()
    )
    data[HOURS_KEY] = hours_mod.format_periods(current_periods(provider))
    data[EXCEPTIONS_KEY] = hours_mod.format_exceptions(current_exceptions(provider))
    return data


def display_value(name: str, value: Any, names: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """A plain (history/snapshot) value as staff read it: labels and names instead of codes."""
    if value in (None, ""):
        return "—"
    if isinstance(value, bool):
        return _("はい") if value else _("いいえ")
    if name == "status":
        try:
            return str(Provider.Status(value).label)
        except ValueError:
            return str(value)
    if name in ("provider_type", "area"):
        if names is None or name not in names:
            model = ProviderType if name == "provider_type" else Area
            found = model.objects.filter(code=value).values_list("name", flat=True).first()
            return found or str(value)
        return names[name].get(value, str(value))
    return str(value)


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), after[k]] for k in after if before.get(k) != after[k]}


def _exceptions_plain(exceptions: Iterable[HoursException]) -> str:
    return hours_mod.format_exceptions(exceptions)


# How staff and providers read a field or a related kind: the model's own names, and one name
# for each kind the write path takes beside the fields.
FIELD_LABELS = {
    **{f.name: f.verbose_name for f in Provider._meta.fields},
    CAPABILITIES_KEY: gettext_lazy("対応できること"),
    HOURS_KEY: gettext_lazy("営業時間"),
    EXCEPTIONS_KEY: gettext_lazy("臨時の休み・営業時間"),
}


def field_label(name: str) -> str:
    """The label of a field or related kind ("" for errors about the whole record)."""
    if name == NON_FIELD_ERRORS:
        return ""
    return str(FIELD_LABELS.get(name, name))
