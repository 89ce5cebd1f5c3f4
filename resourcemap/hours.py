"""Opening hours: validation, open/closed status with Japanese public holidays, text forms.

Every text form of hours data is written and read here, each writer beside its parser
(``format_x`` / ``parse_x``, tested as round trips): clock times (``09:00``), weekday names,
weekly hours (``月 09:00-12:00,14:00-18:00; 祝 09:00-12:00``), the spans of one day
(``09:00-12:00, 14:00-18:00``), lists of days (``月・水・祝日``) and dated exceptions
(``2026-12-29..2027-01-03 休(年末年始); 2026-05-01 10:00-15:00``).

Rules (the ones staff and providers are told in the forms):
- A period on a weekday, or on 祝日 (public holidays, weekday 7).
- ``closes`` earlier than ``opens`` is an overnight period (e.g. 18:00–09:00): allowed when it
  starts at noon or later and ends before noon, which catches typos such as 14:00–12:00.
- 00:00–00:00 means open all day (24 hours).
- On a public holiday the 祝日 periods apply; a provider without 祝日 periods is closed on
  holidays (the common 日祝休み). Dated exceptions override both.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jpholiday
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

HOLIDAY = 7
DAY_MINUTES = 24 * 60
NOON = dt.time(12, 0)
MIDNIGHT = dt.time(0, 0)
WEEKDAY_LABELS = ("月", "火", "水", "木", "金", "土", "日", "祝")
WEEKDAY_LABELS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Hol")
WEEKDAY_CHARS = "".join(WEEKDAY_LABELS[:HOLIDAY])  # 月火水木金土日, for patterns and column names
# Full names for form labels and choices (translated per request).
WEEKDAY_NAMES = (
    gettext_lazy("月曜日"), gettext_lazy("火曜日"), gettext_lazy("水曜日"), gettext_lazy("木曜日"),
    gettext_lazy("金曜日"), gettext_lazy("土曜日"), gettext_lazy("日曜日"), gettext_lazy("祝日"),
)

OPEN, CLOSED, UNKNOWN = "open", "closed", "unknown"


@dataclass(frozen=True)
class Period:
    weekday: int
    opens: dt.time
    closes: dt.time

    @property
    def all_day(self) -> bool:
        return self.opens == MIDNIGHT and self.closes == MIDNIGHT

    @property
    def overnight(self) -> bool:
        return not self.all_day and self.closes < self.opens

    def minutes(self) -> tuple[int, int]:
        """(start, end) in minutes from this day's midnight; end may exceed 1440."""
        start = self.opens.hour * 60 + self.opens.minute
        end = self.closes.hour * 60 + self.closes.minute
        if self.all_day:
            return 0, DAY_MINUTES
        if end < start:
            end += DAY_MINUTES
        return start, end


def period_error(opens: dt.time | None, closes: dt.time | None) -> str | None:
    """Why a single period is not acceptable, or None."""
    if opens is None or closes is None:
        return None
    if opens == closes:
        if opens == MIDNIGHT:
            return None
        return _("開始と終了が同じ時刻です。24時間なら 00:00〜00:00 と入力してください。")
    if closes < opens and not (opens >= NOON and closes < NOON):
        return _(
            "終了時刻が開始時刻より前です。夜をまたぐ場合は、開始を12時以降・終了を12時より前にしてください。"
        )
    return None


def as_period(item) -> Period:
    if isinstance(item, Period):
        return item
    if isinstance(item, dict):
        return Period(int(item["weekday"]), item["opens"], item["closes"])
    if hasattr(item, "weekday") and hasattr(item, "opens"):
        return Period(int(item.weekday), item.opens, item.closes)
    weekday, opens, closes = item
    return Period(int(weekday), opens, closes)


