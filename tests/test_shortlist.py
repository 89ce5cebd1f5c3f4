"""The shortlist's phone list (/shortlist/): what its link and QR open, sharing, the way back."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import quote

import pytest

from resourcemap import staticmap
from resourcemap.models import Provider
from resourcemap.shortlist_views import origin_query
from tests.factories import make_provider
from tests.printing_helpers import decode_qr_pdf

SITE = "https://map.example.jp"
SEARCH = "type=nursing&cap=h24&region=tamagawa"


@pytest.fixture(autouse=True)
def site(settings, tmp_path):
    settings.SITE_URL = SITE
    settings.ALLOWED_HOSTS = ["testserver", "evil.example"]
    settings.PRINT_MAP_TILE_URL = "http://127.0.0.1:9/{z}/{x}/{y}.png"
    settings.TILE_CACHE_DIR = tmp_path / "tiles"
    staticmap.reset_offline()


def _nurses(n: int = 5):
    names = ["わかば訪問看護", "あおぞら訪問看護", "みどり訪問看護", "かえで訪問看護", "さくら訪問看護"]
    kana = ["ワカバ", "アオゾラ", "ミドリ", "カエデ", "サクラ"]
    return [
        make_provider(type_code="nursing", area_code="okusawa", name=names[i], kana=kana[i],
                      capabilities={"h24": {}}, fax="03-1111-2222", contact_person="非公開一郎")
        for i in range(n)
    ]


def _attr(html: str, pattern: str) -> str:
    return unescape(re.search(pattern, html).group(1))


@pytest.mark.django_db
def test_list_shows_exactly_the_chosen_providers_numbered_like_the_sheet(client):
    nurses = _nurses()
    make_provider(type_code="nursing", name="えらばれない訪問看護", kana="エラバレナイ")
    ids = ",".join(str(p.pk) for p in nurses)
    html = client.get(f"/shortlist/?ids={ids}&from={quote(SEARCH)}").content.decode()
    names = re.findall(r'<span class="shortlist__number">(\d+)</span>.*?<a href="/providers/\d+/\?list=[^"]*"[^>]*>([^<]+)</a>', html)
    assert names == [("1", "あおぞら訪問看護"), ("2", "かえで訪問看護"), ("3", "さくら訪問看護"),
                     ("4", "みどり訪問看護"), ("5", "わかば訪問看護")]
    assert "えらばれない訪問看護" not in html
    assert "（5件）" in html
    # Phone numbers are tappable, private contacts stay in the back office.
    for provider in nurses:
        assert f'href="tel:{provider.phone}"' in html
    assert "非公開一郎" not in html
    # The originating search: its conditions, and the way back to it.
    assert "種別: 訪問看護ステーション" in html and "対応できること: 24時間対応" in html and "地域: 玉川" in html
    assert _attr(html, r'<a href="([^"]+)" data-back-link>') == f"/?{SEARCH}"
    # A visible, selectable link to share (absolute, on SITE_URL) and a button to the print editor.
    share = _attr(html, r'id="share-url"[^>]*value="([^"]+)"')
    assert share == f"{SITE}/shortlist/?ids={','.join(str(p.pk) for p in sorted(nurses, key=lambda p: p.kana))}&from={quote(SEARCH, safe='')}"
    assert "readonly" in re.search(r'<input id="share-url"[^>]*>', html).group(0)
    printed = _attr(html, r'<a class="button button--secondary" href="([^"]+)" data-print-link>')
    assert printed.startswith("/print/?ids=") and f"from={quote(SEARCH, safe='')}" in printed
    assert "js/share.js" in html and "<script>" not in html


@pytest.mark.django_db
def test_shared_link_opens_the_same_list(client):
    nurses = _nurses(3)
    first = client.get(f"/shortlist/?ids={nurses[2].pk},{nurses[0].pk},{nurses[1].pk}").content.decode()
    share = _attr(first, r'id="share-url"[^>]*value="([^"]+)"')
    again = client.get(share.removeprefix(SITE)).content.decode()
    assert _attr(again, r'id="share-url"[^>]*value="([^"]+)"') == share
    assert again.count('class="shortlist__number"') == 3


@pytest.mark.django_db
def test_non_public_unknown_and_garbage_ids_are_left_out_never_everything(client):
    shown = make_provider(name="公開の診療所", kana="コウカイ")
    closed = make_provider(name="廃止の診療所", kana="ハイシ", status=Provider.Status.CLOSED)
    html = client.get(f"/shortlist/?ids={shown.pk},{closed.pk},999999,abc").content.decode()
    assert "公開の診療所" in html and "廃止の診療所" not in html
    assert "外しました" in html
    for query in ("", "ids=", "ids=abc,-1", f"ids={closed.pk}"):
        response = client.get(f"/shortlist/?{query}")
        assert response.status_code == 200
        page = response.content.decode()
        assert "公開の診療所" not in page
        assert "いま公開されている事業所がありません" in page


@pytest.mark.parametrize("value, expected", [
    ("type=clinic&cap=h24", "type=clinic&cap=h24"),
    ("?type=clinic", "type=clinic"),
    ("/?type=clinic&page=3&ids=1,2", "type=clinic"),
    ("/en/?region=tamagawa", "region=tamagawa"),
    ("type=clinic&next=https://evil.example/", "type=clinic"),
    ("https://evil.example/?type=clinic", ""),
    ("//evil.example/?type=clinic", ""),
    ("/\\evil.example/?type=clinic", ""),
    ("\\\\evil.example/?type=clinic", ""),
    ("javascript://alert(1)", ""),
    ("/admin/?type=clinic", ""),
    ("/print/?type=clinic", ""),
    ("/nowhere/?type=clinic", ""),
    ("type=spaceship", ""),
    ("\x00type=clinic", "type=clinic"),
])
@pytest.mark.django_db
def test_origin_is_only_ever_this_sites_map_search(value, expected, reference):
    assert origin_query(value) == expected


@pytest.mark.parametrize("origin", [
    "https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)",
    "%0d%0aLocation:%20https://evil.example/", "/" + "a" * 5000,
])
@pytest.mark.django_db
def test_back_links_never_leave_the_site(client, origin):
    nurse = _nurses(1)[0]
    for path in ("/shortlist/", "/print/"):
        response = client.get(f"{path}?ids={nurse.pk}&from={quote(origin)}")
        assert response.status_code == 200
        html = response.content.decode()
        back = _attr(html, r'<a href="([^"]+)" data-back-link>')
        assert back == "/"
        links = [unescape(h) for h in re.findall(r'(?:href|action|value)="([^"]*)"', html)]
        links = [h for h in links if h != f"{path}?ids={nurse.pk}&from={quote(origin)}"]  # language switch "next"
        assert not [h for h in links if "evil" in h or "javascript" in h]


@pytest.mark.django_db
def test_shortlist_sheet_shows_its_search_goes_back_there_and_its_qr_opens_the_phone_list(client):
    nurses = _nurses()
    ids = ",".join(str(p.pk) for p in nurses)
    html = client.get(f"/print/?ids={ids}&from={quote('/?' + SEARCH)}").content.decode()
    assert _attr(html, r'<a href="([^"]+)" data-back-link>') == f"/?{SEARCH}"
    assert "さがした条件" in html and "地域: 玉川" in html
    # The options form and the PDF keep the originating search.
    assert f'name="from" value="{SEARCH.replace("&", "&amp;")}"' in html
    pdf_url = _attr(html, r'<form id="pdf-form" method="post" action="([^"]+)"')
    assert f"from={quote(SEARCH, safe='')}" in pdf_url
    pdf = client.post(pdf_url).content
    kana_order = ",".join(str(p.pk) for p in sorted(nurses, key=lambda p: p.kana))
    expected = f"{SITE}/shortlist/?ids={kana_order}&from={quote(SEARCH, safe='')}"
    assert decode_qr_pdf(pdf) == [expected]
    # What the QR opens is the phone list of the same five, not the A4 editor.
    phone = client.get(expected.removeprefix(SITE), HTTP_HOST="evil.example").content.decode()
    assert phone.count('class="shortlist__number"') == 5
    assert 'class="paper"' not in phone


@pytest.mark.django_db
def test_english_list(client):
    nurse = make_provider(type_code="nursing", name="ひかり訪問看護", kana="ヒカリ", name_en="Hikari Nursing")
    html = client.get(f"/en/shortlist/?ids={nurse.pk}&from=region%3Dtamagawa").content.decode()
    assert "Hikari Nursing" in html
    assert _attr(html, r'<a href="([^"]+)" data-back-link>') == "/en/?region=tamagawa"
    assert f"{SITE}/en/shortlist/?ids={nurse.pk}" in unescape(html)
    assert "/en/print/?ids=" in unescape(html)


@pytest.mark.django_db
def test_a_provider_opened_from_a_shortlist_leads_back_to_that_list(client):
    nurses = _nurses(3)
    ids = ",".join(str(p.pk) for p in nurses)
    html = client.get(f"/shortlist/?ids={ids}&from={quote(SEARCH)}").content.decode()
    first = unescape(re.search(r'<a href="(/providers/\d+/\?[^"]+)"', html).group(1))
    page = client.get(first).content.decode()
    back = re.search(r'<p class="breadcrumb"><a href="([^"]+)">([^<]+)</a>', page)
    assert back.group(2) == "選んだ事業所の一覧にもどる"
    listed = unescape(back.group(1))
    assert listed.startswith("/shortlist/?ids=") and f"from={quote(SEARCH, safe='')}" in listed
    again = client.get(listed).content.decode()
    assert [int(pk) for pk in re.findall(r'<li class="result" id="result-(\d+)"', again)] == [
        int(pk) for pk in re.findall(r'<li class="result" id="result-(\d+)"', html)
    ]
    # Malformed or hostile list= values fall back to the map; nothing but this site's own pages.
    provider = nurses[0]
    for value in ("x,y", "", "https://evil.example/", "1" * 400):
        page = client.get(f"/providers/{provider.pk}/", {"list": value}).content.decode()
        href = unescape(re.search(r'<p class="breadcrumb"><a href="([^"]+)"', page).group(1))
        assert href == "/" or href.startswith("/shortlist/?ids="), (value, href)
