"""The hours filters of the search (SQL) give the verdict the provider page shows (hours.reach_at)
for generated weekly hours, dated exceptions, statuses, after-hours capabilities and moments."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resourcemap import hours, search
from resourcemap.models import (
    Capability,
    HoursException,
    OpeningPeriod,
    Provider,
    ProviderCapability,
)
from tests.factories import make_provider

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")
POOL = 4  # providers per generated example

TIMES = [dt.time(h, m) for h, m in (
    (0, 0), (0, 30), (6, 0), (7, 0), (9, 0), (12, 0), (12, 30), (18, 0), (20, 0), (20, 1), (22, 0), (23, 59),
)]
# Around 文化の日 (Mon), Golden Week (four holidays in a row), the September holidays (three in a
# row) and New Year's Day.
DAYS = [dt.date(2025, 11, 1) + dt.timedelta(days=i) for i in range(5)] + [
    dt.date(2026, 5, 1) + dt.timedelta(days=i) for i in range(8)
] + [dt.date(2026, 9, 19) + dt.timedelta(days=i) for i in range(6)] + [
    dt.date(2026, 12, 30) + dt.timedelta(days=i) for i in range(4)
]
# Edges of the generated times, and any minute.
MINUTES = st.one_of(
    st.sampled_from([t.hour * 60 + t.minute + d for t in TIMES for d in (-1, 0, 1) if 0 <= t.hour * 60 + t.minute + d < 1440]),
    st.integers(0, 1439),
)
# Mostly none: an after-hours capability makes a provider reachable whatever its hours say.
AFTER = [(), (), (), (), ("h24",), ("night_holiday",), ("h24", "night_holiday")]


def generated_providers(days: tuple[int, ...] = ()):
    """POOL providers; their periods mostly on the weekday keys in ``days`` (the day asked and
    the day before), where they decide the verdict."""
    weekday = st.one_of(st.sampled_from(days), st.integers(0, 7)) if days else st.integers(0, 7)
    periods = st.lists(st.tuples(weekday, st.sampled_from(TIMES), st.sampled_from(TIMES)), max_size=5)
    exceptions = st.lists(
        st.tuples(st.integers(-3, 1), st.integers(0, 2), st.booleans(), st.sampled_from(TIMES), st.sampled_from(TIMES)),
        max_size=2,
    )
    return st.lists(
        st.fixed_dictionaries({
            "status": st.sampled_from([Provider.Status.ACTIVE] * 4 + [Provider.Status.SUSPENDED]),
            "hours_unknown": st.sampled_from([False] * 5 + [True]),
            "periods": periods,
            "exceptions": st.one_of(st.just([]), exceptions),
            "after": st.sampled_from(AFTER),
        }),
        min_size=POOL, max_size=POOL,
    )


@st.composite
def moments(draw):
    """(day, minute, providers)."""
    day = draw(st.sampled_from(DAYS))
    keys = (hours.day_key(day), hours.day_key(day - dt.timedelta(days=1)))
    return day, draw(MINUTES), draw(generated_providers(keys))


EXAMPLES = settings(
    max_examples=100, derandomize=True, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def pool():
    return [make_provider(name=f"営業{i}", periods=[]).pk for i in range(POOL)]


def store(pool: list[int], generated: list[dict], day: dt.date) -> None:
    """Replace the pool's hours, status and capabilities with the generated ones (straight into
    the tables: any stored combination must get the same verdict, valid or not)."""
    caps = {c.code: c for c in Capability.objects.filter(code__in=["h24", "night_holiday"])}
    OpeningPeriod.objects.filter(provider_id__in=pool).delete()
    HoursException.objects.filter(provider_id__in=pool).delete()
    ProviderCapability.objects.filter(provider_id__in=pool).delete()
    for pk, item in zip(pool, generated, strict=True):
        Provider.objects.filter(pk=pk).update(status=item["status"], hours_unknown=item["hours_unknown"])
        OpeningPeriod.objects.bulk_create(
            OpeningPeriod(provider_id=pk, weekday=w, opens=o, closes=c) for w, o, c in item["periods"]
        )
        HoursException.objects.bulk_create(
            HoursException(
                provider_id=pk, start_date=day + dt.timedelta(days=start),
                end_date=day + dt.timedelta(days=start + length), closed=closed,
                opens=None if closed else o, closes=None if closed else c,
            )
            for start, length, closed, o, c in item["exceptions"]
        )
        ProviderCapability.objects.bulk_create(ProviderCapability(provider_id=pk, capability=caps[code]) for code in item["after"])


def reachable(pool: list[int], when: dt.datetime) -> list[int]:
    """The pool's providers that the provider page shows as reachable at ``when``."""
    return sorted(p.pk for p in search.load_providers(pool) if hours.provider_reach(p, when).reachable)


