import datetime as dt
import gzip
import json
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from resourcemap.models import Provider
from tests.factories import make_provider

pytestmark = pytest.mark.django_db


@pytest.fixture
def data():
    make_provider(
        name="さくら訪問看護", name_en="Sakura Nursing", kana="サクラ", type_code="nursing",
        capabilities={"h24": None, "mitori": {"count": 5}}, contact_person="山田花子",
        contact_email="private@example.jp", contact_phone="03-1111-2222",
    )
    make_provider(name="ひまわり薬局", kana="ヒマワリ", type_code="pharmacy", area_code="okusawa")
    make_provider(name="廃止した所", type_code="nursing", status=Provider.Status.CLOSED)


def test_geojson_public_fields_and_filters(client, data):
    response = client.get("/api/providers.geojson?type=nursing")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert body["count"] == 1
    feature = body["features"][0]
    props = feature["properties"]
    assert props["name"] == "さくら訪問看護"
    assert props["type"] == "nursing"
    assert [c["code"] for c in props["capabilities"]] == ["h24", "mitori"]
    assert props["capabilities"][1]["count"] == 5
    assert props["hours"].startswith("月 09:00-18:00")
    assert feature["geometry"]["type"] == "Point"
    lng, lat = feature["geometry"]["coordinates"]
    assert 139.5 < lng < 139.8 and 35.5 < lat < 35.7
    raw = response.content.decode()
    for private in ("山田花子", "private@example.jp", "03-1111-2222", "contact_"):
        assert private not in raw


def test_compact_json_matches_geojson(client, data):
    compact = client.get("/api/providers.json").json()
    geo = client.get("/api/providers.geojson").json()
    assert compact["count"] == geo["count"] == 2
    assert [row[0] for row in compact["providers"]] == [f["id"] for f in geo["features"]]
    assert compact["columns"][:5] == ["id", "lat", "lng", "type", "name"]
    assert [row[4] for row in compact["providers"]] == ["さくら訪問看護", "ひまわり薬局"]


def test_english_names(client, data):
    body = client.get("/api/providers.json?type=nursing&lang=en").json()
    assert body["providers"][0][4] == "Sakura Nursing"
    geo = client.get("/api/providers.geojson?type=nursing&lang=en").json()
    props = geo["features"][0]["properties"]
    assert props["display_name"] == "Sakura Nursing"
    assert props["type_name"] == "Home-visit nursing station"
    assert props["capabilities"][0]["name"] == "24-hour support"
    assert client.get("/api/providers.json?lang=xx").status_code == 400
    ja = client.get("/api/providers.json?type=nursing").json()
    assert ja["providers"][0][4] == "さくら訪問看護"


def test_compact_rows_come_whole_from_sql(client, data):
    """Each row is the document's row as SQL gives it: floats, the name in the page's
    language (the Japanese name when there is no English one) and an empty distance."""
    body = client.get("/api/providers.json?lang=en").json()
    assert body["columns"] == ["id", "lat", "lng", "type", "name", "address", "distance_m", "phone"]
    rows = {row[4]: row for row in body["providers"]}
    assert set(rows) == {"Sakura Nursing", "ひまわり薬局"}
    pharmacy = Provider.objects.get(name="ひまわり薬局")
    row = rows["ひまわり薬局"]
    assert row == [
        pharmacy.pk, float(pharmacy.latitude), float(pharmacy.longitude), "pharmacy", "ひまわり薬局",
        pharmacy.address, None, pharmacy.phone,
    ]
    assert all(isinstance(value, float) for value in row[1:3])
    near = client.get(f"/api/providers.json?lat={pharmacy.latitude}&lng={pharmacy.longitude}").json()
    assert near["providers"][0][:7] == [*row[:6], 0]


