"""Requests cost what their result costs: one search per answer, COUNT and LIMIT for pages."""

import re

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from resourcemap import print_views
from tests.factories import make_provider

pytestmark = pytest.mark.django_db


def provider_selects(queries) -> list[str]:
    """SQL statements that read the provider table itself (not the one-row data version)."""
    return [
        q["sql"] for q in queries
        if re.search(r'FROM "resourcemap_provider"', q["sql"]) and "resourcemap_dataversion" not in q["sql"]
    ]


@pytest.fixture
def many():
    for i in range(60):
        make_provider(name=f"診療所{i:02d}", kana=f"シンリョウジョ{i:02d}", type_code="clinic")


def test_compact_json_reads_the_providers_once(client, many):
    with CaptureQueriesContext(connection) as ctx:
        body = client.get("/api/providers.json?type=clinic").json()
    assert body["count"] == 60
    assert [row[4] for row in body["providers"]][:2] == ["診療所00", "診療所01"]
    selects = provider_selects(ctx.captured_queries)
    assert len(selects) == 1, selects


def test_compact_json_with_hours_reads_the_providers_once(client, many):
    with CaptureQueriesContext(connection) as ctx:
        body = client.get("/api/providers.json?day=0&time=10:00").json()
    assert body["count"] == 60
    # the ordered search itself; hours and after-hours capabilities read only the candidates'
    # rows (the search as a subquery)
    reads = [s for s in provider_selects(ctx.captured_queries) if s.startswith('SELECT "resourcemap_provider"')]
    assert len(reads) == 1, reads


def test_unfiltered_list_counts_and_pages_in_sql(client, many):
    with CaptureQueriesContext(connection) as ctx:
        html = client.get("/?page=2").content.decode()
    assert "診療所50" in html and "診療所49" not in html
    selects = provider_selects(ctx.captured_queries)
    assert any("COUNT(" in s.upper() for s in selects)
    id_reads = [s for s in selects if "COUNT(" not in s.upper() and '"id" IN (' not in s]
    # page 2 of 60: ten ids read with LIMIT/OFFSET, never all of them
    assert id_reads and all(re.search(r"LIMIT 10 OFFSET 50", s) for s in id_reads), id_reads


def test_too_many_to_print_is_a_count(client, many, monkeypatch):
    monkeypatch.setattr(print_views, "MAX_PROVIDERS", 10)
    with CaptureQueriesContext(connection) as ctx:
        html = client.get("/print/?type=clinic").content.decode()
    assert "条件をしぼってください" in html and "60 件" in html
    selects = provider_selects(ctx.captured_queries)
    assert selects and all("COUNT(" in s.upper() for s in selects), selects


# --- viewport API ---------------------------------------------------------------------------

@pytest.fixture
def spread():
    from decimal import Decimal

    made = []
    for i in range(12):
        made.append(make_provider(
            name=f"西{i}", type_code="clinic",
            latitude=Decimal("35.630000") + Decimal(i) / 10000, longitude=Decimal("139.600000"),
        ))
    for i in range(5):
        made.append(make_provider(
            name=f"ひがし{i}", type_code="nursing",
            latitude=Decimal("35.640000"), longitude=Decimal("139.660000") + Decimal(i) / 10000,
        ))
    return made


def test_bbox_returns_only_the_view(client, spread):
    body = client.get("/api/providers.json?bbox=139.59,35.62,139.61,35.64&zoom=15").json()
    assert body["count"] == 12
    assert sorted(row[4] for row in body["providers"]) == sorted(f"西{i}" for i in range(12))
    assert "clusters" not in body
    # the same search keeps working with the view: a type, a keyword
    assert client.get("/api/providers.json?type=nursing&bbox=139.59,35.62,139.61,35.64").json()["count"] == 0
    assert client.get("/api/providers.json?q=%E3%81%B2%E3%81%8C%E3%81%97&bbox=139.5,35.5,139.8,35.8").json()["count"] == 5


