"""Requests cost what their result costs: one search per answer, COUNT and LIMIT for pages."""

import re

import pytest
from django.db import connection
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
    # the ordered search itself; hours read only the candidates' periods (a subquery)
    assert len([s for s in provider_selects(ctx.captured_queries) if s.lstrip().startswith("SELECT")
                and "resourcemap_openingperiod" not in s]) == 1


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
