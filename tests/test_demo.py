"""Demo data: deterministic, realistic mix, inside the ward, valid through the write path."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import Counter
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from demo import generator as demo
from resourcemap import geo, hours
from resourcemap.models import (
    Area,
    Capability,
    HoursException,
    Municipality,
    OpeningPeriod,
    Provider,
    ProviderCapability,
    ProviderChange,
)
from resourcemap.providers import provider_create, providers_bulk_create
from resourcemap.reference import editor_group_name
from tests.factories import make_provider

ROOT = Path(__file__).resolve().parent.parent
KATAKANA = re.compile(r"^[\u30a1-\u30fa\u30fc0-9]+$")
ADDRESS = re.compile(r"^東京都世田谷区(?P<town>\D+)(?P<chome>\d+)-\d+-\d+$")


@pytest.fixture
def demo_ref(reference):
    """The generator's view of the reference data (present even after a flushing test)."""
    return demo.reference_from_db()


@pytest.fixture
def default_rows(demo_ref):
    return demo.generate_rows(demo_ref)


def _rate(rows, type_codes, capability, where=lambda row: True):
    pool = [r for r in rows if r["data"]["provider_type"] in type_codes and where(r)]
    return sum(capability in r["capabilities"] for r in pool) / len(pool)


def _out(*args, **kwargs) -> str:
    out = StringIO()
    call_command(*args, stdout=out, **kwargs)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# Generation (in memory)


def test_same_seed_gives_same_rows_and_another_seed_does_not(demo_ref):
    first = demo.generate_rows(demo_ref, count=300, seed=7)
    again = demo.generate_rows(demo_ref, count=300, seed=7)
    other = demo.generate_rows(demo_ref, count=300, seed=8)

    def key(rows):
        return [
            (r["data"]["name"], r["data"]["kana"], r["data"]["latitude"], r["data"]["longitude"])
            for r in rows
        ]

    assert key(first) == key(again)
    assert first == again
    assert key(first) != key(other)


def test_default_mix_per_type(default_rows):
    counts = Counter(r["data"]["provider_type"] for r in default_rows)
    assert len(default_rows) == demo.DEFAULT_COUNT >= 1500
    assert counts == {
        "clinic": 450, "dental": 400, "pharmacy": 300, "hospital": 25, "nursing": 90,
        "care_management": 150, "home_help": 100, "home_rehab": 15, "kantaki": 10, "teiki": 12,
        "houkatsu": 28,
    }


def test_count_scales_the_mix_but_keeps_one_centre_per_district(demo_ref):
    rows = demo.generate_rows(demo_ref, count=5000, seed=1)
    counts = Counter(r["data"]["provider_type"] for r in rows)
    assert len(rows) == 5000
    assert counts["houkatsu"] == 28
    assert counts["clinic"] > counts["pharmacy"] > counts["nursing"] > counts["hospital"]
    assert 1400 <= counts["clinic"] <= 1450


def test_one_centre_per_district_named_after_it(default_rows):
    centres = [r for r in default_rows if r["data"]["provider_type"] == "houkatsu"]
    districts = Area.objects.filter(level=Area.Level.DISTRICT)
    assert len(centres) == districts.count() == 28
    by_area = {r["data"]["area"]: r["data"] for r in centres}
    assert set(by_area) == set(districts.values_list("code", flat=True))
    assert by_area["yoga"]["name"] == "あんしんすこやかセンター用賀"
    assert by_area["yoga"]["kana"] == "アンシンスコヤカセンターヨウガ"
    assert by_area["karasuyama_d"]["name"] == "あんしんすこやかセンター烏山"
    assert all(c["status"] == "active" and not c["hours_unknown"] for c in by_area.values())


def test_every_location_is_inside_the_ward_and_its_district(default_rows, demo_ref):
    municipality = Municipality.current()
    centres = {d.code: d for d in demo_ref.districts}
    for row in default_rows:
        data = row["data"]
        lat, lng = data["latitude"], data["longitude"]
        assert municipality.contains(lat, lng), data["name"]
        own = centres[data["area"]]
        assert geo.nearest_district(float(lat), float(lng), demo_ref.districts) == own
        assert geo.haversine_m(float(lat), float(lng), own.lat, own.lng) <= demo.SCATTER_MAX_M + 50


