"""Helpers for the search form: capability counts and "drop this condition" after zero results."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count
from django.utils.translation import gettext as _

from ..language import join_list
from ..models import Area, Capability, ProviderCapability, ProviderType
from .params import _reference, querystring
from .query import run_cleaned
from .result import SearchResult, count_per_version


def capability_counts(result: SearchResult) -> dict[str, int]:
    """Capability code -> how many providers of the current result have it (one query)."""
    if result.queryset is None:
        return {}
    _types, caps, _areas = _reference()
    code_of = {c.pk: c.code for c in caps.values()}
    if result.in_sql:
        # The result is the queryset itself: count in SQL, without reading its ids (once per
        # search and data version).
        counted = (
            ProviderCapability.objects.filter(provider__in=result.queryset)
            .values("capability_id")
            .annotate(n=Count("provider_id"))
            .order_by()
            .values_list("capability_id", "n")
        )
        rows = count_per_version("capabilities", counted, lambda: list(counted))
        return {code_of[capability_id]: n for capability_id, n in rows if capability_id in code_of}
    if not result.ids:
        return {}
    ids = set(result.ids)
    counts: dict[str, int] = {}
    for pid, capability_id in (
        ProviderCapability.objects.filter(provider__in=result.queryset)
        .order_by()
        .values_list("provider_id", "capability_id")
    ):
        if pid in ids and capability_id in code_of:
            code = code_of[capability_id]
            counts[code] = counts.get(code, 0) + 1
    return counts


@dataclass
class Relaxation:
    """One condition of a search and what the search gives without it."""

    label: str
    querystring: str
    count: int


def relaxations(result: SearchResult, *, now: dt.datetime | None = None) -> list[Relaxation]:
    """For an empty result: each condition the user set, with the count without it.

    One entry per type list, per capability, area, keyword, hours, night/holiday and distance.
    """
    cleaned = {k: v for k, v in result.params.items() if k != "page"}
    types = {t.code: t for t in ProviderType.objects.filter(code__in=cleaned.get("type", []))}
    caps = {c.code: c for c in Capability.objects.filter(code__in=cleaned.get("cap", []))}
    options: list[tuple[str, dict]] = []

    def without(*keys: str, **replace) -> dict:
        params = {k: v for k, v in cleaned.items() if k not in keys}
        params.update(replace)
        return params

    if cleaned.get("type"):
        names = join_list(types[c].display_name for c in cleaned["type"] if c in types)
        options.append((_("種別（%(names)s）") % {"names": names}, without("type")))
    for code in cleaned.get("cap", []):
        if code in caps:
            options.append(
                (caps[code].display_name, without(cap=[c for c in cleaned["cap"] if c != code]))
            )
    area_code = cleaned.get("district") or cleaned.get("region")
    if area_code:
        area = Area.objects.filter(code=area_code).first()
        if area is not None:
            options.append(
                (_("地区・地域（%(name)s）") % {"name": area.display_name}, without("district", "region"))
            )
    if cleaned.get("q"):
        options.append((_("キーワード（%(q)s）") % {"q": cleaned["q"]}, without("q")))
    if cleaned.get("open"):
        options.append((_("営業している日時"), without("open", "day", "time")))
    if cleaned.get("nightholiday"):
        options.append((_("夜間・休日"), without("nightholiday")))
    if cleaned.get("radius"):
        options.append((_("距離（半径）"), without("radius")))
    out = []
    for label, params in options:
        relaxed = run_cleaned(dict(params), [], now=now, with_conditions=False)
        out.append(Relaxation(label=label, querystring=querystring(params), count=relaxed.count))
    return out
