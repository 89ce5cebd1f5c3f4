"""Bounds on values from URLs (resourcemap/inputs.py): the cases found by the hostile-input run.

The generated run over every endpoint is tests/test_fuzz.py; these are the known causes, each
with what the user sees.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from resourcemap import inputs, search
from resourcemap.models import Provider
from tests.factories import make_provider

pytestmark = pytest.mark.django_db
JST = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def provider(reference, settings, tmp_path):
    settings.PRINT_MAP_TILE_URL = "http://127.0.0.1:9/{z}/{x}/{y}.png"  # unreachable: vector maps
    settings.TILE_CACHE_DIR = tmp_path / "tiles"
    return make_provider(name="用賀診療所", periods=[(d, dt.time(9), dt.time(18)) for d in range(7)])


def test_clean_text_drops_nul_controls_and_lone_surrogates():
    assert inputs.clean_text("用\x00賀\x07") == "用賀"
    assert inputs.clean_text("a\ud800b") == "ab"
    assert inputs.clean_text("改行\nとタブ\t") == "改行\nとタブ\t"
    assert inputs.clean_text("ｻｸﾗ 🏥 e\u0301") == "ｻｸﾗ 🏥 e\u0301"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", 1), (" 42 ", 42), (str(2**63 - 1), 2**63 - 1), (str(2**63), None),
     ("99999999999999999999", None), ("0", None), ("-1", None), ("+5", None), ("1_000", None),
     ("١٢", None), ("1e3", None), ("", None), ("\x00", None), (7, 7), (0, None), (True, None)],
)
def test_positive_id_is_in_the_database_id_range(value, expected):
    assert inputs.positive_id(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2026-12-01", dt.date(2026, 12, 1)), ("1900-01-01", dt.date(1900, 1, 1)),
     ("2100-12-31", dt.date(2100, 12, 31)), ("1899-12-31", None), ("2101-01-01", None),
     ("9999-12-31", None), ("0001-01-01", None), ("2026-02-30", None), ("２０２６-１２-０１", None),
     ("2026-12-1", None), ("", None)],
)
def test_iso_date_is_within_the_supported_years(value, expected):
    assert inputs.iso_date(value) == expected


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2101-01-01"])
def test_search_ignores_dates_outside_1900_to_2100_with_a_message(provider, day, time_machine):
    time_machine.move_to(dt.datetime(2026, 12, 2, 12, 0, tzinfo=JST), tick=False)  # a Wednesday
    result = search.run({"day": day, "time": "10:00"})
    assert "day" not in result.params  # the time alone stays: today at 10:00
    assert any("1900年から2100年" in message for message in result.ignored)
    assert result.ids == [provider.pk]  # the rest of the search still runs
    assert "open" not in search.run({"day": day}).params


def test_search_at_the_edges_of_the_supported_years(provider):
    for day in ("1900-01-01", "2100-12-31"):
        result = search.run({"day": day, "time": "10:00"})
        assert result.params["day"] == day and result.ignored == []


def test_ids_beyond_64_bits_are_dropped_with_a_message(provider):
    result = search.run({"ids": f"{provider.pk},9223372036854775808,99999999999999999999"})
    assert result.params["ids"] == [provider.pk]
    assert result.ids == [provider.pk]
    assert any("正しくないもの" in message for message in result.ignored)


def test_nul_bytes_are_removed_from_the_keyword(provider):
    result = search.run({"q": "用賀\x00診療所"})
    assert result.params["q"] == "用賀診療所"
    assert result.ids == [provider.pk]


@pytest.mark.parametrize("prefix", ["", "/en"])
def test_map_page_with_an_out_of_range_date_says_so(client, provider, prefix, time_machine):
    time_machine.move_to(dt.datetime(2026, 12, 2, 12, 0, tzinfo=JST), tick=False)  # a Wednesday
    response = client.get(f"{prefix}/?day=0001-01-01&time=10:00")
    assert response.status_code == 200
    text = response.content.decode()
    assert "用賀診療所" in text or "Yoga" in text
    if prefix:
        assert "1900" in text and "2100" in text
    else:
        assert "1900年から2100年" in text


@pytest.mark.parametrize(
    "url",
    ["/api/providers.json?day=9999-12-31", "/api/providers.geojson?day=0001-01-01&time=10:00",
     "/api/providers.json?ids=9223372036854775808"],
)
def test_api_answers_400_for_out_of_range_values(client, provider, url):
    response = client.get(url)
    assert response.status_code == 400
    assert response.json()["messages"]


@pytest.mark.parametrize(
    "url",
    ["/print/?day=9999-12-31&time=10:00", "/opendata/providers.csv?day=0001-01-01&time=10:00",
     "/?ids=9223372036854775808", "/print/?ids=99999999999999999999"],
)
def test_pages_with_out_of_range_values_answer_200(client, provider, url):
    assert client.get(url).status_code == 200


def test_print_pdf_with_an_out_of_range_date(client, provider):
    response = client.get("/print/pdf/?day=9999-12-31&time=10:00")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"


@pytest.mark.parametrize(
    "path",
    ["/providers/{big}/", "/providers/{big}/sheet/", "/providers/{big}/sheet/pdf/",
     "/en/providers/{big}/sheet/", "/providers/{big}/correction/", "/providers/0/sheet/"],
)
@pytest.mark.parametrize("big", ["99999999999999999999", str(2**63)])
def test_provider_urls_with_ids_beyond_64_bits_are_404(client, provider, path, big):
    assert client.get(path.format(big=big)).status_code == 404


def test_provider_urls_still_work(client, provider):
    assert client.get(f"/providers/{provider.pk}/").status_code == 200
    assert client.get(f"/providers/{provider.pk}/sheet/").status_code == 200


@pytest.mark.parametrize(
    "query",
    ["district=%00", "q=%00", "q=%E7%94%A8%00", "region=a%00b", "provider_type__id__exact=%00",
     "status=%00", "o=%00"],
)
def test_admin_provider_list_with_nul_bytes(staff_client, provider, query):
    response = staff_client.get(f"/admin/resourcemap/provider/?{query}")
    assert response.status_code in (200, 302)


def test_admin_search_ignores_the_nul_byte(staff_client, provider):
    response = staff_client.get("/admin/resourcemap/provider/?q=%E7%94%A8%E8%B3%80%00")
    assert response.status_code == 200
    assert "用賀診療所" in response.content.decode()


def test_survey_review_with_a_non_numeric_id_is_404(admin_client):
    assert admin_client.get("/admin/surveys/response/%00/change/").status_code == 404
    assert admin_client.get(f"/admin/surveys/response/{2**63}/change/").status_code == 404


def test_hidden_provider_sheet_is_still_404(client, provider):
    provider_hidden = make_provider(name="閉所", status=Provider.Status.CLOSED)
    assert client.get(f"/providers/{provider_hidden.pk}/sheet/").status_code == 404
