"""Accessibility of the public pages: JIS X 8341-3:2016 level AA (WCAG 2.0 AA).

The automated part runs axe-core (vendored under tests/vendor, a test-only asset) on every
public page and requires zero violations. The rest checks what axe cannot see: reflow at 200%
zoom and on a 360px phone, visible keyboard focus, the larger-text toggle, the skip link, and
the phone layout of a search (results near the top, filters folded away).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from resourcemap.models import ProviderType
from surveys import services
from surveys.models import SurveyRound
from tests.browser.conftest import BLANK_TILE, TILE_PATTERNS
from tests.browser.waits import wait_until
from tests.factories import ensure_reference, make_provider

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_JS = next((Path(__file__).resolve().parents[1] / "vendor").glob("axe-core-*/axe.min.js"))
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Nothing is excluded: Leaflet's tile images (third-party GSI / OpenStreetMap pictures) carry
# alt="" and role="presentation", so axe checks the whole page including the map widget.
PHONE = {"viewport": {"width": 360, "height": 740}, "locale": "ja-JP", "is_mobile": True,
         "has_touch": True, "device_scale_factor": 1}
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "ja-JP"}


@pytest.fixture
def site(transactional_db):
    """Some providers of several types, and an open survey round with an invitation."""
    ensure_reference()
    made = []
    for i, (dlat, dlng) in enumerate([(0, 0), (0.002, 0.001), (-0.003, 0.002)]):
        made.append(make_provider(
            name=f"用賀24時間看護{i}", kana=f"ヨウガカンゴ{i}", type_code="nursing",
            capabilities={"h24": None}, area_code="yoga", phone=f"03-0000-000{i}",
            latitude=Decimal("35.626500") + Decimal(str(dlat)),
            longitude=Decimal("139.633500") + Decimal(str(dlng)),
        ))
    made.append(make_provider(name="用賀の薬局", type_code="pharmacy", capabilities={"h24": None},
                              area_code="yoga", phone="03-1111-2222"))
    made.append(make_provider(name="奥沢クリニック", type_code="clinic", area_code="okusawa"))
    today = timezone.localdate()
    survey_round = SurveyRound.objects.create(
        name="令和8年度 在宅療養資源調査", opens_on=today - dt.timedelta(days=1),
        closes_on=today + dt.timedelta(days=30),
    )
    survey_round.provider_types.set(ProviderType.objects.all())
    services.issue_round(survey_round=survey_round)
    invitation = survey_round.invitations.get(provider=made[0])
    return {"providers": made, "token": services.invitation_token(invitation)}


def _context(browser, **args):
    context = browser.new_context(**args)
    for pattern in TILE_PATTERNS:
        context.route(pattern, lambda route: route.fulfill(status=200, content_type="image/png", body=BLANK_TILE))
    return context


def _no_script_context(browser, **args):
    """A context that renders pages as a browser without JavaScript would (no page scripts run),
    while still letting the test inject axe: HTML is served with its <script> elements removed."""
    context = browser.new_context(**args)

    def strip(route):
        if route.request.resource_type == "script":
            route.abort()
        elif route.request.resource_type == "document":
            response = route.fetch()
            body = re.sub(r"<script\b[^>]*>.*?</script>", "", response.text(), flags=re.S | re.I)
            route.fulfill(response=response, body=body)
        else:
            route.continue_()

    context.route("**/*", strip)
    return context


def _settle(page, path: str) -> None:
    """Wait until the page's script-built parts (map markers) are in place."""
    page.wait_for_load_state("load")
    if page.locator("#map").count() and page.evaluate("document.documentElement.classList.contains('js')"):
        page.wait_for_selector("#map[data-ready='1']", state="attached")
    if page.locator("#provider-map").count() and page.evaluate("!!window.L"):
        page.wait_for_selector("#provider-map .leaflet-marker-icon")


