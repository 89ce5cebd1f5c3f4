"""Print preview, PDF, provider sheets and the QR flyer, as a user sees them."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from resourcemap import print_views, staticmap
from resourcemap import providers as provider_service
from resourcemap.forms import FlyerAdminForm
from resourcemap.models import Flyer, Provider, ProviderChange
from tests.factories import make_provider
from tests.printing_helpers import decode_qr_pdf, decode_qr_png, pdf_fonts, pdf_pages, pdf_text

SITE = "https://map.example.jp"


@pytest.fixture(autouse=True)
def print_settings(settings, tmp_path):
    settings.SITE_URL = SITE
    # A host the site also answers on (e.g. an internal name): QR codes must still use SITE_URL.
    settings.ALLOWED_HOSTS = ["testserver", "evil.example"]
    settings.PRINT_MAP_TILE_URL = "http://127.0.0.1:9/{z}/{x}/{y}.png"  # unreachable: vector maps
    settings.TILE_CACHE_DIR = tmp_path / "tiles"
    staticmap.reset_offline()


def _dentists(n: int, area_code: str = "yoga", **extra):
    return [
        make_provider(
            type_code="dental", area_code=area_code, name=f"歯科{chr(0x30A2 + i * 2)}{i}",
            kana=f"シカ{chr(0x30A2 + i * 2)}{i:02d}", capabilities={"home_dental": {}, "dysphagia": {}},
            fax="03-1111-2222", **extra,
        )
        for i in range(n)
    ]


def _has_page_number(text: str, page: int, pages: int) -> bool:
    return re.search(rf"(?<!\d){page}\s*/\s*{pages}\s*$", text, re.M) is not None


def _numbered_names(text: str) -> list[tuple[int, str]]:
    return [(int(m.group(1)), m.group(2)) for m in re.finditer(r"^\s*(\d+)\s+(\S+)", text, re.M)
            if not m.group(2).startswith(("〒", "/"))]


# ------------------------------------------------------------------------------------------
# Search sheet


@pytest.mark.django_db
def test_sheet_of_a_search_lists_matches_in_kana_order_with_numbers(client):
    b = make_provider(type_code="dental", area_code="yoga", name="べにばな歯科", kana="ベニバナシカ",
                      capabilities={"home_dental": {}, "dysphagia": {}})
    a = make_provider(type_code="dental", area_code="okusawa", name="あおば歯科", kana="アオバシカ",
                      capabilities={"home_dental": {}, "dysphagia": {}})
    make_provider(type_code="dental", area_code="yoga", name="ちがう歯科", kana="チガウシカ",
                  capabilities={"home_dental": {}})  # no 摂食嚥下
    make_provider(type_code="dental", area_code="kyodo", name="けいどう歯科", kana="ケイドウシカ",
                  capabilities={"home_dental": {}, "dysphagia": {}})  # other region
    query = "type=dental&cap=dysphagia&region=tamagawa"

    page = client.get(f"/print/?{query}")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.index("あおば歯科") < html.index("べにばな歯科")
    assert "ちがう歯科" not in html and "けいどう歯科" not in html
    assert "地域: 玉川" in html and "対応できること: 摂食嚥下" in html

    response = client.get(f"/print/pdf/?{query}")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    text = pdf_text(response.content)
    assert [name for _n, name in _numbered_names(text)][:2] == ["あおば歯科", "べにばな歯科"]
    assert [n for n, _name in _numbered_names(text)][:2] == [1, 2]
    assert "ちがう歯科" not in text
    assert "2件" in text and "摂食嚥下" in text
    assert _has_page_number(text, 1, 1)
    assert "出典" in text and "03-5432-2854" in text
    assert a.pk and b.pk


@pytest.mark.django_db
def test_pdf_embeds_japanese_font_and_qr_points_to_same_search_on_site_url(client):
    _dentists(3, area_code="okusawa")
    query = "type=dental&cap=dysphagia&region=tamagawa"
    pdf = client.get(f"/print/pdf/?{query}&title=訪問歯科", HTTP_HOST="evil.example").content
    fonts = pdf_fonts(pdf)
    assert re.search(r"IPAexGothic\s.*\byes\b", fonts)
    codes = decode_qr_pdf(pdf)
    assert codes == [f"{SITE}/?type=dental&cap=dysphagia&region=tamagawa"]


@pytest.mark.django_db
def test_page_count_grows_with_rows_and_headers_repeat(client):
    _dentists(4)
    small = client.get("/print/pdf/?type=dental").content
    _dentists(56)
    large = client.get("/print/pdf/?type=dental").content
    assert pdf_pages(small) == 1
    pages = pdf_pages(large)
    assert pages >= 3
    text = pdf_text(large)
    assert _has_page_number(text, 1, pages) and _has_page_number(text, pages, pages)
    # The table header is printed on every page.
    assert text.count("名称・種別") == pages
    numbers = [n for n, _name in _numbered_names(text)]
    assert numbers[:60] == list(range(1, 61))


@pytest.mark.django_db
def test_three_click_case_fits_two_pages_with_matching_map(client):
    """訪問歯科 that do 摂食嚥下 in 玉川地域: a clean two-page sheet with the numbered map."""
    districts = ["yoga", "okusawa", "todoroki", "kaminoge", "fukasawa", "futakotamagawa"]
    for i in range(18):
        make_provider(type_code="dental", area_code=districts[i % 6], name=f"玉川歯科{i:02d}",
                      kana=f"タマガワシカ{i:02d}", capabilities={"home_dental": {}, "dysphagia": {}})
    response = client.get("/print/pdf/?type=dental&cap=home_dental&cap=dysphagia&region=tamagawa")
    assert pdf_pages(response.content) == 2
    text = pdf_text(response.content)
    assert "地図の番号は下の表の番号です" in text
    assert "18件" in text


@pytest.mark.django_db
def test_options_title_note_columns_hours_map_orientation(client):
    provider = make_provider(name="みどり訪問看護", kana="ミドリ", type_code="nursing",
                             capabilities={"h24": {}, "mitori": {"count": 12}},
                             contact_person="秘密太郎", contact_email="secret@example.jp",
                             contact_phone="03-9999-8888")
    base = f"/print/?ids={provider.pk}&opts=1"
    html = client.get(base + "&title=山田様へ&note=ご家族用のメモ&cols=mitori&hours=1&map=1").content.decode()
    assert "<h1 class=\"sheet-title\">山田様へ</h1>" in html
    # The memo never comes from a URL (it would be in logs and history) ...
    assert "ご家族用のメモ" not in html
    # ... only from the PDF form's POST body.
    pdf_url = re.search(r'<form id="pdf-form" method="post" action="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "note" not in pdf_url and "opts=1" in pdf_url
    pdf = client.post(pdf_url, {"note": "ご家族用のメモ"})
    assert pdf["Content-Type"] == "application/pdf"
    assert "ご家族用のメモ" in pdf_text(pdf.content)
    assert 'title="看取り・ターミナルケア"' in html and 'title="24時間対応"' not in html
    assert "12" in html  # the 看取り count under the tick
    assert "月〜金 09:00-18:00" in html
    assert 'class="overview-map"' in html
    for private in ("秘密太郎", "secret@example.jp", "03-9999-8888"):
        assert private not in html

    html = client.get(base + "&orient=landscape").content.decode()
    assert "size: A4 landscape" in html
    assert "月〜金 09:00-18:00" not in html  # hours unticked
    assert 'class="overview-map"' not in html  # map unticked
    assert 'class="col-cap"' not in html  # no columns ticked

    pdf = client.get(f"/print/pdf/?ids={provider.pk}&opts=1&orient=landscape&title=横向き").content
    text = pdf_text(pdf)
    assert "横向き" in text
    assert "秘密太郎" not in text


@pytest.mark.django_db
def test_default_columns_follow_the_searched_capabilities(client):
    make_provider(type_code="pharmacy", capabilities={"aseptic": {}})
    html = client.get("/print/?type=pharmacy&cap=aseptic").content.decode()
    assert 'title="無菌調剤"' in html
    # Only capabilities that apply to pharmacies are offered by default.
    assert 'title="訪問診療"' not in html


@pytest.mark.django_db
def test_shortlist_drops_unknown_and_non_public_ids_and_says_so(client):
    shown = make_provider(name="あんしん診療所", kana="アンシン")
    closed = make_provider(name="廃止した診療所", kana="ハイシ", status=Provider.Status.CLOSED)
    html = client.get(f"/print/?ids={shown.pk},{closed.pk},999999,abc").content.decode()
    assert "あんしん診療所" in html and "廃止した診療所" not in html
    assert "見つからないか公開されていないため、外しました" in html
    assert "正しくないものがあったため、外しました" in html
    assert "選んだ事業所の一覧" in html
    text = pdf_text(client.get(f"/print/pdf/?ids={shown.pk},{closed.pk},999999").content)
    assert "あんしん診療所" in text and "廃止した診療所" not in text
    assert "外しました" in text


@pytest.mark.django_db
def test_shortlist_qr_opens_the_phone_list_of_the_same_shortlist(client):
    first, second = make_provider(kana="イ"), make_provider(kana="ロ")
    pdf = client.get(f"/print/pdf/?ids={second.pk},{first.pk}").content
    # The phone list, numbered in the sheet's order (not the A4 editor).
    assert decode_qr_pdf(pdf) == [f"{SITE}/shortlist/?ids={first.pk},{second.pk}"]


@pytest.mark.django_db
def test_shortlist_of_only_garbage_is_empty_not_everything(client):
    make_provider(name="ぜんぶ診療所")
    html = client.get("/print/?ids=abc,-3").content.decode()
    assert "ぜんぶ診療所" not in html
    assert "条件に合う事業所はありませんでした" in html


@pytest.mark.django_db
def test_oversize_request_asks_to_narrow_the_search(client, monkeypatch):
    monkeypatch.setattr(print_views, "MAX_PROVIDERS", 3)
    _dentists(4)
    for url in ("/print/?type=dental", "/print/pdf/?type=dental"):
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/html")
        html = response.content.decode()
        assert "条件をしぼってください" in html
        assert "4 件" in html and "3 件" in html
        assert "歯科ア0" not in html


@pytest.mark.django_db
@pytest.mark.parametrize("query", [
    "orient=sideways", "map=maybe&opts=1", "cols=nope&cols=&opts=1", "title=" + "長" * 500,
    "note=%00%01bell", "sort=bogus", "lat=abc&lng=1e999", "ids=1,2,x,,%20", "type=unknown",
    "cols=" + "&cols=".join(["h24", "mitori", "psychiatry", "pediatric", "home_visit", "oushin",
                            "palliative", "home_dental", "oral_care", "dysphagia", "rehab", "acp"]),
    "page=-1", "day=2026-02-30&time=25:99",
])
def test_malformed_options_never_fail(client, query):
    make_provider()
    for url in ("/print/", "/print/pdf/"):
        response = client.get(f"{url}?{query}")
        assert response.status_code == 200, (url, query)


@pytest.mark.django_db
def test_bad_option_is_reported_on_the_sheet(client):
    make_provider()
    html = client.get("/print/?orient=sideways&cols=nope&opts=1").content.decode()
    assert "用紙の向き「sideways」が分からないため" in html
    assert "表の列「nope」は見つからない" in html


@pytest.mark.django_db
def test_print_sheet_rejects_post(client):
    assert client.post("/print/").status_code == 405


# ------------------------------------------------------------------------------------------
# Provider sheet


@pytest.mark.django_db
def test_provider_sheet_shows_public_details_hours_and_qr(client):
    provider = make_provider(
        type_code="nursing", name="ひかり訪問看護ステーション", kana="ヒカリ",
        capabilities={"h24": {}, "mitori": {"count": 7, "note": "ご相談ください"}},
        notes="土曜も相談できます", fax="03-1234-0000", contact_person="非公開花子",
    )
    html = client.get(reverse("provider_sheet", args=[provider.pk])).content.decode()
    assert "ひかり訪問看護ステーション" in html and "24時間対応" in html
    assert "土曜も相談できます" in html and "03-1234-0000" in html
    assert "非公開花子" not in html
    pdf = client.get(reverse("provider_sheet_pdf", args=[provider.pk]), HTTP_HOST="evil.example").content
    assert pdf_pages(pdf) == 1
    text = pdf_text(pdf)
    assert "ひかり訪問看護ステーション" in text and "看取り" in text and "7" in text
    assert "09:00-18:00" in text and "非公開花子" not in text
    assert decode_qr_pdf(pdf) == [f"{SITE}/providers/{provider.pk}/"]


@pytest.mark.django_db
def test_provider_sheet_of_non_public_provider_is_not_found(client):
    pending = make_provider(status=Provider.Status.PENDING)
    assert client.get(reverse("provider_sheet", args=[pending.pk])).status_code == 404
    assert client.get(reverse("provider_sheet_pdf", args=[pending.pk])).status_code == 404
    assert client.get("/providers/99999999/sheet/").status_code == 404


# ------------------------------------------------------------------------------------------
# Flyer


@pytest.mark.django_db
def test_default_flyer_pdf_has_steps_url_contact_and_qr(client, reference):
    response = client.get(reverse("flyer_pdf"), HTTP_HOST="evil.example")
    pdf = response.content
    assert pdf_pages(pdf) == 1
    text = pdf_text(pdf)
    for expected in ("世田谷区在宅療養資源マップ", "QRコードを読み取る", "条件を選ぶ",
                     "地図と一覧で確かめる", f"{SITE}/", "保健医療福祉推進課", "03-5432-2854", "発行"):
        assert expected in text
    assert decode_qr_pdf(pdf) == [f"{SITE}/"]
    html = client.get(reverse("flyer")).content.decode()
    assert reverse("flyer_qr_svg") in html and reverse("flyer_qr_png") in html


@pytest.mark.django_db
def test_flyer_variant_targets_a_prefiltered_search(client, reference):
    form = FlyerAdminForm({"title": "24時間対応の訪問看護", "slug": "nursing-24h", "is_active": "on",
                           "target_query": "cap=h24&type=nursing", "body": "夜中でも来てくれる訪問看護を探せます。"})
    assert form.is_valid(), form.errors
    flyer = form.save()
    assert flyer.target_query == "type=nursing&cap=h24"
    pdf = client.get(reverse("flyer_pdf", args=["nursing-24h"])).content
    text = pdf_text(pdf)
    assert "24時間対応の訪問看護" in text and "夜中でも来てくれる" in text
    assert decode_qr_pdf(pdf) == [f"{SITE}/?type=nursing&cap=h24"]
    html = client.get(reverse("flyer_variant", args=["nursing-24h"])).content.decode()
    assert "種別: 訪問看護ステーション" in html

    png = client.get(reverse("flyer_qr_png", args=["nursing-24h"]))
    assert png["Content-Type"] == "image/png"
    svg = client.get(reverse("flyer_qr_svg", args=["nursing-24h"]))
    assert svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content


@pytest.mark.django_db
def test_flyer_qr_png_download_decodes_to_site_url(client, reference, tmp_path):
    response = client.get(reverse("flyer_qr_png"), HTTP_HOST="evil.example")
    path = tmp_path / "qr.png"
    path.write_bytes(response.content)
    assert decode_qr_png(path) == [f"{SITE}/"]
    assert "attachment" in response["Content-Disposition"]


@pytest.mark.django_db
def test_inactive_or_unknown_flyer_is_not_found(client, reference):
    Flyer.objects.create(title="古い", slug="old", is_active=False)
    assert client.get("/flyer/old/").status_code == 404
    assert client.get("/flyer/nothing/pdf/").status_code == 404
    assert client.get("/flyer/nothing/qr.png").status_code == 404


@pytest.mark.django_db
def test_flyer_validation(reference):
    with pytest.raises(ValidationError) as error:
        Flyer(title="x", slug="pdf").full_clean()
    assert "slug" in error.value.message_dict
    bad = FlyerAdminForm({"title": "x", "slug": "bad", "target_query": "type=spaceship"})
    assert not bad.is_valid() and "spaceship" in " ".join(bad.errors["target_query"])
    pasted = FlyerAdminForm({"title": "x", "slug": "pasted",
                             "target_query": "https://map.example.jp/?region=tamagawa"})
    assert pasted.is_valid(), pasted.errors
    assert pasted.cleaned_data["target_query"] == "region=tamagawa"


@pytest.mark.django_db
def test_portal_pages_link_to_paper(client):
    provider = make_provider(name="リンク診療所")
    map_html = client.get("/?type=clinic").content.decode()
    assert f'data-provider-id="{provider.pk}"' in map_html
    assert 'href="/print/?type=clinic"' in map_html
    assert "js/shortlist.js" in map_html
    assert 'href="/flyer/"' in map_html and "チラシを印刷" in map_html
    detail = client.get(f"/providers/{provider.pk}/").content.decode()
    assert f'href="/providers/{provider.pk}/sheet/"' in detail and "印刷用ページ" in detail


@pytest.mark.django_db
def test_staff_make_a_flyer_variant_in_the_admin(staff_client, client):
    response = staff_client.post("/admin/resourcemap/flyer/add/", {
        "title": "玉川地域の在宅療養資源マップ", "slug": "tamagawa", "body": "",
        "target_query": "https://map.example.jp/?region=tamagawa", "is_active": "on",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    flyer = Flyer.objects.get(slug="tamagawa")
    assert flyer.target_query == "region=tamagawa"
    changelist = staff_client.get("/admin/resourcemap/flyer/").content.decode()
    assert "/flyer/tamagawa/" in changelist
    public = client.get("/flyer/tamagawa/").content.decode()
    assert "玉川地域の在宅療養資源マップ" in public and "地域: 玉川" in public

    bad = staff_client.post("/admin/resourcemap/flyer/add/", {
        "title": "x", "slug": "qr", "target_query": "region=atlantis", "is_active": "on",
    })
    assert bad.status_code == 200
    assert "atlantis" in bad.content.decode() and not Flyer.objects.filter(slug="qr").exists()


@pytest.mark.django_db
def test_sheet_map_uses_the_tile_source_when_reachable(client, settings):
    from tests.test_printing import _TileServer

    server = _TileServer()
    try:
        settings.PRINT_MAP_TILE_URL = server.url
        staticmap.reset_offline()
        make_provider(name="タイル診療所")
        html = client.get("/print/?type=clinic").content.decode()
        assert "背景地図: 国土地理院" in html
        assert server.requests > 0
        text = pdf_text(client.get("/print/pdf/?type=clinic").content)
        assert "背景地図: 国土地理院" in text
    finally:
        server.close()


@pytest.mark.django_db
def test_sheet_shows_distances_as_the_list_does(client):
    near = make_provider(name="近い診療所", latitude=Decimal("35.626500"), longitude=Decimal("139.633500"))
    far = make_provider(name="遠い診療所", latitude=Decimal("35.637500"), longitude=Decimal("139.633500"))
    query = "lat=35.6265&lng=139.6335&sort=distance&type=clinic"
    listed = client.get(f"/?{query}").content.decode()
    sheet = client.get(f"/print/?{query}").content.decode()
    assert near.pk and far.pk
    # About 1.2 km north: the list and the sheet both say "1.2 km"; the near one "0 m".
    for html in (listed, sheet):
        assert "1.2 km" in html and "0 m" in html


def test_print_previews_compose_their_map_under_a_limit_and_once_per_marker_set(db, client, settings, monkeypatch):
    """The A4 preview and the provider sheet compose their map on the server (seconds of CPU
    for hundreds of markers). A preview whose map was already made (same markers, same size)
    reuses it; new maps count against RATELIMIT_PRINT_MAP per client, as PDF renders do."""
    from django.core.cache import caches
    from hypothesis import HealthCheck, Phase, given
    from hypothesis import settings as hyp_settings
    from hypothesis import strategies as st

    made = []
    real_render = staticmap.render

    def counting_render(*args, **kwargs):
        made.append(kwargs.get("width"))
        return real_render(*args, **kwargs)

    monkeypatch.setattr(staticmap, "render", counting_render)
    settings.RATELIMITS = {**settings.RATELIMITS, "print_map": "3/m"}
    dentists = _dentists(3)
    for step, dentist in enumerate(dentists):  # three places: three different sheet maps
        provider_service.provider_update(
            provider=dentist, changes={"latitude": dentist.latitude + Decimal("0.002") * step},
            actor_kind=ProviderChange.Actor.STAFF,
        )

    @given(titles=st.lists(st.text(alphabet="あいうえおカキクケコ一覧表", min_size=1, max_size=8),
                           min_size=3, max_size=3, unique=True))
    @hyp_settings(max_examples=3, derandomize=True, database=None, deadline=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=[HealthCheck.function_scoped_fixture])
    def check(titles):
        caches["ratelimit"].clear()
        caches["pdfs"].clear()
        made.clear()
        # A title (or a note, or the columns) changes nothing on the map: one map made.
        for title in titles:
            assert client.get("/print/", {"type": "dental", "title": title}).status_code == 200
        assert len(made) == 1
        # Other marker sets: two more maps, then this client waits.
        assert client.get("/print/", {"type": "dental", "ids": f"{dentists[0].pk}"}).status_code == 200
        assert client.get(reverse("provider_sheet", args=[dentists[1].pk])).status_code == 200
        limited = client.get(reverse("provider_sheet", args=[dentists[2].pk]))
        assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
        assert len(made) == 3
        # Maps already made are still served; another visitor has an allowance of its own.
        assert client.get("/print/", {"type": "dental", "title": titles[0]}).status_code == 200
        other = client.get(reverse("provider_sheet", args=[dentists[2].pk]), REMOTE_ADDR="192.0.2.90")
        assert other.status_code == 200 and len(made) == 4

    check()
