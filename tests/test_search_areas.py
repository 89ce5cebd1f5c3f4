"""The 地域/地区 filter on a site with more areas than a list can show (AREA_SELECT_MAX): one
text field, suggestions from /api/areas, the typed name resolved by the search form; below the
threshold (Setagaya) the two lists as before."""

import re
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resourcemap import search
from resourcemap.models import Area, DataVersion
from tests.factories import make_provider

pytestmark = pytest.mark.django_db


@pytest.fixture
def many_areas(settings):
    """The form as on a national site: more areas than the lists may show."""
    settings.AREA_SELECT_MAX = 10


def add_town(code: str, name: str, districts: list[str], kana: str = "") -> Area:
    region = Area.objects.create(
        code=code, name=name, kana=kana, level=Area.Level.REGION,
        center_lat=Decimal("35.4"), center_lng=Decimal("139.6"), sort_order=5000,
    )
    Area.objects.bulk_create(
        Area(code=f"{code}_{i}", name=d, level=Area.Level.DISTRICT, parent=region,
             center_lat=region.center_lat, center_lng=region.center_lng, sort_order=5000 + i)
        for i, d in enumerate(districts, start=1)
    )
    DataVersion.bump()
    return region


def area_input(html: str) -> str | None:
    match = re.search(r'<input id="f-area"[^>]*>', html)
    return match.group(0) if match else None


def field_error(html: str) -> str:
    match = re.search(r'<div id="f-area-error" class="field-error">(.*?)</div>', html, re.S)
    assert match, "no message at the area field"
    return match.group(1)


def listed(html: str) -> list[str]:
    return re.findall(r'href="/providers/(\d+)/', html)


def test_setagaya_keeps_its_two_lists(client):
    html = client.get("/").content.decode()
    assert '<select name="region"' in html and '<select name="district"' in html
    assert area_input(html) is None
    assert '<option value="taishido">太子堂</option>' in html


@pytest.mark.parametrize(
    "typed", ["太子堂", "たいしどう", "タイシドウ", "ﾀｲｼﾄﾞｳ", "Taishido", "世田谷 太子堂", "世田谷太子堂", " 太子堂地区 "]
)
def test_a_typed_name_is_the_area_code(many_areas, typed):
    params, ignored = search.clean({"area": typed})
    assert params["district"] == "taishido" and not params.get("region")
    assert ignored == []
    assert "area" not in params  # the canonical query string carries the code
    assert search.querystring(params) == "district=taishido"


def test_a_region_named_like_its_own_district_is_the_region(many_areas):
    assert search.clean({"area": "北沢"})[0]["region"] == "kitazawa"
    assert search.clean({"area": "北沢地域"})[0]["region"] == "kitazawa"
    assert search.clean({"area": "北沢 北沢"})[0]["district"] == "kitazawa_d"


def test_the_page_filters_by_the_typed_name_without_javascript(client, many_areas):
    inside = make_provider(area_code="taishido")
    make_provider(area_code="yoga")
    response = client.get("/", {"area": "太子堂", "type": "clinic", "near": "", "page": "2"})
    # The address becomes the one a bookmark and every other output use.
    assert response.status_code == 302 and response["Location"] == "/?type=clinic&district=taishido"
    html = client.get(response["Location"]).content.decode()
    assert listed(html) == [str(inside.pk)]
    assert '<select name="district"' not in html
    assert 'value="世田谷 太子堂"' in area_input(html)
    assert 'id="f-area-error"' not in html


def test_a_bookmark_with_codes_works_and_shows_the_name(client, many_areas):
    inside = make_provider(area_code="kyodo")
    make_provider(area_code="yoga")
    html = client.get("/", {"district": "kyodo"}).content.decode()
    assert listed(html) == [str(inside.pk)]
    assert 'value="世田谷 経堂"' in area_input(html)
    html = client.get("/", {"region": "tamagawa"}).content.decode()
    assert 'value="玉川"' in area_input(html)
    assert 'id="f-area-error"' not in html


def test_an_ambiguous_name_lists_the_towns_it_may_mean(client, many_areas):
    add_town("yokohama", "横浜市", ["太子堂", "港北"], kana="よこはまし")
    there = make_provider(area_code="yokohama_1", latitude=None, longitude=None)
    make_provider(area_code="taishido")
    response = client.get("/", {"area": "太子堂", "type": "clinic"})
    assert response.status_code == 200
    error = field_error(response.content.decode())
    assert "「太子堂」という名前の地区・地域がいくつかあります" in error
    links = dict((name, href) for href, name in re.findall(r'<a href="\?([^"]+)">([^<]+)</a>', error))
    assert links == {"世田谷 太子堂": "type=clinic&amp;district=taishido", "横浜市 太子堂": "type=clinic&amp;district=yokohama_1"}
    # With the municipality's name (or without its 市) the name is clear.
    for typed in ("横浜市 太子堂", "横浜 太子堂", "よこはまし 太子堂"):
        assert search.clean({"area": typed})[0]["district"] == "yokohama_1", typed
    del there