def _axe(page) -> list[dict]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the browser's debugging protocol, not as an inline <script> that
        # the page's Content-Security-Policy (rightly) refuses.
        page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;true")
    return page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => n.target.join(" ") + " | " + n.failureSummary.replace(/\\s+/g, " ")),
            }));
        }""",
        AXE_TAGS,
    )


def _report(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        lines.extend(f"    {node}" for node in v["nodes"][:10])
    return "\n".join(lines)


def _paths(site) -> list[str]:
    first = site["providers"][0].pk
    return [
        "/",
        "/?type=nursing&cap=h24&district=yoga",
        "/en/",
        "/en/?type=nursing&cap=h24",
        f"/providers/{first}/",
        "/print/?type=pharmacy",
        "/flyer/",
        "/indicators/",
        "/indicators/?region=tamagawa",
        "/survey/",
        "/survey/register/",
        f"/providers/{first}/correction/",
        f"/survey/t/{site['token']}/",
    ]


PAGES = [
    ("map", "/"),
    ("map-filtered", "/?type=nursing&cap=h24&district=yoga&open=now&sort=area"),
    ("map-en", "/en/"),
    ("map-en-filtered", "/en/?type=nursing&cap=h24"),
    ("provider", "provider"),
    ("provider-en", "/en/provider"),
    ("print", "/print/?type=pharmacy"),
    ("flyer", "/flyer/"),
    ("indicators", "/indicators/?region=tamagawa"),
    ("indicators-en", "/en/indicators/"),
    ("survey-start", "/survey/"),
    ("survey-register", "/survey/register/"),
    ("correction", "correction"),
    ("survey-form", "invitation"),
]


def _resolve(path: str, site) -> str:
    first = site["providers"][0].pk
    return {
        "provider": f"/providers/{first}/",
        "/en/provider": f"/en/providers/{first}/",
        "correction": f"/providers/{first}/correction/",
        "invitation": f"/survey/t/{site['token']}/",
    }.get(path, path)


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize(("name", "path"), PAGES, ids=[name for name, _path in PAGES])
def test_axe_finds_no_violations(live_server, browser, site, name, path, viewport):
    context = _context(browser, **(DESKTOP if viewport == "desktop" else PHONE))
    try:
        page = context.new_page()
        page.goto(live_server.url + _resolve(path, site))
        _settle(page, path)
        violations = _axe(page)
        assert violations == [], f"{name} at {viewport}:\n{_report(violations)}"
    finally:
        context.close()


@pytest.mark.parametrize("path", ["/?type=nursing&cap=h24&district=yoga", "/", "/en/?type=nursing", "provider"])
def test_axe_without_javascript(live_server, browser, site, path):
    context = _no_script_context(browser, **DESKTOP)
    try:
        page = context.new_page()
        page.goto(live_server.url + _resolve(path, site))
        assert not page.evaluate("document.documentElement.classList.contains('js')")
        violations = _axe(page)
        assert violations == [], f"{path} without JavaScript:\n{_report(violations)}"
    finally:
        context.close()


def test_axe_on_open_map_popup_and_phone_list(live_server, browser, site):
    """States reached by interaction: an open marker popup, and the phone's list view."""
    context = _context(browser, **PHONE)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/?type=nursing")
        _settle(page, "/")
        page.click(f"[data-show-marker='{site['providers'][0].pk}']")
        page.locator(".leaflet-popup-content").wait_for()
        wait_until(page, "getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'")
        assert page.get_attribute(".leaflet-popup-close-button", "aria-label") == "吹き出しを閉じる"
        violations = _axe(page)
        assert violations == [], f"map with popup:\n{_report(violations)}"
        page.click("button[data-view=list]")
        violations = _axe(page)
        assert violations == [], f"phone list view:\n{_report(violations)}"
    finally:
        context.close()


# --- What axe does not check ------------------------------------------------------------------

def _no_sideways_scroll(page, label: str) -> None:
    width, client = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width <= client, f"{label}: content is {width}px wide in a {client}px viewport"


@pytest.mark.parametrize("mode", ["zoom200", "phone"])
def test_reflow_without_horizontal_scrolling(live_server, browser, site, mode):
    """WCAG 1.4.4 / 1.4.10: at 200% zoom on a 1280px screen (a 640 CSS px viewport, as the
    browser does when zooming) and on a 360px phone, nothing needs sideways scrolling."""
    if mode == "zoom200":
        args = {"viewport": {"width": 640, "height": 450}, "device_scale_factor": 2, "locale": "ja-JP"}
    else:
        args = PHONE
    context = _context(browser, **args)
    try:
        page = context.new_page()
        for path in _paths(site):
            page.goto(live_server.url + path)
            _settle(page, path)
            _no_sideways_scroll(page, f"{path} ({mode})")
            # The larger-text setting as well (200% zoom plus 125% text).
            if page.locator("[data-text-size-toggle]").count():
                page.evaluate("document.documentElement.classList.add('large-text')")
                _no_sideways_scroll(page, f"{path} ({mode}, larger text)")
    finally:
        context.close()


def _focus_ring(page) -> dict:
    return page.evaluate("""() => {
        const s = getComputedStyle(document.activeElement);
        return { outline: s.outlineStyle, width: parseFloat(s.outlineWidth), shadow: s.boxShadow,
                 tag: document.activeElement.tagName, type: document.activeElement.type || "" };
    }""")


def _unfocused_ring(page, selector: str) -> dict:
    return page.evaluate("""(sel) => {
        const s = getComputedStyle(document.querySelector(sel));
        return { outline: s.outlineStyle, width: parseFloat(s.outlineWidth), shadow: s.boxShadow };
    }""", selector)


