"""Provider admin form in headless Chromium: set the location by clicking/dragging on the map."""

from __future__ import annotations

import os
from decimal import Decimal

import pytest

from resourcemap.models import Provider, ProviderChange
from tests.factories import ensure_reference, make_provider

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("SCREENSHOT_DIR")


@pytest.fixture
def editor(transactional_db):
    from django.contrib.auth.models import Group, User

    from resourcemap.reference import editor_group_name

    ensure_reference()
    user = User.objects.create_user("editor", password="pass-Word-1234", is_staff=True)
    user.groups.add(Group.objects.get(name=editor_group_name()))
    return user


def login(page, live_server):
    page.goto(live_server.url + "/admin/login/")
    page.fill("#id_username", "editor")
    page.fill("#id_password", "pass-Word-1234")
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")


def test_click_and_drag_on_map_set_coordinates_and_save(live_server, browser_page, editor):
    provider = make_provider(name="地図で直す医院")
    page = browser_page
    login(page, live_server)
    page.goto(f"{live_server.url}/admin/resourcemap/provider/{provider.pk}/change/")
    page.wait_for_selector(".rm-location-map .leaflet-marker-icon")
    if SHOTS:
        page.locator("fieldset:has(.rm-location-map)").screenshot(path=f"{SHOTS}/admin-location.png")

    old_lat = page.input_value("#id_latitude")
    box = page.locator(".rm-location-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.3)
    new_lat = page.input_value("#id_latitude")
    new_lng = page.input_value("#id_longitude")
    assert new_lat != old_lat
    assert float(new_lat) > float(old_lat)  # clicked above the centre: further north

    # Drag the marker a little south-west: the inputs follow.
    marker = page.locator(".rm-location-map .leaflet-marker-icon").bounding_box()
    mx, my = marker["x"] + marker["width"] / 2, marker["y"] + marker["height"] - 4
    page.mouse.move(mx, my)
    page.mouse.down()
    page.mouse.move(mx - 40, my + 30, steps=8)
    page.mouse.up()
    dragged_lat = float(page.input_value("#id_latitude"))
    dragged_lng = float(page.input_value("#id_longitude"))
    assert dragged_lat < float(new_lat) and dragged_lng < float(new_lng)

    # Typing coordinates moves the marker back (inputs -> map).
    page.fill("#id_latitude", "35.640000")
    page.fill("#id_longitude", "139.650000")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    provider.refresh_from_db()
    assert provider.latitude == Decimal("35.640000") and provider.longitude == Decimal("139.650000")
    change = provider.changes.first()
    assert change.actor_kind == ProviderChange.Actor.STAFF and change.user == editor
    assert set(change.changes) == {"latitude", "longitude"}
    assert page.console_errors == []
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/admin-change.png", full_page=True)


def test_click_outside_ward_is_rejected_on_save(live_server, browser_page, editor):
    provider = make_provider(name="区外クリック医院")
    page = browser_page
    login(page, live_server)
    page.goto(f"{live_server.url}/admin/resourcemap/provider/{provider.pk}/change/")
    page.wait_for_selector(".rm-location-map .leaflet-marker-icon")
    page.fill("#id_latitude", "35.700000")
    page.fill("#id_longitude", "139.700000")
    page.click("input[name=_continue]")
    page.wait_for_selector(".errornote")
    assert "区域の外です" in page.inner_text("#content")
    assert Provider.objects.get(pk=provider.pk).latitude != Decimal("35.700000")


def test_import_page_lists_row_errors(live_server, browser_page, editor, tmp_path):
    page = browser_page
    login(page, live_server)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(
        "名称,よみがな,種別,住所,電話,緯度,経度\r\n"
        "よい医院,ヨイイイン,診療所,東京都世田谷区用賀1-1-1,03-1111-2222,35.626,139.633\r\n"
        "だめ医院,ダメイイン,動物病院,東京都世田谷区用賀1-1-2,0311112222,35.70,139.70\r\n"
        "区外医院,クガイイイン,診療所,東京都世田谷区用賀1-1-3,0311112222,35.70,139.70\r\n".encode("cp932")
    )
    page.goto(f"{live_server.url}/admin/resourcemap/provider/import/")
    page.set_input_files("#id_import_file", str(bad))
    page.select_option("#id_format", label="csv")
    page.click("input[type=submit]")
    page.wait_for_selector(".rm-import-invalid")
    text = page.inner_text("#content")
    assert "2行に誤りがあります。何も取り込まれていません。" in text
    assert "3行目" in text and "種別「動物病院」は登録されていません。" in text
    assert "4行目" in text and "区域の外です" in text and "ハイフン付きの半角数字" in text
    assert "2行目" not in text
    assert page.locator("input[name=confirm]").count() == 0
    assert not Provider.objects.exists()
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/admin-import-errors.png", full_page=True)


def test_big_sheet_import_goes_through_the_job_page_and_is_applied(live_server, browser_page, editor, tmp_path,
                                                                   monkeypatch):
    from resourcemap import admin_views

    monkeypatch.setattr(admin_views, "SHEET_SYNC_MAX_BYTES", 0)  # every sheet on the job path
    page = browser_page
    login(page, live_server)
    sheet = tmp_path / "big.csv"
    sheet.write_bytes(
        "名称,よみがな,種別,住所,電話,緯度,経度\r\n"
        "よい医院,ヨイイイン,診療所,東京都世田谷区用賀1-1-1,03-1111-2222,35.626,139.633\r\n".encode("utf-8-sig"))
    page.goto(f"{live_server.url}/admin/resourcemap/provider/import/")
    page.set_input_files("#id_import_file", str(sheet))
    page.select_option("#id_format", label="csv")
    page.click("input[type=submit]")
    page.wait_for_selector("input[name=confirm]")
    assert "?job=" in page.url and "よい医院" in page.inner_text("#content")
    assert not Provider.objects.exists()
    page.click("input[name=confirm]")
    page.wait_for_selector(".messagelist")
    assert "取り込みました: 新規 1件" in page.inner_text(".messagelist")
    assert Provider.objects.get().name == "よい医院"
