"""Opening hours: validation, open/closed with Japanese holidays and exceptions, text forms."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
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


# --- one parser beside each writer: round trips ------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ROUND_TRIP = settings(max_examples=200, derandomize=True, deadline=None)
minute_times = st.builds(T, st.integers(0, 23), st.integers(0, 59))
dates = st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31))
# Notes as people write them: any text on one line, trimmed (the format has no line breaks),
# with brackets and semicolons; a semicolon followed by a date would start the next entry.
notes = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\x85"), max_size=30,
).map(str.strip).filter(lambda n: not re.search(r"[;；]\s*\d{4}[-/]", unicodedata.normalize("NFKC", n)))


@ROUND_TRIP
@given(minute_times)
def test_time_round_trip(value):
    assert hours.parse_time(hours.fmt_time(value)) == value


def test_time_variants_and_errors():
    assert hours.parse_time("9:05") == T(9, 5)
    assert hours.parse_time("０９：３０") == T(9, 30)
    assert hours.parse_time("24:00") == T(0)
    assert hours.parse_time("18:00:00") == T(18)
    with pytest.raises(ValueError, match="時刻「9時」は「09:00」の形で書いてください"):
        hours.parse_time("9時")
    with pytest.raises(ValueError, match="時刻「24:30」が正しくありません"):
        hours.parse_time("24:30")


@pytest.mark.parametrize("weekday", range(8))
def test_weekday_names_round_trip(weekday):
    assert hours.parse_weekday(hours.WEEKDAY_LABELS[weekday]) == weekday
    assert hours.parse_weekday(hours.WEEKDAY_LABELS_EN[weekday]) == weekday
    assert str(hours.WEEKDAY_NAMES[weekday]).startswith(hours.WEEKDAY_LABELS[weekday])


@ROUND_TRIP
@given(st.sets(st.integers(0, 7), min_size=1))
def test_days_round_trip(days):
    assert hours.parse_days(hours.format_days(sorted(days))) == sorted(days)


def test_days_variants():
    assert hours.format_days([0, 2, 7]) == "月・水・祝日"
    assert hours.parse_days("平日、土曜日") == [0, 1, 2, 3, 4, 5]
    assert hours.parse_days("月～金") == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="曜日「毎日」が分かりません"):
        hours.parse_days("毎日")


periods_strategy = st.lists(
    st.builds(Period, st.integers(0, 7), minute_times, minute_times), max_size=12, unique=True,
)


@ROUND_TRIP
@given(periods_strategy)
def test_weekly_hours_round_trip(periods):
    ordered = sorted(periods, key=lambda p: (p.weekday, p.opens))
    assert hours.parse_periods(hours.format_periods(periods)) == ordered
    for weekday in range(8):
        day = [p for p in ordered if p.weekday == weekday]
        assert hours.parse_spans(hours.format_day(periods, weekday), weekday) == day


exceptions_strategy = st.lists(
    st.builds(
        lambda start, days, open_, opens, closes, note: {
            "start_date": start, "end_date": start + dt.timedelta(days=days),
            "closed": not open_, "opens": opens if open_ else None, "closes": closes if open_ else None,
            "note": note,
        },
        dates.filter(lambda d: d.year < 2100), st.integers(0, 20), st.booleans(), minute_times, minute_times, notes,
    ),
    max_size=6,
)


@ROUND_TRIP
@given(exceptions_strategy, st.sampled_from(["; ", "\n"]))
def test_exceptions_round_trip(items, separator):
    ordered = sorted(items, key=lambda e: (e["start_date"], e["end_date"]))
    assert hours.parse_exceptions(hours.format_exceptions(items, separator=separator)) == ordered


def test_exceptions_accept_what_the_sheet_and_the_survey_form_accepted():
    items = hours.parse_exceptions(
        "2026-12-29..2027-01-03 休(年末年始; 30日は午前のみ電話可)；2026/5/1 10:00〜15:00\n"
        "２０２６-０５-０３〜2026-05-05 休み （連休）\n"
        "2026-08-13 -> 2026-08-14 CLOSED\n"
    )
    assert [(e["start_date"], e["end_date"], e["closed"], e["opens"], e["note"]) for e in items] == [
        (dt.date(2026, 12, 29), dt.date(2027, 1, 3), True, None, "年末年始; 30日は午前のみ電話可"),
        (dt.date(2026, 5, 1), dt.date(2026, 5, 1), False, T(10), ""),
        (dt.date(2026, 5, 3), dt.date(2026, 5, 5), True, None, "連休"),
        (dt.date(2026, 8, 13), dt.date(2026, 8, 14), True, None, ""),
    ]


def test_exceptions_errors_name_each_bad_entry():
    with pytest.raises(hours.ExceptionsError) as raised:
        hours.parse_exceptions("someday closed; 2026-05-01 休\n2026-02-30 休\n\n2026-05-02 25:00-26:00")
    assert raised.value.problems == [
        (1, "someday closed", "「someday closed」の書き方が分かりません（例: 2026-12-29..2027-01-03 休(年末年始)）。"),
        (2, "2026-02-30 休", "日付「2026-02-30」は 2026-04-01 の形で書いてください。"),
        (4, "2026-05-02 25:00-26:00", "時刻「25:00-26:00」が正しくありません。"),
    ]
    with pytest.raises(ValueError, match="書き方が分かりません"):
        hours.parse_exceptions("2026-05-01 休(閉じていない")
