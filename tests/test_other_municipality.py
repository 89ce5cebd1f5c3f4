"""Another municipality by data alone: a starting reference file, words from data, geometry
derived from the imported providers, and an explicit choice of the municipality."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.urls import reverse

from resourcemap import opendata
from resourcemap.management.commands.start_reference import full_code
from resourcemap.models import Area, DistrictTown, Municipality, Provider, ProviderType
from resourcemap.reference import load_reference

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data" / "opendata"


def test_check_digit_of_municipality_codes():
    assert full_code("13112") == "131121"  # 世田谷区
    assert full_code("352071") == "352071"  # 下松市
    with pytest.raises(ValueError, match="check digit"):
        full_code("352079")


def test_start_reference_writes_a_minimal_file(tmp_path):
    out = tmp_path / "kudamatsu.json"
    call_command("start_reference", "35207", "下松市", "--districts", "生野屋,花岡", "-o", str(out))
    data = json.loads(out.read_text(encoding="utf-8"))
    muni = data["municipality"]
    assert (muni["code"], muni["name"], muni["prefecture"]) == ("352071", "下松市", "山口県")
    assert (muni["staff_title"], muni["office_name"]) == ("市職員", "市の担当者")
    assert "center_lat" not in muni and "boundary" not in muni
    assert [a["name"] for a in data["areas"]] == ["下松市", "生野屋", "花岡"]
    assert set(data) == {"municipality", "areas"}  # types and capabilities: the generic ones
    with pytest.raises(CommandError):
        call_command("start_reference", "3520", "下松市")


def test_minimal_reference_then_public_file_derives_map_and_words(client, settings, tmp_path, staff_client):
    out = tmp_path / "kudamatsu.json"
    call_command("start_reference", "352071", "下松市", "--districts", "生野屋,花岡", "-o", str(out))
    data = json.loads(out.read_text(encoding="utf-8"))
    data["areas"][1]["towns"] = ["生野屋南", "生野屋"]
    out.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    # A fresh deployment for 下松市 has no Setagaya areas (this test database has them).
    DistrictTown.objects.all().delete()
    Area.objects.filter(level=Area.Level.DISTRICT).delete()
    Area.objects.all().delete()
    settings.MUNICIPALITY_CODE = "352071"
    load_reference(out)
    kudamatsu = Municipality.current()
    assert kudamatsu.name == "下松市" and kudamatsu.geometry_derived

    report = opendata.import_file((DATA / "kaigo_municipal_variant.csv").read_bytes(),
                                  file_name="kaigo.csv", commit=True)
    assert report.committed and report.totals["new"] == 1, report.error_lines()
    provider = Provider.objects.get(name="くだまつ訪問看護")
    assert provider.area.code == "d01"  # 生野屋南 from the district's towns
    kudamatsu.refresh_from_db()
    assert float(kudamatsu.center_lat) == pytest.approx(34.01) and float(kudamatsu.center_lng) == pytest.approx(131.87)
    assert float(kudamatsu.min_lat) < 34.01 < float(kudamatsu.max_lat)
    district = Area.objects.get(code="d01")
    assert float(district.center_lat) == pytest.approx(34.01)

    # Municipality words come from the data, not from Setagaya.
    page = client.get("/").content.decode()
    assert "まちづくりセンター" not in page and "用賀" not in page and "下松市" in page
    register = client.get("/survey/register/").content.decode()
    assert "市の担当者" in register and "区の担当者" not in register
    admin_index = staff_client.get(reverse("admin:index")).content.decode()
    assert "市職員メニュー" in admin_index


def test_current_never_silently_picks_the_first_row(settings, tmp_path):
    out = tmp_path / "kudamatsu.json"
    call_command("start_reference", "352071", "下松市", "-o", str(out))
    settings.MUNICIPALITY_CODE = ""
    load_reference(out)
    with pytest.raises(ImproperlyConfigured, match="MUNICIPALITY_CODE"):
        Municipality.current()
    settings.MUNICIPALITY_CODE = "131121"
    assert Municipality.current().name == "世田谷区"
    settings.MUNICIPALITY_CODE = "999991"
    with pytest.raises(ImproperlyConfigured):
        Municipality.current()


def test_setagaya_words_from_its_reference_data(client):
    page = client.get("/").content.decode()
    assert "地区（まちづくりセンターの区域）" in page and "例: 用賀、世田谷区用賀4丁目、下北沢駅" in page


# --- the README procedure for 下松市, step by step, with the real national file ----------------

SETAGAYA_WORDS = ("世田谷", "区職員", "区の担当者", "まちづくりセンター", "131121", "用賀", "区民", "あんしんすこやか")


def _fresh_deployment():
    """This test database holds Setagaya's areas; a new deployment has none (its Municipality
    row stays: the database then holds two, and step 3's MUNICIPALITY_CODE chooses)."""
    DistrictTown.objects.all().delete()
    Area.objects.filter(level=Area.Level.DISTRICT).delete()
    Area.objects.all().delete()


