"""Print preview in Chromium: shortlist from the result list, and the same page count as the PDF."""

from __future__ import annotations

import pytest

from resourcemap import staticmap
from tests.factories import ensure_reference, make_provider
from tests.printing_helpers import pdf_pages

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def offline_tiles(settings, tmp_path):
    settings.PRINT_MAP_TILE_URL = "http://127.0.0.1:9/{z}/{x}/{y}.png"
    settings.TILE_CACHE_DIR = tmp_path / "tiles"
    staticmap.reset_offline()


def _clinics(n: int, prefix: str = "クリニック"):
    ensure_reference()
    return [
        make_provider(name=f"{prefix}{i:02d}", kana=f"{prefix}{i:02d}", capabilities={"h24": {}})
        for i in range(n)
    ]


def test_shortlist_of_three_from_the_list_prints_exactly_those(live_server, browser_page, transactional_db):
    providers = _clinics(6)
    page = browser_page
    page.goto(f"{live_server.url}/?type=clinic")
    chosen = [providers[4], providers[1], providers[3]]
    for provider in chosen:
        page.locator(f'li[data-provider-id="{provider.pk}"] input[data-shortlist-tick]').check()
    bar = page.locator(".shortlist-bar")
    assert "3件" in bar.inner_text()

    # The shortlist survives moving to another search.
    page.goto(f"{live_server.url}/?type=pharmacy")
    assert "3件" in page.locator(".shortlist-bar").inner_text()
    page.goto(f"{live_server.url}/?type=clinic")
    assert page.locator("input[data-shortlist-tick]:checked").count() == 3

    # The bar opens the list of the chosen providers; its print button opens the A4 editor.
    page.locator("[data-shortlist-open]").click()
    page.wait_for_url("**/shortlist/?ids=*")
    assert page.locator(".shortlist__list > li").count() == 3
    page.locator("[data-print-link]").click()
    page.wait_for_url("**/print/?ids=*")
    rows = page.locator("table.list tbody tr")
    assert rows.count() == 3
    numbers = [rows.nth(i).locator("td.col-no").inner_text().strip() for i in range(3)]
    names = [rows.nth(i).locator(".name").inner_text().strip() for i in range(3)]
    assert numbers == ["1", "2", "3"]
    # Printed in 五十音 order: クリニック01, 03, 04.
    assert names == [providers[1].name, providers[3].name, providers[4].name]
    assert page.locator("h1.sheet-title").inner_text() == "選んだ事業所の一覧"
    assert page.locator("[data-print]").is_visible()

    # Clearing on request empties the shortlist.
    page.goto(f"{live_server.url}/?type=clinic")
    page.locator(".shortlist-bar [data-shortlist-clear]").click()
    assert page.locator("input[data-shortlist-tick]:checked").count() == 0
    assert page.locator(".shortlist-bar").is_hidden()
    assert page.console_errors == []


@pytest.mark.parametrize("options", ["", "&opts=1&orient=landscape&map=1&hours=1&cols=h24&cols=mitori"])
def test_browser_print_and_pdf_have_the_same_page_count(live_server, browser_page, transactional_db, options):
    _clinics(38, prefix="シンリョウジョ")
    query = f"type=clinic&title=%E5%8D%B0%E5%88%B7%E3%81%AE%E8%A9%A6%E9%A8%93{options}"
    page = browser_page
    page.goto(f"{live_server.url}/print/?{query}")
    assert page.locator("table.list tbody tr").count() == 38
    browser_pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    server_pdf = page.request.get(f"{live_server.url}/print/pdf/?{query}").body()
    browser_count, server_count = pdf_pages(browser_pdf), pdf_pages(server_pdf)
    assert browser_count >= 2
    assert browser_count == server_count
