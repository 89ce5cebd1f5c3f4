"""The open-data import page on a phone: a likely duplicate merged by staff, then imported;
the page's own part has no axe violations (WCAG 2.0/2.1 A and AA)."""

from __future__ import annotations

import pytest

from resourcemap.models import Provider
from tests.browser.test_accessibility import AXE_JS, AXE_TAGS, _report
from tests.browser.test_admin_location import SHOTS, editor, login  # noqa: F401 - fixture
from tests.factories import make_provider

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MHLW = (
    "都道府県コード又は市町村コード,No,都道府県名,市区町村名,事業所名,事業所名カナ,サービスの種類,住所,方書（ビル名等）,"
    "緯度,経度,電話番号,FAX番号,法人番号,法人の名称,事業所番号,利用可能曜日,利用可能曜日特記事項,定員,URL\r\n"
    "131121,1,東京都,世田谷区,はなみずき訪問看護,ハナミズキホウモンカンゴ,訪問看護,東京都世田谷区深沢一丁目2番3号,,,,"
    "03-3700-4001,,,,1361204001,,,,\r\n"
    "131121,2,東京都,世田谷区,もくれん訪問看護,,訪問看護,東京都世田谷区用賀2-3-4,,,,03-3700-5001,,,,1361205001,,,,\r\n"
)


@pytest.fixture
def browser_context_args():
    return {"viewport": {"width": 360, "height": 740}, "locale": "ja-JP", "is_mobile": True, "has_touch": True}


def axe_on(page, selector: str) -> list[dict]:
    page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;true")
    return page.evaluate(
        """async ([selector, tags]) => {
            const result = await axe.run(document.querySelector(selector),
                { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => n.target.join(" ") + " | " + n.failureSummary.replace(/\\s+/g, " ")),
            }));
        }""",
        [selector, AXE_TAGS],
    )


def upload_for_preview(page, live_server, path, data: bytes) -> None:
    """Log in, choose the file on the import page and wait for its preview."""
    path.write_bytes(data)
    login(page, live_server)
    page.goto(f"{live_server.url}/admin/resourcemap/provider/opendata-import/")
    page.set_input_files("#id_import_file", str(path))
    page.click(".rm-opendata-import input[type=submit]")
    page.wait_for_selector(".rm-opendata-preview")


def test_likely_duplicate_merged_on_a_phone(live_server, browser_page, editor, tmp_path):  # noqa: F811
    city = make_provider(type_code="nursing", name="訪問看護はなみずき", kana="ホウモンカンゴハナミズキ",
                         address="東京都世田谷区深沢1-2-3", care_code="")
    page = browser_page
    upload_for_preview(page, live_server, tmp_path / "jigyosho_130.csv", MHLW.encode("utf-8-sig"))
    assert "同じ事業所かもしれません" in page.inner_text("#content")
    assert axe_on(page, ".rm-opendata-import") == [], _report(axe_on(page, ".rm-opendata-import"))

    page.get_by_label(f"同じ事業所としてまとめる（ID {city.pk} に取り込む）").check()
    page.get_by_role("button", name="印を付けた行をまとめて、もう一度確認する").click()
    page.wait_for_selector("text=同じ事業所としてまとめます")
    text = page.inner_text("#content")
    assert "誤りがあります" not in text and "新規 1件、変更 1件" in text
    # The reading of the name without カナ, shown for staff to check.
    assert "モクレンホウモンカンゴ" in text and "よみがなは名称から推定しました" in text
    assert axe_on(page, ".rm-opendata-import") == []
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/opendata-import-merge.png", full_page=True)
    page.get_by_role("button", name="取り込む").click()
    page.wait_for_selector(".messagelist .success")
    city.refresh_from_db()
    assert city.care_code == "1361204001" and city.name == "訪問看護はなみずき"
    assert Provider.objects.filter(provider_type__code="nursing", address__contains="深沢").count() == 1
    assert page.console_errors == []


def test_real_national_file_with_a_bad_phone_good_rows_imported_left_out_downloaded(
    live_server, browser_page, editor, tmp_path,  # noqa: F811
):
    import csv
    import io

    from tests.test_opendata_real import real

    # The real 看多機 national file with one Setagaya phone made unreadable.
    text = real("mhlw/jigyosho_770.csv").decode("utf-8-sig")
    assert text.count("03₋6453₋2451") == 1
    page = browser_page
    upload_for_preview(page, live_server, tmp_path / "jigyosho_770.csv",
                       text.replace("03₋6453₋2451", "03-6453-24XX").encode("utf-8-sig"))
    content = page.inner_text("#content")
    assert "1行に誤りがあります。まだ何も取り込んでいません" in content and "電話番号" in content
    assert "対象外（他の自治体） 1097件" in content
    assert not Provider.objects.exists()  # the preview saves nothing

    with page.expect_download() as download:
        page.get_by_role("link", name="誤りのある行をCSVでダウンロード（理由の列付き）").click()
    rows = list(csv.reader(io.StringIO(open(download.value.path(), encoding="utf-8-sig").read())))
    assert rows[0][-1] == "取り込まなかった理由" and len(rows) == 2
    assert rows[1][4] == "優っくり看護小規模多機能介護三軒茶屋" and rows[1][-1].startswith("電話番号: ")

    page.get_by_role("button", name="誤りのない8件を取り込み、誤りのある1行は取り込まない").click()
    page.wait_for_selector(".messagelist .success")
    assert Provider.objects.filter(provider_type__code="kantaki").count() == 8
    assert not Provider.objects.filter(name="優っくり看護小規模多機能介護三軒茶屋").exists()
    assert Provider.objects.get(name="看多機 かえりえ用賀").phone == "050-1753-5905"
    assert page.console_errors == []