def test_readme_procedure_for_another_municipality(settings, tmp_path, client, django_user_model):
    from django.contrib.auth.models import Group

    from tests.test_opendata_real import real

    national = real("mhlw/jigyosho_140.csv")
    # 1. A starting file from the code and the name: only the municipality block and its areas.
    out = tmp_path / "kudamatsu.json"
    call_command("start_reference", "35207", "下松市", "--districts", "生野屋,花岡,久保", "-o", str(out))
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data) == {"municipality", "areas"}
    # 2. Edit it: the contact department and the towns of a district.
    data["municipality"]["contact_department"] = "健康福祉部 高齢者支援課"
    data["areas"][1]["towns"] = ["生野屋", "生野屋南"]
    out.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    # 3. MUNICIPALITY_CODE, then load_reference --file.
    _fresh_deployment()
    settings.MUNICIPALITY_CODE = "352071"
    call_command("load_reference", "--file", str(out), stdout=io.StringIO())
    kudamatsu = Municipality.current()
    assert (kudamatsu.name, kudamatsu.prefecture, kudamatsu.geometry_derived) == ("下松市", "山口県", True)
    assert ProviderType.objects.get(code="houkatsu").name == "地域包括支援センター"
    # 4. The public files, first as a check, then with --commit.
    path = tmp_path / "jigyosho_140.csv"
    path.write_bytes(national)
    check = io.StringIO()
    call_command("import_opendata", str(path), stdout=check)
    assert "新規 4件" in check.getvalue() and "対象外（他の自治体） 5087件" in check.getvalue()
    assert not Provider.objects.exists()
    preview = opendata.import_file(national, file_name="jigyosho_140.csv")
    notes = {r.name: r.note for r in preview.rows if r.status == opendata.NEW}
    assert "地区は住所の町丁目から決めました" in notes["介護老人保健施設ふくしの里"]
    assert "地区が決まりません" in notes["下松中央病院 訪問リハビリテーション"]
    call_command("import_opendata", str(path), "--commit", stdout=io.StringIO())
    assert Provider.objects.count() == 4
    # 生野屋南一丁目10番1号 and 生野屋南1丁目10-1: two offices (other names and codes), both in 生野屋.
    assert set(Provider.objects.filter(area__code="d01").values_list("name", flat=True)) == {
        "介護老人保健施設ふくしの里", "周南記念病院 訪問リハビリテーションセンター",
    }
    # A row published with 事業所名 and カナ swapped is read the right way round.
    mizuho = Provider.objects.get(care_code="3510710837")
    assert mizuho.name == "医療法人社団二三会ミズホ内科クリニック訪問リハビリテーション"
    assert mizuho.kana == "イリョウホウジンシャダンニサンカイミズホナイカクリニックホウモンリハビリテーション"
    assert mizuho.phone == "0833-44-2680"  # 0833－44－2680
    # Towns not in any district's list stay without a 地区 for staff (no guess from one centre).
    assert set(Provider.objects.filter(area=None).values_list("care_code", flat=True)) == {"3510711256", "3510710837"}
    # Map centre and bounds derived from the providers.
    kudamatsu.refresh_from_db()
    assert 34.0 < float(kudamatsu.center_lat) < 34.04 and 131.85 < float(kudamatsu.center_lng) < 131.88
    assert float(kudamatsu.min_lat) < 34.0076 and float(kudamatsu.max_lat) > 34.0327
    # Derived bounds are a map view, not the city's extent: a provider in the north of the city,
    # away from those imported so far, is still inside.
    assert not (float(kudamatsu.min_lat) < 34.09 < float(kudamatsu.max_lat))
    Provider(latitude=Decimal("34.090000"), longitude=Decimal("131.850000")).clean()
    # A second import of the same file changes nothing.
    again = io.StringIO()
    call_command("import_opendata", str(path), "--commit", stdout=again)
    assert "新規 0件、変更 0件、変更なし 4件" in again.getvalue()

    # Staff groups and every page in the municipality's own words, none of Setagaya's.
    assert {"市職員（編集）", "市職員（閲覧）"} <= set(Group.objects.values_list("name", flat=True))
    staff = django_user_model.objects.create_user("kudamatsu", password="pass-Word-1234", is_staff=True)
    staff.groups.add(Group.objects.get(name="市職員（編集）"))
    pages = {url: client.get(url) for url in ("/", "/en/", "/survey/", "/survey/register/", "/opendata/", "/indicators/")}
    client.force_login(staff)
    for name in ("admin:index", "admin:resourcemap_provider_changelist", "admin:resourcemap_provider_add",
                 "admin:resourcemap_provider_opendata_import", "admin_indicators"):
        pages[reverse(name)] = client.get(reverse(name))
    pages["provider"] = client.get(reverse("admin:resourcemap_provider_change", args=[mizuho.pk]))
    pages["municipality"] = client.get(reverse("admin:resourcemap_municipality_change", args=[kudamatsu.pk]))
    for url, response in pages.items():
        assert response.status_code == 200, url
        text = response.content.decode()
        assert not [w for w in SETAGAYA_WORDS if w in text], (url, [w for w in SETAGAYA_WORDS if w in text])
    assert "市職員メニュー" in pages[reverse("admin:index")].content.decode()


def test_staff_groups_follow_the_staff_title_and_keep_their_members(settings, tmp_path, django_user_model):
    from django.contrib.auth.models import Group

    from resourcemap.reference import editor_group_name, viewer_group_name

    assert (editor_group_name(), viewer_group_name()) == ("区職員（編集）", "区職員（閲覧）")
    member = django_user_model.objects.create_user("member", is_staff=True)
    member.groups.add(Group.objects.get(name="区職員（閲覧）"))
    data = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "reference.json").read_text(encoding="utf-8"))
    data["municipality"]["staff_title"] = "職員"
    changed = tmp_path / "reference.json"
    changed.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    load_reference(changed)
    assert viewer_group_name() == "職員（閲覧）"
    assert list(member.groups.values_list("name", flat=True)) == ["職員（閲覧）"]
    assert not Group.objects.filter(name__startswith="区職員").exists()
