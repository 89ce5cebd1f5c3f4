"""The test clock (tests/conftest.py) and the local date on a server whose own zone is UTC."""

import datetime as dt
import os
import time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from resourcemap import providers
from resourcemap.models import ProviderChange
from tests.conftest import TEST_CLOCKS, clock_start
from tests.factories import make_provider

JST = ZoneInfo("Asia/Tokyo")


def test_every_test_starts_on_the_chosen_clock():
    start = clock_start()
    if start is None:
        pytest.skip("TEST_CLOCK=real")
    now = timezone.now()
    assert start <= now < start + dt.timedelta(minutes=20)  # moving (tick), from the same instant


def test_the_two_clocks_of_make_test_straddle_the_date_change():
    midnight = dt.datetime.fromisoformat(TEST_CLOCKS["midnight"]).astimezone(JST)
    evening = dt.datetime.fromisoformat(TEST_CLOCKS["evening"]).astimezone(JST)
    assert midnight.hour == 0 and midnight.astimezone(dt.UTC).date() < midnight.date()
    assert evening.hour >= 22


@pytest.fixture
def utc_server():
    """The process's own time zone is UTC (as on most servers), not the municipality's."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    time.tzset()


@pytest.mark.django_db
def test_confirmation_just_after_midnight_gets_the_local_date(reference, utc_server):
    provider = make_provider()
    # 00:30 in Tokyo on 2 December is still 1 December in UTC.
    with time_machine.travel(dt.datetime(2026, 12, 1, 15, 30, tzinfo=dt.UTC), tick=False):
        providers.provider_confirm(
            provider=provider, actor_kind=ProviderChange.Actor.STAFF, source="電話で確認"
        )
    provider.refresh_from_db()
    assert provider.last_confirmed_on == dt.date(2026, 12, 2)