def test_zoomed_out_view_gets_clusters_counted_in_sql(client, spread, monkeypatch):
    from resourcemap import api

    monkeypatch.setattr(api, "MAX_POINTS", 10)
    with CaptureQueriesContext(connection) as ctx:
        body = client.get("/api/providers.json?bbox=139.5,35.5,139.8,35.8&zoom=12").json()
    assert body["count"] == 17
    assert body["providers"] == []
    clusters = body["clusters"]
    assert sorted(n for _lat, _lng, n in clusters) == [5, 12]
    west = next(c for c in clusters if c[2] == 12)
    assert west[0] == pytest.approx(35.63055, abs=1e-4) and west[1] == pytest.approx(139.6, abs=1e-6)
    assert any("GROUP BY" in q["sql"] for q in ctx.captured_queries)
    # no provider row is read one by one: only COUNT and the grouped query touch the table
    assert all("COUNT(" in s.upper() for s in provider_selects(ctx.captured_queries))
    # with an hours filter the clusters are the same, made from the (filtered) rows
    hours = client.get("/api/providers.json?bbox=139.5,35.5,139.8,35.8&zoom=12&day=0&time=10:00").json()
    assert sorted(n for _lat, _lng, n in hours["clusters"]) == [5, 12]
    # zoomed in far enough, cells split the western line of providers
    fine = client.get("/api/providers.json?bbox=139.5,35.5,139.8,35.8&zoom=20").json()
    assert len(fine["clusters"]) > 2


VIEWS = [
    ((35.5, 139.5, 35.8, 139.8), 10), ((35.62, 139.59, 35.64, 139.61), 10), ((30.0, 128.0, 46.0, 146.0), 5),
    ((35.0, 139.0, 36.0, 140.0), 0), ((35.6, 139.6, 35.7, 139.7), 9),
]


def stored_and_live(cleaned_query: dict):
    from resourcemap import search

    cleaned, _ignored = search.clean(cleaned_query)
    for bbox, zoom in VIEWS:
        stored = search.cell_counts(cleaned, bbox, zoom, stored=True)
        live = search.cell_counts(cleaned, bbox, zoom, stored=False)
        yield (bbox, zoom), stored, live


def test_stored_cells_answer_as_counting_live_after_every_kind_of_write(spread):
    """PostgreSQL keeps the cells by a trigger; they must equal counting the providers."""
    from decimal import Decimal

    from resourcemap import providers
    from resourcemap.models import Provider, ProviderChange

    if connection.vendor != "postgresql":
        pytest.skip("the stored cells are kept on PostgreSQL only")

    def agree():
        for query in ({}, {"type": "nursing"}, {"type": ["clinic", "nursing"]}):
            for view, stored, live in stored_and_live(query):
                assert stored == live, (query, view)

    def update(provider, **changes):
        providers.provider_update(provider=provider, changes=changes,
                                  actor_kind=ProviderChange.Actor.SYSTEM, source="test")

    agree()
    cells, total = stored_and_live({}).__next__()[1]
    assert total == 17 and sorted(n for *_point, n in cells) == [5, 12]
    moved, closed, retyped = spread[0], spread[1], spread[12]
    update(moved, latitude=Decimal("35.650000"), longitude=Decimal("139.650000"))
    update(closed, status=Provider.Status.CLOSED)
    update(retyped, provider_type="clinic")
    make_provider(name="新しい看護", type_code="nursing", latitude=Decimal("35.640500"), longitude=Decimal("139.660000"))
    agree()
    cells, total = stored_and_live({}).__next__()[1]
    # zoom 10: the moved provider joined the eastern cell, where the new one is too
    assert total == 17 and sorted(n for *_point, n in cells) == [7, 10]
    Provider.objects.filter(pk=spread[2].pk).delete()
    update(closed, status=Provider.Status.ACTIVE)
    agree()
    assert stored_and_live({}).__next__()[1][1] == 17