def validate_periods(items: Iterable) -> list[str]:
    """Messages for bad or overlapping periods (including overnight spill into the next day)."""
    periods = [as_period(item) for item in items]
    errors: list[str] = []
    for period in periods:
        message = period_error(period.opens, period.closes)
        if message:
            errors.append(f"{WEEKDAY_LABELS[period.weekday]} {fmt_period(period)}: {message}")
    if errors:
        return errors
    by_day: dict[int, list[tuple[int, int, Period]]] = {}
    for period in periods:
        start, end = period.minutes()
        by_day.setdefault(period.weekday, []).append((start, min(end, DAY_MINUTES), period))
        if end > DAY_MINUTES and period.weekday < HOLIDAY:
            next_day = (period.weekday + 1) % 7
            by_day.setdefault(next_day, []).append((0, end - DAY_MINUTES, period))
    for weekday in sorted(by_day):
        spans = sorted(by_day[weekday], key=lambda s: (s[0], s[1]))
        latest_end, latest = spans[0][1], spans[0][2]
        for start, end, period in spans[1:]:
            if start < latest_end:
                errors.append(
                    _("%(day)s: %(a)s と %(b)s が重なっています。")
                    % {"day": WEEKDAY_LABELS[weekday], "a": fmt_period(latest), "b": fmt_period(period)}
                )
            if end > latest_end:
                latest_end, latest = end, period
    return errors


@functools.lru_cache(maxsize=4096)
def is_holiday(day: dt.date) -> bool:
    # jpholiday's table is fixed for the process; a page asks the same few days for every row.
    return jpholiday.is_holiday(day)


def fmt_time(value: dt.time) -> str:
    """``09:00`` (inverse: :func:`parse_time`)."""
    return f"{value.hour:02d}:{value.minute:02d}"


def fmt_period(period: Period) -> str:
    """``09:00-18:00``; all day is ``00:00-24:00`` (inverse: :func:`parse_span`)."""
    if period.all_day:
        return "00:00-24:00"
    return f"{fmt_time(period.opens)}-{fmt_time(period.closes)}"


def day_key(day: dt.date) -> int:
    return HOLIDAY if is_holiday(day) else day.weekday()


def _exception_for(day: dt.date, exceptions: Sequence) -> object | None:
    for exc in exceptions:
        if exc.start_date <= day <= exc.end_date:
            return exc
    return None


def _spans_on(day: dt.date, periods: Sequence[Period], exceptions: Sequence) -> list[tuple[int, int]]:
    """Minute spans starting on ``day`` (end may pass midnight)."""
    exc = _exception_for(day, exceptions)
    if exc is not None:
        if exc.closed:
            return []
        return [Period(0, exc.opens, exc.closes).minutes()]
    key = day_key(day)
    return [p.minutes() for p in periods if p.weekday == key]


def status_at(
    when: dt.datetime, periods: Iterable, exceptions: Sequence = (), hours_unknown: bool = False
) -> str:
    """'open', 'closed' or 'unknown' at a local (Asia/Tokyo) datetime."""
    periods = [as_period(p) for p in periods]
    if hours_unknown or (not periods and not exceptions):
        return UNKNOWN
    day = when.date()
    minute = when.hour * 60 + when.minute
    for start, end in _spans_on(day, periods, exceptions):
        if start <= minute < end:
            return OPEN
    for _start, end in _spans_on(day - dt.timedelta(days=1), periods, exceptions):
        if end > DAY_MINUTES and minute < end - DAY_MINUTES:
            return OPEN
    return CLOSED


def _nfkc(text: str) -> str:
    """Full-width digits, colons and tildes as typed on Japanese keyboards -> ASCII."""
    return unicodedata.normalize("NFKC", text or "").strip()


_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::00)?$", re.ASCII)
_SPAN_SEP = r"\s*[-–〜~]\s*"
_SPAN_RE = re.compile(r"^(\d{1,2}):(\d{2})" + _SPAN_SEP + r"(\d{1,2}):(\d{2})$", re.ASCII)


def _clock(hour: int, minute: int) -> dt.time | None:
    """The time of day, 24:00 read as 00:00; None when out of range."""
    if hour == 24 and minute == 0:
        return MIDNIGHT
    if hour > 23 or minute > 59:
        return None
    return dt.time(hour, minute)


def parse_time(text: str) -> dt.time:
    """Inverse of :func:`fmt_time`: ``9:00``, ``09:00``, ``０９：００``, ``24:00`` (= 00:00),
    ``09:00:00``. Raises ValueError with a message staff and providers can act on."""
    value = _nfkc(text)
    match = _TIME_RE.match(value)
    if not match:
        raise ValueError(_("時刻「%(value)s」は「09:00」の形で書いてください。") % {"value": value})
    clock = _clock(int(match[1]), int(match[2]))
    if clock is None:
        raise ValueError(_("時刻「%(value)s」が正しくありません。") % {"value": value})
    return clock


