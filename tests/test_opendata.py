"""Public open-data formats: import of the MHLW / v1 / municipal-standard layouts, export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from resourcemap import formats, hours, opendata
from resourcemap.models import OpeningPeriod, Provider, ProviderChange
from tests.factories import make_provider

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data" / "opendata"
IMPORT_URL = "admin:resourcemap_provider_opendata_import"


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def run(name: str, commit: bool = False, data: bytes | None = None, user=None) -> opendata.ImportReport:
    return opendata.import_file(data if data is not None else sample(name), file_name=name, commit=commit, user=user)


def rewrite(name: str, edit, encoding: str = "utf-8-sig") -> bytes:
    """A sample file with some rows changed: ``edit(rows)`` gets a list of dicts."""
    text = formats.decode_csv(sample(name))
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    edit(rows)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=reader.fieldnames, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def page_text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


# --- layouts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, layout",
    [
        ("jigyosho_130.csv", opendata.MHLW),
        ("iryokikan_v1.csv", opendata.V1_MEDICAL),
        ("kaigo_v1.csv", opendata.V1_CARE),
        ("standard_iryokikan.csv", opendata.STANDARD),
    ],
)
def test_layout_detected_from_header(reference, name, layout):
    dataset = formats.read_csv(sample(name))
    assert opendata.detect_layout(dataset.headers) == layout
    assert run(name).layout == layout


def test_sample_headers_are_the_documented_ones():
    mhlw = formats.read_csv(sample("jigyosho_130.csv")).headers
    assert len(mhlw) == 24 and mhlw[0] == "都道府県コード又は市町村コード" and mhlw[-1] == "備考"
    assert len(formats.read_csv(sample("iryokikan_v1.csv")).headers) == 26
    assert len(formats.read_csv(sample("kaigo_v1.csv")).headers) == 22
    # The v1 medical sample is CP932 (Shift_JIS) on purpose.
    with pytest.raises(UnicodeDecodeError):
        sample("iryokikan_v1.csv").decode("utf-8")


def test_unknown_headers_refused_naming_the_files_columns(reference):
    with pytest.raises(formats.FileFormatError, match="ファイルの種類が分かりません.*このファイルの列: 名前、住所"):
        run("x.csv", data="名前,住所\r\nA,B\r\n".encode())


def test_xlsx_disguised_as_csv_refused(reference, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(formats.FileFormatError, match="ZIP"):
        run("jigyosho_130.csv", data=buffer.getvalue())
    path = tmp_path / "jigyosho_130.csv"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(CommandError, match="ZIP"):
        call_command("import_opendata", str(path))


def test_phone_written_with_brackets_is_normalised(reference):
    data = rewrite("kaigo_v1.csv", lambda rows: rows[0].update({"電話番号": "03(3410)7777", "FAX番号": "０３－３４１０－７７７８"}))
    run("kaigo_v1.csv", commit=True, data=data)
    office = Provider.objects.filter(care_code="1371200077").first()
    assert (office.phone, office.fax) == ("03-3410-7777", "03-3410-7778")


def test_utf16_file_read(reference):
    data = formats.decode_csv(sample("jigyosho_130.csv")).encode("utf-16")
    report = run("jigyosho_130.csv", data=data)
    assert report.totals["new"] == 2 and not report.has_errors


# --- filtering, mapping, normalising ----------------------------------------------------------


def test_mhlw_import_filters_municipality_and_maps_service_code(reference):
    report = run("jigyosho_130.csv", commit=True)
    assert report.totals == {"new": 2, "update": 0, "unchanged": 0, "skipped": 1, "not_listed": 0,
                             "error": 0, "error_lines": 0}
    assert not Provider.objects.filter(name="しぶや訪問看護").exists()
    sakura = Provider.objects.get(name="さくら訪問看護ステーション")
    assert sakura.provider_type.code == "nursing"
    assert sakura.address == "東京都世田谷区用賀2-3-4"  # prefecture (and ward) added
    assert sakura.building == "用賀ビル2階"
    assert sakura.area.code == "yoga"  # nearest district centre
    assert sakura.corporate_number == "1234567890123"
    assert sakura.hours_unknown is True and not sakura.opening_periods.exists()
    assert "平日,土曜日" in sakura.hours_note
    assert not sakura.provider_capabilities.exists()
    change = sakura.changes.get()
    assert change.actor_kind == ProviderChange.Actor.IMPORT
    assert change.source == "介護サービス情報公表 jigyosho_130.csv"

    tsubaki = Provider.objects.get(name="つばき訪問看護")
    assert tsubaki.care_code == "0361200022"  # leading zero restored
    assert tsubaki.latitude is None and tsubaki.longitude is None  # 0 = unknown
    assert tsubaki.area.code == "kitazawa_d"  # from the address (町丁目 table), not the position
    assert tsubaki.kana == "ツバキホウモンカンゴ"  # half-width kana normalised
    assert tsubaki.address == "東京都世田谷区北沢2-10-5"


def test_v1_medical_cp932_kind_mapping_and_hours(reference):
    report = run("iryokikan_v1.csv", commit=True)
    assert report.totals["new"] == 2 and report.totals["skipped"] == 1
    kaede = Provider.objects.get(medical_code="1312345678")
    assert kaede.provider_type.code == "clinic"
    assert kaede.hours_unknown is False
    assert sorted(kaede.opening_periods.values_list("weekday", flat=True)) == [0, 1, 2, 3, 4]
    assert kaede.opening_periods.first().opens == dt.time(9)
    assert kaede.hours_note == "土曜は予約制"
    momiji = Provider.objects.get(medical_code="1312345679")
    assert momiji.provider_type.code == "hospital"
    assert momiji.address == "東京都世田谷区玉川3-4-5"
    assert momiji.hours_unknown is True


def test_v1_care_multi_service_row_becomes_one_provider_per_type(reference):
    report = run("kaigo_v1.csv", commit=True)
    assert report.totals["new"] == 2 and report.totals["skipped"] == 1
    offices = Provider.objects.filter(care_code="1371200077")
    assert sorted(offices.values_list("provider_type__code", flat=True)) == ["care_management", "home_help"]


def test_standard_layout_with_english_name_variant(reference):
    report = run("standard_iryokikan.csv", commit=True)
    assert report.totals["new"] == 1 and report.totals["skipped"] == 1
    keyaki = Provider.objects.get(medical_code="1312340001")
    assert keyaki.name_en == "Keyaki Clinic"
    assert keyaki.building == "けやきビル1F"
    assert keyaki.area.code == "kamiuma"
    assert keyaki.changes.get().source == "自治体標準オープンデータ standard_iryokikan.csv"


def test_helpers_split_days_and_multi_values():
    assert hours.parse_days("平日,土曜日") == [0, 1, 2, 3, 4, 5]
    assert hours.parse_days("月～金") == [0, 1, 2, 3, 4]
    assert hours.parse_days("月、水;金 祝日".replace(" ", ",")) == [0, 2, 4, 7]
    with pytest.raises(ValueError):
        hours.parse_days("毎日")
    assert opendata.split_multi("内科;外科、小児科,眼科") == ["内科", "外科", "小児科", "眼科"]


# --- matching existing providers ---------------------------------------------------------------


def test_match_by_medical_code_updates_without_touching_capabilities_or_hours(reference):
    existing = make_provider(
        name="かえで在宅クリニック", kana="カエデザイタククリニック", medical_code="1312345678",
        phone="03-0000-0000", capabilities={"h24": None, "mitori": {"count": 3}},
        periods=[(5, dt.time(9), dt.time(12))], hours_note="職員メモ", notes="区民へのお知らせ",
    )
    caps_before = sorted(existing.provider_capabilities.values_list("capability__code", "count"))
    report = run("iryokikan_v1.csv", commit=True)
    row = next(r for r in report.rows if r.provider_id == existing.pk)
    assert row.status == opendata.UPDATE
    assert row.changes["phone"] == ["03-0000-0000", "03-3420-4444"]
    existing.refresh_from_db()
    assert existing.phone == "03-3420-4444" and existing.fax == "03-3420-4445"
    assert existing.website == "https://kaede.example.jp/"
    assert sorted(existing.provider_capabilities.values_list("capability__code", "count")) == caps_before
    assert list(existing.opening_periods.values_list("weekday", "opens")) == [(5, dt.time(9))]
    assert existing.hours_note == "職員メモ" and existing.notes == "区民へのお知らせ"
    assert existing.status == Provider.Status.ACTIVE
    change = existing.changes.first()
    assert change.actor_kind == ProviderChange.Actor.IMPORT and "capabilities" not in change.changes
    assert Provider.objects.filter(medical_code="1312345678").count() == 1

    again = run("iryokikan_v1.csv", commit=True)
    assert again.totals["unchanged"] == 2 and again.totals["update"] == again.totals["new"] == 0


def test_match_by_care_code_and_type_then_name_address(reference):
    nursing = make_provider(
        type_code="nursing", name="さくら訪問看護ステーション", kana="サクラホウモンカンゴステーション",
        care_code="1361200011", address="東京都世田谷区用賀2-3-4",
    )
    # Same office number but another type must not match.
    make_provider(type_code="care_management", name="さくらケアプラン", kana="サクラケアプラン",
                  care_code="0361200022")
    by_name = make_provider(type_code="nursing", name="つばき訪問看護", kana="ツバキホウモンカンゴ",
                            address="東京都世田谷区北沢2-10-5")
    report = run("jigyosho_130.csv", commit=True)
    statuses = {r.name: (r.status, r.provider_id) for r in report.rows}
    assert statuses["さくら訪問看護ステーション"] == (opendata.UPDATE, nursing.pk)
    assert statuses["つばき訪問看護"] == (opendata.UPDATE, by_name.pk)
    by_name.refresh_from_db()
    assert by_name.care_code == "0361200022"
    # 0 lat/lng in the file never wipes stored coordinates.
    assert by_name.latitude is not None


def test_two_stored_providers_with_the_rows_name_and_address_are_a_problem_not_a_third(reference):
    twins = [
        make_provider(type_code="nursing", name="つばき訪問看護", kana="ツバキホウモンカンゴ",
                      address="東京都世田谷区北沢2-10-5")
        for _i in range(2)
    ]
    report = opendata.import_file(sample("jigyosho_130.csv"), file_name="jigyosho_130.csv", commit=True,
                                  leave_out_errors=True)
    outcome = next(r for r in report.rows if r.name == "つばき訪問看護")
    assert outcome.status == opendata.ERROR
    assert "同じ名称・住所の事業所が複数登録されています" in outcome.errors[0][1]
    assert Provider.objects.filter(name="つばき訪問看護").count() == 2
    assert all(not Provider.objects.get(pk=p.pk).care_code for p in twins)


# --- dry run, errors, all-or-nothing ------------------------------------------------------------


def test_dry_run_saves_nothing(reference):
    count, changes = Provider.objects.count(), ProviderChange.objects.count()
    report = run("jigyosho_130.csv")
    assert report.totals["new"] == 2 and not report.committed
    assert Provider.objects.count() == count and ProviderChange.objects.count() == changes


def test_error_rows_reported_by_line_and_column_and_nothing_saved(reference):
    def edit(rows):
        rows[0]["電話番号"] = "03-ABCD-1111"
        rows[1]["緯度"] = "北緯35度"

    count = Provider.objects.count()
    report = run("jigyosho_130.csv", commit=True, data=rewrite("jigyosho_130.csv", edit))
    assert not report.committed
    errors = {(line, column) for line, column, _message in report.errors}
    assert (2, "電話番号") in errors
    assert (3, "緯度") in errors
    assert Provider.objects.count() == count
    lines = report.error_lines()
    assert any(line.startswith("2行目 電話番号:") for line in lines)


def test_duplicate_row_in_file_is_an_error(reference):
    def edit(rows):
        rows.append(dict(rows[0]))

    report = run("jigyosho_130.csv", data=rewrite("jigyosho_130.csv", edit))
    assert any(line == 5 and "2行目と同じ" in message for line, _c, message in report.errors)


def test_coordinates_outside_municipality_reported_on_latitude_column(reference):
    def edit(rows):
        rows[0]["緯度"], rows[0]["経度"] = "35.000000", "139.000000"

    report = run("kaigo_v1.csv", data=rewrite("kaigo_v1.csv", edit))
    assert any(column == "緯度" for _line, column, _m in report.errors)


def test_command_dry_run_commit_and_errors(reference, tmp_path, django_user_model):
    out = io.StringIO()
    call_command("import_opendata", str(DATA / "jigyosho_130.csv"), stdout=out)
    assert "新規 2件" in out.getvalue() and "対象外（他の自治体） 1件" in out.getvalue()
    assert "保存していません" in out.getvalue()
    assert not Provider.objects.filter(name="さくら訪問看護ステーション").exists()

    django_user_model.objects.create_user("importer", password="x-Pass-1234567")
    out = io.StringIO()
    call_command("import_opendata", str(DATA / "jigyosho_130.csv"), "--commit", "--user", "importer", stdout=out)
    assert "取り込みました" in out.getvalue()
    assert Provider.objects.get(name="さくら訪問看護ステーション").changes.get().user.username == "importer"

    bad = tmp_path / "bad.csv"
    bad.write_bytes(rewrite("kaigo_v1.csv", lambda rows: rows[0].update({"電話番号": "12345"})))
    with pytest.raises(CommandError, match="2行目 電話番号"):
        call_command("import_opendata", str(bad), "--commit", stdout=io.StringIO())


# --- admin page ---------------------------------------------------------------------------------


def test_admin_button_preview_and_confirm(staff_client, staff_user):
    changelist = staff_client.get(reverse("admin:resourcemap_provider_changelist"))
    assert "オープンデータ取込" in page_text(changelist)
    assert reverse(IMPORT_URL) in page_text(changelist)

    page = staff_client.get(reverse(IMPORT_URL))
    assert page.status_code == 200
    preview = staff_client.post(
        reverse(IMPORT_URL), {"import_file": SimpleUploadedFile("jigyosho_130.csv", sample("jigyosho_130.csv"))}
    )
    assert preview.status_code == 200
    text = page_text(preview)
    assert "さくら訪問看護ステーション" in text and "新規 2件" in text and "対象外（他の自治体）" in text
    assert not Provider.objects.filter(name="さくら訪問看護ステーション").exists()
    token = preview.context["token"]

    done = staff_client.post(reverse(IMPORT_URL), {"token": token})
    assert done.status_code == 302
    provider = Provider.objects.get(name="さくら訪問看護ステーション")
    assert provider.changes.get().user == staff_user
    # The token is used up.
    again = staff_client.post(reverse(IMPORT_URL), {"token": token})
    assert again.status_code == 302
    assert Provider.objects.filter(name="さくら訪問看護ステーション").count() == 1


def test_admin_preview_lists_errors_and_offers_the_two_choices(staff_client):
    data = rewrite("jigyosho_130.csv", lambda rows: rows[0].update({"電話番号": "03-ABCD-1111"}))
    preview = staff_client.post(reverse(IMPORT_URL), {"import_file": SimpleUploadedFile("j.csv", data)})
    assert preview.status_code == 200
    text = page_text(preview)
    assert "2行目 電話番号" in text and "1行に誤りがあります。まだ何も取り込んでいません" in text
    assert "ファイルを直して" in text
    assert "誤りのない1件を取り込み、誤りのある1行は取り込まない" in text
    token = preview.context["token"]

    # The rows left out, as a CSV with the reason in the last column.
    download = staff_client.get(preview.context["left_out_url"])
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0][-1] == "取り込まなかった理由" and len(rows) == 2
    assert rows[1][4] == "さくら訪問看護ステーション" and rows[1][-1].startswith("電話番号: ")

    # A plain confirm is refused while rows have problems: nothing is saved.
    staff_client.post(reverse(IMPORT_URL), {"token": token})
    assert not Provider.objects.filter(name="つばき訪問看護").exists()
    preview = staff_client.post(reverse(IMPORT_URL), {"import_file": SimpleUploadedFile("j.csv", data)})
    done = staff_client.post(reverse(IMPORT_URL), {"token": preview.context["token"], "choice": "leave_out"})
    assert done.status_code == 302
    assert Provider.objects.filter(name="つばき訪問看護").exists()
    assert not Provider.objects.filter(name="さくら訪問看護ステーション").exists()


def test_admin_navii_with_hours_file(staff_client):
    base = Path(__file__).parent / "data" / "opendata"
    files = {
        "import_file": SimpleUploadedFile("01-1_hospital_facility_info_20990101_sample.csv",
                                          (base / "01-1_hospital_facility_info_20990101_sample.csv").read_bytes()),
        "hours_file": SimpleUploadedFile("01-2_hospital_speciality_hours_20990101_sample.csv",
                                         (base / "01-2_hospital_speciality_hours_20990101_sample.csv").read_bytes()),
    }
    preview = staff_client.post(reverse(IMPORT_URL), files)
    text = page_text(preview)
    assert "医療情報ネット（ナビイ）" in text and "新規 2件" in text and "営業時間" in text
    staff_client.post(reverse(IMPORT_URL), {"token": preview.context["token"]})
    assert Provider.objects.get(name="くぬぎ病院").opening_periods.count() == 8


def test_admin_bad_file_and_stale_token_never_500(staff_client):
    response = staff_client.post(
        reverse(IMPORT_URL), {"import_file": SimpleUploadedFile("x.csv", b"PK\x03\x04garbage")}
    )
    assert response.status_code == 200 and "ZIP" in page_text(response)
    response = staff_client.post(reverse(IMPORT_URL), {"token": "nope-not-a-token"})
    assert response.status_code == 302


def test_admin_confirm_aborts_when_data_changed_after_preview(staff_client):
    preview = staff_client.post(
        reverse(IMPORT_URL), {"import_file": SimpleUploadedFile("kaigo_v1.csv", sample("kaigo_v1.csv"))}
    )
    make_provider(type_code="home_help", name="ひまわりケアセンター", kana="ヒマワリケアセンター",
                  care_code="1371200077")
    response = staff_client.post(reverse(IMPORT_URL), {"token": preview.context["token"]}, follow=True)
    assert "データが変わった" in page_text(response)
    assert Provider.objects.filter(care_code="1371200077").count() == 1


def test_admin_import_needs_change_permission(client, reference, django_user_model):
    from django.contrib.auth.models import Group

    from resourcemap.reference import viewer_group_name

    viewer = django_user_model.objects.create_user("viewer", password="x-Pass-1234567", is_staff=True)
    viewer.groups.add(Group.objects.get(name=viewer_group_name()))
    client.force_login(viewer)
    assert client.get(reverse(IMPORT_URL)).status_code == 403
    assert "オープンデータ取込" not in page_text(client.get(reverse("admin:resourcemap_provider_changelist")))
    client.logout()
    assert client.get(reverse(IMPORT_URL)).status_code == 302  # to the login page


# --- export -------------------------------------------------------------------------------------


def test_export_csv_columns_encoding_and_headers(client, reference):
    provider = make_provider(
        name="=HYPERLINK(\"x\")", kana="イコール", care_code="0131200001", type_code="nursing",
        corporate_number="0123456789012", contact_person="秘密の担当者", contact_email="secret@example.jp",
        contact_phone="03-9999-9999", capabilities={"h24": None, "mitori": {"count": 2}},
        last_confirmed_on=dt.date(2026, 4, 1), building="2階",
    )
    response = client.get(reverse("opendata_csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["X-Data-License"] == "CC BY 4.0"
    assert response["X-Data-As-Of"] >= "2026-04-01"
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in body and b"\n" not in body.replace(b"\r\n", b"")
    rows = csv_rows(response)
    assert tuple(rows[0]) == opendata.EXPORT_HEADERS
    assert rows[0][:16] == list(opendata.STANDARD_HEADERS)
    data = dict(zip(rows[0], next(r for r in rows[1:] if r[1] == str(provider.pk)), strict=True))
    assert data["全国地方公共団体コード"] == "131121"
    assert data["地方公共団体名"] == "東京都世田谷区"
    assert data["名称"] == "'=HYPERLINK(\"x\")"  # formula escaped
    assert data["事業所番号"] == "0131200001" and data["法人番号"] == "0123456789012"
    assert data["所在地_都道府県"] == "東京都" and data["所在地_市区町村"] == "世田谷区"
    assert data["所在地_町字"] == "用賀" and data["所在地_連結表記"] == provider.address
    assert data["建物名等(方書)"] == "2階" and data["町字ID"] == ""
    assert data["種別"] == "訪問看護ステーション"
    assert data["対応できること"] == "24時間対応;看取り・ターミナルケア"
    assert data["最終確認日"] == "2026-04-01"
    text = body.decode("utf-8-sig")
    for secret in ("秘密の担当者", "secret@example.jp", "03-9999-9999"):
        assert secret not in text


def test_export_public_only_and_filters_honoured(client, reference):
    nursing = make_provider(type_code="nursing", name="訪看A", kana="ホウカンエー", capabilities={"h24": None})
    clinic = make_provider(type_code="clinic", name="診療所B", kana="シンリョウジョビー")
    closed = make_provider(type_code="nursing", name="廃止C", kana="ハイシシー", status=Provider.Status.CLOSED)
    ids = lambda response: {row[1] for row in csv_rows(response)[1:]}  # noqa: E731
    everything = ids(client.get(reverse("opendata_csv")))
    assert {str(nursing.pk), str(clinic.pk)} <= everything and str(closed.pk) not in everything
    filtered = ids(client.get(reverse("opendata_csv"), {"type": "nursing", "cap": "h24"}))
    assert filtered == {str(nursing.pk)}
    # Malformed parameters are ignored, never a 500.
    response = client.get(reverse("opendata_csv"), {"type": "nope", "lat": "x", "radius": "-1", "page": "zz"})
    assert response.status_code == 200 and str(clinic.pk) in ids(response)


def test_data_as_of_follows_the_chosen_providers_however_many_ids(time_machine, reference):
    time_machine.move_to("2025-03-03 10:00:00+09:00")
    old = make_provider(last_confirmed_on=dt.date(2025, 3, 1))
    time_machine.move_to("2026-06-10 10:00:00+09:00")
    make_provider(last_confirmed_on=dt.date(2026, 6, 1))
    published = Provider.objects.published()
    assert published.data_as_of() == dt.date(2026, 6, 10)
    assert published.data_as_of([old.pk]) == dt.date(2025, 3, 3)
    # More ids than one SQL statement may bind: still only the chosen providers count.
    many = [*range(10**9, 10**9 + 2500), old.pk]
    assert published.data_as_of(many) == dt.date(2025, 3, 3)
    assert published.data_as_of([]) is None


def test_opendata_page_and_footer_link(client, reference):
    make_provider(last_confirmed_on=dt.date(2026, 4, 1))
    response = client.get(reverse("opendata"))
    assert response.status_code == 200
    text = page_text(response)
    assert "CC BY 4.0" in text
    assert reverse("opendata_csv") in text and reverse("api_geojson") in text
    assert "自治体標準オープンデータセット" in text and "所在地_連結表記" in text
    assert Provider.objects.published().data_as_of().isoformat() in text
    assert reverse("opendata") in page_text(client.get(reverse("map")))


def test_round_trip_export_then_standard_import_changes_nothing(client, reference):
    make_provider(type_code="nursing", name="往復訪問看護", kana="オウフクホウモンカンゴ",
                  care_code="1361299999", name_en="Roundtrip Nursing", website="https://rt.example.jp/",
                  corporate_number="1234567890123", corporate_name="株式会社往復", building="3F",
                  capabilities={"h24": None})
    make_provider(type_code="clinic", name="往復クリニック", kana="オウフククリニック",
                  medical_code="1310000001", fax="03-1111-2222", notes="=危ない式")
    make_provider(type_code="pharmacy", name="コードなし薬局", kana="コードナシヤッキョク",
                  latitude=None, longitude=None)
    # A type name with full-width brackets (normalised on import).
    make_provider(type_code="houkatsu", name="あんしんすこやかセンター往復", kana="アンシンスコヤカセンターオウフク")
    body = client.get(reverse("opendata_csv")).content
    assert opendata.detect_layout(formats.read_csv(body).headers) == opendata.STANDARD
    changes = ProviderChange.objects.count()
    report = opendata.import_file(body, file_name="providers.csv", commit=True)
    assert not report.has_errors, report.error_lines()
    assert report.totals["unchanged"] == Provider.objects.published().count()
    assert report.totals["new"] == report.totals["update"] == 0
    assert ProviderChange.objects.count() == changes
    assert OpeningPeriod.objects.exists()
    assert Provider.objects.filter(latitude=Decimal("0")).count() == 0


def test_admin_preview_table_leaves_out_other_municipalities(staff_client):
    preview = staff_client.post(
        reverse(IMPORT_URL), {"import_file": SimpleUploadedFile("jigyosho_130.csv", sample("jigyosho_130.csv"))}
    )
    assert [row["line"] for row in preview.context["rows"]] == [2, 3]
    assert preview.context["totals"]["skipped"] == 1
    assert "しぶや訪問看護" not in page_text(preview)


def test_export_with_japanese_license_name(client, reference):
    from resourcemap.models import Municipality

    Municipality.objects.update(data_license="政府標準利用規約（第2.0版）")
    response = client.get(reverse("opendata_csv"))
    assert response.status_code == 200 and response["X-Data-License"]
    assert "政府標準利用規約（第2.0版）" in page_text(client.get(reverse("opendata")))


def test_confirmation_is_based_on_the_versions_the_preview_saw(reference):
    existing = make_provider(name="かえで在宅クリニック", kana="カエデザイタククリニック",
                             medical_code="1312345678", phone="03-0000-0000")
    preview = run("iryokikan_v1.csv")
    versions = {r.provider_id: r.version for r in preview.rows if r.provider_id and r.version}
    assert versions[existing.pk] == existing.version
    # After the preview, a survey approval sets another phone number.
    from resourcemap import providers

    providers.provider_update(provider=existing, changes={"phone": "03-1212-3434"},
                              actor_kind=ProviderChange.Actor.SURVEY, source="調査")
    report = opendata.import_file(sample("iryokikan_v1.csv"), file_name="iryokikan_v1.csv", commit=True,
                                  base_versions=versions)
    assert not report.committed
    row = next(r for r in report.rows if r.provider_id == existing.pk)
    assert any("「03-1212-3434」に変えました" in message for _column, message in row.errors), row.errors
    existing.refresh_from_db()
    assert existing.phone == "03-1212-3434"


def test_confirmation_refuses_a_provider_the_preview_did_not_match(reference):
    make_provider(name="かえで在宅クリニック", kana="カエデザイタククリニック", medical_code="1312345678")
    report = opendata.import_file(sample("iryokikan_v1.csv"), file_name="iryokikan_v1.csv", commit=True,
                                  base_versions={})
    assert not report.committed
    assert any("確認画面の後に登録された事業所" in m for r in report.rows for _c, m in r.errors)