def test_fifty_thousand_rows_stay_inside_the_ward(demo_ref):
    municipality = Municipality.current()
    rows = demo.generate_rows(demo_ref, count=50_000, seed=3)
    assert len(rows) == 50_000
    assert all(municipality.contains(r["data"]["latitude"], r["data"]["longitude"]) for r in rows)
    codes = [r["data"]["medical_code"] for r in rows if r["data"]["medical_code"]]
    assert len(codes) == len(set(codes))


def test_addresses_use_real_towns_of_the_district(default_rows):
    yoga_towns = set()
    for row in default_rows:
        data = row["data"]
        match = ADDRESS.match(data["address"])
        assert match, data["address"]
        towns = {t.name: t for t in demo.TOWNS[data["area"]]}
        assert match["town"] in towns, (data["area"], data["address"])
        town = towns[match["town"]]
        assert 1 <= int(match["chome"]) <= town.chome
        assert data["postal_code"] == town.postal_code
        assert re.fullmatch(r"15[4-8]-\d{4}", data["postal_code"])
        if data["area"] == "yoga":
            yoga_towns.add(match["town"])
    assert yoga_towns == {"用賀", "上用賀", "玉川台"}


def test_names_have_katakana_readings(default_rows):
    for row in default_rows:
        assert KATAKANA.match(row["data"]["kana"]), row["data"]["kana"]
    names = {r["data"]["name"]: r["data"]["kana"] for r in default_rows}
    assert len(names) > 0.97 * len(default_rows)  # names are (almost always) unique
    pairs = list(names.items())
    assert any(n.endswith("薬局") and k.endswith("ヤッキョク") for n, k in pairs)
    assert any(n.startswith("訪問看護ステーション") for n, _k in pairs)
    assert any(n.endswith("駅前歯科") and k.endswith("エキマエシカ") for n, k in pairs)
    assert any(n.startswith("さくら") and k.startswith("サクラ") for n, k in pairs)


def test_contact_data_is_fictional(default_rows):
    medical_codes, care_codes = set(), set()
    for row in default_rows:
        data = row["data"]
        assert data["is_demo"] is True
        assert data["last_confirmed_source"] == "デモデータ"
        assert dt.date(2025, 1, 1) <= data["last_confirmed_on"] <= dt.date(2026, 12, 31)
        assert re.fullmatch(r"03-0\d{3}-\d{4}", data["phone"])
        assert data["fax"] == "" or re.fullmatch(r"03-0\d{3}-\d{4}", data["fax"])
        for url_field in ("website",):
            assert data[url_field] == "" or ".example.jp/" in data[url_field]
        for mail_field in ("email", "contact_email"):
            assert data[mail_field] == "" or data[mail_field].endswith("example.jp")
        assert data["contact_person"] == "" or re.fullmatch(r"担当 \w+", data["contact_person"])
        if data["medical_code"]:
            assert re.fullmatch(r"\d{10}", data["medical_code"])
            medical_codes.add(data["medical_code"])
        if data["care_code"]:
            assert re.fullmatch(r"\d{10}", data["care_code"])
            care_codes.add(data["care_code"])
    by_type = Counter(r["data"]["provider_type"] for r in default_rows if r["data"]["medical_code"])
    assert by_type == {"clinic": 450, "dental": 400, "pharmacy": 300, "hospital": 25}
    assert len(medical_codes) == 1175
    assert len(care_codes) == 90 + 150 + 100 + 15 + 10 + 12
    with_fax = [r for r in default_rows if r["data"]["fax"]]
    assert len(with_fax) > 0.8 * len(default_rows)


def test_status_mostly_active_some_suspended_and_closed(default_rows):
    statuses = Counter(r["data"]["status"] for r in default_rows)
    assert statuses["active"] > 0.9 * len(default_rows)
    assert statuses["suspended"] >= 10
    assert statuses["closed"] >= 5
    assert set(statuses) == {"active", "suspended", "closed"}


def test_capabilities_only_where_they_apply(default_rows):
    applies = {
        c.code: set(c.provider_types.values_list("code", flat=True)) for c in Capability.objects.all()
    }
    has_count = set(Capability.objects.filter(has_count=True).values_list("code", flat=True))
    for row in default_rows:
        type_code = row["data"]["provider_type"]
        for code, value in row["capabilities"].items():
            assert type_code in applies[code], (type_code, code)
            if code in has_count:
                assert value["count"] >= 1
            else:
                assert value["count"] is None


