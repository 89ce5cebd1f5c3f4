"""The search form offers what applies: capabilities follow the chosen types with counts in
the current result, and an empty result says which condition emptied it, with a link to drop
each one (no JavaScript needed)."""

import re
from html.parser import HTMLParser

import pytest
from django.http import QueryDict

from resourcemap import search
from tests.factories import make_provider

pytestmark = pytest.mark.django_db


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


def offered_capabilities(html: str) -> dict[str, str]:
    """Capability code -> visible label text, for the items not hidden."""
    out = {}
    for attrs, body in re.findall(r"<li data-cap-types=[^>]*?((?: hidden)?)>(.*?)</li>", html, re.S):
        if attrs:
            continue
        code = re.search(r'name="cap" value="([^"]+)"', body).group(1)
        out[code] = text(re.sub(r'<span class="visually-hidden">.*?</span>', "", body))
    return out


def empty_box(html: str) -> str | None:
    match = re.search(r'<div class="notice notice--warning empty" id="empty-result">(.*?)</div>', html, re.S)
    return match.group(1) if match else None


def test_capabilities_follow_the_chosen_types_with_counts(client):
    make_provider(type_code="dental", capabilities={"home_dental": None})
    make_provider(type_code="dental", capabilities={"home_dental": None, "oral_care": None})
    make_provider(type_code="pharmacy", capabilities={"aseptic": None})
    offered = offered_capabilities(client.get("/", {"type": "dental"}).content.decode())
    assert "aseptic" not in offered  # 無菌調剤 is for pharmacies only
    assert "home_pharmacy" not in offered
    assert offered["home_dental"] == "訪問歯科診療 (2)"
    assert offered["oral_care"] == "口腔ケア (1)"
    # No type chosen: everything is offered, counted over the whole result.
    everything = offered_capabilities(client.get("/").content.decode())
    assert everything["aseptic"] == "無菌調剤 (1)"
    # A chosen capability stays on screen even when it does not apply, so it can be unticked.
    chosen = offered_capabilities(client.get("/", {"type": "dental", "cap": "aseptic"}).content.decode())
    assert chosen["aseptic"] == "無菌調剤 (0)"


def test_empty_result_names_each_condition_with_a_link_to_drop_it(client):
    make_provider(type_code="dental", area_code="yoga")
    make_provider(type_code="pharmacy", area_code="yoga", capabilities={"aseptic": None})
    response = client.get("/", {"type": "dental", "cap": "aseptic", "district": "yoga"})
    html = response.content.decode()
    box = empty_box(html)
    assert box is not None
    items = [text(li) for li in re.findall(r"<li>(.*?)</li>", box, re.S)]
    links = dict((text(label), href) for href, label in re.findall(r'<a href="([^"]+)">(.*?)</a>', box))
    assert links["「種別（歯科診療所）」を外す"] == "/?cap=aseptic&amp;district=yoga"
    assert links["「無菌調剤」を外す"] == "/?type=dental&amp;district=yoga"
    assert "「無菌調剤」を外す （1件）" in items
    assert "「地区・地域（用賀）」を外す （0件）" in items
    # The explanation comes before the map and the list.
    assert html.index('id="empty-result"') < html.index('class="results__body"')


def test_no_explanation_when_there_are_results(client):
    make_provider(type_code="dental")
    assert empty_box(client.get("/", {"type": "dental"}).content.decode()) is None


# ---------------------------------------------------------------------------------------------
# The filter panel is the search's form (resourcemap.search.SearchForm)


class _Submitted(HTMLParser):
    """What the browser would send for the filter form (checked boxes, selected options)."""

    def __init__(self):
        super().__init__()
        self.pairs: list[tuple[str, str]] = []
        self.in_form = False
        self.select: str | None = None
        self.options: list[tuple[str, bool]] = []  # (value, selected) of the open select

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == "search-form":
            self.in_form = True
        if not self.in_form:
            return
        if tag == "input" and a.get("name") and a.get("name") != "near":
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.pairs.append((a["name"], a.get("value") or ""))
        elif tag == "select":
            self.select, self.options = a["name"], []
        elif tag == "option" and self.select:
            self.options.append((a.get("value", ""), "selected" in a))

    def handle_endtag(self, tag):
        if tag == "select" and self.select:
            # The selected option, else the first one (as a browser does).
            chosen = [value for value, selected in self.options if selected] or [self.options[0][0]]
            self.pairs.append((self.select, chosen[-1]))
            self.select = None
        if tag == "form":
            self.in_form = False