@pytest.mark.parametrize("path", ["/?type=nursing", "provider", "/survey/", "invitation"])
def test_keyboard_focus_is_visible(live_server, browser, site, path):
    """Every link, button and checkbox reached with Tab shows a focus ring that is absent
    when it is not focused (outline or box-shadow)."""
    context = _context(browser, **DESKTOP)
    try:
        page = context.new_page()
        page.goto(live_server.url + _resolve(path, site))
        _settle(page, path)
        seen = set()
        previous = None  # (probe number, focused style, label) of the last control
        for i in range(60):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.hasAttribute('data-focus-probe')"):
                continue  # still inside the same control (a time field's hour and minute parts)
            if previous:
                # The control just left: its ring must be gone now that it is not focused.
                number, focused, label = previous
                assert _unfocused_ring(page, f"[data-focus-probe='{number}']") != focused, \
                    f"focus ring not distinct from the unfocused look on {label}"
                previous = None
            info = _focus_ring(page)
            if info["tag"] not in ("A", "BUTTON", "INPUT", "SUMMARY", "SELECT"):
                continue
            label = page.evaluate(f"(document.activeElement.setAttribute('data-focus-probe', '{i}'),"
                                  " document.activeElement.outerHTML.slice(0, 120))")
            visible = (info["outline"] != "none" and info["width"] >= 2) or info["shadow"] != "none"
            assert visible, f"no visible focus on {label}"
            previous = (i, {k: info[k] for k in ("outline", "width", "shadow")}, label)
            seen.add(info["tag"] + ("/" + info["type"] if info["tag"] == "INPUT" else ""))
        assert {"A", "BUTTON"} <= seen, seen
        if path.startswith("/?") or path == "invitation":
            assert "INPUT/checkbox" in seen, seen
    finally:
        context.close()


def test_larger_text_toggle_enlarges_and_persists(live_server, browser, site):
    context = _context(browser, **DESKTOP)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        _settle(page, "/")
        size = "parseFloat(getComputedStyle(document.querySelector('.result__address')).fontSize)"
        before = page.evaluate(size)
        toggle = page.locator("[data-text-size-toggle]")
        assert toggle.get_attribute("aria-pressed") == "false"
        toggle.click()
        assert toggle.get_attribute("aria-pressed") == "true"
        after = page.evaluate(size)
        assert after >= before * 1.2
        # Persists on the next page, and on a survey page.
        page.goto(live_server.url + f"/providers/{site['providers'][0].pk}/")
        _settle(page, "provider")
        assert page.get_attribute("[data-text-size-toggle]", "aria-pressed") == "true"
        assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 16 * 1.2
        page.goto(live_server.url + "/?type=nursing")
        _settle(page, "/")
        assert page.evaluate(size) == after
        # A second press goes up to 200%, a third back to the normal size.
        page.click("[data-text-size-toggle]")
        assert page.evaluate(size) == pytest.approx(before * 2, rel=0.02)
        assert "200%" in toggle.inner_text()
        page.reload()
        _settle(page, "/")
        assert page.evaluate(size) == pytest.approx(before * 2, rel=0.02)
        page.click("[data-text-size-toggle]")
        assert page.evaluate(size) == before
        assert page.get_attribute("[data-text-size-toggle]", "aria-pressed") == "false"
        page.reload()
        _settle(page, "/")  # no request left running when the test ends
        assert page.evaluate(size) == before
    finally:
        context.close()


@pytest.mark.parametrize("path", ["/?type=nursing", "provider", "/survey/", "/print/?type=pharmacy"])
def test_skip_link_moves_focus_to_main(live_server, browser, site, path):
    context = _context(browser, **DESKTOP)
    try:
        page = context.new_page()
        page.goto(live_server.url + _resolve(path, site))
        _settle(page, path)
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.classList.contains('skip-link')")
        assert page.locator(".skip-link").is_visible()
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.tagName") == "MAIN"
        assert page.evaluate("document.activeElement.getBoundingClientRect().top") < 900
        # The next Tab goes to the first control inside the main content.
        page.keyboard.press("Tab")
        assert page.evaluate("document.querySelector('main').contains(document.activeElement)")
    finally:
        context.close()


# --- Phone layout of a search ------------------------------------------------------------------

SEARCH = "/?type=nursing&cap=h24&district=yoga"


