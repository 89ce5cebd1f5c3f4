import datetime as dt
import json
import re
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.http import QueryDict
from django.test import override_settings
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from resourcemap import search
from resourcemap.models import Municipality, Provider
from tests.factories import make_provider

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")
FAKE_GEOCODER = "resourcemap.geocoding.FakeGeocoder"


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_front_page_lists_results_without_javascript(client):
    make_provider(name="さくら訪問看護", type_code="nursing", capabilities={"h24": None})
    make_provider(name="ひまわり薬局", type_code="pharmacy")
    response = client.get("/?type=nursing&cap=h24&district=yoga")
    assert response.status_code == 200
    body = text(response)
    assert "1件見つかりました" in body
    assert "さくら訪問看護" in body
    assert "ひまわり薬局" not in body
    assert "種別: 訪問看護ステーション" in body
    # The map reads the same search from the API.
    config = response.context["map_config"]
    assert config["apiUrl"] == "/api/providers.json?type=nursing&cap=h24&district=yoga"
    # Its first view (the municipality's box) is asked for by the page head, before the scripts.
    municipality = Municipality.current()
    box = f"{municipality.min_lng:.5f},{municipality.min_lat:.5f},{municipality.max_lng:.5f},{municipality.max_lat:.5f}"
    assert config["firstUrl"] == f"{config['apiUrl']}&bbox={box}&zoom={municipality.zoom}"
    head = response.content.decode().split("</head>")[0]
    assert f'<link rel="preload" href="{config["firstUrl"].replace("&", "&amp;")}" as="fetch"' in head
    # Filters keep their state.
    assert 'value="nursing" checked' in response.content.decode()


def test_bad_parameters_render_the_page_and_say_so(client):
    make_provider(name="ある診療所")
    response = client.get("/?type=%3Cscript%3E&lat=x&lng=y&page=-3&zzz=1&day=99")
    assert response.status_code == 200
    body = response.content.decode()
    assert "ある診療所" in body
    assert "<script>" not in body.split("</head>")[1].replace("<script src", "").replace(
        '<script type="module"', ""
    ).replace('<script id="map-config"', "")
    assert "&lt;script&gt;" in body
    assert "無視しました" in body


def test_pagination_keeps_the_search(client):
    for i in range(55):
        make_provider(name=f"看護{i:02d}", kana=f"カンゴ{i:02d}", type_code="nursing")
    response = client.get("/?type=nursing")
    body = response.content.decode()
    assert "55件見つかりました" in text(response)
    assert 'href="?type=nursing&amp;page=2"' in body
    page2 = client.get("/?type=nursing&page=2")
    assert "看護54" in text(page2) and "看護00" not in text(page2)
    # Out-of-range page shows the last page instead of an error.
    assert client.get("/?type=nursing&page=999").status_code == 200


def test_english_page(client):
    make_provider(name="さくら訪問看護", name_en="Sakura Home Nursing", type_code="nursing")
    response = client.get("/en/?type=nursing")
    assert response.status_code == 200
    assert '<html lang="en">' in response.content.decode()
    assert "Sakura Home Nursing" in text(response)


def test_language_switch_form_and_footer_contact(client):
    body = client.get("/").content.decode()
    assert 'action="/i18n/setlang/"' in body
    assert "03-5432-2854" in body  # ward contact from the municipality record
    assert 'class="skip-link"' in body


@override_settings(GEOCODER=FAKE_GEOCODER)
def test_near_a_place_redirects_to_coordinates(client):
    # Not in the gazetteer: asked of the (fake) outside geocoder.
    response = client.get("/?near=%E4%B8%96%E7%94%B0%E8%B0%B7%E5%8C%BA%E5%BD%B9%E6%89%80&type=clinic")
    assert response.status_code == 302
    assert "lat=35.646096" in response.url and "lng=139.653247" in response.url
    assert "near=" not in response.url
    # District names resolve without the geocoder.
    response = client.get("/?near=%E7%94%A8%E8%B3%80%E5%9C%B0%E5%8C%BA")
    assert response.status_code == 302 and "lat=35.626500" in response.url


@override_settings(GEOCODER=FAKE_GEOCODER)
def test_unknown_place_shows_a_message_not_an_error(client):
    make_provider(name="ある診療所")
    response = client.get("/?near=%E3%81%A9%E3%81%93%E3%81%AB%E3%82%82%E3%81%AA%E3%81%84")
    assert response.status_code == 200
    assert "場所が見つかりませんでした" in text(response)