def test_zoomed_out_map_reads_cells_not_providers(client, spread, monkeypatch):
    from resourcemap import api

    monkeypatch.setattr(api, "MAX_POINTS", 10)
    with CaptureQueriesContext(connection) as ctx:
        body = client.get("/api/providers.json?bbox=128,30,146,46&zoom=5").json()
    assert body["count"] == 17 and body["providers"] == []
    assert [n for _lat, _lng, n in body["clusters"]] == [17]
    lat, lng, _n = body["clusters"][0]
    assert lat == pytest.approx((12 * 35.63055 + 5 * 35.64) / 17, abs=1e-6)
    assert lng == pytest.approx((12 * 139.6 + 5 * 139.6602) / 17, abs=1e-6)
    if connection.vendor == "postgresql":
        assert not provider_selects(ctx.captured_queries), ctx.captured_queries
    # a view that touches a cell counts the whole cell: the same count wherever the view is
    edge = client.get("/api/providers.json?bbox=139.0,35.0,139.61,35.65&zoom=5").json()
    assert edge["count"] == 17 and edge["clusters"] == body["clusters"]


@pytest.mark.parametrize("query", [
    "bbox=1,2,3", "bbox=a,b,c,d", "bbox=139.7,35.6,139.6,35.7", "bbox=0,0,0,0", "bbox=-200,0,10,10",
    "bbox=139.5,35.5,139.8,35.8&zoom=99", "zoom=-1", "zoom=x",
])
def test_bad_viewport_is_a_400_with_a_message(client, query):
    response = client.get(f"/api/providers.json?{query}")
    assert response.status_code == 400
    assert response.json()["messages"]


def test_viewport_is_part_of_the_etag(client, spread):
    a = client.get("/api/providers.json?bbox=139.59,35.62,139.61,35.64")
    b = client.get("/api/providers.json?bbox=139.5,35.5,139.8,35.8")
    assert a["ETag"] != b["ETag"]
    assert client.get("/api/providers.json?bbox=139.59,35.62,139.61,35.64", HTTP_IF_NONE_MATCH=a["ETag"]).status_code == 304


# --- front page cache -----------------------------------------------------------------------

def test_front_page_is_served_from_the_page_cache_until_data_changes(client, many):
    import time_machine

    from resourcemap import providers
    from resourcemap.models import Provider, ProviderChange

    with time_machine.travel("2026-12-01 10:00:05 +09:00", tick=False):
        first = client.get("/")
        assert "診療所00" in first.content.decode()
        with CaptureQueriesContext(connection) as ctx:
            again = client.get("/")
        assert again.status_code == 200
        assert again.content.decode().count("診療所") == first.content.decode().count("診療所")
        # one read of the data version (and the municipality-free session/CSRF work): no search
        assert not provider_selects(ctx.captured_queries), ctx.captured_queries
        provider = Provider.objects.get(name="診療所00")
        providers.provider_update(
            provider=provider, changes={"name": "改名診療所"},
            actor_kind=ProviderChange.Actor.SYSTEM, source="test",
        )
        changed = client.get("/").content.decode()
        assert "改名診療所" in changed
    # the next minute is rendered again (the page shows what is open now)
    with time_machine.travel("2026-12-01 10:01:05 +09:00", tick=False):
        with CaptureQueriesContext(connection) as ctx:
            client.get("/")
        assert provider_selects(ctx.captured_queries)


def test_cached_page_carries_each_visitors_own_csrf_token(many):
    from django.test import Client

    from resourcemap.views import CSRF_PLACEHOLDER

    a, b = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    pages = [a.get("/").content.decode(), b.get("/").content.decode()]
    tokens = [re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1) for page in pages]
    assert CSRF_PLACEHOLDER not in pages[1] and tokens[0] != tokens[1]
    # b's page came from the cache, and its token works for b's language switch
    response = b.post("/i18n/setlang/", {"language": "en", "next": "/", "csrfmiddlewaretoken": tokens[1]})
    assert response.status_code == 302
    assert b.get("/en/").status_code == 200


def test_staff_pages_are_not_cached(staff_client, many):
    staff_client.get("/")
    with CaptureQueriesContext(connection) as ctx:
        staff_client.get("/")
    assert provider_selects(ctx.captured_queries)


# --- the data version, once per request -----------------------------------------------------

def version_reads(queries) -> int:
    return sum('FROM "resourcemap_dataversion"' in q["sql"] for q in queries)


@pytest.mark.parametrize("path", ["/api/providers.json?type=clinic", "/api/providers.geojson", "/", "/?q=診療所"])
def test_a_request_reads_the_data_version_once(client, many, path):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200
    assert version_reads(ctx.captured_queries) == 1


