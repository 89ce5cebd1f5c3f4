"""Opening-hours filters of the search, run in Python on the ids that SQL returned.

Only the periods of the candidate providers for the day asked and the day before are read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.db.models import QuerySet

from .. import hours as hours_mod
from ..models import HoursException, OpeningPeriod, Provider, ProviderCapability
from .params import _DATE_RE, _reference

# "Night" opening: a period still open after 20:00 or open before 07:00.
NIGHT_FROM = hours_mod.NIGHT_FROM
EARLY_UNTIL = hours_mod.EARLY_UNTIL


def _minutes(value: dt.time) -> int:
    return value.hour * 60 + value.minute


def _spans(opens: dt.time, closes: dt.time) -> tuple[int, int]:
    return hours_mod.Period(0, opens, closes).minutes()


def _with_hours(candidates: QuerySet) -> QuerySet:
    """The candidates whose opening hours count: active (a 休止中 provider is never open) and
    with known hours."""
    return candidates.filter(status=Provider.Status.ACTIVE, hours_unknown=False)


def _open_at_date(candidates: QuerySet, when: dt.datetime) -> set[int]:
    """Ids among ``candidates`` open at a local datetime.

    Reads only the candidates' rows for that day and the day before; the day keys (weekday or
    祝日) are worked out once per call, not per row.
    """
    day = when.date()
    prev = day - dt.timedelta(days=1)
    minute = when.hour * 60 + when.minute
    day_keys = ((day, hours_mod.day_key(day)), (prev, hours_mod.day_key(prev)))
    known = _with_hours(candidates)
    exceptions: dict[int, dict[dt.date, HoursException]] = {}
    for exc in HoursException.objects.filter(
        provider__in=known, start_date__lte=day, end_date__gte=prev
    ):
        for d in (prev, day):
            if exc.start_date <= d <= exc.end_date:
                exceptions.setdefault(exc.provider_id, {})[d] = exc
    spans: dict[int, dict[dt.date, list[tuple[int, int]]]] = {}
    span_of = _span_cache()
    periods = OpeningPeriod.objects.filter(
        provider__in=known, weekday__in={key for _d, key in day_keys}
    ).order_by().values_list("provider_id", "weekday", "opens", "closes")
    for pid, weekday, opens, closes in periods:
        # Both days can share a key only for two holidays in a row: checking both handles it.
        for key_day, key in day_keys:
            if key == weekday:
                spans.setdefault(pid, {}).setdefault(key_day, []).append(span_of(opens, closes))
    for pid, by_day in exceptions.items():
        for d, exc in by_day.items():
            day_spans = spans.setdefault(pid, {})
            day_spans[d] = [] if exc.closed else [_spans(exc.opens, exc.closes)]
    result = set()
    for pid, by_day in spans.items():
        if any(s <= minute < e for s, e in by_day.get(day, [])) or any(
            e > hours_mod.DAY_MINUTES and minute < e - hours_mod.DAY_MINUTES
            for _s, e in by_day.get(prev, [])
        ):
            result.add(pid)
    return result


def _span_cache():
    """``_spans`` memoised for one request: providers share a handful of distinct periods."""
    cache: dict[tuple[dt.time, dt.time], tuple[int, int]] = {}

    def span_of(opens: dt.time, closes: dt.time) -> tuple[int, int]:
        key = (opens, closes)
        found = cache.get(key)
        if found is None:
            found = cache[key] = _spans(opens, closes)
        return found

    return span_of


def _open_on_weekday(candidates: QuerySet, weekday: int, minute: int | None) -> set[int]:
    """Ids open on a generic weekday (0-6, or 7 for 祝日), at a minute of the day or at any time."""
    keys = [weekday]
    prev_key = (weekday - 1) % 7 if weekday < hours_mod.HOLIDAY else None
    if minute is not None and prev_key is not None:
        keys.append(prev_key)
    rows = OpeningPeriod.objects.filter(
        provider__in=_with_hours(candidates), weekday__in=keys
    ).order_by().values_list("provider_id", "weekday", "opens", "closes")
    result = set()
    span_of = _span_cache()
    for pid, key, opens, closes in rows:
        start, end = span_of(opens, closes)
        if key == weekday:
            if minute is None or start <= minute < end:
                result.add(pid)
        elif end > hours_mod.DAY_MINUTES and minute < end - hours_mod.DAY_MINUTES:
            result.add(pid)
    return result


def _night_or_holiday(candidates: QuerySet) -> set[int]:
    rows = OpeningPeriod.objects.filter(
        provider__in=_with_hours(candidates)
    ).order_by().values_list("provider_id", "weekday", "opens", "closes")
    result = set()
    for pid, weekday, opens, closes in rows:
        if weekday in (6, hours_mod.HOLIDAY):
            result.add(pid)
            continue
        start, end = _spans(opens, closes)
        if end > NIGHT_FROM or start < EARLY_UNTIL:
            result.add(pid)
    return result


def _after_hours(candidates: QuerySet) -> dict[int, set[str]]:
    """Active providers with an after-hours capability (24時間対応 → 'always', 夜間・休日対応 →
    'night', as the reference data says): id -> kinds."""
    _types, caps, _areas = _reference()
    kinds = {c.pk: c.after_hours for c in caps.values() if c.after_hours}
    out: dict[int, set[str]] = {}
    if not kinds:
        return out
    rows = (
        ProviderCapability.objects.filter(
            provider__in=candidates.filter(status=Provider.Status.ACTIVE), capability_id__in=kinds
        )
        .order_by()
        .values_list("provider_id", "capability_id")
    )
    for pid, capability_id in rows:
        out.setdefault(pid, set()).add(kinds[capability_id])
    return out


def _reachable_after_hours(candidates: QuerySet, *, night: bool) -> set[int]:
    """Ids reachable outside office hours: always with 'always', at night/holidays with 'night'."""
    return {
        pid
        for pid, kinds in _after_hours(candidates).items()
        if hours_mod.after_hours_reachable(kinds, night=night)
    }


def asked_moment(cleaned: Mapping, now: dt.datetime) -> dt.datetime | None:
    """The moment an hours search asks about, as a local datetime (None: no time asked).

    A generic weekday with a time becomes its next date (from today); 祝日 the next holiday.
    """
    kind, when = _when(cleaned, now)
    if kind == "date":
        return when
    if kind != "weekday" or when[1] is None:
        return None
    key, minute = when
    day = now.date()
    for _i in range(400):
        if (key == hours_mod.HOLIDAY and hours_mod.is_holiday(day)) or (
            key < hours_mod.HOLIDAY and day.weekday() == key and not hours_mod.is_holiday(day)
        ):
            return dt.datetime.combine(day, dt.time(minute // 60, minute % 60))
        day += dt.timedelta(days=1)
    return None


def _when(cleaned: Mapping, now: dt.datetime) -> tuple[str, object]:
    """('date', datetime) | ('weekday', (key, minute|None)) | ('', None)."""
    if cleaned.get("open") == "now":
        return "date", now
    if cleaned.get("open") != "at":
        return "", None
    day = cleaned.get("day")
    minute = None
    if cleaned.get("time"):
        hh, mm = cleaned["time"].split(":")
        minute = int(hh) * 60 + int(mm)
    if day and _DATE_RE.match(day):
        date = dt.date.fromisoformat(day)
        if minute is None:
            key = hours_mod.day_key(date)
            return "weekday", (key, None)
        return "date", dt.datetime.combine(date, dt.time(minute // 60, minute % 60))
    if day == "holiday":
        return "weekday", (hours_mod.HOLIDAY, minute)
    if day:
        return "weekday", (int(day), minute)
    # A time without a day: today at that time.
    return "date", dt.datetime.combine(now.date(), dt.time(minute // 60, minute % 60))
