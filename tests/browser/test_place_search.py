"""A resident on a phone looks for "a nursing station reachable tonight near 三軒茶屋": the place
is typed into the form (with suggestions from the gazetteer), resolved offline, and the first
result starts within the first screen and a half. axe-core finds nothing with the suggestions
filled in."""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser.test_accessibility import _axe, _report
from tests.browser.test_phone import PC, PHONE, _context, _page, _ready, stations  # noqa: F401 (fixture)
from tests.browser.waits import wait_until
from tests.factories import make_provider

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GAZETTEER = Path(__file__).resolve().parents[2] / "fixtures" / "gazetteer" / "131121.csv"


def _station(name: str) -> dict:
    return next(r for r in csv.DictReader(GAZETTEER.open(encoding="utf-8")) if r["name"] == name)


def _suggested(page, typed: str, label: str) -> str:
    """Types into the place field until ``label`` is offered; the first suggestion's text."""
    page.fill("#f-near", typed)
    wait_until(page, f"[...document.querySelectorAll('#f-near-list option')].some((o) => o.value === '{label}')")
    return page.evaluate("document.querySelector('#f-near-list option').textContent")


def _search_near(page, typed: str, station: dict) -> dict:
    """Searches near what was typed; it must resolve (offline) to ``station``'s point."""
    page.fill("#f-near", typed)
    page.locator("#f-near").press("Enter")
    page.wait_for_url(re.compile(r"lat="))
    _ready(page)
    query = parse_qs(urlparse(page.url).query)
    assert query["lat"] == [f"{float(station['lat']):.6f}"] and query["lng"] == [f"{float(station['lng']):.6f}"]
    assert "f-near-error" not in page.content()
    return query


class RefuseOutsideGeocoder:
    def lookup(self, text):
        raise AssertionError(f"the outside geocoder was asked for {text!r}")


@pytest.mark.parametrize("args", [PHONE, PC], ids=["360", "1280"])
def test_nursing_station_reachable_tonight_near_sangenjaya(live_server, browser, stations, settings, args):  # noqa: F811
    settings.GEOCODER = "tests.browser.test_place_search.RefuseOutsideGeocoder"
    station = _station("三軒茶屋駅")
    context = _context(browser, args)
    try:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(live_server.url + "/")
        _ready(page)
        page.check("input[name=type][value=nursing]")
        page.check("input[name=nightholiday]")
        assert station["detail"] in _suggested(page, "三軒", "三軒茶屋駅")
        assert page.get_attribute("#f-near", "list") == "f-near-list"
        violations = _axe(page)
        assert violations == [], f"map page with suggestions:\n{_report(violations)}"
        query = _search_near(page, "三軒茶屋", station)
        assert query["place"] == ["三軒茶屋"] and query["type"] == ["nursing"]
        top = page.evaluate("document.querySelector('.result').getBoundingClientRect().top + scrollY")
        assert top <= 1.5 * args["viewport"]["height"], f"first result starts {top:.0f}px down"
        first = page.locator(".result").first.inner_text()
        assert "三軒茶屋24時間訪問看護ステーション" in first
        assert "24時間連絡可" in first or "営業中" in first
        assert page.evaluate("document.documentElement.scrollWidth") <= args["viewport"]["width"]
        assert errors == []
    finally:
        context.close()


@pytest.mark.parametrize("args", [PHONE, PC], ids=["360", "1280"])
def test_failed_place_keeps_the_results_on_screen(live_server, browser, stations, settings, args):  # noqa: F811
    settings.GEOCODER = "resourcemap.geocoding.FakeGeocoder"
    context = _context(browser, args)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/?type=nursing&nightholiday=1")
        _ready(page)
        count = page.locator(".result").count()
        assert count == len(stations)
        if not page.locator("#f-near").is_visible():
            page.click("[data-filters-toggle]")
        page.fill("#f-near", "どこにもない町")
        page.locator("#f-near").press("Enter")
        page.wait_for_url(re.compile(r"near="))
        _ready(page)
        message = page.locator("#f-near-error")
        assert "場所が見つかりませんでした" in message.inner_text() and message.is_visible()
        assert page.get_attribute("#f-near", "aria-invalid") == "true"
        assert page.locator(".result").count() == count
        violations = _axe(page)
        assert violations == [], f"map page with a place error:\n{_report(violations)}"
    finally:
        context.close()