def test_a_request_that_writes_sees_its_own_version():
    from resourcemap.models import DataVersion, request_scope

    with request_scope():
        before = DataVersion.current()
        assert DataVersion.current() == before
        DataVersion.bump()
        after = DataVersion.current()
        assert after != before
        with CaptureQueriesContext(connection) as ctx:
            assert DataVersion.current() == after
        assert version_reads(ctx.captured_queries) == 0
    # Outside a request every call reads the row (workers, commands).
    with CaptureQueriesContext(connection) as ctx:
        assert DataVersion.current() == after
        DataVersion.current()
    assert version_reads(ctx.captured_queries) == 2


def test_etag_follows_a_write_between_requests(client, many):
    from resourcemap import providers
    from resourcemap.models import Provider, ProviderChange

    first = client.get("/api/providers.json?type=clinic")
    provider = Provider.objects.get(name="診療所00")
    providers.provider_update(
        provider=provider, changes={"name": "診療所00改"},
        actor_kind=ProviderChange.Actor.SYSTEM, source="test",
    )
    second = client.get("/api/providers.json?type=clinic", HTTP_IF_NONE_MATCH=first["ETag"])
    assert second.status_code == 200
    assert "診療所00改" in second.content.decode()


def test_counts_of_a_search_are_made_once_per_data_version(client, many):
    from resourcemap import providers
    from resourcemap.models import Provider, ProviderChange

    def counts(path):
        with CaptureQueriesContext(connection) as ctx:
            html = client.get(path).content.decode()
        return html, [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]

    with override_settings(PAGE_CACHE_SECONDS=0):
        first, counted = counts("/?type=clinic")
        assert "60件見つかりました" in first and len(counted) == 2  # matches, capability counts
        # page 2 of the same search: no count again
        second, counted = counts("/?type=clinic&page=2")
        assert "60件見つかりました" in second and counted == []
        provider = Provider.objects.get(name="診療所00")
        providers.provider_update(
            provider=provider, changes={"status": Provider.Status.CLOSED},
            actor_kind=ProviderChange.Actor.SYSTEM, source="test",
        )
        third, counted = counts("/?type=clinic")
        assert "59件見つかりました" in third and len(counted) == 2


# --- the front page's list: the same queries for 5 providers as for 50 ----------------------

def _varied_provider(i: int):
    """A nursing station with what the list shows: capabilities (one after hours), hours, a
    dated exception, an English name on every other, a fax on every third."""
    import datetime as dt

    return make_provider(
        name=f"訪問看護{i:02d}", kana=f"ホウモンカンゴ{i:02d}", type_code="nursing",
        name_en=f"Nursing {i:02d}" if i % 2 else "", fax="03-0000-0000" if i % 3 == 0 else "",
        capabilities={"h24": None, "mitori": {"count": 2}},
        periods=[(d, dt.time(9), dt.time(17)) for d in range(6)] + [(6, dt.time(22), dt.time(6))],
        exceptions=[{"start_date": dt.date(2026, 12, 29), "end_date": dt.date(2027, 1, 3), "closed": True}],
        last_confirmed_on=dt.date(2024, 1, 1) if i % 4 == 0 else None,
    )


@pytest.mark.parametrize("path", ["/", "/?type=nursing&cap=h24", "/en/?type=nursing&open=at&day=6&time=23:00"])
def test_front_page_queries_do_not_grow_with_the_providers_listed(client, path):
    def queries() -> tuple[int, str]:
        client.get(path)  # the first request after a write reads reference data again
        with CaptureQueriesContext(connection) as ctx:
            html = client.get(path).content.decode()
        return len(ctx.captured_queries), html

    with override_settings(PAGE_CACHE_SECONDS=0):
        for i in range(5):
            _varied_provider(i)
        few, html = queries()
        assert html.count('<li class="result"') == 5
        for i in range(5, 50):
            _varied_provider(i)
        many, html = queries()
        assert html.count('<li class="result"') == 50
        assert html.count('class="badge ') >= 50 and html.count("<ul class=\"tags\"") == 50
    assert many == few, (few, many)
