"""The public portal in headless Chromium: map, list, URL state, keyboard, English, phones."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tests.browser.waits import wait_until
from tests.factories import ensure_reference, make_provider

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def providers(transactional_db):
    ensure_reference()
    made = []
    # 3 nursing stations with 24h in 用賀, at different points; others that must not match.
    for i, (dlat, dlng) in enumerate([(0, 0), (0.002, 0.001), (-0.003, 0.002)]):
        made.append(make_provider(
            name=f"用賀24時間看護{i}", kana=f"ヨウガカンゴ{i}", type_code="nursing",
            capabilities={"h24": None}, area_code="yoga",
            latitude=Decimal("35.626500") + Decimal(str(dlat)),
            longitude=Decimal("139.633500") + Decimal(str(dlng)),
        ))
    make_provider(name="用賀の看護（24hなし）", type_code="nursing", area_code="yoga")
    make_provider(name="奥沢24時間看護", type_code="nursing", capabilities={"h24": None}, area_code="okusawa")
    make_provider(name="用賀の薬局", type_code="pharmacy", capabilities={"h24": None}, area_code="yoga")
    return made


def wait_for_map(page):
    page.wait_for_selector("#map[data-ready='1']")
    return int(page.get_attribute("#map", "data-marker-count"))


def count_text(page) -> int:
    return int(re.search(r"(\d+)", page.inner_text("#result-count")).group(1))


def test_filter_list_map_and_api_agree_and_url_reproduces(live_server, browser_page, providers):
    page = browser_page
    page.goto(live_server.url + "/")
    wait_for_map(page)
    page.check("input[name=type][value=nursing]")
    page.click("summary:has-text('できること')")
    page.check("input[name=cap][value=h24]")
    page.select_option("#f-district", "yoga")
    page.click("#search-form button[type=submit]")
    page.wait_for_url(re.compile(r"district=yoga"))
    markers = wait_for_map(page)
    assert count_text(page) == 3
    assert markers == 3
    assert page.locator(".result").count() == 3
    query = page.url.split("?", 1)[1]
    api = page.request.get(f"{live_server.url}/api/providers.json?{query}").json()
    assert api["count"] == 3
    # Reload and Back/Forward reproduce the search.
    page.reload()
    assert wait_for_map(page) == 3 and count_text(page) == 3
    assert page.is_checked("input[name=cap][value=h24]")
    page.go_back()
    wait_for_map(page)
    assert count_text(page) == 6
    page.go_forward()
    assert wait_for_map(page) == 3
    # A list item opens its marker's popup, which links to the provider page.
    page.click(f"[data-show-marker='{providers[0].pk}']")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert "用賀24時間看護0" in popup.inner_text()
    assert page.console_errors == []


def test_keyboard_only_filtering(live_server, browser_page, providers):
    page = browser_page
    page.goto(live_server.url + "/")
    wait_for_map(page)
    # Skip link is the first stop and moves focus to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.focus("input[name=type][value=nursing]")
    page.keyboard.press("Space")
    page.focus("#f-district")
    page.keyboard.type("用賀")  # select by typing, as keyboard users do
    page.select_option("#f-district", "yoga")
    page.focus("#search-form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"type=nursing"))
    wait_for_map(page)
    assert count_text(page) == 4
    # The "show on map" button is reachable and opens the marker popup.
    button = page.locator("[data-show-marker]").first
    button.focus()
    page.keyboard.press("Enter")
    page.locator(".leaflet-popup-content").wait_for()
    # Focus is visible (outline style applied).
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    assert page.console_errors == []


def test_english_switch(live_server, browser_page, providers):
    page = browser_page
    page.goto(live_server.url + "/?type=nursing")
    wait_for_map(page)
    page.click("button[name=language][value=en]")
    page.wait_for_url(re.compile(r"/en/"))
    assert page.get_attribute("html", "lang") == "en"
    assert "Home-visit nursing station" in page.inner_text("body")
    assert wait_for_map(page) == 5
    assert page.console_errors == []


def test_phone_layout(live_server, browser, providers):
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="ja-JP", is_mobile=True)
    context.route("https://cyberjapandata.gsi.go.jp/**", lambda r: r.fulfill(status=200, body=b"", content_type="image/png"))
    page = context.new_page()
    page.goto(live_server.url + "/?type=nursing")
    page.wait_for_selector("#map[data-ready='1']", state="attached")
    # Nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # After a search the list comes first; the map is one tap away.
    assert page.is_hidden("#map")
    page.click("button[data-view=list]")
    assert page.is_hidden("#map")
    assert page.is_visible(".result-list")
    page.click("button[data-view=map]")
    assert page.is_visible("#map")
    context.close()


def test_without_javascript_the_list_still_works(live_server, browser, providers):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/?type=nursing&cap=h24&district=yoga")
    assert "3件見つかりました" in page.inner_text("#result-count")
    assert page.is_hidden("#map")
    assert page.locator(".result").count() == 3
    context.close()


def test_map_asks_only_for_its_view_and_shows_counts_when_zoomed_out(live_server, browser_page, providers, monkeypatch):
    from resourcemap import api

    monkeypatch.setattr(api, "MAX_POINTS", 5)  # six providers: one too many for points
    page = browser_page
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/api/providers.json" in r.url else None)
    page.goto(live_server.url + "/")
    page.wait_for_selector("#map[data-ready='1']")
    assert asked and all("bbox=" in url and "zoom=" in url for url in asked)
    assert int(page.get_attribute("#map", "data-marker-count")) == 0
    assert int(page.get_attribute("#map", "data-cluster-count")) >= 1
    label = page.get_attribute(".leaflet-marker-icon", "title")
    assert re.fullmatch(r"近くの\d+件。押すと地図を拡大します", label)
    # Closer in, around the 24h stations of 用賀, the map asks again and draws points.
    page.evaluate("window.portalMap.map.setView([35.6265, 139.6345], 17, { animate: false })")
    wait_until(page, "Number(document.getElementById('map').dataset.markerCount) > 0")
    assert int(page.get_attribute("#map", "data-marker-count")) <= 5
    assert len(asked) >= 2
    assert page.console_errors == []


def test_first_view_is_one_preloaded_request_and_a_marker_opens_its_popup(live_server, browser_page, providers):
    page = browser_page
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/api/providers.json" in r.url else None)
    page.goto(live_server.url + "/?type=nursing&cap=h24&district=yoga")
    assert wait_for_map(page) == 3
    # The page head preloads the first view; the map's own request uses that answer.
    preload = page.get_attribute("link[rel=preload][as=fetch]", "href")
    assert "bbox=" in preload and "zoom=" in preload and "district=yoga" in preload
    assert len(asked) == 1 and asked[0].endswith(preload)
    # Close in, a marker itself (no list button) opens its popup with the provider's link.
    page.evaluate("window.portalMap.map.setView([35.6265, 139.6335], 18, { animate: false })")
    marker = page.locator(".leaflet-marker-icon[title='用賀24時間看護0']")
    marker.wait_for()
    marker.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert "用賀24時間看護0" in popup.inner_text()
    assert popup.locator("a").first.get_attribute("href").endswith(f"/providers/{providers[0].pk}/")
    assert page.console_errors == []
