"""医療情報ネット（ナビイ）: open days, dated closures and the hours file."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from .. import formats
from .. import hours as hours_mod
from .layouts import NAVII_WEEKDAY_HEADER, LayoutError
from .normalise import _norm, split_multi


def navii_open_days(row: Mapping[str, str], columns: Mapping[str, str]) -> list[int] | None:
    """Weekdays (7 = 祝日) flagged 1 = open; None when nothing was reported (all zero/empty)."""
    days = []
    for index, char in enumerate(hours_mod.WEEKDAY_CHARS):
        if _norm(row.get(_norm(NAVII_WEEKDAY_HEADER.format(day=char))) or "") == "1":
            days.append(index)
    holiday = columns.get("holiday_open")
    if holiday and _norm(row.get(holiday) or "") == "1":
        days.append(7)
    return days or None


_DATE_RE = re.compile(r"^(\d{1,2})月(\d{1,2})日$")
_NTH_RE = re.compile(rf"^(\d{{1,2}})月第([1-5一二三四五])([{hours_mod.WEEKDAY_CHARS}])曜日?$")


def _next_occurrence(month: int, day: int, today: dt.date) -> dt.date | None:
    for year in (today.year, today.year + 1):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


def _nth_weekday(year: int, month: int, nth: int, weekday: int) -> dt.date | None:
    first = dt.date(year, month, 1)
    day = first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
    return day if day.month == month else None


def parse_closures(text: str, today: dt.date) -> tuple[list[dict[str, Any]], list[str]]:
    """``01月01日，01月02日，06月第二土曜日`` -> (dated closures for their next occurrence, with
    consecutive days merged; parts not understood, kept as a note)."""
    dates: set[dt.date] = set()
    other: list[str] = []
    for part in split_multi(text):
        part = part.replace(" ", "")
        match = _DATE_RE.match(part)
        nth = _NTH_RE.match(part)
        if match:
            found = _next_occurrence(int(match[1]), int(match[2]), today)
            if found:
                dates.add(found)
                continue
        elif nth:
            month = int(nth[1])
            number = int(nth[2]) if nth[2].isdigit() else "一二三四五".index(nth[2]) + 1
            weekday = hours_mod.parse_weekday(nth[3])
            for year in (today.year, today.year + 1):
                found = _nth_weekday(year, month, number, weekday)
                if found and found >= today:
                    dates.add(found)
                    break
            else:
                other.append(part)
            continue
        other.append(part)
    spans: list[dict[str, Any]] = []
    for day in sorted(dates):
        if spans and spans[-1]["end_date"] + dt.timedelta(days=1) == day:
            spans[-1]["end_date"] = day
        else:
            spans.append({"start_date": day, "end_date": day, "closed": True, "note": "休診日"})
    for span in spans:
        start, end = span["start_date"], span["end_date"]
        if (start.month == 12 and (end.month == 1 or end.day == 31)) or (start.month == 1 and start.day <= 3):
            span["note"] = "年末年始"
    return spans, other


@dataclass
class NaviiHours:
    """Weekly periods per facility ID from a ``*_speciality_hours`` file."""

    periods: dict[str, list[tuple[int, dt.time, dt.time]]]
    rows: int


def read_navii_hours(data: bytes, ids: set[str] | None = None) -> NaviiHours:
    """Read an hours file by header name: ``ID`` and ``{曜}_診療開始時間`` / ``{曜}_診療終了時間``
    (月…日, 祝). Start = end means no hours that day; 00:00–23:59 means 24 hours. All
    departments and time slots of a facility are merged."""
    dataset = formats.read_csv(data)
    headers = [_norm(h) for h in dataset.headers or []]
    columns = {}
    for index, char in enumerate(hours_mod.WEEKDAY_LABELS):
        start, end = f"{char}_診療開始時間", f"{char}_診療終了時間"
        if start in headers and end in headers:
            columns[index] = (start, end)
    if "ID" not in headers or not columns:
        raise LayoutError(
            _("診療時間のファイルに「ID」と「月_診療開始時間」「月_診療終了時間」…の列がありません。このファイルの列: %(columns)s")
            % {"columns": "、".join(h for h in headers if h) or "-"}
        )
    periods: dict[str, set[tuple[int, dt.time, dt.time]]] = {}
    rows = 0
    for values in dataset.dict:
        rows += 1
        row = {_norm(k): _norm(v or "") for k, v in values.items()}
        facility = row.get("ID", "")
        if not facility or (ids is not None and facility not in ids):
            continue
        for weekday, (start_col, end_col) in columns.items():
            start, end = row.get(start_col, ""), row.get(end_col, "")
            if not start or not end or start == end:
                continue
            try:
                opens = hours_mod.parse_time(start[:5])
                closes = dt.time(0) if end[:5] == "23:59" else hours_mod.parse_time(end[:5])
            except ValueError:
                continue
            periods.setdefault(facility, set()).add((weekday, opens, closes))
    return NaviiHours({k: _merge_periods(v) for k, v in periods.items()}, rows)


def _merge_periods(periods: Iterable[tuple[int, dt.time, dt.time]]) -> list[tuple[int, dt.time, dt.time]]:
    """Overlapping or touching periods of a weekday merged (a 24-hour period absorbs the rest)."""
    result = []
    by_day: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for weekday, opens, closes in periods:
        by_day.setdefault(weekday, []).append((opens, closes))
    for weekday in sorted(by_day):
        spans = sorted(by_day[weekday])
        if any(o == dt.time(0) and c == dt.time(0) for o, c in spans):
            result.append((weekday, dt.time(0), dt.time(0)))
            continue
        merged: list[list[dt.time]] = []
        for opens, closes in spans:
            if closes <= opens:  # past midnight: keep as its own period
                merged.append([opens, closes])
                continue
            if merged and merged[-1][1] > merged[-1][0] and opens <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], closes)
            else:
                merged.append([opens, closes])
        result.extend((weekday, o, c) for o, c in merged)
    return result
