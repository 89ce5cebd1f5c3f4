"""A resident on a phone: after a search the first answer is in sight, the text can be made
twice as large without sideways scrolling, the focused field is never under the sticky buttons,
and a provider page offers directions. Checked at 360 px (phone) and 1280 px (PC)."""

from __future__ import annotations

from contextlib import contextmanager
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser.conftest import BLANK_TILE, TILE_PATTERNS
from tests.browser.waits import wait_until
from tests.factories import ensure_reference, make_provider

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 360, "height": 740}, "locale": "ja-JP", "is_mobile": True,
         "has_touch": True, "device_scale_factor": 1}
PC = {"viewport": {"width": 1280, "height": 800}, "locale": "ja-JP"}
SEARCH = "/?type=nursing&nightholiday=1"


@pytest.fixture
def stations(transactional_db):
    ensure_reference()
    made = []
    for i in range(6):
        made.append(make_provider(
            name=f"三軒茶屋24時間訪問看護ステーション{i}", kana=f"サンゲンジャヤカンゴ{i}", type_code="nursing",
            capabilities={"h24": None, "mitori": None}, area_code="taishido", phone=f"03-1000-000{i}",
            latitude=Decimal("35.643") + Decimal(i) / 1000, longitude=Decimal("139.670") + Decimal(i) / 1000,
        ))
    return made


def _context(browser, args):
    context = browser.new_context(**args)
    for pattern in TILE_PATTERNS:
        context.route(pattern, lambda route: route.fulfill(status=200, content_type="image/png", body=BLANK_TILE))
    return context


@contextmanager
def _page(browser, args):
    """A page in a fresh context of that size (tiles answered locally), closed afterwards."""
    context = _context(browser, args)
    try:
        yield context.new_page()
    finally:
        context.close()


def _ready(page):
    page.wait_for_load_state("load")
    if page.locator("#map").count():
        page.wait_for_selector("#map[data-ready='1']", state="attached")
    if page.locator("#provider-map").count():
        page.wait_for_selector("#provider-map .leaflet-marker-icon")


def _text_200(page):
    """Press 文字を大きく until the text is at 200% (150% -> 200%)."""
    toggle = page.locator("[data-text-size-toggle]")
    while "200%" not in toggle.inner_text():
        toggle.click()
    assert page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)") == 32