@override_settings(GEOCODER="resourcemap.geocoding.GSIGeocoder", GEOCODER_URL="http://127.0.0.1:9/none")
def test_geocoder_failure_is_friendly(client):
    # An address the gazetteer does not know (桜1-1 would be answered offline).
    response = client.get("/?near=%E4%B8%96%E7%94%B0%E8%B0%B7%E5%8C%BA%E8%A5%BF%E5%B1%B1%E7%94%BA1-1")
    assert response.status_code == 200
    assert "住所を調べることができません" in text(response)


@override_settings(GEOCODER=FAKE_GEOCODER)
def test_a_postal_code_search_names_the_town_it_found(client):
    make_provider(name="太子堂の診療所", address="世田谷区太子堂4-1-1", latitude="35.6436", longitude="139.6703")
    response = client.get("/", {"near": "〒１５４－０００４"})
    assert response.status_code == 302
    page = client.get(response.url)
    assert page.context["result"].params["place"] == "〒154-0004 太子堂"
    assert "〒154-0004 太子堂の近く" in text(page)
    assert 'name="near" value="〒154-0004 太子堂"' in page.content.decode()
    # Sent back as it is shown (the same search, nothing to look up again) or typed again.
    again = client.get("/", {"near": "〒154-0004 太子堂", "place": "〒154-0004 太子堂"})
    found = QueryDict(urlsplit(response.url).query)
    assert again.status_code == 302 and QueryDict(urlsplit(again.url).query) == found
    typed = client.get("/", {"near": "〒154-0004 太子堂"})
    assert typed.status_code == 302 and QueryDict(urlsplit(typed.url).query) == found
    # A station or an address keeps what was typed.
    station = client.get("/", {"near": "三軒茶屋"})
    assert "place=%E4%B8%89%E8%BB%92%E8%8C%B6%E5%B1%8B&" in station.url + "&"


@pytest.mark.parametrize("path", ["/", "/en/", "/shortlist/", "/flyer/", "/print/?type=clinic"])
def test_every_page_names_its_icon_so_browsers_do_not_ask_for_a_missing_favicon(client, path):
    from django.contrib.staticfiles import finders

    head = client.get(path).content.decode().split("</head>")[0]
    href = re.search(r'<link rel="icon" href="/static/([^"]+)" type="image/svg\+xml">', head).group(1)
    icon = Path(finders.find(href)).read_text(encoding="utf-8")
    assert icon.startswith("<svg") and 'viewBox="0 0 32 32"' in icon


def test_a_missing_page_says_so_in_the_page_language_with_a_way_to_the_map(client):
    provider = make_provider(name="閉じた診療所", status=Provider.Status.CLOSED)
    gone = client.get(f"/providers/{provider.pk}/")
    assert gone.status_code == 404
    assert "ページが見つかりません" in text(gone) and "掲載が終わった" in text(gone)
    assert '<a href="/">地図・一覧で事業所をさがす</a>' in gone.content.decode()
    english = client.get("/en/no-such-page/")
    assert english.status_code == 404
    assert "Page not found" in text(english) and '<a href="/en/">Find providers on the map and list</a>' in english.content.decode()


def test_a_server_error_page_needs_neither_the_request_nor_the_database(rf, django_assert_num_queries):
    from django.views.defaults import server_error

    with django_assert_num_queries(0):
        response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert "ただいま表示できません" in text(response) and "try again" in text(response)


def test_clearing_the_place_removes_the_point(client):
    response = client.get("/?near=&lat=35.6&lng=139.6&place=x&radius=500&sort=distance&type=clinic")
    assert response.status_code == 302
    assert response.url == "/?type=clinic"


def test_provider_page_shows_public_fields_only(client):
    provider = make_provider(
        name="さくら在宅クリニック", type_code="clinic",
        capabilities={"mitori": {"count": 12, "note": "夜間も相談可"}, "h24": None},
        contact_person="山田花子", contact_email="private@example.jp", contact_phone="03-1111-2222",
        fax="03-3333-4444", website="https://example.jp/",
        last_confirmed_on=dt.date(2025, 6, 1), last_confirmed_source="令和7年度調査",
    )
    response = client.get(reverse("provider_detail", args=[provider.pk]))
    assert response.status_code == 200
    body = text(response)
    for expected in ("さくら在宅クリニック", "診療所", "03-3333-4444", "看取り", "12", "夜間も相談可",
                     "令和7年度調査", "2025年6月1日", "用賀"):
        assert expected in body, expected
    raw = response.content.decode()
    for private in ("山田花子", "private@example.jp", "03-1111-2222"):
        assert private not in raw
    ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', raw, re.S).group(1))
    assert ld["@type"] == "MedicalClinic"
    assert ld["name"] == "さくら在宅クリニック"


