"""The search parameters: their names and limits, reading them from a QueryDict or a dict, the
reference data they are checked against, and the canonical query string of a search.

The checks themselves are the fields of :class:`~resourcemap.search.form.SearchForm`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlencode

from .. import inputs
from ..models import Area, Capability, DataVersion, ProviderType

LIST_KEYS = ("type", "cap", "ids")
SINGLE_KEYS = (
    "area", "region", "district", "q", "open", "day", "time", "nightholiday", "lat", "lng", "radius",
    "place", "sort", "page",
)
KNOWN_KEYS = set(LIST_KEYS) | set(SINGLE_KEYS)
# Canonical order of the query string (``page`` is not part of "the search"; a typed ``area``
# name is carried as the region/district code it was resolved to).
QUERY_ORDER = (
    "type", "cap", "region", "district", "q", "open", "day", "time", "nightholiday",
    "lat", "lng", "radius", "place", "sort", "ids",
)
SORTS = ("kana", "distance", "area")
RADIUS_MIN, RADIUS_MAX = 100, 20_000
MAX_Q = 100
MAX_IDS = 500


_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$", re.ASCII)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)


def _get_lists(params) -> dict[str, list[str]]:
    """Normalise a QueryDict, a dict of lists or a dict of strings to {key: [values]}, without
    NUL bytes and other control characters (:func:`inputs.clean_text`)."""
    out: dict[str, list[str]] = {}
    if hasattr(params, "lists"):
        items = params.lists()
    else:
        items = (params or {}).items()
    for key, value in items:
        if isinstance(value, (list, tuple)):
            values = [inputs.clean_text(str(v)) for v in value if v is not None]
        elif value is None:
            values = []
        else:
            values = [inputs.clean_text(str(value))]
        out.setdefault(inputs.clean_text(str(key)), []).extend(values)
    return out


_reference_cache: dict[str, tuple] = {}


def per_version(name: str, compute):
    """``compute()``, kept per process for the current data version (every change of reference
    data moves it), so a request reads one row instead of the tables."""
    version = DataVersion.current()
    hit = _reference_cache.get(name)
    if hit is not None and hit[0] == version:
        return hit[1]
    value = compute()
    _reference_cache[name] = (version, value)
    return value


def _reference() -> tuple[dict[str, ProviderType], dict[str, Capability], dict[str, Area]]:
    """Types, capabilities and areas by code (in their display order), per data version."""
    return per_version("reference", lambda: (
        {t.code: t for t in ProviderType.objects.all()},
        {c.code: c for c in Capability.objects.all()},
        {a.code: a for a in Area.objects.select_related("parent")},
    ))


def capability_types() -> dict[str, list[str]]:
    """Capability code -> the codes of the provider types it applies to (sorted), per data version."""
    return per_version("capability types", lambda: {
        c.code: sorted(t.code for t in c.provider_types.all())
        for c in Capability.objects.prefetch_related("provider_types")
    })


def region_area_ids(code: str) -> list[int]:
    """Ids of the 地域 ``code`` and of its 地区 (providers are placed in districts); kept with
    the reference data, so a national list of thousands of areas is not walked per request."""
    version = DataVersion.current()
    hit = _reference_cache.get("regions")
    if hit is None or hit[0] != version:
        _types, _caps, areas = _reference()
        codes = {a.pk: a.code for a in areas.values()}
        regions: dict[str, list[int]] = {}
        for area in areas.values():
            region = area.code if area.parent_id is None else codes.get(area.parent_id)
            regions.setdefault(region, []).append(area.pk)
        hit = (version, regions)
        _reference_cache["regions"] = hit
    return hit[1].get(code, [])


def split_list(values: Iterable[str]) -> list[str]:
    """``["a,b", "b", " c "]`` -> ``["a", "b", "c"]``: comma lists and repeated keys, once each."""
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


def _valid_date(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def finite_float(value: str) -> float | None:
    """A number from a parameter, or None (not a number, NaN or infinite)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return number


def querystring(cleaned: Mapping) -> str:
    pairs: list[tuple[str, str]] = []
    for key in QUERY_ORDER:
        value = cleaned.get(key)
        if value in (None, "", []):
            continue
        if key == "sort" and value == ("distance" if cleaned.get("lat") else "kana"):
            continue  # the default order is implied
        if key == "open" and value == "at":
            continue  # implied by day/time
        if key == "ids":
            pairs.append((key, ",".join(str(v) for v in value)))
        elif isinstance(value, list):
            pairs.extend((key, v) for v in value)
        else:
            pairs.append((key, str(value)))
    return urlencode(pairs)
