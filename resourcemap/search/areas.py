"""The 地域/地区 field typed by name, for sites with more areas than a list can show.

Up to ``settings.AREA_SELECT_MAX`` areas the search form offers them as two lists (地域, 地区).
With more (a prefecture, a national portal) the form has one text field instead: a resident
types 「世田谷区 太子堂」 or just 「太子堂」, the browser suggests names from ``/api/areas``, and
:func:`resolve` turns the text into the area's code, so the URL, every output and a bookmark
carry ``region=`` / ``district=`` codes as before.

Names are matched folded (:func:`~resourcemap.folding.fold`: full/half width, katakana and
hiragana, spaces), by name, reading or English name, alone or after the name of the 地域 (for
a national portal the municipality), with or without 「地区」/「地域」 and the municipality's
市/区/町/村. The index is built from the reference data already kept per process and data
version, so a lookup or a suggestion costs what its answer costs.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from django.conf import settings

from ..folding import fold
from ..models import Area, DataVersion
from .params import _reference, _reference_cache

SUGGEST_LIMIT = 8
CANDIDATES_SHOWN = 5
_SUFFIXES = ("地区", "地域")
_MUNICIPALITY_SUFFIXES = ("市", "区", "町", "村")


def typed() -> bool:
    """True when the site has too many areas for lists: the form shows one text field."""
    return len(_reference()[2]) > settings.AREA_SELECT_MAX


def label(area: Area) -> str:
    """The name a resident reads and types back: 「世田谷 太子堂」 for a 地区 (its 地域 first),
    the 地域's own name for a 地域."""
    if area.level == Area.Level.DISTRICT and area.parent is not None:
        return f"{area.parent.display_name} {area.display_name}"
    return area.display_name


def distinct_labels(areas: list[Area]) -> list[str]:
    """Their labels, each told apart: a label two of them share (two towns of one name in
    different prefectures) gets the area's code."""
    names = [label(a) for a in areas]
    return [f"{n}（{a.code}）" if names.count(n) > 1 else n for n, a in zip(names, areas, strict=True)]


def _names(area: Area) -> set[str]:
    return {fold(value) for value in (area.name, area.kana, area.name_en) if value}


def _short(names: set[str]) -> set[str]:
    """The municipality's names without 市/区/町/村 (横浜市 -> 横浜) as well."""
    return names | {n[:-1] for n in names if len(n) > 2 and n.endswith(_MUNICIPALITY_SUFFIXES)}


@dataclass(frozen=True)
class _Index:
    exact: dict[str, tuple[str, ...]]  # folded name -> area codes
    prefix_keys: list[str]  # sorted folded names, for suggestions
    prefix_codes: list[str]


def _index() -> _Index:
    version = DataVersion.current()
    hit = _reference_cache.get("area_names")
    if hit is not None and hit[0] == version:
        return hit[1]
    _types, _caps, areas = _reference()
    exact: dict[str, list[str]] = {}
    pairs: set[tuple[str, int, str]] = set()
    for area in areas.values():
        own = _names(area)
        keys = set(own)
        shown = set(own)  # names a suggestion may start with (not language-dependent)
        if area.level == Area.Level.REGION:
            keys |= _short(own)
        elif area.parent is not None:
            keys |= {r + n for r in _short(_names(area.parent)) for n in own}
            shown |= {r + n for r in _names(area.parent) for n in own}
        for key in keys:
            exact.setdefault(key, []).append(area.code)
        for key in shown:
            pairs.add((key, area.sort_order, area.code))
    ordered = sorted(pairs)
    index = _Index(
        exact={k: tuple(v) for k, v in exact.items()},
        prefix_keys=[p[0] for p in ordered],
        prefix_codes=[p[2] for p in ordered],
    )
    _reference_cache["area_names"] = (version, index)
    return index


def _key(text: str) -> str:
    return fold(text)[:100]


def resolve(text: str) -> list[Area]:
    """The areas a typed name may mean: one when it is clear, several when it is ambiguous
    (the same 地区 name in several towns), none when no area has that name.

    A 地域 named like some of its own 地区 is the 地域 (it holds them)."""
    key = _key(text)
    if not key:
        return []
    index = _index()
    codes = index.exact.get(key)
    if codes is None:
        for suffix in _SUFFIXES:
            if key.endswith(suffix) and key[: -len(suffix)]:
                codes = index.exact.get(key[: -len(suffix)])
                break
    areas = _reference()[2]
    found = sorted((areas[c] for c in codes or () if c in areas), key=lambda a: (a.sort_order, a.code))
    regions = [a for a in found if a.level == Area.Level.REGION]
    if len(regions) == 1 and all(a.parent_id == regions[0].pk for a in found if a is not regions[0]):
        return regions
    return found


def suggest(text: str, limit: int = SUGGEST_LIMIT) -> list[Area]:
    """Areas whose name, reading or 「地域 地区」 name starts with the text; O(log n + limit)."""
    key = _key(text)
    if not key:
        return []
    index = _index()
    areas = _reference()[2]
    out: list[Area] = []
    seen: set[str] = set()
    i = bisect_left(index.prefix_keys, key)
    while i < len(index.prefix_keys) and index.prefix_keys[i].startswith(key) and len(out) < limit:
        code = index.prefix_codes[i]
        if code not in seen and code in areas:
            seen.add(code)
            out.append(areas[code])
        i += 1
    return out


def replace_typed(params) -> bool:
    """In a mutable QueryDict, replace a typed ``area`` name by the code it stands for
    (``district=`` or ``region=``), so the page's address is the one a bookmark or another
    output uses; a blank one is removed. True when ``params`` changed; an ambiguous or unknown
    name stays as typed, for the form to say so at the field."""
    if "area" not in params:
        return False
    text = " ".join(params.get("area", "").split())
    if text:
        found = resolve(text)
        if len(found) != 1:
            return False
        params.pop("region", None)
        params.pop("district", None)
        params[found[0].level] = found[0].code
        params.pop("page", None)
    params.pop("area")
    return True