def test_provider_page_today_status_with_holidays(client):
    provider = make_provider(name="平日のみ", periods=[(d, dt.time(9), dt.time(18)) for d in range(5)])
    url = reverse("provider_detail", args=[provider.pk])
    with time_machine.travel(dt.datetime(2025, 11, 4, 10, 0, tzinfo=TOKYO), tick=False):
        assert "営業中" in text(client.get(url))
    with time_machine.travel(dt.datetime(2025, 11, 3, 10, 0, tzinfo=TOKYO), tick=False):
        body = text(client.get(url))  # 文化の日
        assert "営業時間外" in body and "祝日" in body
    unknown = make_provider(name="不明", periods=[], hours_unknown=True)
    assert "営業時間不明" in text(client.get(reverse("provider_detail", args=[unknown.pk])))


@pytest.mark.parametrize("status", [Provider.Status.CLOSED, Provider.Status.PENDING])
def test_hidden_providers_are_404(client, status):
    provider = make_provider(name="非公開", status=status)
    assert client.get(reverse("provider_detail", args=[provider.pk])).status_code == 404
    assert client.get("/providers/99999999/").status_code == 404


def test_provider_page_links_back_to_the_search(client):
    provider = make_provider(name="看護", type_code="nursing")
    url = reverse("provider_detail", args=[provider.pk]) + "?from=type%3Dnursing%26evil%3D1"
    body = client.get(url).content.decode()
    assert 'href="/?type=nursing"' in body


def _back_link(client, provider, origin: str) -> str:
    body = client.get(reverse("provider_detail", args=[provider.pk]), {"from": origin}).content.decode()
    return unescape(re.search(r'<p class="breadcrumb"><a href="([^"]*)"', body).group(1))


def test_provider_page_goes_back_to_the_page_of_the_list_it_was_opened_from(client):
    for i in range(55):
        make_provider(name=f"看護{i:02d}", kana=f"カンゴ{i:02d}", type_code="nursing")
    body = client.get("/?type=nursing&page=2").content.decode()
    detail = unescape(re.search(r'<a href="(/providers/\d+/[^"]*)"', body).group(1))
    assert detail.endswith("?from=type%3Dnursing%26page%3D2")
    back = unescape(re.search(r'<p class="breadcrumb"><a href="([^"]*)"', client.get(detail).content.decode()).group(1))
    assert back == "/?type=nursing&page=2"
    # The first page's links carry the search alone.
    first = client.get("/?type=nursing").content.decode()
    assert re.search(r'<a href="/providers/\d+/\?from=type%3Dnursing"', first)


@pytest.mark.parametrize("origin, expected", [
    ("type=nursing&page=3", "/?type=nursing&page=3"),
    ("/?type=nursing", "/?type=nursing"),
    ("/en/?type=nursing&page=2", "/?type=nursing&page=2"),
    ("https://evil.example/?type=nursing", "/"),
    ("//evil.example/?type=nursing", "/"),
    ("/admin/?type=nursing", "/"),
    ("type=nursing&page=x", "/?type=nursing"),
])
def test_provider_page_and_shortlist_read_from_by_one_rule(client, origin, expected):
    from resourcemap.shortlist_views import origin_query as shortlist_origin

    provider = make_provider(name="看護", type_code="nursing")
    assert _back_link(client, provider, origin) == expected
    # The shortlist reads the same search and leaves out the page (a shortlist has none).
    assert shortlist_origin(origin) == expected.removeprefix("/").removeprefix("?").split("&page=")[0]


HOSTILE_FROM = st.one_of(
    st.text(max_size=60),
    st.builds(
        lambda prefix, rest: prefix + rest,
        st.sampled_from(["//", "/\\", "\\\\", "https://", "javascript:", "/en//", "/%2F", "\t//", " //", "/?", "?", ""]),
        st.text(alphabet="evil.xampl/\\?&=:%@#\r\n\t type", max_size=40),
    ),
)


@given(origin=HOSTILE_FROM)
@hsettings(max_examples=60, derandomize=True, database=None, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_provider_page_way_back_never_leaves_the_map(client, origin):
    from django.urls import resolve

    provider = Provider.objects.first() or make_provider(name="看護", type_code="nursing")
    back = _back_link(client, provider, origin)
    parts = urlsplit(back)
    assert not parts.scheme and not parts.netloc and back.startswith("/") and not back.startswith("//")
    assert resolve(parts.path).url_name == "map"
    assert set(QueryDict(parts.query)) <= {*search.QUERY_ORDER, "page"}