def parse_span(text: str) -> tuple[dt.time, dt.time]:
    """Inverse of :func:`fmt_period`: ``09:00-18:00`` (also ``〜``, ``~``, ``–``) -> (opens, closes)."""
    span = _nfkc(text)
    match = _SPAN_RE.match(span)
    if not match:
        raise ValueError(_("時間「%(span)s」は「09:00-18:00」の形で書いてください。") % {"span": span})
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    opens, closes = _clock(h1, m1), _clock(h2, m2)
    if opens is None or closes is None:
        raise ValueError(_("時刻「%(span)s」が正しくありません。") % {"span": span})
    return opens, closes


# ---- weekday names ----------------------------------------------------------------------------

_DAY_ALIASES = {label: i for i, label in enumerate(WEEKDAY_LABELS)}
_DAY_ALIASES.update({label.lower(): i for i, label in enumerate(WEEKDAY_LABELS_EN)})
_DAY_ALIASES.update({"祝日": HOLIDAY, "hol": HOLIDAY})


def parse_weekday(label: str) -> int:
    """Inverse of ``WEEKDAY_LABELS`` / ``WEEKDAY_LABELS_EN`` (and 祝日): 0 = 月 … 6 = 日, 7 = 祝."""
    weekday = _DAY_ALIASES.get(_nfkc(label).lower())
    if weekday is None:
        raise ValueError(_("曜日「%(label)s」が分かりません（月〜日・祝）。") % {"label": label})
    return weekday


def format_days(days: Iterable[int]) -> str:
    """``月・水・祝日`` (inverse: :func:`parse_days`)."""
    labels = [*WEEKDAY_LABELS[:HOLIDAY], "祝日"]
    return "・".join(labels[d] for d in days)


_DAYS_SPLIT_RE = re.compile(r"\s*[;；、,，・]\s*")
_DAY_WORDS = {label: [i] for i, label in enumerate(WEEKDAY_LABELS)}
_DAY_WORDS["平日"] = [0, 1, 2, 3, 4]
_DAY_RANGE_RE = re.compile(f"([{WEEKDAY_CHARS}])[~〜～\\-ー]([{WEEKDAY_CHARS}])")


def parse_days(text: str) -> list[int]:
    """``月;火;水`` / ``平日,土曜日`` / ``月～金`` / ``月火水木金`` / ``月・水・祝日`` -> sorted
    weekdays (7 = 祝日). Raises ValueError."""
    days: list[int] = []
    for part in _DAYS_SPLIT_RE.split(_nfkc(text)):
        if not part:
            continue
        word = part.replace("曜日", "").replace("曜", "").replace("祝日", "祝")
        range_match = _DAY_RANGE_RE.fullmatch(word)
        if range_match:
            a, b = WEEKDAY_CHARS.index(range_match[1]), WEEKDAY_CHARS.index(range_match[2])
            found = list(range(a, b + 1)) if a <= b else []
        elif word in _DAY_WORDS:
            found = _DAY_WORDS[word]
        elif word and all(ch in _DAY_WORDS for ch in word):
            found = [d for ch in word for d in _DAY_WORDS[ch]]
        else:
            found = []
        if not found:
            raise ValueError(_("曜日「%(value)s」が分かりません（例: 月;火;水 や 平日）。") % {"value": part})
        days.extend(d for d in found if d not in days)
    return sorted(days)


# ---- weekly hours -----------------------------------------------------------------------------


def format_day(periods: Iterable, weekday: int, separator: str = ", ") -> str:
    """The spans of one weekday: ``09:00-12:00, 14:00-18:00`` (inverse: :func:`parse_spans`)."""
    day = sorted((p for p in map(as_period, periods) if p.weekday == weekday), key=lambda p: p.opens)
    return separator.join(fmt_period(p) for p in day)


