"""One search, every output: the same query string gives the same providers, in the same
order, in the HTML list, the JSON and GeoJSON APIs, the print sheet and the open-data CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from resourcemap.models import Provider
from tests.factories import make_provider

pytestmark = pytest.mark.django_db
T = dt.time

QUERIES = [
    "",
    "q=あおば",  # keyword over name/kana/address
    "q=アオバ",  # the same keyword in katakana
    "type=nursing",
    "type=clinic&type=dental",
    "cap=h24",
    "type=clinic&cap=mitori",
    "day=0&time=10:00",  # open on a Monday at 10:00
    "day=5&time=10:00",  # open on a Saturday at 10:00
    "region=tamagawa",
    "district=yoga",
    "region=tamagawa&type=nursing&day=0&time=14:00",
    "lat=35.6265&lng=139.6335&radius=3000&sort=distance",
]


@pytest.fixture
def providers(reference):
    made = [
        make_provider(name="あおば診療所", kana="アオバシンリョウジョ", type_code="clinic", area_code="yoga",
                      capabilities={"mitori": {}}),
        make_provider(name="さくら訪問看護", kana="サクラホウモンカンゴ", type_code="nursing", area_code="yoga",
                      capabilities={"h24": {}}, periods=[(5, T(9), T(12))]),
        make_provider(name="みどり訪問看護", kana="ミドリホウモンカンゴ", type_code="nursing",
                      area_code="okusawa", periods=[(0, T(13), T(18))]),
        make_provider(name="ひかり歯科", kana="ヒカリシカ", type_code="dental", area_code="kyodo",
                      capabilities={"home_dental": {}}),
        make_provider(name="あおば薬局", kana="アオバヤッキョク", type_code="pharmacy", area_code="okusawa"),
    ]
    make_provider(name="あおば準備中クリニック", kana="アオバジュンビ", status=Provider.Status.PENDING)
    make_provider(name="あおば廃止診療所", kana="アオバハイシ", status=Provider.Status.CLOSED)
    return made


def _html_list(client, query: str) -> list[int]:
    html = client.get(f"/?{query}").content.decode()
    return [int(pk) for pk in re.findall(r'<li class="result" id="result-(\d+)"', html)]


def _json(client, query: str) -> list[int]:
    data = client.get(f"/api/providers.json?{query}").json()
    return [row[data["columns"].index("id")] for row in data["providers"]]


def _geojson(client, query: str) -> list[int]:
    return [feature["id"] for feature in client.get(f"/api/providers.geojson?{query}").json()["features"]]


def _print_sheet(client, query: str) -> list[int]:
    html = client.get(f"/print/?{query}").content.decode()
    return [int(pk) for pk in re.findall(r'<tr data-provider-id="(\d+)"', html)]


def _csv(client, query: str) -> list[int]:
    text = client.get(f"/opendata/providers.csv?{query}").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header = rows.index(next(row for row in rows if "ID" in row))  # after the header block, if any
    column = rows[header].index("ID")
    return [int(row[column]) for row in rows[header + 1:] if row and row[column].isdigit()]


OUTPUTS = {"JSON": _json, "GeoJSON": _geojson, "print sheet": _print_sheet, "CSV": _csv}


@pytest.mark.parametrize("query", QUERIES)
def test_every_output_lists_the_same_providers(client, providers, query):
    listed = _html_list(client, query)
    public = {p.pk for p in providers}
    assert set(listed) <= public  # never a pending or closed provider
    for name, read in OUTPUTS.items():
        assert read(client, query) == listed, f"{name} differs from the list for ?{query}"


def test_the_queries_tell_providers_apart(client, providers):
    """Guard against a contract that holds only because every output shows everything."""
    clinic, sakura, midori, dental, pharmacy = (p.pk for p in providers)
    expected = {
        "": {clinic, sakura, midori, dental, pharmacy},
        "q=あおば": {clinic, pharmacy},
        "q=アオバ": {clinic, pharmacy},
        "type=nursing": {sakura, midori},
        "cap=h24": {sakura},
        "type=clinic&cap=mitori": {clinic},
        "day=5&time=10:00": {sakura},
        "district=yoga": {clinic, sakura},
        # 24時間対応 counts as reachable at any hour.
        "region=tamagawa&type=nursing&day=0&time=14:00": {sakura, midori},
        "day=0&time=10:00": {clinic, sakura, dental, pharmacy},
    }
    for query, ids in expected.items():
        assert set(_html_list(client, query)) == ids, query
    assert _html_list(client, "lat=35.6265&lng=139.6335&radius=3000&sort=distance")[0] in {clinic, sakura}
