"""Another municipality by data alone: a starting reference file, words from data, geometry
derived from the imported providers, and an explicit choice of the municipality."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.urls import reverse

from resourcemap import opendata
from resourcemap.management.commands.start_reference import full_code
from resourcemap.models import Area, DistrictTown, Municipality, Provider
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
    assert "あんしんすこやか" not in json.dumps(data["provider_types"], ensure_ascii=False)
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