def test_phone_search_shows_results_first(live_server, browser, site):
    context = _context(browser, **PHONE)
    try:
        page = context.new_page()
        page.goto(live_server.url + SEARCH)
        _settle(page, SEARCH)
        # The filter panel is folded away, with its state announced.
        toggle = page.locator("[data-filters-toggle]")
        assert toggle.is_visible()
        assert toggle.get_attribute("aria-expanded") == "false"
        assert page.locator("#filters-body").is_hidden()
        # Result count and the map/list switch are on the first screen.
        for selector in ("#result-count", "button[data-view=list]", "button[data-view=map]"):
            box = page.locator(selector).bounding_box()
            assert box and box["y"] + box["height"] <= 740, selector
        page.click("button[data-view=list]")
        first = page.locator(".result").first
        box = first.bounding_box()
        assert box["y"] < 740, f"first result starts at {box['y']}px"
        assert "用賀24時間看護0" in first.inner_text()
        # Opening the filters shows them, and the choices made are still there.
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(page.locator("#filters-body")).to_be_visible()
        assert page.is_checked("input[name=cap][value=h24]")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        context.close()


def test_phone_without_search_shows_filters_open(live_server, browser, site):
    context = _context(browser, **PHONE)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        _settle(page, "/")
        assert page.get_attribute("[data-filters-toggle]", "aria-expanded") == "true"
        assert page.locator("#filters-body").is_visible()
    finally:
        context.close()


def test_phone_search_without_javascript(live_server, browser, site):
    """Without JavaScript the folded filters still open (native disclosure) and the results are
    reachable from a link at the top."""
    context = browser.new_context(java_script_enabled=False, **PHONE)
    try:
        page = context.new_page()
        page.goto(live_server.url + SEARCH)
        assert "3件見つかりました" in page.inner_text("#result-count")
        box = page.locator("#result-count").bounding_box()
        assert box["y"] + box["height"] <= 740
        first = page.locator(".result").first.bounding_box()
        assert first["y"] < 740, f"first result starts at {first['y']}px"
        assert page.locator("#filters-body").is_hidden()
        page.click("summary.filters__summary")
        assert page.locator("#filters-body").is_visible()
        assert page.is_checked("input[name=cap][value=h24]")
        page.click("#search-form button[type=submit]")
        page.wait_for_url(re.compile(r"cap=h24"))
        assert page.locator(".result").count() == 3
    finally:
        context.close()


def test_map_controls_and_markers_have_names(live_server, browser, site):
    """Leaflet's zoom buttons speak the page's language; every marker and cluster is named;
    keyboard users can jump past the map's many markers to the list."""
    context = _context(browser, **DESKTOP)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/?type=nursing")
        _settle(page, "/")
        assert page.get_attribute(".leaflet-control-zoom-in", "title") == "地図を拡大"
        assert page.get_attribute(".leaflet-control-zoom-out", "title") == "地図を縮小"
        page.evaluate("window.portalMap.map.setZoom(12, { animate: false })")
        page.wait_for_selector(".marker-cluster")
        names = page.evaluate("""() => [...document.querySelectorAll('.leaflet-marker-icon')]
            .map((el) => el.getAttribute('title') || el.querySelector('.visually-hidden')?.textContent || '')""")
        assert names and all(names), names
        assert any(re.fullmatch(r"近くの\d+件。押すと地図を拡大します", n) for n in names), names
        # The "skip the map" link appears on focus and lands on the list.
        page.focus(".skip-inline")
        assert page.locator(".skip-inline").is_visible()
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "result-list"
    finally:
        context.close()


@pytest.mark.parametrize("path", ["/survey/", "/survey/register/", "correction"])
def test_axe_on_forms_showing_errors(live_server, browser, site, path):
    """The forms after an empty submission: error summary, messages tied to their fields."""
    context = _context(browser, **PHONE)
    try:
        page = context.new_page()
        page.goto(live_server.url + _resolve(path, site))
        page.evaluate("document.querySelectorAll('form').forEach((f) => { f.noValidate = true; })")
        page.locator("main form button[type=submit]").last.click()
        page.wait_for_load_state("load")
        assert page.locator("[aria-invalid='true'], .errorlist").count(), "no error shown"
        violations = _axe(page)
        assert violations == [], f"{path} with errors:\n{_report(violations)}"
    finally:
        context.close()


def test_japanese_data_on_english_pages_is_marked(live_server, browser, site):
    """WCAG 3.1.2: names and addresses that exist only in Japanese carry lang="ja" on /en/."""
    context = _context(browser, **DESKTOP)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/en/?type=nursing")
        _settle(page, "/")
        assert page.get_attribute("html", "lang") == "en"
        assert page.get_attribute(".result__name a", "lang") == "ja"
        assert page.get_attribute(".result__address", "lang") == "ja"
        page.goto(live_server.url + "/?type=nursing")
        _settle(page, "/")
        assert page.get_attribute(".result__address", "lang") is None
    finally:
        context.close()