def _sideways(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")


@pytest.mark.parametrize("args", [PHONE, PC], ids=["360", "1280"])
def test_first_result_within_a_screen_and_a_half_after_a_search(live_server, browser, stations, args):
    context = _context(browser, args)
    try:
        page = context.new_page()
        page.goto(live_server.url + SEARCH)
        _ready(page)
        top = page.evaluate("document.querySelector('.result').getBoundingClientRect().top + scrollY")
        height = args["viewport"]["height"]
        assert top <= 1.5 * height, f"first result starts {top:.0f}px down ({height}px screen)"
        first = page.locator(".result").first
        assert "24時間連絡可" in first.inner_text() or "営業中" in first.inner_text()
        if args is PHONE:
            # The legend is folded and the map is one tap away.
            assert page.evaluate("document.querySelector('[data-legend]').open") is False
            assert not page.locator("#map").is_visible()
            page.click("[data-view=map]")
            wait_until(page, "document.querySelector('#map').offsetHeight > 100")
    finally:
        context.close()


@pytest.mark.parametrize("args", [PHONE, PC, {**PHONE, "viewport": {"width": 320, "height": 640}}],
                         ids=["360", "1280", "320"])
def test_no_sideways_scrolling_with_text_at_200_percent(live_server, browser, stations, args):
    context = _context(browser, args)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        _ready(page)
        _text_200(page)
        for path in ("/", SEARCH, f"/providers/{stations[0].pk}/", "/en/", f"/en/providers/{stations[0].pk}/"):
            page.goto(live_server.url + path)
            _ready(page)
            page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
            width, client = _sideways(page)
            wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
                .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1
                               && !e.closest('.leaflet-container'))
                .slice(0, 5).map((e) => e.tagName + ' ' + (e.textContent || '').trim().slice(0, 30))""")
            assert width <= client, f"{path}: {width}px wide in a {client}px window at 200% text: {wide}"
            # The skip link waits above the top edge, whole, until it is focused.
            assert page.evaluate("document.querySelector('.skip-link').getBoundingClientRect().bottom") <= 0, path
    finally:
        context.close()


def test_sticky_search_buttons_never_cover_the_focused_field(live_server, browser, stations):
    context = _context(browser, PHONE)
    try:
        page = context.new_page()
        page.goto(live_server.url + SEARCH)
        _ready(page)
        page.click("#filters-fold summary")
        page.evaluate("document.querySelector('#filters-fold summary').focus()")
        covered, seen = [], 0
        for _i in range(60):
            page.keyboard.press("Tab")
            info = page.evaluate("""() => {
                const el = document.activeElement;
                if (!el || !el.closest('#search-form')) return null;
                const r = el.getBoundingClientRect();
                const hit = document.elementFromPoint(r.left + Math.min(r.width / 2, 8), r.top + r.height / 2);
                const label = hit && hit.closest('label');
                return { name: el.name || el.textContent.trim().slice(0, 20),
                         ok: !!hit && (hit === el || el.contains(hit) || (label !== null && label.contains(el))) };
            }""")
            if info is None:
                break
            seen += 1
            if not info["ok"]:
                covered.append(info["name"])
        assert seen >= 20
        assert covered == []
    finally:
        context.close()


def test_popup_shows_the_phone(live_server, browser, stations):
    context = _context(browser, PC)
    try:
        page = context.new_page()
        page.goto(live_server.url + SEARCH)
        _ready(page)
        page.locator(".result").first.locator("[data-show-marker]").click()
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        assert popup.locator("a[href^='tel:']").inner_text() == "03-1000-0000"
    finally:
        context.close()


@pytest.mark.parametrize("args", [PHONE, PC], ids=["360", "1280"])
def test_provider_page_offers_directions(live_server, browser, stations, args):
    context = _context(browser, args)
    try:
        page = context.new_page()
        provider = stations[2]
        page.goto(live_server.url + f"/providers/{provider.pk}/")
        _ready(page)
        link = page.locator("a[data-directions]")
        assert link.is_visible()
        url = urlparse(link.get_attribute("href"))
        assert (url.netloc, url.path) == ("www.google.com", "/maps/dir/")
        query = parse_qs(url.query)
        assert query["api"] == ["1"]
        lat, lng = (float(v) for v in query["destination"][0].split(","))
        assert (lat, lng) == (float(provider.latitude), float(provider.longitude))
        # Next to the phone and the 国土地理院 map link.
        assert page.locator("a[href^='tel:']").first.is_visible()
        assert page.locator("a[href^='https://maps.gsi.go.jp/#17/']").count() == 1
    finally:
        context.close()


# Lines each "09:00-12:00" of the text in ``selector`` is drawn on (1 = not broken).
PERIOD_LINES = """(selector) => {
    const out = [];
    for (const root of document.querySelectorAll(selector)) {
        const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (const match of node.data.matchAll(/\\d\\d:\\d\\d-\\d\\d:\\d\\d/g)) {
                const range = document.createRange();
                range.setStart(node, match.index);
                range.setEnd(node, match.index + match[0].length);
                const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
                out.push([match[0], tops.size]);
            }
        }
    }
    return out;
}"""


def test_opening_hours_never_break_inside_a_period_on_a_phone(live_server, browser, stations):
    import datetime as dt

    split = make_provider(
        name="三軒茶屋ひるやすみ長めの皮膚科クリニック", kana="サンゲンジャヤヒフカ", type_code="nursing",
        capabilities={"h24": None, "mitori": None}, area_code="taishido", fax="03-1000-0999",
        latitude=Decimal("35.6431"), longitude=Decimal("139.6701"),
        periods=[(d, t0, t1) for d in range(7) for t0, t1 in ((dt.time(9), dt.time(12)), (dt.time(14, 30), dt.time(18)))],
    )
    with _page(browser, PHONE) as page:
        for path, selector in (
            (f"/providers/{split.pk}/", "table.hours td"),
            ("/?q=ひるやすみ長め", ".result__today"),
            (f"/shortlist/?ids={split.pk}", ".result__today"),
        ):
            page.goto(live_server.url + path)
            _ready(page)
            lines = page.evaluate(PERIOD_LINES, selector)
            assert ["14:30-18:00", 1] in lines, (path, lines)
            assert [period for period, n in lines if n != 1] == [], path


@pytest.mark.parametrize("args", [PHONE, PC], ids=["360", "1280"])
def test_print_memo_never_goes_into_a_url(live_server, browser, stations, args):
    from urllib.parse import quote

    memo = "山田花子様（長男 太郎さん）"
    context = _context(browser, args)
    try:
        page = context.new_page()
        requests = []
        page.on("request", lambda request: requests.append((request.method, request.url)))
        page.goto(live_server.url + f"/print/?ids={stations[0].pk},{stations[1].pk}")
        page.fill("#opt-note", memo)
        assert page.inner_text("[data-note-output]") == memo  # on the sheet at once
        page.click("text=プレビューを更新")
        page.wait_for_load_state("load")
        # Kept in this browser tab, still on the sheet after the preview was updated.
        assert page.input_value("#opt-note") == memo
        assert page.inner_text("[data-note-output]") == memo
        with page.expect_download() as download:
            page.click("[data-pdf-link]")
        assert download.value.suggested_filename.endswith(".pdf")
        assert any(method == "POST" and "/print/pdf/" in url for method, url in requests)
        for _method, url in requests:
            assert memo not in url and quote(memo) not in url and "note=" not in url, url
    finally:
        context.close()


@pytest.mark.parametrize("args", [PHONE, PC], ids=["360", "1280"])
@pytest.mark.parametrize("filters", ["folded", "open"])
def test_no_tab_stop_on_the_map_page_is_covered(live_server, browser, stations, args, filters):
    """Every stop of the keyboard on the map page after a search (header, filters, sticky search
    buttons, result list, footer), with the filters folded and opened: the focused element is
    the one seen at its own centre, never hidden under a sticky bar."""
    context = _context(browser, args)
    try:
        page = context.new_page()
        page.goto(live_server.url + SEARCH)
        _ready(page)
        if filters == "open":  # opened without a click, so the keyboard still starts at the top
            page.evaluate("document.querySelector('#filters-fold').open = true")
        else:
            page.evaluate("document.querySelector('#filters-fold').open = false")
        assert page.locator("#f-near").is_visible() == (filters == "open")
        covered, seen = [], []
        for _i in range(400):
            page.keyboard.press("Tab")
            info = page.evaluate("""() => {
                const el = document.activeElement;
                if (!el || el === document.body) return null;
                const r = el.getBoundingClientRect();
                if (r.width === 0 && r.height === 0) return { key: el.outerHTML.slice(0, 60), ok: true };
                const x = Math.min(Math.max(r.left + Math.min(r.width / 2, 8), 0), innerWidth - 1);
                const y = Math.min(Math.max(r.top + r.height / 2, 0), innerHeight - 1);
                const hit = document.elementFromPoint(x, y);
                const label = hit && hit.closest('label');
                const inside = r.bottom > 0 && r.top < innerHeight;
                return { key: (el.id || el.name || el.getAttribute('href') || el.textContent.trim().slice(0, 20))
                              + '@' + Math.round(r.top + scrollY),
                         ok: inside && !!hit && (hit === el || el.contains(hit) || (label !== null && label.contains(el))
                             || (el.closest('.leaflet-container') !== null && el.closest('.leaflet-container').contains(hit))),
                         hit: hit ? hit.tagName + '.' + hit.className : null };
            }""")
            if info is None or (seen and info["key"] == seen[0]):
                break
            seen.append(info["key"])
            if not info["ok"]:
                covered.append((info["key"], info["hit"]))
        assert len(seen) >= (30 if filters == "open" else 12), seen
        assert any(key.startswith("f-near@") or key.startswith("near@") for key in seen) == (filters == "open"), seen
        assert covered == [], f"{len(covered)} of {len(seen)} tab stops covered: {covered}"
    finally:
        context.close()
