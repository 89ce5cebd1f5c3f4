"""Opening-hours filters of the search, as SQL conditions on the provider table.

Each filter is one condition (``EXISTS`` over the opening periods, dated exceptions and
after-hours capabilities of the row), so an hours search stays one SQL query of the providers:
ids, count, pages and columns come from the database (a search at a moment first asks whether
any dated exception covers that day or the day before, see :func:`_open_at`). The rule is the one :func:`resourcemap.hours.reach_at` applies
to one provider (tests compare the two on generated hours); only the day keys of the dates asked
(weekday or 祝日) are worked out here, once per search.

In minutes of a day, a period ``opens``–``closes`` starting on day D covers minute m of D when
``opens <= m`` and (``m < closes``, or it runs past midnight: ``closes < opens``), or it is
00:00–00:00 (all day); it covers minute m of D+1 when it runs past midnight and ``m < closes``.
A minute is compared as its last instant (``HH:MM:59.999999``), so times are compared as the
minutes they fall in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from .. import hours as hours_mod
from ..models import HoursException, OpeningPeriod, Provider, ProviderCapability
from .params import _DATE_RE, _reference

# "Night" opening: a period still open after 20:00 or open before 07:00.
NIGHT_FROM = hours_mod.NIGHT_FROM
EARLY_UNTIL = hours_mod.EARLY_UNTIL

# The weekly hours count for active providers (a 休止中 provider is never open) whose hours are known.
_HOURS_COUNT = Q(status=Provider.Status.ACTIVE, hours_unknown=False)


def _clock(minute: int) -> dt.time:
    return dt.time(minute // 60, minute % 60)


def _last_instant(minute: int) -> dt.time:
    """The last instant of a minute of the day: ``t <= it`` is "t falls in or before the minute"."""
    return dt.time(minute // 60, minute % 60, 59, 999_999)


def _covers(instant: dt.time) -> Q:
    """A period (or special hours) starting on a day covers the minute of the same day whose
    last instant is ``instant``."""
    return Q(opens=hours_mod.MIDNIGHT, closes=hours_mod.MIDNIGHT) | (
        Q(opens__lte=instant) & (Q(closes__gt=instant) | Q(closes__lt=F("opens")))
    )


def _spills_to(instant: dt.time) -> Q:
    """A period starting on a day runs past midnight and covers that minute of the next day."""
    return Q(closes__lt=F("opens"), closes__gt=instant)


def _exceptions_on(day: dt.date, provider) -> QuerySet:
    """Dated exceptions of ``provider`` (an outer reference) that cover ``day``."""
    return HoursException.objects.filter(provider_id=provider, start_date__lte=day, end_date__gte=day)


def _first_exception_on(day: dt.date) -> Q:
    """An exception (the row of the query) is the one that counts on ``day``: it covers the day
    and no other covering it starts earlier (or, on the same date, was stored first), as the
    provider page reads them (``HoursException`` ordering)."""
    earlier = _exceptions_on(day, OuterRef("provider_id")).filter(
        Q(start_date__lt=OuterRef("start_date")) | Q(start_date=OuterRef("start_date"), pk__lt=OuterRef("pk"))
    )
    return Q(start_date__lte=day, end_date__gte=day) & ~Q(Exists(earlier))


@dataclass(frozen=True)
class Moment:
    """What a search at a date and minute depends on, in two parts.

    ``shape`` decides the SQL: the day keys (weekday or 祝日) of the day and the day before,
    whether any dated exception covers those days (which path applies) and whether the moment
    counts as night or holiday (which after-hours capabilities reach). ``instant``, ``day`` and
    ``prev`` are only compared with columns, so a query compiled for one moment answers another
    of the same shape with these values bound in its place (``search.query``).
    """

    shape: tuple[int, int, bool, bool]
    instant: dt.time
    day: dt.date
    prev: dt.date

    def values(self) -> tuple[dt.time, dt.date, dt.date]:
        return self.instant, self.day, self.prev

    def with_values(self, instant: dt.time, day: dt.date, prev: dt.date) -> Moment:
        return Moment(self.shape, instant, day, prev)


def moment_at(when: dt.datetime, *, exceptions_cover=None) -> Moment:
    """The :class:`Moment` of a local datetime. ``exceptions_cover(prev, day)`` answers whether
    any dated exception covers those days (default: ask the database)."""
    day = when.date()
    prev = day - dt.timedelta(days=1)
    covered = (exceptions_cover or any_exception_covers)(prev, day)
    shape = (hours_mod.day_key(day), hours_mod.day_key(prev), covered, hours_mod.is_night_or_holiday(when))
    return Moment(shape, _last_instant(when.hour * 60 + when.minute), day, prev)


def any_exception_covers(first: dt.date, last: dt.date) -> bool:
    return HoursException.objects.filter(start_date__lte=last, end_date__gte=first).exists()


def _open_at(moment: Moment) -> Q:
    """Open by office hours at a moment: a span starting that day covers the minute, or
    a span of the day before runs past midnight into it. A dated exception covering a day
    replaces that day's weekly hours.

    A provider without an exception on either day is decided by one ``EXISTS`` over its periods
    of the two weekdays (one index probe); the day-by-day reading is asked only of providers
    with an exception on one of the two days, and only when some exception covers them at all
    (one look-up in the (end date, start date) index; most days, none does).
    """
    today_key, yesterday_key, covered, _night = moment.shape
    instant, day, prev = moment.values()
    covers, spills = _covers(instant), _spills_to(instant)
    today, yesterday = Q(weekday=today_key), Q(weekday=yesterday_key)

    def weekly(spans: Q) -> Q:
        return Q(Exists(OpeningPeriod.objects.filter(spans, provider_id=OuterRef("pk"))))

    plain_week = weekly((today & covers) | (yesterday & spills))
    if not covered:
        return _HOURS_COUNT & plain_week

    def no_exception(first: dt.date, last: dt.date) -> Q:
        return ~Q(Exists(HoursException.objects.filter(
            provider_id=OuterRef("pk"), start_date__lte=last, end_date__gte=first
        )))

    special = HoursException.objects.filter(
        (_first_exception_on(day) & covers) | (_first_exception_on(prev) & spills),
        provider_id=OuterRef("pk"), closed=False,
    )
    by_day = (
        (no_exception(day, day) & weekly(today & covers))
        | (no_exception(prev, prev) & weekly(yesterday & spills))
        | Q(Exists(special))
    )
    plain = no_exception(prev, day)
    return _HOURS_COUNT & ((plain & plain_week) | (~plain & by_day))


def _open_on_weekday(weekday: int, minute: int | None) -> Q:
    """Open by the weekly hours of a generic weekday (0-6, or 7 for 祝日), at a minute of the day
    or at any time of it (dated exceptions are about dates, not weekdays)."""
    if minute is None:
        spans = Q(weekday=weekday)
    else:
        instant = _last_instant(minute)
        spans = Q(weekday=weekday) & _covers(instant)
        if weekday < hours_mod.HOLIDAY:
            spans |= Q(weekday=(weekday - 1) % 7) & _spills_to(instant)
    return _HOURS_COUNT & Q(Exists(OpeningPeriod.objects.filter(spans, provider_id=OuterRef("pk"))))


def _night_or_holiday() -> Q:
    """Weekly hours on Sunday or 祝日, or a period open after 20:00 or before 07:00."""
    night = (
        Q(weekday__in=(6, hours_mod.HOLIDAY))
        | Q(opens__lt=_clock(EARLY_UNTIL))
        | Q(closes__lt=F("opens"))
        | Q(closes__gt=_last_instant(NIGHT_FROM))
    )
    return _HOURS_COUNT & Q(Exists(OpeningPeriod.objects.filter(night, provider_id=OuterRef("pk"))))


def _reachable_after_hours(*, night: bool) -> Q:
    """Active and reachable outside office hours through an after-hours capability: always with
    'always' (24時間対応), at night and on Sundays/holidays with 'night' (夜間・休日対応), as the
    reference data says (:func:`hours.after_hours_reachable`)."""
    _types, caps, _areas = _reference()
    ids = [
        c.pk for c in caps.values()
        if c.after_hours and hours_mod.after_hours_reachable([c.after_hours], night=night)
    ]
    if not ids:
        return Q(pk__in=[])
    return Q(status=Provider.Status.ACTIVE) & Q(
        Exists(ProviderCapability.objects.filter(provider_id=OuterRef("pk"), capability_id__in=ids))
    )


def hours_condition(cleaned: Mapping, now: dt.datetime, *, moment: Moment | None = None) -> Q | None:
    """The hours filters of a search as one condition on providers (None: no hours filter).

    Open by office hours, or reachable through an after-hours capability at the time asked
    (24時間対応 at any time, 夜間・休日対応 at night and on Sundays/holidays). ``moment``, when
    given, is the asked moment's :class:`Moment` (see :func:`asked_date_moment`).
    """
    condition = None
    kind, when = _when(cleaned, now)
    if kind == "date":
        moment = moment or moment_at(when)
        condition = _open_at(moment) | _reachable_after_hours(night=moment.shape[3])
    elif kind == "weekday":
        condition = _open_on_weekday(*when) | _reachable_after_hours(
            night=hours_mod.weekday_has_night_or_holiday(*when)
        )
    if cleaned.get("nightholiday"):
        night = _night_or_holiday() | _reachable_after_hours(night=True)
        condition = night if condition is None else condition & night
    return condition


def asked_date_moment(cleaned: Mapping, now: dt.datetime, *, exceptions_cover=None) -> Moment | None:
    """The :class:`Moment` of a search at a date and minute (None: its SQL does not depend on
    the moment, only on the query string)."""
    kind, when = _when(cleaned, now)
    return moment_at(when, exceptions_cover=exceptions_cover) if kind == "date" else None


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