@pytest.mark.parametrize("args", [PHONE, PC], ids=["360", "1280"])
@pytest.mark.parametrize(("prefix", "kind"), [("", "駅"), ("/en", "Station")], ids=["ja", "en"])
def test_station_typed_in_hiragana_is_suggested_and_found(live_server, browser, stations, settings, args, prefix, kind):  # noqa: F811
    """しもきた offers 下北沢駅 (its reading, not a town's), labelled in the page's language, and
    the search near it is resolved offline."""
    settings.GEOCODER = "tests.browser.test_place_search.RefuseOutsideGeocoder"
    station = _station("下北沢駅")
    context = _context(browser, args)
    try:
        page = context.new_page()
        page.goto(live_server.url + prefix + "/")
        _ready(page)
        option = _suggested(page, "しもきた", "下北沢駅")
        assert option.startswith(kind + "\u3000") and station["detail"] in option, option
        violations = _axe(page)
        assert violations == [], f"{prefix or '/'} with suggestions:\n{_report(violations)}"
        _search_near(page, "しもきたざわ", station)
        assert page.locator(".result").count() == len(stations)
    finally:
        context.close()


@pytest.mark.parametrize("args", [PHONE, PC], ids=["360", "1280"])
def test_map_shows_the_place_and_its_nearest_providers(live_server, browser, stations, settings, args):  # noqa: F811
    """On a phone the list comes first; when the map is opened it is centred on the place searched
    (not left where a hidden map put it), with the nearest providers in view, and a provider's
    地図で見る opens its popup, with the phone, in the middle of the map."""
    settings.GEOCODER = "tests.browser.test_place_search.RefuseOutsideGeocoder"
    station = _station("三軒茶屋駅")
    context = _context(browser, args)
    try:
        page = context.new_page()
        for i in range(5):  # 1.5-2 km from the station, beyond the streets around it
            make_provider(name=f"遠くの訪問看護ステーション{i}", type_code="nursing", area_code="taishido",
                          phone=f"03-2000-000{i}", latitude=Decimal("35.658") + Decimal(i) / 1000,
                          longitude=Decimal("139.662") - Decimal(i) / 1000)
        page.goto(live_server.url + "/?type=nursing&q=遠くの&near=三軒茶屋")
        _ready(page)
        if args is PHONE:
            assert not page.locator("#map").is_visible()
            page.click("[data-view=map]")
            wait_until(page, "document.querySelector('#map').offsetHeight > 100")
        view = page.evaluate("""([lat, lng]) => {
            const { map, markers } = window.portalMap;
            const size = map.getSize();
            const p = map.latLngToContainerPoint([lat, lng]);
            const bounds = map.getBounds();
            return { x: p.x, y: p.y, w: size.x, h: size.y,
                     inView: [...markers.values()].filter((m) => bounds.contains(m.getLatLng())).length };
        }""", [float(station["lat"]), float(station["lng"])])
        assert 30 <= view["x"] <= view["w"] - 30 and 30 <= view["y"] <= view["h"] - 30, view
        assert view["inView"] >= 5, view
        if args is PHONE:
            page.click("[data-view=list]")
        page.locator(".result").first.locator("[data-show-marker]").click()
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        assert popup.locator("a[href^='tel:']").inner_text().startswith("03-2000-000")
        box, frame = popup.bounding_box(), page.locator("#map").bounding_box()
        assert frame["x"] <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"], (box, frame)
        assert frame["y"] <= box["y"] and box["y"] + box["height"] <= frame["y"] + frame["height"], (box, frame)
    finally:
        context.close()


@pytest.mark.parametrize("args", [PHONE, PC], ids=["360", "1280"])
@pytest.mark.parametrize(("typed", "row"), [("〒154-0004", "太子堂"), ("世田谷区太子堂4-10-1", "太子堂四丁目")])
def test_postal_code_or_address_is_found_offline(live_server, browser, stations, settings, args, typed, row):  # noqa: F811
    settings.GEOCODER = "tests.browser.test_place_search.RefuseOutsideGeocoder"
    with _page(browser, args) as page:
        page.goto(live_server.url + "/?type=nursing")
        _ready(page)
        if not page.locator("#f-near").is_visible():
            page.click("[data-filters-toggle]")
        query = _search_near(page, typed, _station(row))
        # A postal code is shown as the town it found; an address as typed.
        assert query["place"] == [f"{typed} {row}" if typed.startswith("〒") else typed]
        assert page.locator(".result").count() == len(stations)
        top = page.evaluate("document.querySelector('.result').getBoundingClientRect().top + scrollY")
        assert top <= 1.5 * args["viewport"]["height"], f"first result starts {top:.0f}px down"