def test_capability_rarity(default_rows):
    rows = default_rows

    def visiting(row):
        return "home_visit" in row["capabilities"]

    assert 0.55 <= _rate(rows, {"nursing"}, "h24") <= 0.85
    assert 0.18 <= _rate(rows, {"clinic"}, "home_visit") <= 0.35
    assert 0.2 <= _rate(rows, {"clinic"}, "mitori", visiting) <= 0.45
    assert _rate(rows, {"clinic"}, "mitori", lambda r: not visiting(r)) == 0
    psychiatry_types = {t for t in Capability.objects.get(code="psychiatry").provider_types.values_list("code", flat=True)}
    pediatric_types = {t for t in Capability.objects.get(code="pediatric").provider_types.values_list("code", flat=True)}
    assert 0.02 <= _rate(rows, psychiatry_types, "psychiatry") <= 0.07
    assert 0.02 <= _rate(rows, pediatric_types, "pediatric") <= 0.07
    assert 0.28 <= _rate(rows, {"dental"}, "home_dental") <= 0.45
    assert 0.02 <= _rate(rows, {"dental"}, "dysphagia") < _rate(rows, {"dental"}, "home_dental") / 2
    assert 0.32 <= _rate(rows, {"pharmacy"}, "home_pharmacy") <= 0.48
    assert 0.01 <= _rate(rows, {"pharmacy"}, "aseptic") <= 0.09
    assert _rate(rows, {"houkatsu"}, "dementia") == 1


def _open_late_or_holidays(row) -> bool:
    periods = [hours.Period(*p) for p in row["periods"]]
    return any(p.weekday in (6, 7) or p.all_day or p.closes >= dt.time(21) for p in periods)


def test_night_and_holiday_pharmacies_have_that_capability(default_rows):
    pharmacies = [r for r in default_rows if r["data"]["provider_type"] == "pharmacy"]
    late = [r for r in pharmacies if _open_late_or_holidays(r)]
    assert 15 <= len(late) <= 75
    assert all("night_holiday" in r["capabilities"] for r in late)
    assert all(_open_late_or_holidays(r) for r in pharmacies if "night_holiday" in r["capabilities"])
    assert any(hours.Period(*p).all_day for r in late for p in r["periods"])  # some 24h
    assert any(p[0] == hours.HOLIDAY for r in late for p in r["periods"])  # some open on 祝日
    assert any(p[2] == dt.time(22) for r in late for p in r["periods"])  # some until 22:00


def test_hours_are_valid_and_realistic(default_rows):
    for row in default_rows:
        assert hours.validate_periods(row["periods"]) == [], row["data"]["name"]
        if row["data"]["hours_unknown"]:
            assert row["periods"] == [] and row["exceptions"] == []
    unknown = [r for r in default_rows if r["data"]["hours_unknown"]]
    assert 10 <= len(unknown) <= 90

    clinics = [r for r in default_rows if r["data"]["provider_type"] == "clinic" and r["periods"]]
    thursday_pm_off = [
        r for r in clinics if not any(p[0] == 3 and p[2] > dt.time(14) for p in r["periods"])
    ]
    assert len(thursday_pm_off) > 0.3 * len(clinics)
    assert all(any(p[1] <= dt.time(10) for p in r["periods"]) for r in clinics)
    sunday = [r for r in clinics if any(p[0] == 6 for p in r["periods"])]
    assert 0 < len(sunday) < 0.15 * len(clinics)

    nursing = [r for r in default_rows if r["data"]["provider_type"] == "nursing" and r["periods"]]
    assert all(p[0] in (0, 1, 2, 3, 4, 5) for r in nursing for p in r["periods"])

    year_end = [r for r in default_rows if r["exceptions"]]
    assert len(year_end) > 0.6 * len(default_rows)
    for row in year_end:
        (exc,) = row["exceptions"]
        assert (exc["start_date"], exc["end_date"], exc["closed"]) == (
            dt.date(2026, 12, 29), dt.date(2027, 1, 3), True,
        )


