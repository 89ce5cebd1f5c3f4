"""English pages: names sorted A–Z by their English form, dates and hours in English forms on
the list, the provider page, the shortlist and the print sheet."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import translation

from resourcemap import search, staticmap
from tests.factories import make_provider


@pytest.fixture(autouse=True)
def _japanese_after_each_test(settings, tmp_path):
    settings.PRINT_MAP_TILE_URL = "http://127.0.0.1:9/{z}/{x}/{y}.png"
    settings.TILE_CACHE_DIR = tmp_path / "tiles"
    staticmap.reset_offline()
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def three(db):
    return [
        make_provider(name="あさひ診療所", kana="アサヒ", name_en="Zenith Clinic"),
        make_provider(name="いろは診療所", kana="イロハ", name_en="asahi Clinic"),
        make_provider(name="うみ診療所", kana="ウミ"),  # no English name
        make_provider(name="えがお診療所", kana="エガオ", name_en="Bright Smile Clinic"),
    ]


def _names(html: str) -> list[str]:
    return re.findall(r'<a href="/(?:en/)?providers/\d+/[^"]*"[^>]*>([^<]+)</a>', html)


def test_english_pages_sort_by_english_name_then_the_others_in_kana_order(client, three):
    assert _names(client.get("/?type=clinic").content.decode()) == [
        "あさひ診療所", "いろは診療所", "うみ診療所", "えがお診療所"]
    english = client.get("/en/?type=clinic").content.decode()
    assert _names(english) == ["asahi Clinic", "Bright Smile Clinic", "Zenith Clinic", "うみ診療所"]
    assert '<option value="kana" selected>Name (A–Z)</option>' in english
    assert "Sort order: Name (A–Z)" in english
    # The same order on the English shortlist and print sheet.
    ids = ",".join(str(p.pk) for p in three)
    assert _names(client.get(f"/en/shortlist/?ids={ids}").content.decode()) == [
        "asahi Clinic", "Bright Smile Clinic", "Zenith Clinic", "うみ診療所"]
    sheet = client.get(f"/en/print/?ids={ids}").content.decode()
    assert re.findall(r'<div class="name">([^<]+)</div>', sheet) == [
        "asahi Clinic", "Bright Smile Clinic", "Zenith Clinic", "うみ診療所"]
    # The API in English follows the same order.
    with translation.override("en"):
        assert [p.display_name for p in search.run({"type": "clinic"}).providers][:3] == [
            "asahi Clinic", "Bright Smile Clinic", "Zenith Clinic"]


def test_dates_and_hours_in_english_forms(client, three):
    provider = three[0]
    query = "type=clinic&day=2026-12-03&time=10:00"
    english = client.get(f"/en/?{query}").content.decode()
    assert "Open on 3 December 2026 at 10:00" in english
    assert "2026-12-03 " not in english and "12/3" not in english
    assert re.search(r"\(3 December, 10:00\)", english)
    japanese = client.get(f"/?{query}").content.decode()
    assert "2026年12月3日 10:00 に営業" in japanese
    assert "指定の日時（12月3日 10:00）" in japanese

    sheet = client.get(f"/en/print/?{query}").content.decode()
    assert "3 December 2026" in sheet
    assert '<span class="hours-line">Mon–Fri 09:00-18:00</span>' in sheet
    assert "月〜金" not in sheet

    shortlist = client.get(f"/en/shortlist/?ids={provider.pk}&from={query.replace('&', '%26')}").content.decode()
    assert "3 December 2026" in shortlist


def test_provider_page_dates_in_english(client, db):
    provider = make_provider(
        name="なつ診療所", kana="ナツ", name_en="Natsu Clinic",
        exceptions=[{"start_date": dt.date(2026, 12, 29), "end_date": dt.date(2027, 1, 3),
                     "closed": True, "note": "年末年始"}],
        last_confirmed_on=dt.date(2025, 9, 3),
    )
    english = client.get(f"/en/providers/{provider.pk}/").content.decode()
    assert "29 December 2026 to 3 January 2027" in english
    assert "2026/12/29" not in english
    assert "3 September 2025" in english and "2025年9月3日" not in english
    assert re.search(r"\(\d{1,2} [A-Z][a-z]+, \d\d:\d\d", english)
    japanese = client.get(f"/providers/{provider.pk}/").content.decode()
    assert "2026年12月29日〜2027年1月3日" in japanese


def test_lists_of_names_in_the_conditions_use_english_commas(client, db):
    make_provider(type_code="clinic", capabilities={"h24": None, "mitori": None})
    query = {"type": ["clinic", "nursing"], "cap": ["h24", "mitori"]}
    english = re.sub(r"\s+", " ", client.get("/en/", query).content.decode())
    assert "Type: Clinic, Home-visit nursing station" in english
    assert "、" not in re.search(r'<ul class="conditions".*?</ul>', english).group(0)
    japanese = client.get("/", query).content.decode()
    assert "種別: 診療所、訪問看護ステーション" in japanese
    # The link that drops the types of an empty search names them the same way.
    empty = re.sub(r"\s+", " ", client.get("/en/", {**query, "q": "no such name"}).content.decode())
    assert "(Clinic, Home-visit nursing station)" in empty


def test_split_hours_use_english_commas(client, db):
    split = [(d, dt.time(9), dt.time(12)) for d in range(8)] + [(d, dt.time(14), dt.time(18)) for d in range(8)]
    provider = make_provider(name="二部診療所", type_code="clinic", periods=split)

    def shown(path, params=None) -> str:
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", client.get(path, params).content.decode()))

    english = shown("/en/", {"type": "clinic"})
    assert "09:00-12:00, 14:00-18:00" in english and "09:00-12:00、14:00-18:00" not in english
    assert "09:00-12:00, 14:00-18:00" in shown(f"/en/providers/{provider.pk}/")
    assert "09:00-12:00, 14:00-18:00" in shown("/en/shortlist/", {"ids": provider.pk})
    assert "09:00-12:00、14:00-18:00" in shown("/", {"type": "clinic"})
