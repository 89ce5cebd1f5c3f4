"""The search tells the truth, in the browser at 360 px and 1280 px: the capabilities offered
follow the chosen types (with counts), an empty result names the condition that emptied it
above the map with one link per condition, and the list says how a provider is reached now
(営業中 18:00まで / 24時間連絡可) on a frozen clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tests.browser.test_accessibility import _axe, _report
from tests.browser.test_phone import PC, PHONE, _page, _ready
from tests.browser.waits import wait_until
from tests.factories import ensure_reference, make_provider

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WEEKDAYS = [(d, dt.time(9), dt.time(18)) for d in range(5)]
TUESDAY_MORNING = dt.datetime(2025, 11, 11, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
EMPTY = "/?type=dental&cap=aseptic&district=yoga"


@pytest.fixture
def site(transactional_db):
    ensure_reference()
    make_provider(name="用賀歯科", type_code="dental", area_code="yoga", capabilities={"home_dental": None})
    make_provider(name="瀬田歯科", type_code="dental", area_code="kaminoge", capabilities={"home_dental": None})
    make_provider(name="用賀無菌薬局", type_code="pharmacy", area_code="yoga", capabilities={"aseptic": None})
    make_provider(name="日中の訪問看護", type_code="nursing", area_code="yoga", periods=WEEKDAYS)
    make_provider(name="24時間の訪問看護", type_code="nursing", area_code="yoga", periods=WEEKDAYS,
                  capabilities={"h24": None})


def _offered(page) -> dict[str, str]:
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#search-form [data-cap-types]')]
        .filter((li) => !li.hidden && li.offsetParent !== null)
        .map((li) => [li.querySelector('input[name=cap]').value, li.innerText.trim()]))""")


@pytest.mark.parametrize("args", [PHONE, PC], ids=["360", "1280"])
def test_capabilities_follow_the_chosen_types(live_server, browser, site, args):
    with _page(browser, args) as page:
        page.goto(live_server.url + "/?type=dental")
        _ready(page)
        if not page.locator("input[name=type][value=dental]").is_visible():
            page.click("[data-filters-toggle]")
        page.evaluate("document.querySelectorAll('#search-form details').forEach((d) => { d.open = true; })")
        offered = _offered(page)
        assert "aseptic" not in offered  # 無菌調剤 applies to pharmacies only
        assert offered["home_dental"].startswith("訪問歯科診療 (2"), offered["home_dental"]
        # Ticking 薬局 too offers 無菌調剤 at once, before searching again.
        page.check("input[name=type][value=pharmacy]")
        wait_until(page, "[...document.querySelectorAll('#search-form [data-cap-types]')]"
                         ".some((li) => !li.hidden && li.querySelector('input[value=aseptic]'))")
        page.uncheck("input[name=type][value=pharmacy]")
        wait_until(page, "document.querySelector('#search-form input[value=aseptic]').closest('[data-cap-types]').hidden")


@pytest.mark.parametrize("args", [PHONE, PC], ids=["360", "1280"])
def test_empty_result_explains_itself_above_the_map(live_server, browser, site, args):
    with _page(browser, args) as page:
        page.goto(live_server.url + EMPTY)
        _ready(page)
        box = page.locator("#empty-result")
        assert box.is_visible()
        top = box.bounding_box()["y"]
        assert top <= 1.5 * args["viewport"]["height"], f"the explanation starts {top:.0f}px down"
        assert page.evaluate("""() => {
            const box = document.querySelector('#empty-result').getBoundingClientRect();
            const body = document.querySelector('.results__body').getBoundingClientRect();
            return box.bottom <= body.top + 1;
        }""")
        links = box.locator(".relax-list a")
        assert links.count() == 3  # one per condition: 種別, 無菌調剤, 地区
        violations = _axe(page)
        assert violations == [], f"empty result:\n{_report(violations)}"
        # Dropping 無菌調剤 finds the dentist of 用賀.
        box.get_by_role("link", name="「無菌調剤」を外す").click()
        page.wait_for_load_state("load")
        _ready(page)
        assert page.locator(".result").count() == 1
        assert "用賀歯科" in page.locator(".result").first.inner_text()
        assert page.locator("#empty-result").count() == 0


@pytest.mark.parametrize("args", [PHONE, PC], ids=["360", "1280"])
def test_list_and_popup_say_how_a_provider_is_reached_now(live_server, browser, site, args, time_machine):
    time_machine.move_to(TUESDAY_MORNING, tick=False)
    with _page(browser, args) as page:
        page.goto(live_server.url + "/?type=nursing")
        _ready(page)
        cards = {c.locator(".result__name a").inner_text().strip(): c.inner_text() for c in page.locator(".result").all()}
        assert "営業中 18:00まで" in cards["24時間の訪問看護"] and "今日: 09:00-18:00" in cards["24時間の訪問看護"]
        assert "営業中 18:00まで" in cards["日中の訪問看護"]
        time_machine.move_to(TUESDAY_MORNING.replace(hour=22), tick=False)
        page.goto(live_server.url + "/?type=nursing&nightholiday=1")
        _ready(page)
        assert page.locator(".result").count() == 1
        first = page.locator(".result").first
        assert "24時間連絡可" in first.inner_text() and "24時間の訪問看護" in first.inner_text()
        if args is PHONE:  # the map is one tap away; its marker opens the popup
            page.click("[data-view=map]")
            wait_until(page, "document.querySelector('#map').offsetHeight > 100")
            page.locator("#map .leaflet-marker-icon").first.click()
        else:
            first.locator("[data-show-marker]").click()
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        assert popup.locator("a[href^='tel:']").count() == 1 and "24時間の訪問看護" in popup.inner_text()


@pytest.mark.parametrize("args", [PHONE, PC], ids=["360", "1280"])
def test_stale_data_is_flagged_in_the_list_on_the_page_and_the_shortlist(live_server, browser, site, args, time_machine):
    time_machine.move_to(TUESDAY_MORNING, tick=False)
    old = make_provider(name="古い訪問看護", type_code="nursing", area_code="yoga",
                        last_confirmed_on=dt.date(2024, 9, 3))
    fresh = make_provider(name="新しい訪問看護", type_code="nursing", area_code="yoga",
                          last_confirmed_on=dt.date(2025, 6, 1))
    flag = "情報が古い可能性があります（最終確認 2024年9月3日）"
    with _page(browser, args) as page:
        page.goto(live_server.url + "/?type=nursing&q=訪問看護")
        _ready(page)
        cards = {c.locator(".result__name a").inner_text().strip(): c for c in page.locator(".result").all()}
        assert cards["古い訪問看護"].get_by_text(flag).is_visible()
        assert flag not in cards["新しい訪問看護"].inner_text()
        for path in (f"/providers/{old.pk}/", f"/shortlist/?ids={old.pk},{fresh.pk}"):
            page.goto(live_server.url + path)
            _ready(page)
            assert page.get_by_text(flag).first.is_visible(), path
            assert page.get_by_text(flag).count() == 1, path
