"""Provider import/export: admin preview + confirm, all-or-nothing, row errors, round trip."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile

import openpyxl
import openpyxl.xml
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from resourcemap import formats
from resourcemap.models import Provider, ProviderChange
from resourcemap.resources import ProviderResource, PublicProviderResource
from tests.factories import make_provider

pytestmark = pytest.mark.django_db

IMPORT_URL = "admin:resourcemap_provider_import"
PROCESS_URL = "admin:resourcemap_provider_process_import"
EXPORT_URL = "admin:resourcemap_provider_export"
CSV_INDEX, XLSX_INDEX = "0", "1"

HEADER = ["名称", "よみがな", "種別", "住所", "緯度", "経度", "地区", "電話", "郵便番号",
          "医療機関コード", "介護保険事業所番号", "営業時間", "対応できること", "臨時の休み・営業時間"]


def csv_bytes(rows, header=HEADER, encoding="utf-8-sig") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def row(**values) -> list[str]:
    base = {
        "名称": "新規訪問クリニック", "よみがな": "シンキホウモンクリニック", "種別": "診療所",
        "住所": "東京都世田谷区用賀1-1-1", "緯度": "35.626000", "経度": "139.633000", "地区": "用賀",
        "電話": "03-1111-2222", "郵便番号": "158-0097", "医療機関コード": "", "介護保険事業所番号": "",
        "営業時間": "月 09:00-12:00,14:00-18:00; 土 09:00-12:00", "対応できること": "h24; mitori:5",
        "臨時の休み・営業時間": "2026-12-29..2027-01-03 休(年末年始)",
    }
    base.update(values)
    return [base[h] for h in HEADER]


def upload(client, data: bytes, name="providers.csv", fmt=CSV_INDEX):
    return client.post(
        reverse(IMPORT_URL),
        {"format": fmt, "resource": "0", "import_file": SimpleUploadedFile(name, data)},
    )


def confirm(client, preview):
    form = preview.context["confirm_form"]
    assert form is not None
    return client.post(reverse(PROCESS_URL), {k: form.initial[k] for k in form.fields if k in form.initial})


def page_text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- happy paths -----------------------------------------------------------------------------


def test_import_preview_then_confirm_creates_through_write_path(staff_client, staff_user):
    data = csv_bytes([row(), row(名称="二件目の薬局", よみがな="ニケンメノヤッキョク", 種別="pharmacy",
                              住所="東京都世田谷区用賀2-2-2", 対応できること="home_pharmacy; aseptic",
                              営業時間="月 09:00-19:00")])
    preview = upload(staff_client, data)
    assert preview.status_code == 200
    text = page_text(preview)
    assert "新規訪問クリニック" in text and "二件目の薬局" in text
    assert preview.context["confirm_form"] is not None
    assert not Provider.objects.exists()  # dry run saved nothing

    response = confirm(staff_client, preview)
    assert response.status_code == 302
    clinic = Provider.objects.get(name="新規訪問クリニック")
    assert clinic.provider_type.code == "clinic" and clinic.area.code == "yoga"
    assert clinic.opening_periods.count() == 3
    assert {pc.capability.code: pc.count for pc in clinic.provider_capabilities.all()} == {"h24": None, "mitori": 5}
    exc = clinic.hours_exceptions.get()
    assert (exc.start_date, exc.end_date, exc.closed, exc.note) == (
        dt.date(2026, 12, 29), dt.date(2027, 1, 3), True, "年末年始")
    change = clinic.changes.get()
    assert change.actor_kind == ProviderChange.Actor.IMPORT
    assert change.user == staff_user
    assert "providers.csv" in change.source
    assert Provider.objects.count() == 2


def test_import_updates_existing_matched_by_medical_code(staff_client):
    provider = make_provider(name="コード一致医院", medical_code="1310000001", phone="03-0000-0001")
    data = csv_bytes([row(名称="コード一致医院（新）", 医療機関コード="1310000001", 電話="03-0000-0002")])
    preview = upload(staff_client, data)
    text = page_text(preview)
    assert "コード一致医院（新）" in text
    assert "<del>03-0000-0001</del>" in preview.content.decode()
    confirm(staff_client, preview)
    provider.refresh_from_db()
    assert provider.name == "コード一致医院（新）"
    assert provider.changes.first().changes["phone"] == ["03-0000-0001", "03-0000-0002"]
    assert Provider.objects.count() == 1


def test_import_matches_care_code_with_type_and_name_address():
    nursing = make_provider(type_code="nursing", care_code="1371200001", name="訪看A")
    helper = make_provider(type_code="home_help", care_code="1371200001", name="訪介A")
    plain = make_provider(name="名称住所一致", address="東京都世田谷区用賀3-3-3")
    resource = ProviderResource()
    assert resource.match({"care_code": "1371200001", "provider_type": "home_help"}, 2) == helper
    assert resource.match({"care_code": "1371200001", "provider_type": "nursing"}, 3) == nursing
    assert resource.match({"name": "名称住所一致", "address": "東京都世田谷区用賀3-3-3", "provider_type": "clinic"}, 4) == plain
    # Written differently (full-width, 丁目・番・号) it is the same address (in another file).
    assert ProviderResource().match(
        {"name": "名称住所一致", "address": "東京都世田谷区用賀三丁目３番３号", "provider_type": "clinic"}, 5) == plain
    assert resource.match({"name": "別の医院", "address": "別の住所", "provider_type": "clinic"}, 6) is None


def test_import_refuses_rows_that_may_be_a_stored_provider_instead_of_creating_a_second(staff_client):
    same = [make_provider(name="二重登録クリニック", address="東京都世田谷区用賀4-4-4") for _i in range(2)]
    moved = make_provider(name="移転したかもしれない医院", address="東京都世田谷区用賀5-5-5")
    data = csv_bytes([
        row(名称="二重登録クリニック", 住所="東京都世田谷区用賀4-4-4"),
        row(名称="移転したかもしれない医院", 住所="東京都世田谷区用賀6-6-6"),
        row(名称="移転したかもしれない医院", 住所="東京都世田谷区用賀7-7-7", 医療機関コード="1310000777"),
    ])
    preview = upload(staff_client, data)
    text = page_text(preview)
    assert "同じ名称・住所の事業所が複数登録されています" in text
    assert f"登録済みの「{moved.name}」（{moved.address}、ID {moved.pk}）と同じ事業所かもしれません" in text
    assert preview.context.get("confirm_form") is None
    assert Provider.objects.count() == 3 and all(Provider.objects.filter(pk=p.pk).exists() for p in same)


def test_export_then_import_changes_nothing(staff_client):
    make_provider(
        name="往復テスト=SUM(A1)", notes="-危険な書き出し\n2行目", hours_note="@注意",
        capabilities={"h24": {}, "mitori": {"count": 12, "note": "夜間は要相談"}},
        periods=[(0, dt.time(9), dt.time(18)), (4, dt.time(18), dt.time(9)), (7, dt.time(0), dt.time(0))],
        exceptions=[{"start_date": dt.date(2026, 5, 1), "end_date": dt.date(2026, 5, 1), "closed": False,
                     "opens": dt.time(10), "closes": dt.time(15), "note": "短縮"}],
        contact_person="山田", contact_email="yamada@example.jp", last_confirmed_on=dt.date(2026, 4, 1),
        medical_code="1312345670",
    )
    make_provider(type_code="nursing", care_code="1371299999", hours_unknown=True, periods=[])
    make_provider(area_code="kitazawa_d", latitude=None, longitude=None, area=None)
    before_changes = ProviderChange.objects.count()
    before = {p.pk: p.updated_at for p in Provider.objects.all()}

    for fmt_index, fmt in ((CSV_INDEX, formats.CSV()), (XLSX_INDEX, formats.XLSX())):
        exported = fmt.export_data(ProviderResource().export())
        preview = upload(staff_client, exported, name=f"roundtrip.{fmt.get_extension()}", fmt=fmt_index)
        result = preview.context["result"]
        assert not result.has_errors() and not result.has_validation_errors(), page_text(preview)[-3000:]
        assert result.totals["skip"] == 3 and result.totals["new"] == 0 and result.totals["update"] == 0
        confirm(staff_client, preview)

    assert ProviderChange.objects.count() == before_changes
    assert {p.pk: p.updated_at for p in Provider.objects.all()} == before


def test_admin_export_csv_is_utf8_bom_crlf_with_escaped_formulas(staff_client):
    make_provider(name="=HYPERLINK(\"http://evil\")", contact_person="担当花子", notes="+1")
    response = staff_client.post(reverse(EXPORT_URL), {
        "format": CSV_INDEX, "resource": "0",
        **{f"providerresource_{name}": "on" for name in ProviderResource().get_export_order()},
    })
    assert response.status_code == 200
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in body
    text = body.decode("utf-8-sig")
    reader = list(csv.reader(io.StringIO(text)))
    assert reader[0][:4] == ["名称", "よみがな", "名称（英語）", "種別"]
    record = dict(zip(reader[0], reader[1], strict=True))
    assert record["名称"] == "'=HYPERLINK(\"http://evil\")"
    assert record["区民へのお知らせ"] == "'+1"
    assert record["担当者（非公開）"] == "担当花子"  # staff export keeps private fields


def test_public_export_has_no_private_fields(staff_client):
    make_provider(contact_person="秘密の担当", contact_email="secret@example.jp", status="pending")
    make_provider(name="公開中", contact_person="秘密の担当")
    dataset = PublicProviderResource().export()
    assert "担当者（非公開）" not in dataset.headers
    flat = repr(list(dataset))
    assert "秘密の担当" not in flat and "secret@example.jp" not in flat
    assert len(dataset) == 1  # pending providers are not public


def test_xlsx_export_cells_are_text_not_formulas():
    make_provider(name="=1+1", notes="@SUM(A1)")
    data = formats.XLSX().export_data(ProviderResource().export())
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    values = [c.value for c in sheet[2]]
    assert "'=1+1" in values and "'@SUM(A1)" in values
    assert all(c.data_type != "f" for c in sheet[2])


# --- bad input -------------------------------------------------------------------------------


def assert_nothing_imported(response):
    assert response.context.get("confirm_form") is None
    assert not Provider.objects.exists()


def test_wrong_header_is_reported(staff_client):
    data = csv_bytes([["a", "b", "c"]], header=["なまえ", "種別", "住所"])
    response = upload(staff_client, data)
    text = page_text(response)
    assert "見出し「なまえ」は分かりません" in text
    assert "必要な列「名称」がありません" in text
    assert "Traceback" not in text
    assert_nothing_imported(response)


def test_bad_rows_listed_with_line_numbers_and_nothing_imported(staff_client):
    rows = [
        row(名称="正しい行"),                                   # line 2: fine
        row(名称="種別誤り", 種別="動物病院"),                  # line 3
        row(名称="区外", 緯度="35.681236", 経度="139.767125"),  # line 4
        row(名称="電話誤り", 電話="0312345678", 郵便番号="1580097"),  # line 5
        row(名称="コード1", 医療機関コード="1319999999"),      # line 6
        row(名称="コード2", 医療機関コード="1319999999"),      # line 7: same code as line 6
        row(名称="時間誤り", 営業時間="月 09:00-18:00,17:00-20:00"),  # line 8
        row(名称="項目誤り", 対応できること="h24; flying"),  # line 9
    ]
    response = upload(staff_client, csv_bytes(rows))
    assert response.status_code == 200
    text = page_text(response)
    assert "6行に誤りがあります。何も取り込まれていません。" in text
    invalid = {r.number + 1: r for r in response.context["result"].invalid_rows}
    assert sorted(invalid) == [3, 4, 5, 7, 8, 9]
    assert "3行目" in text and "種別「動物病院」は登録されていません。" in text
    assert "4行目" in text and "地図上の位置が世田谷区の区域の外です" in text
    assert "5行目" in text and "郵便番号は「123-4567」の形で入力してください。" in text
    assert "ハイフン付きの半角数字で入力してください。" in text
    assert "7行目" in text and "6行目と同じ事業所です" in text
    assert "8行目" in text and "月: 09:00-18:00 と 17:00-20:00 が重なっています。" in text
    assert "9行目" in text and "対応できること「flying」は登録されていません。" in text
    assert "2行目" not in text.split("何も取り込まれていません")[1]
    assert_nothing_imported(response)
    assert not ProviderChange.objects.exists()


def test_unknown_status_and_bad_number(staff_client):
    header = [*HEADER, "状態"]
    rows = [row() + ["営業中"], row(名称="数字誤り", 緯度="北緯35度") + ["運営中"]]
    text = page_text(upload(staff_client, csv_bytes(rows, header=header)))
    assert "2行目" in text and "状態「営業中」が分かりません" in text
    assert "3行目" in text and "「北緯35度」は数字ではありません。" in text


def test_required_cells_empty(staff_client):
    response = upload(staff_client, csv_bytes([row(名称="", 住所="")]))
    text = page_text(response)
    assert "名称が空です。" in text and "住所が空です。" in text
    assert_nothing_imported(response)


def test_xlsx_disguised_as_csv_refused(staff_client):
    data = formats.XLSX().export_data(ProviderResource().export())
    response = upload(staff_client, data, name="providers.csv")
    assert "このファイルはCSVではなく、Excel（xlsx）またはZIPのファイルです。" in page_text(response)
    assert_nothing_imported(response)


@pytest.mark.parametrize("encoding", ["cp932", "utf-16", "utf-8", "utf-8-sig"])
def test_csv_encodings_detected(staff_client, encoding):
    response = upload(staff_client, csv_bytes([row(名称="文字コード髙﨑医院")], encoding=encoding))
    result = response.context["result"]
    assert not result.has_validation_errors(), page_text(response)[-2000:]
    assert "文字コード髙﨑医院" in page_text(response) or encoding == "cp932"
    confirm(staff_client, response)
    assert Provider.objects.filter(name__startswith="文字コード").count() == 1


def test_undecodable_csv_refused():
    with pytest.raises(formats.FileFormatError, match="文字コードが分かりません"):
        formats.read_csv(b"\x81\x00\x81")


def test_openpyxl_uses_defusedxml():
    assert openpyxl.xml.DEFUSEDXML is True


def test_hostile_xlsx_refused(staff_client):
    good = formats.XLSX().export_data(ProviderResource().export())
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        "<sheetData><row><c t=\"inlineStr\"><is><t>&lol2;</t></is></c></row></sheetData></worksheet>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            content = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                content = bomb.encode()
            dst.writestr(item, content)
    with pytest.raises(formats.FileFormatError) as caught:
        formats.read_xlsx(out.getvalue())
    chain, error = [], caught.value
    while error is not None:
        chain.append(type(error).__module__)
        error = error.__cause__ or error.__context__
    assert any(module.startswith("defusedxml") for module in chain), chain
    response = upload(staff_client, out.getvalue(), name="bomb.xlsx", fmt=XLSX_INDEX)
    assert response.status_code == 200
    assert "xlsx ファイルを開けません。" in page_text(response)
    assert_nothing_imported(response)


def test_xlsx_import_with_numbers_and_dates(staff_client):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["名称", "よみがな", "種別", "住所", "緯度", "経度", "介護保険事業所番号", "最終確認日"])
    sheet.append(["数値セル訪問看護", "スウチセルホウモンカンゴ", "訪問看護ステーション",
                  "東京都世田谷区用賀1-2-3", 35.626, 139.633, 137120001, dt.datetime(2026, 4, 1)])
    out = io.BytesIO()
    book.save(out)
    preview = upload(staff_client, out.getvalue(), name="n.xlsx", fmt=XLSX_INDEX)
    assert not preview.context["result"].has_validation_errors(), page_text(preview)[-2000:]
    confirm(staff_client, preview)
    provider = Provider.objects.get()
    assert provider.care_code == "0137120001"  # leading zero restored
    assert str(provider.latitude) == "35.626000"
    assert provider.last_confirmed_on == dt.date(2026, 4, 1)


def test_confirm_aborts_if_data_changed_after_preview(staff_client):
    preview = upload(staff_client, csv_bytes([row(名称="後から重複", 住所="東京都世田谷区用賀9-9-9")]))
    assert preview.context["confirm_form"] is not None
    # Meanwhile two providers with that name and address appear: the row is now ambiguous.
    for _ in range(2):
        make_provider(name="後から重複", address="東京都世田谷区用賀9-9-9")
    response = confirm(staff_client, preview)
    assert response.status_code == 302
    assert response["Location"].endswith("/import/")
    follow = page_text(staff_client.get(response["Location"]))
    assert "取り込みを中止しました。何も保存されていません。" in follow
    assert Provider.objects.count() == 2
    assert not ProviderChange.objects.filter(actor_kind="import").exists()


def test_viewer_cannot_import_but_can_export(client, reference):
    from django.contrib.auth.models import Group, User

    from resourcemap.reference import viewer_group_name

    user = User.objects.create_user("viewer2", password="x-Pass-12345", is_staff=True)
    user.groups.add(Group.objects.get(name=viewer_group_name()))
    client.force_login(user)
    assert client.get(reverse(IMPORT_URL)).status_code == 403
    assert client.get(reverse(EXPORT_URL)).status_code == 200


# --- management commands ---------------------------------------------------------------------


def test_export_and_import_commands_round_trip(tmp_path):
    from django.core.management import call_command

    make_provider(name="コマンド往復", capabilities={"h24": {}}, contact_person="非公開の人")
    before = ProviderChange.objects.count()
    for suffix in ("csv", "xlsx"):
        target = tmp_path / f"out.{suffix}"
        call_command("export_providers", "-o", str(target))
        out = io.StringIO()
        call_command("import_providers", str(target), "--commit", stdout=out)
        assert "変更なし 1件" in out.getvalue()
    assert ProviderChange.objects.count() == before
    public = tmp_path / "public.csv"
    call_command("export_providers", "-o", str(public), "--public")
    text = public.read_bytes().decode("utf-8-sig")
    assert "コマンド往復" in text and "非公開の人" not in text and "担当者（非公開）" not in text


def test_import_command_dry_run_and_errors(tmp_path, django_user_model):
    from django.core.management import CommandError, call_command

    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes([row()]))
    out = io.StringIO()
    call_command("import_providers", str(good), stdout=out)
    assert "確認のみ" in out.getvalue() and "新規 1件" in out.getvalue()
    assert not Provider.objects.exists()

    user = django_user_model.objects.create_user("importer")
    call_command("import_providers", str(good), "--commit", "--user", "importer", stdout=io.StringIO())
    change = Provider.objects.get().changes.get()
    assert change.actor_kind == "import" and change.user == user

    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([row(名称="別", 住所="東京都世田谷区用賀5-5-5", 電話="abc")]))
    with pytest.raises(CommandError) as caught:
        call_command("import_providers", str(bad), "--commit")
    assert "2行目: 電話: 電話・FAX番号は" in str(caught.value)
    assert Provider.objects.count() == 1


def test_export_query_count_does_not_grow_with_providers(django_assert_max_num_queries):
    for i in range(12):
        make_provider(name=f"件数{i}", capabilities={"h24": {}}, exceptions=[
            {"start_date": dt.date(2026, 1, 1), "end_date": dt.date(2026, 1, 3)}])
    with django_assert_max_num_queries(6):
        dataset = ProviderResource().export()
    assert len(dataset) == 12


# --- no lost update between preview and confirmation ------------------------------------------


ADDRESS = "東京都世田谷区用賀4-10-1"


def _meanwhile_phone(provider, phone):
    from resourcemap import providers

    providers.provider_update(provider=provider, changes={"phone": phone},
                              actor_kind=ProviderChange.Actor.SURVEY, source="令和8年度調査 回答#3")


def test_confirmation_keeps_what_was_approved_after_the_preview(staff_client):
    provider = make_provider(name="版の確認クリニック", medical_code="1311111111", phone="03-1000-0000", notes="",
                             address=ADDRESS)
    exported = csv_bytes(
        [["版の確認クリニック", "診療所", ADDRESS, "1311111111", "03-1000-0000", "駐車場があります。"]],
        header=["名称", "種別", "住所", "医療機関コード", "電話", "区民へのお知らせ"],
    )
    # The sheet was edited from an export (only the notes); preview, then a survey approval.
    preview = upload(staff_client, exported)
    assert preview.context["confirm_form"] is not None, page_text(preview)[-2000:]
    _meanwhile_phone(provider, "03-2000-0000")
    response = confirm(staff_client, preview)
    assert response.status_code == 302
    provider.refresh_from_db()
    assert provider.notes == "駐車場があります。"
    assert provider.phone == "03-2000-0000"  # not set back to the sheet's old number


def test_confirmation_refuses_a_change_to_a_field_changed_after_the_preview(staff_client):
    provider = make_provider(name="競合の確認クリニック", medical_code="1322222222", phone="03-1000-0000",
                             address=ADDRESS)
    sheet = csv_bytes([["競合の確認クリニック", "診療所", ADDRESS, "1322222222", "03-3000-0000"]],
                      header=["名称", "種別", "住所", "医療機関コード", "電話"])
    preview = upload(staff_client, sheet)
    assert preview.context["confirm_form"] is not None
    _meanwhile_phone(provider, "03-2000-0000")
    response = confirm(staff_client, preview)
    follow = page_text(staff_client.get(response["Location"]))
    assert "取り込みを中止しました。何も保存されていません。" in follow
    assert "2行目 電話: あなたが画面を開いた後に調査回答が「03-2000-0000」に変えました" in follow
    provider.refresh_from_db()
    assert provider.phone == "03-2000-0000"


def test_confirmation_with_a_tampered_version_list_is_refused(staff_client):
    provider = make_provider(name="改ざん確認クリニック", medical_code="1333333333", phone="03-1000-0000",
                             address=ADDRESS)
    sheet = csv_bytes([["改ざん確認クリニック", "診療所", ADDRESS, "1333333333", "03-3000-0000"]],
                      header=["名称", "種別", "住所", "医療機関コード", "電話"])
    preview = upload(staff_client, sheet)
    form = preview.context["confirm_form"]
    data = {k: form.initial[k] for k in form.fields if k in form.initial}
    data["base_versions"] = data["base_versions"][:-2] + "xx"
    response = staff_client.post(reverse(PROCESS_URL), data)
    assert response.status_code == 200
    provider.refresh_from_db()
    assert provider.phone == "03-1000-0000"


def test_import_reads_exceptions_one_a_line_as_the_survey_form_writes_them(staff_client):
    cell = "2026-05-03〜2026-05-05 休み（連休）\n2026/8/13 10:00-15:00"
    confirm(staff_client, upload(staff_client, csv_bytes([row(**{"臨時の休み・営業時間": cell})])))
    clinic = Provider.objects.get(name="新規訪問クリニック")
    stored = clinic.hours_exceptions.order_by("start_date")
    assert [(e.start_date, e.end_date, e.closed, e.opens, e.note) for e in stored] == [
        (dt.date(2026, 5, 3), dt.date(2026, 5, 5), True, None, "連休"),
        (dt.date(2026, 8, 13), dt.date(2026, 8, 13), False, dt.time(10), ""),
    ]


def test_import_names_each_unreadable_exception_at_its_column(staff_client):
    preview = upload(staff_client, csv_bytes([row(**{"臨時の休み・営業時間": "2026-05-01 休; いつか休み"})]))
    text = page_text(preview)
    assert "「いつか休み」の書き方が分かりません" in text
    assert preview.context.get("confirm_form") is None
    assert not Provider.objects.exists()