@pytest.mark.parametrize(
    "query", ["lang=fr", "type=nope", "lat=abc&lng=1", "sort=price", "foo=1", "day=9", "radius=5&lat=35.6&lng=139.6"]
)
def test_bad_parameters_answer_400_json(client, data, query):
    response = client.get(f"/api/providers.geojson?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["error"]
    assert body["messages"]


def test_etag_and_conditional_get(client, data):
    first = client.get("/api/providers.json?type=nursing")
    etag = first["ETag"]
    assert etag and "max-age" in first["Cache-Control"]
    again = client.get("/api/providers.json?type=nursing", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    # A change to the data changes the ETag.
    make_provider(name="新しい看護", type_code="nursing")
    changed = client.get("/api/providers.json?type=nursing", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed.json()["count"] == 2
    # Different searches have different ETags.
    assert client.get("/api/providers.json?type=pharmacy")["ETag"] != changed["ETag"]


def test_browser_weak_etag_after_gzip_gets_304(client, data):
    for i in range(30):
        make_provider(name=f"看護{i}", type_code="nursing")
    first = client.get("/api/providers.json", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert first["Content-Encoding"] == "gzip"
    weak = first["ETag"]
    assert weak.startswith('W/"')  # what GZip makes of the strong tag, and what browsers send back
    again = client.get(
        "/api/providers.json", HTTP_ACCEPT_ENCODING="gzip, deflate, br", HTTP_IF_NONE_MATCH=weak
    )
    assert again.status_code == 304
    assert again.content == b""
    # A list of tags, one of them ours, also matches; another tag does not.
    listed = client.get("/api/providers.json", HTTP_IF_NONE_MATCH=f'"other", {weak}')
    assert listed.status_code == 304
    assert client.get("/api/providers.json", HTTP_IF_NONE_MATCH='W/"other"').status_code == 200
    geojson = client.get("/api/providers.geojson", HTTP_ACCEPT_ENCODING="gzip")
    assert client.get("/api/providers.geojson", HTTP_IF_NONE_MATCH=geojson["ETag"]).status_code == 304


def test_data_version_moves_with_every_write_and_is_cheap(client, data, django_assert_num_queries):
    from resourcemap import providers
    from resourcemap.models import DataVersion, ProviderChange

    before = DataVersion.current()
    provider = Provider.objects.get(name="ひまわり薬局")
    providers.provider_update(
        provider=provider, changes={"phone": "03-9999-0000"},
        actor_kind=ProviderChange.Actor.SYSTEM, source="test",
    )
    after = DataVersion.current()
    assert after != before
    etag = client.get("/api/providers.json")["ETag"]
    # A 304 costs one read of the one-row version (reference data for the parameter check is
    # kept per data version; the ETag names the same version): nothing that grows with the data.
    with django_assert_num_queries(1):
        assert client.get("/api/providers.json", HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_gzip(client, data):
    for i in range(30):
        make_provider(name=f"看護{i}", type_code="nursing")
    response = client.get("/api/providers.geojson", HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip"
    body = json.loads(gzip.decompress(response.content))
    assert body["count"] == 32


def test_query_count_does_not_grow_with_results(client, django_assert_max_num_queries, time_machine):
    # A weekday afternoon: all 40 are open now, so the count covers the hours of every result
    # (at night the answer is empty and needs fewer queries).
    time_machine.move_to(dt.datetime(2026, 12, 1, 16, 30, tzinfo=ZoneInfo("Asia/Tokyo")), tick=False)
    for i in range(40):
        make_provider(name=f"看護{i}", type_code="nursing", capabilities={"h24": None})
    with django_assert_max_num_queries(14):
        response = client.get("/api/providers.geojson?cap=h24&open=now")
    assert response.status_code == 200
    assert response.json()["count"] == 40
    with django_assert_max_num_queries(8):
        assert client.get("/api/providers.json").json()["count"] == 40


def test_distance_in_output(client):
    make_provider(name="用賀の", area_code="yoga")
    body = client.get("/api/providers.json?lat=35.6265&lng=139.6335&radius=500").json()
    assert body["count"] == 1
    assert body["providers"][0][6] == 0


@override_settings(GEOCODER="resourcemap.geocoding.FakeGeocoder")
def test_geocode_endpoint(client):
    ok = client.get("/api/geocode?q=%E4%B8%8B%E5%8C%97%E6%B2%A2%E9%A7%85").json()
    assert ok["label"] == "下北沢駅"
    missing = client.get("/api/geocode?q=zzzz")
    assert missing.status_code == 404 and "見つかりません" in missing.json()["error"]
    assert client.get("/api/geocode?q=").status_code == 400


@override_settings(SITE_URL="https://map.example.jp", ALLOWED_HOSTS=["evil.example", "testserver"])
def test_provider_links_use_site_url_not_the_host_header(client, data):
    body = client.get("/api/providers.geojson?type=nursing", HTTP_HOST="evil.example").json()
    url = body["features"][0]["properties"]["url"]
    assert url.startswith("https://map.example.jp/providers/")
    assert "evil.example" not in json.dumps(body)


class CountingGeocoder:
    """An outside geocoder that counts the requests it would have sent."""

    calls: list[str] = []

    def lookup(self, text):
        CountingGeocoder.calls.append(text)
        return None


@given(texts=st.lists(st.text(alphabet="ぁあいうえおかきくけこzxqv", min_size=4, max_size=12),
                      min_size=8, max_size=8, unique=True))
@hyp_settings(max_examples=5, derandomize=True, database=None, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_one_client_cannot_make_the_server_ask_the_outside_geocoder_without_end(client, settings, texts):
    """Every text the offline lookup does not know costs a request to another service (3 s
    timeout, a web worker waiting): those requests are limited per client, the offline
    answers are not."""
    from django.core.cache import caches

    caches["ratelimit"].clear()
    caches["pages"].clear()
    settings.GEOCODER = "tests.test_api.CountingGeocoder"
    settings.RATELIMITS = {**settings.RATELIMITS, "geocode": "5/m"}
    CountingGeocoder.calls = []
    answers = [client.get("/api/geocode", {"q": "場所" + text}) for text in texts]
    assert [a.status_code for a in answers] == [404] * 5 + [429] * 3
    assert len(CountingGeocoder.calls) == 5
    assert int(answers[-1]["Retry-After"]) > 0
    assert "しばらく" in answers[-1].json()["error"]
    # The map page's place search counts against the same limit and says so at the field.
    page = client.get("/", {"near": "場所まだない"})
    assert page.status_code == 429 and "しばらく" in page.content.decode()
    assert len(CountingGeocoder.calls) == 5
    # That answer is this client's only: another visitor asking the same URL is not paused.
    same = client.get("/", {"near": "場所まだない"}, REMOTE_ADDR="192.0.2.78")
    assert same.status_code == 200 and "しばらく" not in same.content.decode()
    assert len(CountingGeocoder.calls) == 6
    # Names known offline (地区, stations, postal codes) never ask the outside and stay open.
    assert client.get("/api/geocode", {"q": "用賀"}).status_code == 200
    # Another client has its own allowance.
    other = client.get("/api/geocode", {"q": "場所べつの人"}, REMOTE_ADDR="192.0.2.77")
    assert other.status_code == 404 and len(CountingGeocoder.calls) == 7


@pytest.mark.parametrize(
    "query", ["type=nursing", "q=さくら", "cap=h24&lang=en", "region=setagaya", "bbox=139.5,35.5,139.8,35.7&zoom=13", ""]
)
def test_stored_row_sql_answers_as_a_fresh_search(client, data, query):
    """The compact API keeps each search's compiled SQL per data version: the second answer is
    the first, a write forgets every stored query, and the next answer shows the write."""
    from resourcemap.search import query as search_query

    search_query._row_sql.clear()
    first = client.get(f"/api/providers.json?{query}").json()
    assert len(search_query._row_sql) == 2  # the version and this search
    assert client.get(f"/api/providers.json?{query}").json() == first
    make_provider(name="さくら第二訪問看護", kana="サクラダイニ", type_code="nursing", capabilities={"h24": None})
    assert len(search_query._row_sql) <= 2
    after = client.get(f"/api/providers.json?{query}").json()
    search_query._row_sql.clear()
    assert client.get(f"/api/providers.json?{query}").json() == after
    if query in ("type=nursing", "q=さくら", "cap=h24&lang=en", ""):
        assert after["count"] == first["count"] + 1


def test_hours_searches_keep_their_query_per_shape_of_the_moment(client, data):
    """Open now is kept too (compiled once per day keys and exceptions path, the minute bound in):
    the second answer is the first."""
    from resourcemap.search import query as search_query

    search_query._row_sql.clear()
    first = client.get("/api/providers.json?open=now").json()
    assert len(search_query._row_sql) == 3  # the version, whether exceptions cover the days, this search
    assert client.get("/api/providers.json?open=now").json() == first


def test_view_rows_carry_what_the_markers_need_and_one_row_gives_the_rest(client, data):
    """A map view (``bbox=``) sends id, coordinates to 5 decimals, the type's id (named once in
    ``types``) and the name; the popup asks ``?ids=<id>`` for the address and phone."""
    view = "/api/providers.json?bbox=139.5,35.5,139.8,35.7&zoom=13"
    response = client.get(view)
    body = response.json()
    assert body["columns"] == ["id", "lat", "lng", "type_id", "name"]
    sakura = Provider.objects.get(name="さくら訪問看護")
    rows = {row[4]: row for row in body["providers"]}
    assert set(rows) == {"さくら訪問看護", "ひまわり薬局"}
    assert rows["さくら訪問看護"] == [
        sakura.pk, round(float(sakura.latitude), 5), round(float(sakura.longitude), 5), sakura.provider_type_id,
        "さくら訪問看護",
    ]
    assert {body["types"][str(row[3])] for row in rows.values()} == {"nursing", "pharmacy"}
    raw = response.content.decode()
    assert sakura.address not in raw and sakura.phone not in raw
    whole = client.get(f"/api/providers.json?ids={sakura.pk}").json()
    assert whole["columns"] == ["id", "lat", "lng", "type", "name", "address", "distance_m", "phone"]
    assert whole["providers"] == [[
        sakura.pk, float(sakura.latitude), float(sakura.longitude), "nursing", "さくら訪問看護", sakura.address, None,
        sakura.phone,
    ]]
    english_view = client.get(f"{view}&lang=en").json()
    assert "Sakura Nursing" in [row[4] for row in english_view["providers"]]