def parse_spans(text: str, weekday: int) -> list[Period]:
    """Inverse of :func:`format_day`: the spans typed for one weekday (``、`` and ``，`` also
    separate them). Raises ValueError for the first span that cannot be read."""
    periods = []
    for span in re.split(r"[,、，]", _nfkc(text)):
        if span.strip():
            opens, closes = parse_span(span)
            periods.append(Period(weekday, opens, closes))
    return periods


def format_day_spans(spans_by_day: Mapping[int, Sequence[str]]) -> str:
    """``月 09:00-12:00,14:00-18:00; 祝 09:00-12:00`` from span texts per weekday."""
    return "; ".join(
        f"{WEEKDAY_LABELS[day]} {','.join(spans)}" for day, spans in sorted(spans_by_day.items()) if spans
    )


def format_periods(periods: Iterable) -> str:
    """Compact, re-parseable text: ``月 09:00-12:00,14:00-18:00; 祝 09:00-12:00``."""
    periods = list(map(as_period, periods))
    return format_day_spans({day: [fmt_period(p) for p in sorted(
        (p for p in periods if p.weekday == day), key=lambda p: p.opens)] for day in range(8)})


def parse_periods(text: str) -> list[Period]:
    """Inverse of :func:`format_periods`; raises ValueError with a message staff can act on."""
    periods: list[Period] = []
    for chunk in _nfkc(text).split(";"):
        chunk = chunk.strip()
        if not chunk:
            continue
        label, _sep, spans = chunk.partition(" ")
        weekday = parse_weekday(label)
        if not spans.strip():
            parse_span(spans)  # a day without times: say how to write them
        periods.extend(parse_spans(spans, weekday))
    return periods


# ---- dated exceptions -------------------------------------------------------------------------


def _exception_values(item) -> Mapping[str, Any]:
    """An exception as a mapping: a dict as it is, a stored ``HoursException`` by its fields."""
    if isinstance(item, Mapping):
        return item
    return {name: getattr(item, name) for name in ("start_date", "end_date", "closed", "opens", "closes", "note")}


def format_exception(item) -> str:
    """One exception (a dict or a stored ``HoursException``):
    ``2026-12-29..2027-01-03 休(年末年始)`` / ``2026-05-01 10:00-15:00``."""
    item = _exception_values(item)
    span = item["start_date"].isoformat()
    if item["end_date"] != item["start_date"]:
        span += f"..{item['end_date'].isoformat()}"
    if item.get("closed", True):
        what = "休"
    else:
        what = f"{fmt_time(item['opens'])}-{fmt_time(item['closes'])}"
    text = f"{span} {what}"
    if item.get("note"):
        text += f"({item['note']})"
    return text


def format_exceptions(items: Iterable, separator: str = "; ") -> str:
    """Exceptions (dicts or stored ones) sorted by date, ``; ``-separated (one a line with
    ``separator="\\n"``). Inverse: :func:`parse_exceptions`."""
    values = sorted(map(_exception_values, items), key=lambda e: (e["start_date"], e["end_date"]))
    return separator.join(map(format_exception, values))


class ExceptionsError(ValueError):
    """Entries of an exceptions text that cannot be read: ``problems`` is a list of
    (line number in the text, the entry as written, message)."""

    def __init__(self, problems: list[tuple[int, str, str]]):
        super().__init__(" ".join(message for _line, _entry, message in problems))
        self.problems = problems


_DATE = r"\d{4}[-/]\d{1,2}[-/]\d{1,2}"
_EXC_HEAD_RE = re.compile(
    rf"^(?P<start>{_DATE})(?:\s*(?:\.\.|〜|~|-{{1,2}}>?)\s*(?P<end>{_DATE}))?"
    rf"\s+(?P<what>休み?|closed|\d{{1,2}}:\d{{2}}{_SPAN_SEP}\d{{1,2}}:\d{{2}})$",
    re.IGNORECASE,
)
_STARTS_WITH_DATE_RE = re.compile(r"^\d{4}[-/]")


def parse_date(text: str) -> dt.date:
    """``2026-04-01`` (also ``2026/4/1``, full-width digits). Raises ValueError."""
    value = _nfkc(text).replace("/", "-")
    try:
        year, month, day = (int(x) for x in value.split("-"))
        return dt.date(year, month, day)
    except (ValueError, TypeError) as error:
        raise ValueError(_("日付「%(text)s」は 2026-04-01 の形で書いてください。") % {"text": value}) from error