# ---------------------------------------------------------------------------------------------
# Loading through the write path


def test_load_demo_full_default_set(reference):
    started = time.perf_counter()
    output = _out("load_demo")
    elapsed = time.perf_counter() - started
    assert elapsed < 60
    assert f"{demo.DEFAULT_COUNT}件" in output
    assert "診療所: 450" in output and "薬局: 300" in output

    providers = Provider.objects.all()
    assert providers.count() == demo.DEFAULT_COUNT
    assert providers.filter(is_demo=False).count() == 0
    counts = dict(Counter(providers.values_list("provider_type__code", flat=True)))
    assert counts["dental"] == 400 and counts["houkatsu"] == 28

    centre = Provider.objects.get(provider_type__code="houkatsu", area__code="yoga")
    assert centre.name == "あんしんすこやかセンター用賀"
    assert centre.opening_periods.count() == 6
    assert centre.hours_exceptions.get().note == "年末年始"

    municipality = Municipality.current()
    for lat, lng in providers.values_list("latitude", "longitude"):
        assert municipality.contains(lat, lng)

    # History: one "create" change per provider, from the demo source, with the real values.
    changes = ProviderChange.objects.filter(action=ProviderChange.Action.CREATE, source="デモデータ")
    assert changes.count() == demo.DEFAULT_COUNT
    change = centre.changes.get()
    assert change.changes["name"] == [None, "あんしんすこやかセンター用賀"]
    assert change.changes["opening_periods"][1].startswith("月 08:30-17:15")
    assert "dementia" in change.changes["capabilities"][1]

    assert ProviderCapability.objects.filter(capability__code="h24", provider__provider_type__code="nursing").count() > 45
    assert OpeningPeriod.objects.count() > 10 * demo.DEFAULT_COUNT // 2
    assert HoursException.objects.count() > 0.6 * demo.DEFAULT_COUNT


def test_load_demo_is_deterministic_in_the_database(reference):
    call_command("load_demo", count=60, seed=11, stdout=StringIO())
    first = list(Provider.objects.order_by("pk").values_list("name", "latitude", "longitude", "address"))
    Provider.objects.all().delete()
    call_command("load_demo", count=60, seed=11, stdout=StringIO())
    again = list(Provider.objects.order_by("pk").values_list("name", "latitude", "longitude", "address"))
    assert first == again
    assert len(first) == 60


def test_if_empty_keeps_existing_data(reference):
    existing = make_provider(name="区で登録した診療所")
    output = _out("load_demo", "--if-empty", "--count", "50")
    assert "読み込みませんでした" in output
    assert list(Provider.objects.all()) == [existing]


def test_if_empty_loads_into_an_empty_database_and_second_run_keeps_it(reference):
    _out("load_demo", "--if-empty", "--count", "50")
    assert Provider.objects.count() == 50
    names = set(Provider.objects.values_list("name", flat=True))
    output = _out("load_demo", "--if-empty", "--count", "50", "--seed", "99")
    assert "50件" in output and "読み込みませんでした" in output
    assert set(Provider.objects.values_list("name", flat=True)) == names


def test_loading_twice_without_if_empty_adds_more_without_code_clashes(reference):
    _out("load_demo", "--count", "80", "--chunk-size", "30")
    _out("load_demo", "--count", "80", "--chunk-size", "30")
    assert Provider.objects.count() == 160
    codes = [c for c in Provider.objects.values_list("medical_code", flat=True) if c]
    assert len(codes) == len(set(codes))


def test_load_demo_needs_reference_data_first(reference):
    Municipality.objects.all().delete()
    with pytest.raises(CommandError, match="load_reference"):
        call_command("load_demo", "--count", "5", stdout=StringIO())
    assert Provider.objects.count() == 0


@pytest.mark.parametrize("args", [["--count", "0"], ["--count", "-5"], ["--chunk-size", "0"]])
def test_load_demo_rejects_bad_numbers(reference, args):
    with pytest.raises(CommandError):
        call_command("load_demo", *args, stdout=StringIO())
    assert Provider.objects.count() == 0


def test_generator_from_the_reference_fixture_matches_the_database(demo_ref):
    from_file = demo.reference_from_fixture(ROOT / "fixtures" / "reference.json")
    assert demo.generate_rows(from_file, count=200, seed=5) == demo.generate_rows(demo_ref, count=200, seed=5)


