"""A care manager shares a five-provider shortlist by link or QR, and a family reads it on a
phone: the phone list, its share/copy link, the way back to the search, the QR codes."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import quote

import pytest

from resourcemap import staticmap
from tests.browser.test_accessibility import DESKTOP, PHONE, _axe, _context, _report
from tests.browser.waits import wait_until
from tests.factories import ensure_reference, make_provider
from tests.printing_helpers import decode_qr_pdf, decode_qr_png

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SEARCH = "type=nursing&cap=h24&region=tamagawa"


@pytest.fixture(autouse=True)
def offline_print(settings, tmp_path, live_server):
    settings.SITE_URL = live_server.url  # the QR codes and shared links open this server
    settings.PRINT_MAP_TILE_URL = "http://127.0.0.1:9/{z}/{x}/{y}.png"
    settings.TILE_CACHE_DIR = tmp_path / "tiles"
    staticmap.reset_offline()


@pytest.fixture
def browser_context_args():
    return {**DESKTOP, "permissions": ["clipboard-read", "clipboard-write"]}


@pytest.fixture
def nurses(transactional_db):
    ensure_reference()
    names = ["あおば", "いずみ", "うぐいす", "えのき", "おおぞら", "かすみ", "きぼう", "くるみ"]
    made = [
        make_provider(
            name=f"{name}訪問看護ステーション", kana=f"{name}ホウモンカンゴ", type_code="nursing",
            capabilities={"h24": None}, area_code=("okusawa", "yoga")[i % 2], fax="03-2222-0000",
            latitude=Decimal("35.6265") + Decimal(i) / 1000, longitude=Decimal("139.6335"),
        )
        for i, name in enumerate(names)
    ]
    make_provider(name="よその薬局", type_code="pharmacy", area_code="yoga")
    return made


def _watch_csp(page) -> list[str]:
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text)
            if "Content Security Policy" in msg.text or msg.text.startswith("Refused to") else None)
    return violations


def _no_sideways_scroll(page, label: str) -> None:
    width, client = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width <= client, f"{label}: {width}px wide in a {client}px viewport"


def test_care_manager_shares_five_providers_by_link_or_qr_and_a_family_reads_them_on_a_phone(
    live_server, browser, browser_page, nurses, tmp_path,
):
    url = live_server.url
    page = browser_page
    # The care manager searches and ticks five stations.
    page.goto(f"{url}/?{SEARCH}")
    chosen = [nurses[6], nurses[0], nurses[4], nurses[2], nurses[7]]
    for provider in chosen:
        page.locator(f'li[data-provider-id="{provider.pk}"] input[data-shortlist-tick]').check()
    assert "5件" in page.locator(".shortlist-bar").inner_text()

    # The bar opens the list of those five (not the A4 editor), with the search it came from.
    page.locator("[data-shortlist-open]").click()
    page.wait_for_url("**/shortlist/?ids=*")
    items = page.locator(".shortlist__list > li")
    assert items.count() == 5
    in_kana_order = sorted(chosen, key=lambda p: p.kana)
    assert [items.nth(i).locator(".result__name a").inner_text() for i in range(5)] == [
        p.name for p in in_kana_order]
    conditions = page.locator(".conditions").inner_text()
    assert "訪問看護ステーション" in conditions and "24時間対応" in conditions and "玉川" in conditions

    # The link is on the page to select by hand, and the copy button puts it on the clipboard.
    field = page.locator("#share-url")
    assert field.is_visible()
    link = field.input_value()
    ids = ",".join(str(p.pk) for p in in_kana_order)
    assert link == f"{url}/shortlist/?ids={ids}&from={quote(SEARCH, safe='')}"
    page.locator("[data-share-copy]").click()
    wait_until(page, "document.querySelector('[data-share-status]').textContent.length > 0")
    assert "コピーしました" in page.locator("[data-share-status]").inner_text()
    assert page.evaluate("navigator.clipboard.readText()") == link

    # The QR code on the page opens the same list.
    page.locator(".share__qr summary").click()
    qr_png = tmp_path / "screen-qr.png"
    page.locator(".share__qr-code svg").screenshot(path=str(qr_png))
    assert decode_qr_png(qr_png) == [link]

    # Back to the search it came from.
    page.locator("[data-back-link]").click()
    page.wait_for_url(f"{url}/?{SEARCH}")
    page.go_back()
    page.wait_for_url("**/shortlist/?ids=*")

    # Print: the A4 editor shows the search, goes back to it, and its PDF's QR opens the list.
    page.locator("[data-print-link]").click()
    page.wait_for_url("**/print/?ids=*")
    assert page.locator("table.list tbody tr").count() == 5
    assert "さがした条件" in page.locator(".conditions--origin").inner_text()
    assert page.locator("[data-back-link]").get_attribute("href") == f"/?{SEARCH}"
    pdf_action = page.locator("#pdf-form").get_attribute("action")
    pdf = page.request.post(url + pdf_action, form={"note": "山田様ご家族へ"},
                            headers={"X-CSRFToken": page.locator("#pdf-form input[name=csrfmiddlewaretoken]").get_attribute("value")})
    assert pdf.headers["content-type"] == "application/pdf"
    assert decode_qr_pdf(pdf.body()) == [link]

    # The family opens the link (or scans the QR) on a phone.
    for args, label in ((PHONE, "360 px"), ({**PHONE, "viewport": {"width": 320, "height": 640}}, "320 px")):
        family = _context(browser, **args)
        try:
            phone = family.new_page()
            violations = _watch_csp(phone)
            phone.goto(link)
            cards = phone.locator(".shortlist__list > li")
            assert cards.count() == 5
            first = cards.first.bounding_box()
            assert first["y"] < args["viewport"]["height"], f"first provider starts at {first['y']}px ({label})"
            for i, provider in enumerate(in_kana_order):
                card = cards.nth(i)
                assert card.locator(f'a[href="tel:{provider.phone}"]').is_visible()
                assert card.locator("a[href^='https://www.google.com/maps/dir/']").count() == 1
            _no_sideways_scroll(phone, label)
            phone.evaluate("document.documentElement.classList.add('large-text', 'text-200')")
            _no_sideways_scroll(phone, f"{label} at 200% text")
            assert phone.locator("[data-print-link]").is_visible()
            # The QR shown on the phone (to pass the list on to another phone) opens it too.
            phone.locator(".share__qr summary").click()
            phone_qr = tmp_path / f"phone-qr-{args['viewport']['width']}.png"
            phone.locator(".share__qr-code svg").screenshot(path=str(phone_qr))
            assert decode_qr_png(phone_qr) == [link], label
            assert violations == []
        finally:
            family.close()
    assert page.console_errors == []


def test_share_link_is_visible_and_selectable_without_javascript(live_server, browser, nurses):
    ids = ",".join(str(p.pk) for p in nurses[:5])
    for args in (PHONE, DESKTOP):
        context = browser.new_context(**args, java_script_enabled=False)
        try:
            page = context.new_page()
            page.goto(f"{live_server.url}/shortlist/?ids={ids}&from={quote(SEARCH)}")
            field = page.locator("#share-url")
            assert field.is_visible() and field.get_attribute("readonly") is not None
            assert field.input_value().startswith(f"{live_server.url}/shortlist/?ids=")
            assert page.locator("[data-share-copy]").is_hidden()
            assert page.locator("[data-share-native]").is_hidden()
            assert page.locator("[data-print-link]").is_visible()
            assert page.locator(".shortlist__list > li").count() == 5
        finally:
            context.close()


def test_web_share_button_hands_the_link_to_the_phone(live_server, browser, nurses):
    """Where the browser has the Web Share API, the 共有する button passes the list's link."""
    ids = ",".join(str(p.pk) for p in nurses[:5])
    context = _context(browser, **PHONE)
    try:
        page = context.new_page()
        page.add_init_script(
            "navigator.share = (data) => { window.__shared = data; return Promise.resolve(); };")
        page.goto(f"{live_server.url}/shortlist/?ids={ids}")
        page.locator("[data-share-native]").click()
        wait_until(page, "!!window.__shared")
        shared = page.evaluate("window.__shared")
        assert shared["url"] == page.locator("#share-url").input_value()
        assert shared["title"] == "選んだ事業所の一覧"
    finally:
        context.close()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_axe_on_the_shortlist_pages(live_server, browser, nurses, viewport):
    ids = ",".join(str(p.pk) for p in nurses[:5])
    paths = [
        f"/shortlist/?ids={ids}&from={quote(SEARCH)}",
        f"/en/shortlist/?ids={ids}&from={quote(SEARCH)}",
        "/shortlist/?ids=abc",
        f"/print/?ids={ids}&from={quote(SEARCH)}",
        f"/print/?ids={ids}&opts=1&map=last&hours=1",
        f"/en/print/?ids={ids}&from={quote(SEARCH)}",
    ]
    context = _context(browser, **(DESKTOP if viewport == "desktop" else PHONE))
    try:
        page = context.new_page()
        for path in paths:
            page.goto(live_server.url + path)
            page.wait_for_load_state("load")
            if page.locator(".share__qr summary").count():
                page.locator(".share__qr summary").click()  # the QR code open as well
            violations = _axe(page)
            assert violations == [], f"{path} at {viewport}:\n{_report(violations)}"
    finally:
        context.close()