def _exception_entries(text: str) -> list[tuple[int, str]]:
    """(line number, entry) for each entry: one a line or ``;``-separated; a ``;`` inside a
    (note) that is not followed by a date belongs to the note."""
    entries: list[tuple[int, str]] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        pieces: list[str] = []
        for piece in re.split(r"[;；]", line):
            if pieces and re.search(r"[(（]", pieces[-1]) and not _STARTS_WITH_DATE_RE.match(_nfkc(piece)):
                pieces[-1] += ";" + piece
            else:
                pieces.append(piece)
        entries.extend((number, piece.strip()) for piece in pieces if piece.strip())
    return entries


def _parse_exception(entry: str) -> dict[str, Any]:
    head, note = entry, ""
    paren = re.search(r"[(（]", entry)
    if paren:
        head, rest = entry[:paren.start()], entry[paren.start():]
        if rest[-1] not in ")）":
            head = entry  # an unclosed note: not the format
        else:
            note = rest[1:-1].strip()
    match = _EXC_HEAD_RE.match(_nfkc(head))
    if not match:
        raise ValueError(
            _("「%(part)s」の書き方が分かりません（例: 2026-12-29..2027-01-03 休(年末年始)）。") % {"part": entry}
        )
    start = parse_date(match["start"])
    item: dict[str, Any] = {
        "start_date": start, "end_date": parse_date(match["end"]) if match["end"] else start,
        "closed": True, "opens": None, "closes": None, "note": note,
    }
    if match["what"][0].isdigit():
        opens, closes = parse_span(match["what"])
        item.update(closed=False, opens=opens, closes=closes)
    return item


def parse_exceptions(text: str) -> list[dict[str, Any]]:
    """Inverse of :func:`format_exceptions`. Entries one a line or separated by ``;``; dates
    with ``-`` or ``/``; a range with ``..``, ``〜``, ``~`` or ``-``; ``休`` / ``休み`` /
    ``closed`` or a span of times; an optional ``(note)``. Raises :class:`ExceptionsError`
    listing every entry that cannot be read."""
    result, problems = [], []
    for number, entry in _exception_entries(text):
        try:
            result.append(_parse_exception(entry))
        except ValueError as error:
            problems.append((number, entry, str(error)))
    if problems:
        raise ExceptionsError(problems)
    return result


def week_summary(periods: Iterable, english: bool = False) -> list[tuple[str, str]]:
    """Rows like ('月〜金', '09:00-12:00, 14:00-18:00'), grouping consecutive equal days."""
    labels = WEEKDAY_LABELS_EN if english else WEEKDAY_LABELS
    periods = [as_period(p) for p in periods]
    per_day = [format_day(periods, weekday) for weekday in range(8)]
    rows: list[tuple[str, str]] = []
    start = 0
    while start < 7:
        end = start
        while end + 1 < 7 and per_day[end + 1] == per_day[start]:
            end += 1
        if per_day[start]:
            label = labels[start] if start == end else f"{labels[start]}〜{labels[end]}"
            rows.append((label, per_day[start]))
        start = end + 1
    if per_day[HOLIDAY]:
        rows.append((labels[HOLIDAY], per_day[HOLIDAY]))
    return rows


# ---------------------------------------------------------------------------------------------
# Reachable at a moment: office hours, or an after-hours capability (24時間対応, 夜間・休日対応)

# "Night": from 20:00, or before 07:00. Sundays and 祝日 count as holidays all day.
NIGHT_FROM = 20 * 60
EARLY_UNTIL = 7 * 60
# Capability.after_hours values (reference data says which capability means which).
AFTER_ALWAYS, AFTER_NIGHT = "always", "night"
REACH_OPEN, REACH_ALWAYS, REACH_NIGHT = "open", "always", "night"
# A 休止中 provider is neither open nor reachable, whatever its hours say.
REACH_SUSPENDED = "suspended"


def is_night_or_holiday(when: dt.datetime) -> bool:
    minute = when.hour * 60 + when.minute
    return minute >= NIGHT_FROM or minute < EARLY_UNTIL or when.weekday() == 6 or is_holiday(when.date())