def found(params: dict, now: dt.datetime) -> list[int]:
    return sorted(search.run_ids(params, now=now))


@EXAMPLES
@given(case=moments())
def test_open_at_a_moment_is_what_the_provider_page_says(pool, case):
    day, minute, generated = case
    store(pool, generated, day)
    when = dt.datetime.combine(day, dt.time(minute // 60, minute % 60))
    expected = reachable(pool, when)
    assert found({"open": "now"}, when.replace(tzinfo=TOKYO)) == expected
    asked = {"open": "at", "day": day.isoformat(), "time": f"{minute // 60:02d}:{minute % 60:02d}"}
    assert found(asked, dt.datetime(2026, 1, 1, 12, tzinfo=TOKYO)) == expected


@EXAMPLES
@given(data=st.data(), weekday=st.integers(0, 6), minute=st.one_of(st.none(), MINUTES))
def test_open_on_a_weekday_is_the_weekly_hours_of_such_a_day(pool, data, weekday, minute):
    generated = data.draw(generated_providers((weekday, (weekday - 1) % 7)))
    # 2025-11-09 (Sun) to 2025-11-16 (Sun): no holiday, so each day's key is its weekday.
    day = dt.date(2025, 11, 10) + dt.timedelta(days=weekday)
    store(pool, generated, day)
    params = {"open": "at", "day": str(weekday)}
    if minute is None:
        # Any time of the day: a weekly period on it, or reachable at night.
        expected = sorted(
            pk for pk, item in zip(pool, generated, strict=True)
            if item["status"] == Provider.Status.ACTIVE and (
                item["after"] or (not item["hours_unknown"] and any(w == weekday for w, _o, _c in item["periods"]))
            )
        )
    else:
        params["time"] = f"{minute // 60:02d}:{minute % 60:02d}"
        when = dt.datetime.combine(day, dt.time(minute // 60, minute % 60))
        # Dated exceptions are about dates, not weekdays: the weekly hours alone.
        HoursException.objects.filter(provider_id__in=pool).delete()
        expected = reachable(pool, when)
    assert found(params, dt.datetime(2026, 1, 1, 12, tzinfo=TOKYO)) == expected


def test_two_exceptions_on_one_day_the_earlier_counts(pool):
    day = dt.date(2025, 11, 11)
    generated = [
        {"status": Provider.Status.ACTIVE, "hours_unknown": False, "periods": [(1, dt.time(9), dt.time(18))],
         "exceptions": exc, "after": ()}
        for exc in (
            [(-1, 1, True, None, None), (0, 0, False, dt.time(9), dt.time(12))],  # closed from the day before
            [(0, 0, False, dt.time(9), dt.time(12)), (0, 0, True, None, None)],  # same start: the first stored
            [(0, 0, False, dt.time(13), dt.time(15))],
            [],
        )
    ]
    store(pool, generated, day)
    when = dt.datetime.combine(day, dt.time(10))
    assert found({"open": "now"}, when.replace(tzinfo=TOKYO)) == reachable(pool, when) == [pool[1], pool[3]]


def test_an_hours_search_is_one_query_of_the_provider_table(pool):
    closed = {"status": Provider.Status.ACTIVE, "hours_unknown": False, "periods": [], "exceptions": []}
    store(pool, [{**closed, "after": ("h24",)}] + [{**closed, "after": ()}] * (POOL - 1), dt.date(2025, 11, 11))
    with CaptureQueriesContext(connection) as ctx:
        result = search.run({"q": "営業", "open": "now", "nightholiday": "1"})
        assert result.in_sql
        ids = list(result.ids)
    reads = [q["sql"] for q in ctx.captured_queries if 'FROM "resourcemap_provider"' in q["sql"]]
    assert len(reads) == 1, reads
    assert ids == [pool[0]]


def kept_ids(params: dict, now: dt.datetime) -> list[int]:
    """The ids the compact API's kept query gives (compiled once per shape of the moment)."""
    from resourcemap.search.query import run_cleaned_rows

    cleaned, ignored = search.clean(params)
    result = run_cleaned_rows(cleaned, ignored, columns=("id",), annotations={}, bbox=None, key="test", now=now)
    return [row[0] for row in result._row_query]


def asked_forms(when: dt.datetime) -> list[dict]:
    clock = f"{when.hour:02d}:{when.minute:02d}"
    return [
        {"open": "now"},
        {"open": "at", "time": clock},
        {"open": "at", "day": when.date().isoformat(), "time": clock},
        {"open": "now", "nightholiday": "1", "q": "営業"},
    ]


@EXAMPLES
@given(
    case=moments(),
    others=st.lists(st.tuples(st.sampled_from(DAYS), MINUTES), min_size=1, max_size=3),
    rewritten=st.booleans(),
)
def test_a_kept_hours_query_answers_as_a_fresh_search(pool, case, others, rewritten):
    """Searches at a moment reuse the SQL compiled for another moment of the same shape (day
    keys, exceptions path, night) with the minute and dates bound in: the same ids in the same
    order as a fresh build, for moments around midnight and holidays, before and after a write."""
    from resourcemap.models import DataVersion
    from resourcemap.search import query as search_query

    day, minute, generated = case
    search_query._row_sql.clear()
    store(pool, generated, day)
    DataVersion.bump()
    moments_asked = [(day, minute), *others, (day, minute)]
    for step, (d, m) in enumerate(moments_asked):
        if rewritten and step == len(moments_asked) - 1:
            # A write in between: the kept queries are forgotten and the answer shows it.
            store(pool, [{**item, "exceptions": [], "after": ()} for item in generated], day)
            DataVersion.bump()
        when = dt.datetime.combine(d, dt.time(m // 60, m % 60)).replace(tzinfo=TOKYO)
        for params in asked_forms(when):
            assert kept_ids(params, when) == search.run_ids(params, now=when), (params, when)
        assert kept_ids({"open": "now"}, when) == reachable(pool, when.replace(tzinfo=None))


def test_a_kept_hours_query_is_compiled_once_per_shape(pool):
    """Two minutes of one day share a shape: the second is bound into the first's SQL."""
    from resourcemap.search import query as search_query

    search_query._row_sql.clear()
    store(pool, [{"status": Provider.Status.ACTIVE, "hours_unknown": False, "periods": [(1, dt.time(9), dt.time(18))],
                  "exceptions": [], "after": ()}] * POOL, dt.date(2025, 11, 11))
    morning = dt.datetime(2025, 11, 11, 10, 0, tzinfo=TOKYO)  # Tuesday, no holiday
    assert kept_ids({"open": "now"}, morning) == sorted(pool)
    kept = len(search_query._row_sql)
    evening = dt.datetime(2025, 11, 11, 18, 30, tzinfo=TOKYO)  # after 18:00, before night (20:00)
    with CaptureQueriesContext(connection) as ctx:
        assert kept_ids({"open": "now"}, evening) == []
    assert len(search_query._row_sql) == kept
    assert [q["sql"] for q in ctx.captured_queries if "resourcemap_hoursexception" in q["sql"]] == []
