"""Public files as published: the real MHLW and ナビイ files in ../shared/realdata/ and small
fictional files for the variants seen in municipal files."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command

from resourcemap import opendata
from resourcemap.models import (
    DistrictTown,
    HoursException,
    Municipality,
    OpeningPeriod,
    Provider,
    ProviderChange,
    ProviderExternalId,
)
from tests.factories import make_provider

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data" / "opendata"
REALDATA = Path(os.environ.get("REALDATA_DIR") or Path(__file__).resolve().parents[1] / ".." / "shared" / "realdata")
NAVII_REAL = "navii/01-1_hospital_facility_info_20250601_setagaya_rows.csv"
NAVII_SAMPLE = "01-1_hospital_facility_info_20990101_sample.csv"
HOURS_SAMPLE = "01-2_hospital_speciality_hours_20990101_sample.csv"
# A frozen "today" for dated closures (next 年末年始 is 2026-12-29 … 2027-01-03).
TODAY = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))


def real(name: str) -> bytes:
    path = REALDATA / name
    if not path.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"real data file missing under CI: {path}")
        pytest.skip(f"real data not available here ({path})")
    return path.read_bytes()


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def run(data: bytes, name: str, **kwargs) -> opendata.ImportReport:
    return opendata.import_file(data, file_name=name, **kwargs)


# --- MHLW 介護サービス情報公表: whole national files -----------------------------------------------


@pytest.mark.parametrize(
    ("name", "rows", "setagaya", "type_code"),
    [
        ("jigyosho_760.csv", 1466, 7, "teiki"),
        ("jigyosho_770.csv", 1106, 9, "kantaki"),
        ("jigyosho_140.csv", 5091, 16, "home_rehab"),
    ],
)
def test_real_mhlw_file_imports_every_setagaya_row_and_reimport_changes_nothing(reference, name, rows, setagaya, type_code):
    data = real(f"mhlw/{name}")
    report = run(data, name, commit=True)
    assert report.committed and not report.has_errors, report.error_lines()
    assert report.rows_read == rows
    assert report.totals["new"] == setagaya
    assert report.totals["skipped"] == rows - setagaya
    assert Provider.objects.filter(provider_type__code=type_code).count() == setagaya
    changes = ProviderChange.objects.count()

    again = run(data, name, commit=True)
    assert again.totals["unchanged"] == setagaya and again.totals["new"] == 0 and again.totals["update"] == 0
    assert ProviderChange.objects.count() == changes


def test_real_770_service_name_phones_and_building(reference):
    run(real("mhlw/jigyosho_770.csv"), "jigyosho_770.csv", commit=True)
    run(real("mhlw/jigyosho_760.csv"), "jigyosho_760.csv", commit=True)
    # 看護小規模多機能型居宅介護（複合型サービス） is the type 看護小規模多機能型居宅介護.
    yoga = Provider.objects.get(name="看多機 かえりえ用賀")
    assert yoga.provider_type.code == "kantaki"
    assert yoga.phone == "050-1753-5905"  # published as 50-1753-5905 (leading zero lost)
    sancha = Provider.objects.get(name="優っくり看護小規模多機能介護三軒茶屋")
    assert sancha.phone == "03-6453-2451" and sancha.fax == "03-6453-2452"  # 03₋6453₋2451
    assert sancha.address == "東京都世田谷区三軒茶屋2-32-14"  # 2‐32₋14
    # 住所 already ends with 方書: stored once, also when glued on without a separator.
    seijo = Provider.objects.get(care_code="1391201033")
    assert (seijo.address, seijo.building) == ("東京都世田谷区成城2-35-3", "101")
    kamikitazawa = Provider.objects.get(name="看多機かえりえ上北沢")
    assert (kamikitazawa.address, kamikitazawa.building) == ("東京都世田谷区上北沢3-32-13", "3階4階")
    # Names NFKC-normalised like addresses.
    assert Provider.objects.filter(name="SOMPOケア世田谷").exists()
    assert not Provider.objects.filter(name__contains="ＳＯＭＰＯ").exists()


def test_real_140_address_without_prefecture_gets_it(reference):
    run(real("mhlw/jigyosho_140.csv"), "jigyosho_140.csv", commit=True)
    todoroki = Provider.objects.get(name="ふくろうクリニック等々力")
    assert todoroki.address == "東京都世田谷区等々力3-5-2"
    assert todoroki.building == "ヒューリック等々力3階"
    assert todoroki.hours_unknown and "平日,土曜日" in todoroki.hours_note


# --- ナビイ -------------------------------------------------------------------------------------


@time_machine.travel(TODAY, tick=False)
def test_real_navii_hospitals_import(reference):
    data = real(NAVII_REAL)
    report = run(data, Path(NAVII_REAL).name, commit=True)
    assert report.layout == opendata.NAVII
    assert report.committed and not report.has_errors, report.error_lines()
    assert report.totals["new"] == 8
    hospitals = Provider.objects.filter(provider_type__code="hospital")
    assert hospitals.count() == 8
    komazawa = hospitals.get(name="一般財団法人平和協会 駒沢病院")
    assert komazawa.kana.startswith("イッパンザイダンホウジン")
    assert komazawa.name_en == "KOMAZAWA Hospital"
    assert komazawa.address == "東京都世田谷区駒沢2-2-15"
    assert (komazawa.latitude, komazawa.longitude) == (Decimal("35.633897"), Decimal("139.660440"))
    assert komazawa.website == "https://komazawa-hp.jp/"
    # Weekday flags 1 = open: Mon–Sat, not Sunday; no hours file, so a note and hours unknown.
    assert komazawa.hours_unknown and not komazawa.opening_periods.exists()
    assert "月・火・水・木・金・土" in komazawa.hours_note and "日" not in komazawa.hours_note.split(":")[1]
    closures = list(komazawa.hours_exceptions.order_by("start_date"))
    assert [(e.start_date, e.end_date, e.note) for e in closures] == [
        (dt.date(2026, 12, 30), dt.date(2027, 1, 3), "年末年始"),
        (dt.date(2027, 6, 12), dt.date(2027, 6, 12), "休診日"),  # 06月第二土曜日
    ]
    assert all(e.closed for e in closures)
    # All-zero flags mean "not reported": no open-days note.
    sangenjaya = hospitals.get(name__endswith="三軒茶屋病院")
    assert "診療日" not in sangenjaya.hours_note
    assert ProviderExternalId.objects.filter(scheme="navii").count() == 8

    changes = ProviderChange.objects.count()
    again = run(data, Path(NAVII_REAL).name, commit=True)
    assert again.totals["unchanged"] == 8
    assert ProviderChange.objects.count() == changes
    assert HoursException.objects.count() == sum(len(p.hours_exceptions.all()) for p in hospitals)


@time_machine.travel(TODAY, tick=False)
def test_navii_with_hours_file_gives_weekly_hours(reference):
    report = run(sample(NAVII_SAMPLE), NAVII_SAMPLE, commit=True, hours_data=sample(HOURS_SAMPLE))
    assert report.committed and report.totals["new"] == 2 and report.totals["skipped"] == 1
    kashiwa = Provider.objects.get(name="医療法人社団かしわ会 かしわ病院")
    periods = {(p.weekday, p.opens.strftime("%H:%M"), p.closes.strftime("%H:%M")) for p in kashiwa.opening_periods.all()}
    # Departments and slots merged; 内科 09–12 + 外科 10–12:30 on Mon -> 09:00–12:30; start = end is empty.
    assert (0, "09:00", "12:30") in periods and (0, "14:00", "17:00") in periods
    assert (2, "09:00", "12:00") in periods and (5, "09:00", "12:00") in periods
    assert not any(p[0] == 6 for p in periods)
    assert not kashiwa.hours_unknown
    assert "創立記念日" in kashiwa.hours_note  # a closure that is not a date stays a note
    notes = {e.note for e in kashiwa.hours_exceptions.all()}
    assert notes == {"年末年始", "休診日"}  # 08月第三水曜日 -> 2027-08-18
    assert kashiwa.hours_exceptions.filter(start_date=dt.date(2027, 8, 18)).exists()
    kunugi = Provider.objects.get(name="くぬぎ病院")
    assert kunugi.latitude is None and kunugi.longitude is None  # 0.0 = unknown
    assert kunugi.area.code == "kyodo"  # from the address, without coordinates
    assert set(kunugi.opening_periods.values_list("weekday", flat=True)) == set(range(8))
    assert all(p.opens == p.closes == dt.time(0) for p in kunugi.opening_periods.all())  # 00:00–23:59 = 24 h


def test_navii_hours_file_with_unknown_header_is_reported(reference):
    bad = "施設ID,月曜開始\r\n1,09:00\r\n".encode()
    with pytest.raises(opendata.LayoutError, match="このファイルの列: 施設ID、月曜開始"):
        run(sample(NAVII_SAMPLE), NAVII_SAMPLE, hours_data=bad)


# --- services by name, services not on the map --------------------------------------------------


def test_services_not_on_the_map_are_skipped_and_counted(reference):
    report = run(sample("jigyosho_120.csv"), "jigyosho_120.csv", commit=True)
    assert report.committed and not report.has_errors
    assert report.totals["not_listed"] == 2 and report.totals["skipped"] == 1 and report.totals["new"] == 0
    assert "このマップにない種類のため対象外 2行（訪問入浴介護 2行）" in report.summary()


def test_municipal_variant_file_names_services_in_words(reference):
    report = run(sample("kaigo_municipal_variant.csv"), "kaigo_municipal_variant.csv", commit=True)
    assert report.layout == opendata.V1_CARE
    assert report.committed and not report.has_errors, report.error_lines()
    types = dict(Provider.objects.filter(name__contains="はなみずき").values_list("name", "provider_type__code"))
    assert types == {
        "はなみずき訪問看護": "nursing",  # 訪問看護 ↔ 訪問看護ステーション
        "ケアプランはなみずき": "care_management",  # 居宅介護支援事業所 ↔ 居宅介護支援
        "看多機はなみずき": "kantaki",  # half-width brackets, (複合型サービス)
        "はなみずき入浴": "home_help",  # 訪問入浴介護 left out, 訪問介護 kept
    }
    assert Provider.objects.get(name="用賀あんしん").provider_type.code == "houkatsu"  # 介護予防支援事業所
    assert report.not_listed == {"通所介護": 1, "訪問入浴介護": 1}
    assert report.totals["not_listed"] == 1 and report.totals["skipped"] == 1  # 下松市 row
    nurse = Provider.objects.get(name="はなみずき訪問看護")
    assert nurse.phone == "03-3700-4001"  # ‐ hyphens
    assert nurse.address == "東京都世田谷区深沢一丁目2番3号"  # 所在地 read as 住所
    assert nurse.kana == "ハナミズキホウモンカンゴ"  # blank カナ allowed, reading derived from the name
    plan = Provider.objects.get(name="ケアプランはなみずき")
    assert plan.phone == "03-3700-4002" and plan.kana == "ケアプランハナミズキ"


def test_missing_columns_error_names_the_files_real_columns(reference):
    data = "都道府県名,市町村,介護サービス事業所名称,実施サービス\r\n東京都,世田谷区,A,訪問看護\r\n".encode()
    with pytest.raises(opendata.LayoutError) as error:
        run(data, "x.csv")
    assert "住所" in str(error.value) and "このファイルの列: 都道府県名、市町村、介護サービス事業所名称、実施サービス" in str(error.value)


# --- normalising helpers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("published", "stored"),
    [
        ("03₋6453₋2451", "03-6453-2451"),
        ("50-1753-5905", "050-1753-5905"),
        ("050-1753-5905", "050-1753-5905"),
        ("03−1234−5678", "03-1234-5678"),
        ("03–1234—5678", "03-1234-5678"),
        ("03ー1234ー5678", "03-1234-5678"),
        ("０３－１２３４－５６７８", "03-1234-5678"),
        ("03(1234)5678", "03-1234-5678"),
        ("09012345678", "090-1234-5678"),
        ("0120123456", "0120-123-456"),
        ("内線なし", "内線なし"),
    ],
)
def test_phone_normalised(published, stored):
    assert opendata.normalise_phone(published) == stored


def test_addresses_written_differently_match():
    assert opendata.address_key("山口県下松市生野屋南一丁目10番1号") == opendata.address_key("下松市生野屋南1-10-1")
    assert opendata.address_key("東京都世田谷区野毛2丁目30番10号") == opendata.address_key("世田谷区野毛2-30-10")
    assert opendata.address_key("世田谷区成城2-35-3101号室") != opendata.address_key("世田谷区成城2-35-3")
    assert opendata.address_key("世田谷区用賀2-31-7 イイダアネックスⅠ 2階A") == opendata.address_key("世田谷区用賀2-31-7")
    assert opendata.kanji_number("二十三") == 23


# --- one bad cell does not block the file ---------------------------------------------------------


def _with_bad_phone() -> bytes:
    text = sample("kaigo_municipal_variant.csv").decode("utf-8-sig")
    return text.replace("050-1700-4004", "050-ABCD-4004").encode("utf-8-sig")


def test_bad_cell_is_a_row_problem_and_good_rows_can_be_imported_leaving_it_out(reference, tmp_path):
    data = _with_bad_phone()
    report = run(data, "variant.csv", commit=True)
    assert not report.committed and Provider.objects.filter(name__contains="はなみずき").count() == 0
    assert report.error_line_numbers == [5]
    assert [(line, column) for line, column, _m in report.errors] == [(5, "電話番号")]
    assert report.good_changes == 4

    report = run(data, "variant.csv", commit=True, leave_out_errors=True)
    assert report.committed
    assert Provider.objects.filter(name__contains="はなみずき").count() == 3
    assert not Provider.objects.filter(name="看多機はなみずき").exists()
    assert "誤りのある1行は取り込んでいません" in report.summary()
    rows = list(csv.reader(io.StringIO(opendata.left_out_csv(report).decode("utf-8-sig"))))
    assert rows[0][-1] == "取り込まなかった理由" and rows[0][:3] == ["都道府県名", "NO", "市町村"]
    assert len(rows) == 2 and rows[1][3] == "看多機はなみずき" and rows[1][10] == "050-ABCD-4004"
    assert rows[1][-1].startswith("電話番号: ")


def test_command_leave_out_errors_writes_left_out_csv(reference, tmp_path):
    path = tmp_path / "variant.csv"
    path.write_bytes(_with_bad_phone())
    out = io.StringIO()
    call_command("import_opendata", str(path), "--commit", "--leave-out-errors",
                 "--left-out", str(tmp_path / "left.csv"), stdout=out)
    assert "取り込みました" in out.getvalue() and "rows read 7" in out.getvalue()
    assert "看多機はなみずき" in (tmp_path / "left.csv").read_bytes().decode("utf-8-sig")


# --- no duplicates across sources ----------------------------------------------------------------


def test_same_office_from_city_file_and_mhlw_file_is_matched_not_created_twice(reference):
    # The city's list (no 事業所番号) first, written 一丁目2番3号; then the MHLW file with the code.
    make_provider(type_code="nursing", name="はなみずき訪問看護", kana="ハナミズキホウモンカンゴ",
                  address="東京都世田谷区深沢一丁目2番3号", care_code="")
    mhlw = (
        "都道府県コード又は市町村コード,No,都道府県名,市区町村名,事業所名,事業所名カナ,サービスの種類,住所,方書（ビル名等）,"
        "緯度,経度,電話番号,FAX番号,法人番号,法人の名称,事業所番号,利用可能曜日,利用可能曜日特記事項,定員,URL\r\n"
        "131121,1,東京都,世田谷区,はなみずき訪問看護,ハナミズキホウモンカンゴ,訪問看護,東京都世田谷区深沢1-2-3,,,,"
        "03-3700-4001,,,,1361204001,,,,\r\n"
    ).encode("utf-8-sig")
    report = run(mhlw, "jigyosho_130.csv", commit=True)
    assert report.totals["new"] == 0 and report.totals["update"] == 1, report.error_lines()
    provider = Provider.objects.get(name="はなみずき訪問看護")
    assert provider.care_code == "1361204001"
    again = run(mhlw, "jigyosho_130.csv", commit=True)
    assert again.totals["unchanged"] == 1


def test_likely_duplicate_is_offered_to_staff_not_created(reference):
    existing = make_provider(type_code="nursing", name="訪問看護はなみずき", address="東京都世田谷区深沢1-2-3", care_code="")
    report = run(sample("kaigo_municipal_variant.csv"), "variant.csv", commit=True, leave_out_errors=True)
    outcome = next(r for r in report.rows if r.name == "はなみずき訪問看護")
    assert outcome.status == opendata.ERROR and outcome.provider_id == existing.pk
    assert "同じ事業所かもしれません" in outcome.errors[0][1]
    assert Provider.objects.filter(provider_type__code="nursing", address__contains="深沢").count() == 1


def test_district_from_town_table_before_nearest_centre(reference):
    # A town not in the table: the nearest district centre, and the preview says so.
    report = run(sample("kaigo_municipal_variant.csv").replace("用賀4-5-6".encode(), "尾山台3-1-1".encode()),
                 "variant.csv")
    outcome = next(r for r in report.rows if r.name == "用賀あんしん")
    assert "いちばん近い地区" in outcome.note
    # The reference table (fixtures) puts 深沢 in 深沢; a more precise row for 1〜2丁目 wins.
    row = DistrictTown.objects.create(district_id=_area("okusawa"), town="深沢", chome="1-2")
    try:
        report = run(sample("kaigo_municipal_variant.csv"), "variant.csv", commit=True)
        assert Provider.objects.get(name="はなみずき訪問看護").area.code == "okusawa"
        assert Provider.objects.get(name="用賀あんしん").area.code == "yoga"
        outcome = next(r for r in report.rows if r.name == "用賀あんしん")
        assert "町丁目" in outcome.note
    finally:
        row.delete()


def test_reference_town_table_loaded_for_setagaya(reference):
    from resourcemap.opendata import DistrictTable

    table = DistrictTable(Municipality.current())
    assert table.district_for("東京都世田谷区桜丘4-25-8") == "kyodo"
    assert table.district_for("東京都世田谷区奥沢7-1-1") == "kuhonbutsu"
    assert table.district_for("東京都世田谷区奥沢二丁目3番4号") == "okusawa"


def _area(code: str) -> int:
    from resourcemap.models import Area

    return Area.objects.get(code=code).pk


# --- round trip ----------------------------------------------------------------------------------


@time_machine.travel(TODAY, tick=False)
def test_round_trip_real_files_import_export_import_changes_nothing(client, reference):
    for name in ("mhlw/jigyosho_760.csv", "mhlw/jigyosho_770.csv", NAVII_REAL):
        report = run(real(name), Path(name).name, commit=True)
        assert report.committed and not report.has_errors
    count, changes = Provider.objects.count(), ProviderChange.objects.count()
    periods, exceptions = OpeningPeriod.objects.count(), HoursException.objects.count()
    body = b"".join(client.get("/opendata/providers.csv").streaming_content) if False else client.get(
        "/opendata/providers.csv"
    ).content
    report = run(body, "providers.csv", commit=True)
    assert report.layout == opendata.STANDARD
    assert report.totals["unchanged"] == count and report.totals["new"] == 0 and not report.has_errors
    assert (Provider.objects.count(), ProviderChange.objects.count()) == (count, changes)
    assert (OpeningPeriod.objects.count(), HoursException.objects.count()) == (periods, exceptions)


def test_import_queries_do_not_grow_with_rows(reference, django_assert_max_num_queries):
    header = ("都道府県コード又は市町村コード,No,都道府県名,市区町村名,事業所名,事業所名カナ,サービスの種類,住所,"
              "方書（ビル名等）,緯度,経度,電話番号,FAX番号,法人番号,法人の名称,事業所番号\r\n")
    body = "".join(
        f"131121,{n},東京都,世田谷区,件数テスト{n},ケンスウテスト{n},訪問看護,東京都世田谷区用賀1-2-{n},,"
        f"35.6265,139.6335,03-3700-{n:04d},,,,18{n:08d}\r\n"
        for n in range(1, 61)
    )
    with django_assert_max_num_queries(40):
        report = run((header + body).encode("utf-8-sig"), "jigyosho_130.csv", commit=True)
    assert report.totals["new"] == 60
    with django_assert_max_num_queries(15):
        again = run((header + body).encode("utf-8-sig"), "jigyosho_130.csv", commit=True)
    assert again.totals["unchanged"] == 60


def test_kana_cell_with_kanji_is_never_the_reading(reference):
    # Seen in the real national files: カナ holding the name in kanji (name and カナ swapped),
    # or another column's value (a service name).
    header = ("都道府県コード又は市町村コード,No,都道府県名,市区町村名,事業所名,事業所名カナ,サービスの種類,住所,"
              "方書（ビル名等）,緯度,経度,電話番号,FAX番号,法人番号,法人の名称,事業所番号\r\n")
    body = (
        "131121,1,東京都,世田谷区,ていきじゅんかいさくら,定期巡回さくら,定期巡回・随時対応型訪問介護看護,"
        "東京都世田谷区用賀1-2-3,,,,03-3700-0001,,,,1371209001\r\n"
        "131121,2,東京都,世田谷区,世田谷中央定期巡回,定期巡回随時対応型訪問介護看護,定期巡回・随時対応型訪問介護看護,"
        "東京都世田谷区用賀1-2-4,,,,03-3700-0002,,,,1371209002\r\n"
    )
    report = run((header + body).encode("utf-8-sig"), "jigyosho_760.csv", commit=True)
    assert report.committed and report.totals["new"] == 2, report.error_lines()
    swapped = Provider.objects.get(care_code="1371209001")
    assert (swapped.name, swapped.kana) == ("定期巡回さくら", "テイキジュンカイサクラ")
    assert "入れ替わっていた" in report.rows[0].note
    other = Provider.objects.get(care_code="1371209002")
    assert other.name == "世田谷中央定期巡回" and other.kana.startswith("セタガヤチュウオウ")
    assert "よみがなとしては使っていません" in report.rows[1].note
    again = run((header + body).encode("utf-8-sig"), "jigyosho_760.csv", commit=True)
    assert again.totals["unchanged"] == 2


def test_prefecture_code_first_column_municipality_in_its_own_column(reference):
    # 推奨データセット 医療機関一覧 as a prefecture publishes it: the prefecture's code in the
    # first column, the municipality in 市区町村名, 所在地 for 住所, カナ blank.
    header = ("都道府県コード又は市区町村コード,NO,都道府県名,市区町村名,名称,名称_カナ,医療機関の種類,所在地,方書,緯度,経度,"
              "電話番号,内線番号,FAX番号,法人番号,法人の名称,医療機関コード,診療曜日,診療開始時間,診療終了時間\r\n")
    body = (
        "130001,1,東京都,世田谷区,ふかさわ内科,,無床診療所,東京都世田谷区深沢2-1-1,,35.62,139.65,03‐3700‐7001,,,,,"
        "1312345670,月火水木金,09:00,18:00\r\n"
        "130001,2,東京都,八王子市,たかお内科,,無床診療所,東京都八王子市高尾町1-1,,35.63,139.27,042-600-0001,,,,,"
        "1312345671,,,\r\n"
        "13,3,東京都,世田谷区,ようが歯科,,歯科診療所,,,35.62,139.63,03-3700-7003,,,,,1312345672,,,\r\n"
    )
    report = run((header + body).encode("utf-8-sig"), "iryokikan.csv", commit=True)
    assert report.layout == opendata.V1_MEDICAL
    assert report.totals["skipped"] == 1  # 八王子市
    # The row without an address: named by the file's own column, 所在地.
    assert [(line, column) for line, column, _m in report.errors] == [(4, "所在地")]
    assert not report.committed and not Provider.objects.exists()
    report = run((header + body).encode("utf-8-sig"), "iryokikan.csv", commit=True, leave_out_errors=True)
    clinic = Provider.objects.get(name="ふかさわ内科")
    assert clinic.provider_type.code == "clinic" and clinic.kana == "フカサワナイカ"
    assert clinic.address == "東京都世田谷区深沢2-1-1" and clinic.phone == "03-3700-7001"
    assert clinic.opening_periods.count() == 5 and not clinic.hours_unknown


# --- as ward staff: every real file through the admin page, twice ----------------------------------


@time_machine.travel(TODAY, tick=False)
def test_every_real_file_through_the_admin_page_then_again_changes_nothing(staff_client):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from tests.test_opendata import page_text

    url = reverse("admin:resourcemap_provider_opendata_import")

    def answer(response):  # a file over 1 MB is a job (run at once in tests): its page
        return staff_client.get(response["Location"]) if response.status_code == 302 else response

    expected = {"mhlw/jigyosho_760.csv": 7, "mhlw/jigyosho_770.csv": 9, "mhlw/jigyosho_140.csv": 16, NAVII_REAL: 8}
    names = sorted(str(p.relative_to(REALDATA)) for p in REALDATA.rglob("*.csv"))
    assert names and set(names) <= set(expected), names  # a new real file needs its own line here
    total = 0
    for name in names:
        data = real(name)
        for attempt in (1, 2):
            preview = answer(staff_client.post(url, {"import_file": SimpleUploadedFile(Path(name).name, data)}))
            text = page_text(preview)
            if attempt == 1:
                assert f"新規 {expected[name]}件、変更 0件" in text and "誤り 0行" in text, (name, text[:3000])
            else:
                assert f"新規 0件、変更 0件、変更なし {expected[name]}件" in text and "誤り 0行" in text, (name, text[:3000])
            assert not Provider.objects.count() > total  # the preview saves nothing
            if attempt == 2:
                assert "token" not in preview.context  # nothing to import: no button
                continue
            done = staff_client.post(url, {"token": preview.context["token"]}, follow=True)
            assert done.status_code == 200 and "取り込みました" in page_text(done), name
            total += expected[name]
            assert Provider.objects.count() == total, name
    assert ProviderChange.objects.count() == total  # one creation each; the second uploads wrote nothing


def test_municipal_variant_through_the_admin_page(staff_client):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from tests.test_opendata import page_text

    url = reverse("admin:resourcemap_provider_opendata_import")
    preview = staff_client.post(url, {"import_file": SimpleUploadedFile("kaigo.csv", _with_bad_phone())})
    text = page_text(preview)
    # Services the map does not list: skipped and counted, with their names; never errors.
    assert "このマップにない種類のため対象外 1行（訪問入浴介護 1行、通所介護 1行）" in text
    # The one bad cell: by line and the file's own column; blank カナ derived, said so.
    assert "5行目 電話番号" in text and "よみがなは名称から推定しました" in text
    assert "誤りのない4件を取り込み、誤りのある1行は取り込まない" in text
    assert not Provider.objects.filter(name__contains="はなみずき").exists()
    staff_client.post(url, {"token": preview.context["token"], "choice": "leave_out"}, follow=True)
    assert Provider.objects.filter(name__contains="はなみずき").count() == 3
    assert Provider.objects.get(name="はなみずき訪問看護").address == "東京都世田谷区深沢一丁目2番3号"