def weekday_has_night_or_holiday(key: int, minute: int | None) -> bool:
    """For a generic weekday (0-6, 7 = 祝日): is the asked time (any time if None) night or holiday?"""
    if minute is None or key in (6, HOLIDAY):
        return True
    return minute >= NIGHT_FROM or minute < EARLY_UNTIL


def after_hours_reachable(after_hours: Iterable[str], *, night: bool) -> str | None:
    """How a closed provider with these after-hours kinds can be reached ('always'/'night'), or None."""
    kinds = set(after_hours)
    if AFTER_ALWAYS in kinds:
        return REACH_ALWAYS
    if AFTER_NIGHT in kinds and night:
        return REACH_NIGHT
    return None


@dataclass(frozen=True)
class Reach:
    """How a provider can be reached at a moment.

    ``state`` is 'open' (office hours), 'always' (closed, but 24時間連絡可), 'night' (closed,
    時間外は電話で), 'closed', 'suspended' (休止中) or 'unknown'. ``closes`` is the end of the
    current opening period when open ('HH:MM'), empty when open around the clock.
    """

    state: str
    closes: str = ""

    @property
    def reachable(self) -> bool:
        return self.state in (REACH_OPEN, REACH_ALWAYS, REACH_NIGHT)


def _fmt_minutes(minutes: int) -> str:
    minutes %= DAY_MINUTES
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _open_until(when: dt.datetime, periods: Sequence[Period], exceptions: Sequence) -> int | None:
    """End (minutes from ``when``'s midnight) of the period open at ``when``, following periods
    that continue without a gap; None when closed."""
    day = when.date()
    minute = when.hour * 60 + when.minute
    spans = [(s - DAY_MINUTES, e - DAY_MINUTES) for s, e in _spans_on(day - dt.timedelta(days=1), periods, exceptions)]
    spans += _spans_on(day, periods, exceptions)
    spans += [(s + DAY_MINUTES, e + DAY_MINUTES) for s, e in _spans_on(day + dt.timedelta(days=1), periods, exceptions)]
    spans.sort()
    end = None
    for start, stop in spans:
        if end is None:
            if start <= minute < stop:
                end = stop
        elif start <= end:
            end = max(end, stop)
    return end


def reach_at(
    when: dt.datetime,
    periods: Iterable,
    exceptions: Sequence = (),
    hours_unknown: bool = False,
    after_hours: Iterable[str] = (),
) -> Reach:
    """Open now (with closing time), reachable after hours, closed or unknown at ``when``."""
    periods = [as_period(p) for p in periods]
    exceptions = list(exceptions)
    status = status_at(when, periods, exceptions, hours_unknown)
    if status == OPEN:
        end = _open_until(when, periods, exceptions)
        minute = when.hour * 60 + when.minute
        # Open for the next 24 hours without a break: no closing time worth showing.
        closes = "" if end is None or end - minute >= DAY_MINUTES else _fmt_minutes(end)
        return Reach(REACH_OPEN, closes)
    how = after_hours_reachable(after_hours, night=is_night_or_holiday(when))
    if how:
        return Reach(how)
    return Reach(status)


def provider_reach(provider, when: dt.datetime) -> Reach:
    """:func:`reach_at` for a provider with hours and capabilities prefetched (a provider that
    is not active is :data:`REACH_SUSPENDED`)."""
    if provider.status != "active":
        return Reach(REACH_SUSPENDED)
    after = [pc.capability.after_hours for pc in provider.provider_capabilities.all()]
    return reach_at(
        when,
        provider.opening_periods.all(),
        list(provider.hours_exceptions.all()),
        provider.hours_unknown,
        [a for a in after if a],
    )


def day_spans_text(day: dt.date, periods: Iterable, exceptions: Sequence = ()) -> list[str]:
    """The opening periods that start on ``day`` as text (dated exceptions applied)."""
    periods = [as_period(p) for p in periods]
    out = []
    for start, end in sorted(_spans_on(day, periods, list(exceptions))):
        if start == 0 and end == DAY_MINUTES:
            out.append("00:00-24:00")
        else:
            out.append(f"{_fmt_minutes(start)}-{_fmt_minutes(end)}")
    return out