def submitted(html: str) -> QueryDict:
    parser = _Submitted()
    parser.feed(html)
    data = QueryDict(mutable=True)
    for name, value in parser.pairs:
        data.appendlist(name, value)
    return data


def field_html(html: str, field_id: str) -> str:
    match = re.search(rf'<select[^>]*id="{field_id}".*?</select>|<input[^>]*id="{field_id}"[^>]*>', html, re.S)
    return match.group(0)


def test_the_filter_panel_shows_what_was_searched_and_submits_the_same_search(client):
    make_provider(type_code="dental", area_code="yoga", capabilities={"home_dental": None})
    query = (
        "type=dental&cap=home_dental&district=yoga&q=ｻｸﾗ&day=2&time=9:05&nightholiday=on"
        "&lat=35.6&lng=139.6&radius=1000&place=用賀駅&sort=area"
    )
    first = client.get("/?" + query)
    html = first.content.decode()
    # Labels stay tied to their fields; the chosen values are shown as they were used.
    assert '<label for="f-q">名前・住所のことば</label>' in html
    assert 'value="サクラ"' in field_html(html, "f-q")  # as searched (width folded)
    assert 'value="09:05"' in field_html(html, "f-time")
    assert '<option value="2" selected>水曜日</option>' in field_html(html, "f-day")
    assert '<option value="1000" selected>1.0 km以内</option>' in field_html(html, "f-radius")
    assert '<option value="yoga" selected>用賀</option>' in field_html(html, "f-district")
    assert '<option value="area" selected>地域・地区順</option>' in field_html(html, "f-sort")
    assert '<input type="radio" name="open" value="at" checked>' in html
    assert '<input type="checkbox" name="nightholiday" value="1" checked>' in html
    # Submitting the form unchanged (without JavaScript) gives the same search.
    again = client.get("/", submitted(html))
    assert again.context["result"].querystring == first.context["result"].querystring
    assert "nightholiday=1" in again.context["result"].querystring
    assert again.context["result"].ignored == []


def test_values_that_were_dropped_are_not_shown_again(client):
    html = client.get("/", {"time": "25:00", "radius": "500", "q": "あ" * 120}).content.decode()
    assert "value=" not in field_html(html, "f-time")
    assert "selected" not in field_html(html, "f-radius").split("</option>", 1)[1]  # 指定しない
    assert f'value="{"あ" * 100}"' in field_html(html, "f-q")
    # …and each is explained above the form, in the words used everywhere.
    assert "時刻「25:00」は「18:30」の形で入れてください。無視しました。" in html
    assert "場所が決まっていないため、半径の条件は使いませんでした。" in html
    assert "キーワードが長すぎるため、先頭の100文字で探しました。" in html


def test_english_page_renders_the_form_in_english(client):
    html = client.get("/en/", {"open": "now"}).content.decode()
    assert '<input type="radio" name="open" value="now" checked>' in html
    assert "いま営業している" not in html.split('id="search-form"', 1)[1].split("</form>", 1)[0]


def test_search_form_drops_bad_fields_into_errors_and_keeps_the_usable_part():
    form = search.SearchForm(
        QueryDict("type=dental,nope&region=kitazawa&district=yoga&day=8&open=now&time=10:00&utm=x")
    )
    params = form.search_params()
    assert params["type"] == ["dental"]  # the known code stays
    assert form.errors["type"] == ["種別「nope」は見つからないため、無視しました。"]
    assert "day" not in params and form.errors["day"] == ["曜日・日付「8」が分からないため、無視しました。"]
    # The district wins over a region it is not in: the region is dropped, with the reason.
    assert params["district"] == "yoga" and "region" not in params
    assert form.errors["region"] == ["地区「用賀」は地域「北沢」に含まれないため、地域の条件を外しました。"]
    # 「いま営業中」 drops the chosen time.
    assert params["open"] == "now" and "time" not in params
    assert form.errors["time"] == ["「いま営業中」を選んだため、曜日と時刻は使いませんでした。"]
    # ``ignored`` lists the form's own message first, then the fields in the order of the form.
    assert form.ignored == [
        "「utm」という条件は使えないため、無視しました。",
        "種別「nope」は見つからないため、無視しました。",
        "地区「用賀」は地域「北沢」に含まれないため、地域の条件を外しました。",
        "曜日・日付「8」が分からないため、無視しました。",
        "「いま営業中」を選んだため、曜日と時刻は使いませんでした。",
    ]
    assert search.clean(QueryDict("type=dental,nope")) == ({"type": ["dental"], "cap": [], "sort": "kana", "page": 1},
                                                          ["種別「nope」は見つからないため、無視しました。"])
