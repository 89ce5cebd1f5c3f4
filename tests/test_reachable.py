"""Reachable at night: 24時間対応 and 夜間・休日対応 providers count in hours searches, and the
list says how they are reached (営業中 18:00まで / 24時間連絡可 / 時間外は電話で). Frozen clock."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.http import QueryDict

from resourcemap import hours, search
from resourcemap.models import Provider
from tests.factories import make_provider

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")
WEEKDAYS = [(d, dt.time(9), dt.time(18)) for d in range(5)]
# Monday 2025-11-10 22:00 (no holiday), Sunday 2025-11-09 20:00, Tuesday 2025-11-11 10:00.
MONDAY_NIGHT = dt.datetime(2025, 11, 10, 22, 0, tzinfo=TOKYO)
SUNDAY_EVENING = dt.datetime(2025, 11, 9, 20, 0, tzinfo=TOKYO)
TUESDAY_MORNING = dt.datetime(2025, 11, 11, 10, 0, tzinfo=TOKYO)


@pytest.fixture
def night_providers():
    make_provider(name="日中だけ", type_code="nursing", periods=WEEKDAYS)
    make_provider(name="24時間看護", type_code="nursing", periods=WEEKDAYS, capabilities={"h24": None})
    make_provider(name="24時間不明", type_code="nursing", periods=[], hours_unknown=True,
                  capabilities={"h24": None})
    make_provider(name="夜間休日薬局", type_code="pharmacy", periods=WEEKDAYS,
                  capabilities={"night_holiday": None})
    make_provider(name="休止中24時間", type_code="nursing", periods=WEEKDAYS, capabilities={"h24": None},
                  status=Provider.Status.SUSPENDED)


def names(query: str, at: dt.datetime) -> list[str]:
    with time_machine.travel(at, tick=False):
        return sorted(p.name for p in search.run(QueryDict(query)).providers)


def test_night_search_includes_24h_and_night_capabilities(night_providers):
    assert names("nightholiday=1", TUESDAY_MORNING) == ["24時間不明", "24時間看護", "夜間休日薬局"]


def test_open_at_monday_night_includes_reachable_providers(night_providers):
    assert names("day=0&time=22:00", TUESDAY_MORNING) == ["24時間不明", "24時間看護", "夜間休日薬局"]
    # Monday 10:00: office hours; the night capability does not make a provider "open" by day.
    # The 休止中 provider's hours cover it, but it is not open.
    assert names("day=0&time=10:00", TUESDAY_MORNING) == [
        "24時間不明", "24時間看護", "夜間休日薬局", "日中だけ",
    ]


def test_open_now_at_night_and_by_day(night_providers):
    assert names("open=now", MONDAY_NIGHT) == ["24時間不明", "24時間看護", "夜間休日薬局"]
    assert names("open=now", SUNDAY_EVENING) == ["24時間不明", "24時間看護", "夜間休日薬局"]
    # Wednesday 19:00 is outside office hours but not night: only 24時間対応 counts.
    assert names("day=2&time=19:00", TUESDAY_MORNING) == ["24時間不明", "24時間看護"]


def test_suspended_provider_is_not_reachable_after_hours(night_providers):
    assert "休止中24時間" not in names("open=now", MONDAY_NIGHT)


def test_suspended_provider_is_never_open_within_its_hours(client, night_providers):
    # Tuesday 10:00 is inside its 09:00-18:00 hours: by date, by weekday, now and "night" hours.
    assert "休止中24時間" not in names("open=now", TUESDAY_MORNING)
    assert "休止中24時間" not in names("day=2025-11-11&time=10:00", TUESDAY_MORNING)
    assert "休止中24時間" not in names("day=1&time=10:00", TUESDAY_MORNING)
    assert "休止中24時間" not in names("day=1", TUESDAY_MORNING)
    make_provider(name="休止夜間", type_code="nursing", periods=[(0, dt.time(18), dt.time(23))],
                  status=Provider.Status.SUSPENDED)
    assert "休止夜間" not in names("nightholiday=1", TUESDAY_MORNING)
    # Its page and the list say 休止中, never 営業中.
    suspended = Provider.objects.get(name="休止中24時間")
    with time_machine.travel(TUESDAY_MORNING, tick=False):
        page = client.get(f"/providers/{suspended.pk}/").content.decode()
        listing = client.get("/", {"q": "休止中24時間"}).content.decode()
    assert '<span class="badge badge--closed">休止中</span>' in page
    assert "営業中" not in page
    assert '<span class="badge badge--closed">休止中</span>' in listing
    assert "営業中 18:00まで" not in listing


def test_reach_labels_on_a_frozen_clock():
    periods = [hours.Period(d, dt.time(9), dt.time(18)) for d in range(5)]
    noon = dt.datetime(2025, 11, 11, 12, 0)
    night = dt.datetime(2025, 11, 11, 22, 0)
    afternoon_sat = dt.datetime(2025, 11, 15, 15, 0)
    assert hours.reach_at(noon, periods) == hours.Reach("open", "18:00")
    assert hours.reach_at(night, periods) == hours.Reach("closed")
    assert hours.reach_at(night, periods, after_hours=["always"]) == hours.Reach("always")
    assert hours.reach_at(night, periods, after_hours=["night"]) == hours.Reach("night")
    # Saturday afternoon is neither night nor a holiday.
    assert hours.reach_at(afternoon_sat, periods, after_hours=["night"]) == hours.Reach("closed")
    assert hours.reach_at(night, [], hours_unknown=True) == hours.Reach("unknown")
    assert hours.reach_at(night, [], hours_unknown=True, after_hours=["always"]) == hours.Reach("always")


def test_closing_time_follows_split_and_overnight_periods():
    split = [hours.Period(1, dt.time(9), dt.time(12)), hours.Period(1, dt.time(14), dt.time(18))]
    assert hours.reach_at(dt.datetime(2025, 11, 11, 10, 0), split).closes == "12:00"
    assert hours.reach_at(dt.datetime(2025, 11, 11, 15, 0), split).closes == "18:00"
    overnight = [hours.Period(d, dt.time(20), dt.time(6)) for d in range(7)]
    assert hours.reach_at(dt.datetime(2025, 11, 11, 23, 0), overnight).closes == "06:00"
    assert hours.reach_at(dt.datetime(2025, 11, 12, 5, 0), overnight).closes == "06:00"
    # Joined periods: 09:00-18:00 then 18:00-22:00 closes at 22:00.
    joined = [hours.Period(1, dt.time(9), dt.time(18)), hours.Period(1, dt.time(18), dt.time(22))]
    assert hours.reach_at(dt.datetime(2025, 11, 11, 10, 0), joined).closes == "22:00"
    all_day = [hours.Period(d, dt.time(0), dt.time(0)) for d in range(8)]
    assert hours.reach_at(dt.datetime(2025, 11, 11, 10, 0), all_day) == hours.Reach("open", "")


def test_list_says_how_a_provider_is_reached(client, night_providers):
    with time_machine.travel(MONDAY_NIGHT, tick=False):
        html = client.get("/", {"nightholiday": "1"}).content.decode()
    assert "24時間連絡可" in html
    assert "時間外は電話で" in html
    with time_machine.travel(TUESDAY_MORNING, tick=False):
        html = client.get("/", {"type": "nursing"}).content.decode()
    assert "営業中 18:00まで" in html
    assert "今日: 09:00-18:00" in re.sub(r"<[^>]+>", "", html)


def test_asked_moment_is_shown_for_a_weekday_search(client, night_providers):
    with time_machine.travel(TUESDAY_MORNING, tick=False):
        html = client.get("/", {"day": "0", "time": "22:00"}).content.decode()
    # Next Monday 22:00 after Tuesday 2025-11-11 is 2025-11-17.
    assert "指定の日時（11月17日 22:00）" in html
