"""Opening hours: validation, open/closed with Japanese holidays and exceptions, text forms."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from resourcemap import hours
from resourcemap.hours import CLOSED, OPEN, UNKNOWN, Period

T = dt.time
WEEKDAYS_9_18 = [(d, T(9), T(18)) for d in range(5)]


def at(y, m, d, hh, mm=0):
    return dt.datetime(y, m, d, hh, mm)


def exc(start, end=None, closed=True, opens=None, closes=None):
    return SimpleNamespace(start_date=start, end_date=end or start, closed=closed, opens=opens, closes=closes)


# --- validate_periods ------------------------------------------------------------------------


def test_valid_week_has_no_errors():
    assert hours.validate_periods(WEEKDAYS_9_18 + [(0, T(19), T(21)), (7, T(9), T(12))]) == []


def test_overlap_same_day():
    assert hours.validate_periods([(2, T(9), T(13)), (2, T(12), T(18))]) == [
        "水: 09:00-13:00 と 12:00-18:00 が重なっています。"
    ]


def test_touching_periods_do_not_overlap():
    assert hours.validate_periods([(2, T(9), T(12)), (2, T(12), T(18))]) == []


def test_overnight_spills_into_next_day():
    errors = hours.validate_periods([(0, T(22), T(6)), (1, T(5), T(12))])
    assert errors == ["火: 22:00-06:00 と 05:00-12:00 が重なっています。"]
    assert hours.validate_periods([(0, T(22), T(6)), (1, T(6), T(12))]) == []


def test_sunday_overnight_spills_into_monday():
    assert hours.validate_periods([(6, T(20), T(8)), (0, T(7), T(9))]) == [
        "月: 20:00-08:00 と 07:00-09:00 が重なっています。"
    ]


def test_all_day_overlaps_anything_that_day():
    assert hours.validate_periods([(3, T(0), T(0)), (3, T(9), T(10))]) == [
        "木: 00:00-24:00 と 09:00-10:00 が重なっています。"
    ]


@pytest.mark.parametrize("opens,closes", [(T(14), T(12)), (T(10), T(9)), (T(9), T(9))])
def test_bad_single_periods(opens, closes):
    errors = hours.validate_periods([(0, opens, closes)])
    assert len(errors) == 1 and errors[0].startswith("月 ")


def test_overnight_from_noon_allowed():
    assert hours.period_error(T(18), T(9)) is None
    assert hours.period_error(T(12), T(11, 59)) is None
    assert "終了時刻が開始時刻より前です" in hours.period_error(T(14), T(12))


# --- status_at -------------------------------------------------------------------------------


def test_open_and_closed_on_a_weekday():
    assert hours.status_at(at(2026, 11, 4, 10), WEEKDAYS_9_18) == OPEN  # Wednesday
    assert hours.status_at(at(2026, 11, 4, 18), WEEKDAYS_9_18) == CLOSED  # closes at 18:00
    assert hours.status_at(at(2026, 11, 4, 8, 59), WEEKDAYS_9_18) == CLOSED


def test_public_holiday_uses_holiday_periods():
    culture_day = at(2026, 11, 3, 10)  # 文化の日 (a Tuesday)
    assert hours.is_holiday(culture_day.date())
    assert hours.status_at(culture_day, WEEKDAYS_9_18) == CLOSED  # 日祝休み
    with_holiday = WEEKDAYS_9_18 + [(7, T(9), T(12))]
    assert hours.status_at(culture_day, with_holiday) == OPEN
    assert hours.status_at(at(2026, 11, 3, 13), with_holiday) == CLOSED


def test_overnight_open_after_midnight_next_day():
    periods = [(4, T(18), T(9))]  # Friday night into Saturday
    assert hours.status_at(at(2026, 11, 6, 23), periods) == OPEN
    assert hours.status_at(at(2026, 11, 7, 8, 30), periods) == OPEN  # Saturday morning
    assert hours.status_at(at(2026, 11, 7, 9), periods) == CLOSED


def test_all_day():
    periods = [(d, T(0), T(0)) for d in range(8)]
    assert hours.status_at(at(2026, 11, 3, 3), periods) == OPEN
    assert hours.status_at(at(2026, 11, 8, 23, 59), periods) == OPEN


def test_exceptions_override_weekly_hours():
    closed_week = exc(dt.date(2026, 12, 29), dt.date(2027, 1, 3))
    assert hours.status_at(at(2026, 12, 30, 10), WEEKDAYS_9_18, [closed_week]) == CLOSED
    short_day = exc(dt.date(2026, 11, 4), closed=False, opens=T(10), closes=T(12))
    assert hours.status_at(at(2026, 11, 4, 11), WEEKDAYS_9_18, [short_day]) == OPEN
    assert hours.status_at(at(2026, 11, 4, 15), WEEKDAYS_9_18, [short_day]) == CLOSED
    open_on_holiday = exc(dt.date(2026, 11, 3), closed=False, opens=T(9), closes=T(17))
    assert hours.status_at(at(2026, 11, 3, 10), WEEKDAYS_9_18, [open_on_holiday]) == OPEN


def test_unknown():
    assert hours.status_at(at(2026, 11, 4, 10), WEEKDAYS_9_18, hours_unknown=True) == UNKNOWN
    assert hours.status_at(at(2026, 11, 4, 10), []) == UNKNOWN


# --- text forms ------------------------------------------------------------------------------


def test_format_periods():
    text = hours.format_periods([(0, T(14), T(18)), (0, T(9), T(12)), (7, T(0), T(0)), (4, T(18), T(9))])
    assert text == "月 09:00-12:00,14:00-18:00; 金 18:00-09:00; 祝 00:00-24:00"


def test_parse_format_round_trip():
    periods = [Period(0, T(9), T(12)), Period(0, T(14), T(18)), Period(4, T(18), T(9)),
               Period(6, T(0), T(0)), Period(7, T(10), T(15, 30))]
    assert hours.parse_periods(hours.format_periods(periods)) == periods


def test_parse_accepts_variants():
    assert hours.parse_periods("Mon 9:00〜12:00、13:00-17:00；祝日 09:00~12:00") == [
        Period(0, T(9), T(12)), Period(0, T(13), T(17)), Period(7, T(9), T(12))
    ]
    assert hours.parse_periods("") == []


@pytest.mark.parametrize("text,message", [
    ("月曜 09:00-12:00", "曜日「月曜」が分かりません"),
    ("月 9時-12時", "「09:00-18:00」の形"),
    ("月 25:00-26:00", "時刻「25:00-26:00」が正しくありません"),
])
def test_parse_errors(text, message):
    with pytest.raises(ValueError, match=message):
        hours.parse_periods(text)


def test_week_summary_groups_days():
    rows = hours.week_summary(WEEKDAYS_9_18 + [(5, T(9), T(12)), (7, T(9), T(12))])
    assert rows == [("月〜金", "09:00-18:00"), ("土", "09:00-12:00"), ("祝", "09:00-12:00")]