def test_many_towns_with_one_name_show_a_few_and_say_how_many_more(many_areas):
    for i in range(8):
        add_town(f"town{i}", f"町{i}市", ["中央"])
    form = search.SearchForm({"area": "中央"})
    params = form.search_params()
    assert "district" not in params and params["area"] == "中央"
    (message,) = form.errors["area"]
    assert "ほか3件" in message
    assert len(form.area_links) == 5


def test_towns_of_one_name_are_told_apart(many_areas):
    add_town("fuchu1", "府中市", ["本町"])
    add_town("fuchu2", "府中市", ["本町"])
    form = search.SearchForm({"area": "府中 本町"})
    form.search_params()
    assert [name for name, _query in form.area_links] == ["府中市 本町（fuchu1_1）", "府中市 本町（fuchu2_1）"]
    assert "府中市 本町（fuchu1_1）" in form.errors["area"][0]


def test_english_pages_say_it_in_english(client, many_areas):
    html = client.get("/en/", {"area": "nowhere"}).content.decode()
    assert "Region or district" in html
    assert "No district or region called \"nowhere\" was found" in html.replace("&quot;", '"')
    assert 'data-suggest-url="/api/areas?lang=en"' in html


def test_an_unknown_name_is_a_message_at_the_field(client, many_areas):
    make_provider(area_code="yoga")
    response = client.get("/", {"area": "どこにもない町"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "「どこにもない町」という地区・地域は見つからないため、無視しました。" in field_error(html)
    assert 'value="どこにもない町"' in area_input(html)  # typed text kept to correct it
    assert len(listed(html)) == 1  # the other conditions still search
    assert client.get("/api/providers.json", {"area": "どこにもない町"}).status_code == 400


def test_suggestions_come_from_the_names(client, many_areas):
    add_town("yokohama", "横浜市", ["太子堂"])
    data = client.get("/api/areas", {"q": "太子"}).json()
    assert data["query"] == "太子"
    assert [a["label"] for a in data["areas"]] == ["世田谷 太子堂", "横浜市 太子堂"]
    assert [a["label"] for a in client.get("/api/areas", {"q": "タイシ"}).json()["areas"]] == ["世田谷 太子堂"]
    assert data["areas"][0]["kind_label"] == "地区"
    assert [a["label"] for a in client.get("/api/areas", {"q": "横浜"}).json()["areas"]] == ["横浜市", "横浜市 太子堂"]
    assert client.get("/api/areas", {"q": ""}).json()["areas"] == []
    english = client.get("/api/areas", {"q": "tai", "lang": "en"}).json()["areas"]
    assert english[0]["label"] == "Setagaya Taishido" and english[0]["kind_label"] == "District"


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=150) | st.sampled_from(["地区", "地域", "　", "世田谷 ", "太子堂地区地区", "\x00太子堂"]))
def test_hostile_names_get_a_message_at_the_field(many_areas, text):
    form = search.SearchForm({"area": text})
    params = form.search_params()
    if not " ".join(form.data["area"].split()):
        assert "area" not in form.errors and "district" not in params
    elif params.get("region") or params.get("district"):
        assert "area" not in form.errors
    else:
        assert form.errors.get("area"), repr(text)
        assert form.ignored  # also said above the results


@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=120))
def test_hostile_names_never_fail_a_page(client, many_areas, text):
    assert client.get("/", {"area": text}).status_code in (200, 302)
    assert client.get("/api/areas", {"q": text}).status_code == 200


def _add_districts(start: int, stop: int) -> None:
    region, _created = Area.objects.get_or_create(
        code="many", defaults={"name": "多摩市", "level": Area.Level.REGION,
                               "center_lat": Decimal("35.6"), "center_lng": Decimal("139.4")},
    )
    Area.objects.bulk_create(
        Area(code=f"many_{i}", name=f"地区{i:04d}", level=Area.Level.DISTRICT, parent=region,
             center_lat=region.center_lat, center_lng=region.center_lng)
        for i in range(start, stop)
    )
    DataVersion.bump()


def test_the_front_page_does_not_grow_with_the_areas(client, settings):
    settings.AREA_SELECT_MAX = 10
    _add_districts(0, 20)
    small = client.get("/").content.decode()
    _add_districts(20, 2000)
    large = client.get("/").content.decode()
    assert "地区0019" not in large and "地区1999" not in large
    assert large.count("<option") == small.count("<option") < 40  # 曜日, 距離 and 並び順 only
    assert abs(len(large.encode()) - len(small.encode())) < 200
    # Below the threshold the same 2,000 areas would all be listed.
    settings.AREA_SELECT_MAX = 5000
    DataVersion.bump()  # a new page, not the one kept in the page cache
    assert client.get("/").content.decode().count("<option") > 2000
