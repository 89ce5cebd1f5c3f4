"""The search form offers what applies: capabilities follow the chosen types with counts in
the current result, and an empty result says which condition emptied it, with a link to drop
each one (no JavaScript needed)."""

import re

import pytest

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
