"""On a site with more areas than a list can show, a resident types the 地区 into one field: the
browser suggests 「区市町村 地区」 names while typing, the search runs on the chosen one and the
address bar carries its code; a name two towns share asks which one, with a link to each.
axe-core finds nothing with the suggestions or the question on screen."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest

from resourcemap.models import Area, DataVersion
from tests.browser.test_accessibility import _axe, _report
from tests.browser.test_phone import PC, PHONE, _context, _ready, stations  # noqa: F401 (fixture)
from tests.browser.waits import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _second_taishido() -> None:
    region = Area.objects.create(
        code="yokohama", name="横浜市", level=Area.Level.REGION, center_lat=Decimal("35.44"),
        center_lng=Decimal("139.64"), sort_order=5000,
    )
    Area.objects.create(
        code="yokohama_1", name="太子堂", level=Area.Level.DISTRICT, parent=region,
        center_lat=region.center_lat, center_lng=region.center_lng, sort_order=5001,
    )
    DataVersion.bump()


def _open_filters(page) -> None:
    if not page.locator("#f-area").is_visible():
        page.click("[data-filters-toggle]")


@pytest.mark.parametrize("args", [PHONE, PC], ids=["360", "1280"])
def test_a_typed_district_is_suggested_and_searched(live_server, browser, stations, settings, args):  # noqa: F811
    settings.AREA_SELECT_MAX = 10
    _second_taishido()
    context = _context(browser, args)
    try:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(live_server.url + "/?type=nursing")
        _ready(page)
        assert page.locator("select[name=district]").count() == 0
        _open_filters(page)
        page.fill("#f-area", "たいし")
        wait_until(page, "document.querySelectorAll('#f-area-list option').length >= 1")
        options = page.evaluate("[...document.querySelectorAll('#f-area-list option')].map((o) => o.value)")
        assert options == ["世田谷 太子堂"]  # the reading: only the district that has one
        page.fill("#f-area", "太子")
        wait_until(page, "document.querySelectorAll('#f-area-list option').length === 2")
        assert page.get_attribute("#f-area", "list") == "f-area-list"
        violations = _axe(page)
        assert violations == [], f"map page with area suggestions:\n{_report(violations)}"

        # A name two towns use: the question at the field, with a link to each.
        page.fill("#f-area", "太子堂")
        page.locator("#f-area").press("Enter")
        page.wait_for_selector("#f-area-error")
        _ready(page)
        _open_filters(page)
        assert "いくつかあります" in page.locator("#f-area-error").inner_text()
        assert page.get_attribute("#f-area", "aria-invalid") == "true"
        violations = _axe(page)
        assert violations == [], f"map page asking which 太子堂:\n{_report(violations)}"
        page.click("#f-area-error a:text('世田谷 太子堂')")
        page.wait_for_url(lambda url: "district=taishido" in url)
        _ready(page)
        query = parse_qs(urlparse(page.url).query)
        assert query == {"type": ["nursing"], "district": ["taishido"]}
        assert page.locator(".result").count() == len(stations)
        _open_filters(page)
        assert page.input_value("#f-area") == "世田谷 太子堂"

        # Typed with the municipality: searched at once, the address bar carries the code.
        page.fill("#f-area", "横浜 太子堂")
        page.locator("#f-area").press("Enter")
        page.wait_for_url(lambda url: "district=yokohama_1" in url)
        _ready(page)
        assert "area=" not in page.url
        assert page.locator(".result").count() == 0
        assert errors == []
    finally:
        context.close()