def test_words_come_from_the_vocabulary_file_and_places_from_the_reference(tmp_path, demo_ref):
    """Another municipality: its own name in the addresses, district names where the vocabulary
    has no towns, and the vocabulary read from the data file (not from the code)."""
    import dataclasses
    import json

    from demo import vocabulary

    words = json.loads(vocabulary.PATH.read_text(encoding="utf-8"))
    assert {t[0] for t in words["towns"]["yoga"]} == {t.name for t in demo.TOWNS["yoga"]}
    renamed = Municipality.objects.get(pk=demo_ref.municipality.pk)  # not saved
    renamed.prefecture, renamed.name = "山口県", "下松市"
    other = dataclasses.replace(
        demo_ref,
        municipality=renamed,
        districts=tuple(dataclasses.replace(d, code=f"x{d.code}") for d in demo_ref.districts),
    )
    rows = demo.generate_rows(other, count=60, seed=2)
    by_code = {d.code: d for d in other.districts}
    for row in rows:
        address = row["data"]["address"]
        assert address.startswith("山口県下松市" + by_code[row["data"]["area"]].name), address


# ---------------------------------------------------------------------------------------------
# providers_bulk_create


def _row(**overrides):
    data = {
        "name": "テスト薬局", "kana": "テストヤッキョク", "provider_type": "pharmacy",
        "postal_code": "158-0097", "address": "東京都世田谷区用賀1-2-3",
        "latitude": Decimal("35.626500"), "longitude": Decimal("139.633500"), "area": "yoga",
        "phone": "03-0123-4567",
    }
    row = {"data": data, "capabilities": {}, "periods": [], "exceptions": []}
    for key in ("capabilities", "periods", "exceptions"):
        if key in overrides:
            row[key] = overrides.pop(key)
    data.update(overrides)
    return row


def test_bulk_create_rejects_bad_rows_and_saves_nothing(reference):
    make_provider(type_code="pharmacy", medical_code="1349000001")
    rows = [
        _row(name="正しい薬局"),
        _row(name="歯科の項目がある薬局", capabilities={"home_dental": {}}),
        _row(name="郵便番号が違う薬局", postal_code="1580097"),
        _row(name="時間が重なる薬局", periods=[(0, dt.time(9), dt.time(13)), (0, dt.time(12), dt.time(18))]),
        _row(name="区外の薬局", latitude=Decimal("35.700000"), longitude=Decimal("139.700000")),
        _row(name="コードが重なる薬局", medical_code="1349000001"),
        _row(name="同じコードA", medical_code="1349000002"),
        _row(name="同じコードB", medical_code="1349000002"),
        _row(name="種別がない", provider_type="spaceport"),
    ]
    before = (Provider.objects.count(), ProviderChange.objects.count())
    with pytest.raises(ValidationError) as info:
        providers_bulk_create(rows=rows, actor_kind=ProviderChange.Actor.IMPORT, source="test")
    assert (Provider.objects.count(), ProviderChange.objects.count()) == before
    assert sorted(info.value.row_errors) == [2, 3, 4, 5, 6, 8, 9]
    text = "\n".join(info.value.messages)
    assert "2行目（歯科の項目がある薬局） 対応できること: 「訪問歯科診療」は「薬局」には設定できません。" in text
    assert "3行目（郵便番号が違う薬局） 郵便番号: 郵便番号は「123-4567」の形で入力してください。" in text
    assert "4行目" in text and "重なっています" in text
    assert "5行目（区外の薬局）" in text and "区域の外" in text
    assert "6行目（コードが重なる薬局） 医療機関コード: この医療機関コードは既に登録されています。" in text
    assert "8行目（同じコードB）" in text
    assert "9行目" in text and "「spaceport」は登録されていません。" in text


def test_bulk_create_records_the_same_history_as_provider_create(reference, staff_user):
    kwargs = {
        "capabilities": {"home_pharmacy": {}, "h24": {"note": "要相談"}},
        "periods": [(d, dt.time(9), dt.time(19)) for d in range(5)] + [(7, dt.time(10), dt.time(17))],
        "exceptions": [dict(demo.YEAR_END)],
    }
    single = provider_create(
        data=_row(name="ひとつずつ薬局")["data"], actor_kind=ProviderChange.Actor.STAFF,
        user=staff_user, source="手入力", **kwargs,
    )
    (bulk,) = providers_bulk_create(
        rows=[_row(name="まとめて薬局", **kwargs)], actor_kind=ProviderChange.Actor.STAFF,
        user=staff_user, source="手入力",
    )
    one, many = single.changes.get(), bulk.changes.get()
    assert many.action == ProviderChange.Action.CREATE and many.user == staff_user
    assert many.source == "手入力"
    one.changes.pop("name"), many.changes.pop("name")
    assert many.changes == one.changes
    bulk.refresh_from_db()
    assert bulk.provider_type.code == "pharmacy" and bulk.area.code == "yoga"
    assert set(bulk.provider_capabilities.values_list("capability__code", flat=True)) == {"home_pharmacy", "h24"}
    assert bulk.opening_periods.count() == 6
    assert bulk.hours_exceptions.get().end_date == dt.date(2027, 1, 3)


# ---------------------------------------------------------------------------------------------
# ensure_dev_staff


def test_ensure_dev_staff_refuses_without_debug(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG=1"):
        call_command("ensure_dev_staff", stdout=StringIO())
    assert not User.objects.filter(username="admin").exists()


def test_ensure_dev_staff_creates_and_resets_the_login(reference, settings):
    settings.DEBUG = True
    output = _out("ensure_dev_staff")
    assert output.strip() == (
        "管理画面: http://127.0.0.1:8000/admin/ ユーザー名 admin / パスワード admin-pass-1234 (development only)"
    )
    user = User.objects.get(username="admin")
    assert user.is_staff and user.is_superuser and user.is_active
    assert user.check_password("admin-pass-1234")
    assert user.groups.filter(name=editor_group_name()).exists()

    user.set_password("changed-Password-9")
    user.is_active = False
    user.save()
    _out("ensure_dev_staff")
    user.refresh_from_db()
    assert User.objects.filter(username="admin").count() == 1
    assert user.check_password("admin-pass-1234") and user.is_active


def test_generate_demo_script_writes_the_same_rows_as_json(tmp_path, demo_ref, monkeypatch):
    import json
    import os
    import runpy

    monkeypatch.delenv("ALLOW_DEV_SECRET", raising=False)

    script = runpy.run_path(str(ROOT / "fixtures" / "generate_demo.py"))
    out = tmp_path / "demo.json"
    assert script["main"](["--count", "40", "--seed", "5", "--out", str(out)]) == 0
    assert "ALLOW_DEV_SECRET" not in os.environ  # the script leaves this process's settings alone
    rows = json.loads(out.read_text(encoding="utf-8"))
    expected = demo.generate_rows(demo_ref, count=40, seed=5)
    assert [r["data"]["name"] for r in rows] == [r["data"]["name"] for r in expected]
    assert rows[0]["data"]["latitude"] == str(expected[0]["data"]["latitude"])
    assert rows[0]["periods"][0] == [0, "08:30", "17:15"]


@pytest.mark.parametrize(
    ("kana", "expected"),
    [
        ("ヨウガ", "Yoga"), ("キョウドウ", "Kyodo"), ("オオクラ", "Okura"), ("タンポポ", "Tanpopo"),
        ("シモウマ", "Shimouma"), ("マッチャ", "Matcha"), ("ハッピ", "Happi"), ("ハーモニー", "Harmony"),
        ("チトセカラスヤマ", "Chitose-Karasuyama"),
    ],
)
def test_romaji(kana, expected):
    assert demo.romaji(kana) == expected


def test_english_names_are_romanised(default_rows):
    for row in default_rows:
        name_en = row["data"]["name_en"]
        assert name_en and name_en.isascii() and name_en[0].isupper(), row["data"]["name"]
    by_name = {r["data"]["name"]: r["data"]["name_en"] for r in default_rows}
    assert by_name["あんしんすこやかセンター用賀"] == "Anshin Sukoyaka Center Yoga"
    assert any(n.endswith("Ekimae Dental Clinic") for n in by_name.values())
    assert any(n.startswith("Home-Visit Nursing Station ") for n in by_name.values())
