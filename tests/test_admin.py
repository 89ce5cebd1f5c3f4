"""Staff back office: provider form through the write path, history, filters, permissions."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone

from resourcemap.models import (
    Area,
    Capability,
    OpeningPeriod,
    Provider,
    ProviderChange,
    ProviderType,
)
from resourcemap.reference import viewer_group_name
from tests.factories import make_provider

pytestmark = pytest.mark.django_db

CHANGE_URL = "admin:resourcemap_provider_change"
ADD_URL = "admin:resourcemap_provider_add"
LIST_URL = "admin:resourcemap_provider_changelist"

INLINE_PREFIXES = ("provider_capabilities", "opening_periods", "hours_exceptions", "changes")


def form_data(provider: Provider | None = None, **overrides) -> dict:
    """POST data for the provider change form, including all inline management forms."""
    area = Area.objects.get(code="yoga")
    data = {
        "name": "世田谷テスト在宅クリニック",
        "kana": "セタガヤテストザイタククリニック",
        "name_en": "",
        "provider_type": ProviderType.objects.get(code="clinic").pk,
        "status": "active",
        "postal_code": "158-0097",
        "address": "東京都世田谷区用賀4-10-1",
        "building": "",
        "latitude": str(area.center_lat),
        "longitude": str(area.center_lng),
        "area": area.pk,
        "phone": "03-1234-5678",
        "fax": "",
        "website": "",
        "email": "",
        "contact_person": "",
        "contact_email": "",
        "contact_phone": "",
        "notes": "",
        "notes_en": "",
        "hours_note": "",
        "medical_code": "",
        "care_code": "",
        "corporate_number": "",
        "corporate_name": "",
        "last_confirmed_on": "",
        "last_confirmed_source": "",
    }
    for prefix in INLINE_PREFIXES:
        data[f"{prefix}-TOTAL_FORMS"] = "0"
        data[f"{prefix}-INITIAL_FORMS"] = "0"
        data[f"{prefix}-MIN_NUM_FORMS"] = "0"
        data[f"{prefix}-MAX_NUM_FORMS"] = "1000"
    if provider is not None:
        for name in data:
            if name in [f.name for f in Provider._meta.fields]:
                value = getattr(provider, name)
                if name in ("provider_type", "area"):
                    value = getattr(provider, f"{name}_id") or ""
                elif value is None:
                    value = ""
                data[name] = value
        data["base_version"] = provider.version
        if provider.hours_unknown:
            data["hours_unknown"] = "on"
        periods = list(provider.opening_periods.order_by("weekday", "opens"))
        data["opening_periods-TOTAL_FORMS"] = str(len(periods))
        data["opening_periods-INITIAL_FORMS"] = str(len(periods))
        for i, p in enumerate(periods):
            data[f"opening_periods-{i}-id"] = p.pk
            data[f"opening_periods-{i}-provider"] = provider.pk
            data[f"opening_periods-{i}-weekday"] = p.weekday
            data[f"opening_periods-{i}-opens"] = p.opens.strftime("%H:%M")
            data[f"opening_periods-{i}-closes"] = p.closes.strftime("%H:%M")
        caps = list(provider.provider_capabilities.all())
        data["provider_capabilities-TOTAL_FORMS"] = str(len(caps))
        data["provider_capabilities-INITIAL_FORMS"] = str(len(caps))
        for i, pc in enumerate(caps):
            data[f"provider_capabilities-{i}-id"] = pc.pk
            data[f"provider_capabilities-{i}-provider"] = provider.pk
            data[f"provider_capabilities-{i}-capability"] = pc.capability_id
            data[f"provider_capabilities-{i}-count"] = pc.count if pc.count is not None else ""
            data[f"provider_capabilities-{i}-note"] = pc.note
        changes = provider.changes.count()
        data["changes-TOTAL_FORMS"] = str(changes)
        data["changes-INITIAL_FORMS"] = str(changes)
        for i, ch in enumerate(provider.changes.all()):
            data[f"changes-{i}-id"] = ch.pk
            data[f"changes-{i}-provider"] = provider.pk
    data.update(overrides)
    return data


def add_rows(data: dict, prefix: str, rows: list[dict]) -> dict:
    start = int(data[f"{prefix}-TOTAL_FORMS"])
    for offset, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{start + offset}-{key}"] = value
    data[f"{prefix}-TOTAL_FORMS"] = str(start + len(rows))
    return data


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- list, filters, search -------------------------------------------------------------------


def test_changelist_shows_columns_and_japanese_labels(staff_client):
    provider = make_provider(name="用賀の丘クリニック", capabilities={"h24": {}})
    response = staff_client.get(reverse(LIST_URL))
    assert response.status_code == 200
    page = text_of(response)
    assert "用賀の丘クリニック" in page
    assert "玉川・用賀" in page  # region・district column
    assert "24時間" in page  # capability short name or name
    for label in ("種別", "地域", "地区", "対応できること", "状態", "最終確認", "未確認", "1年以上前", "1年以内"):
        assert label in page
    assert provider.phone in page


def test_changelist_filters(staff_client):
    today = timezone.localdate()
    fresh = make_provider(name="確認済みクリニック", last_confirmed_on=today, capabilities={"h24": {}})
    old = make_provider(name="古い確認クリニック", last_confirmed_on=today - dt.timedelta(days=800))
    never = make_provider(name="未確認クリニック", area_code="kitazawa_d", type_code="pharmacy")
    url = reverse(LIST_URL)

    def names(query):
        response = staff_client.get(url, query)
        assert response.status_code == 200
        return {p.name for p in response.context["cl"].result_list}

    assert names({"confirmed": "never"}) == {never.name}
    assert names({"confirmed": "old"}) == {old.name}
    assert names({"confirmed": "recent"}) == {fresh.name}
    assert names({"capability": "h24"}) == {fresh.name}
    assert names({"region": "kitazawa"}) == {never.name}
    assert names({"district": "yoga"}) == {fresh.name, old.name}
    assert names({"provider_type__id__exact": ProviderType.objects.get(code="pharmacy").pk}) == {never.name}


def test_search_by_codes_and_kana(staff_client):
    target = make_provider(name="検索対象医院", medical_code="1312345678", kana="ケンサクタイショウイイン")
    make_provider(name="別の医院")
    url = reverse(LIST_URL)
    for query in ("1312345678", "ケンサクタイショウ", "検索対象"):
        result = staff_client.get(url, {"q": query}).context["cl"].result_list
        assert [p.pk for p in result] == [target.pk], query


def test_bad_filter_values_do_not_500(staff_client):
    response = staff_client.get(reverse(LIST_URL), {"confirmed": "xx", "capability": "<script>", "region": "nope"})
    assert response.status_code == 200


# --- editing through the write path ----------------------------------------------------------


def test_valid_edit_records_history_with_user_old_and_new(staff_client, staff_user):
    provider = make_provider(name="旧名称クリニック", fax="")
    data = form_data(provider, name="新名称クリニック", fax="03-9999-0000")
    response = staff_client.post(reverse(CHANGE_URL, args=[provider.pk]), data)
    assert response.status_code == 302, text_of(response)[:3000]
    provider.refresh_from_db()
    assert provider.name == "新名称クリニック"
    change = provider.changes.first()
    assert change.actor_kind == ProviderChange.Actor.STAFF
    assert change.user == staff_user
    assert change.source == "管理画面"
    assert change.changes["name"] == ["旧名称クリニック", "新名称クリニック"]
    assert change.changes["fax"] == ["", "03-9999-0000"]

    # The history is visible on the provider page: time, kind, user, source, old → new.
    page = text_of(staff_client.get(reverse(CHANGE_URL, args=[provider.pk])))
    assert "変更履歴" in page
    assert "旧名称クリニック" in page and "新名称クリニック" in page
    assert "職員" in page and "区職員" not in page and "staff" in page and "管理画面" in page


def test_edit_hours_and_capabilities_in_one_change(staff_client):
    provider = make_provider()
    data = form_data(provider)
    add_rows(data, "opening_periods", [{"weekday": "5", "opens": "09:00", "closes": "12:00"}])
    add_rows(data, "provider_capabilities", [
        {"capability": Capability.objects.get(code="mitori").pk, "count": "12", "note": "要相談"},
    ])
    response = staff_client.post(reverse(CHANGE_URL, args=[provider.pk]), data)
    assert response.status_code == 302, text_of(response)[:3000]
    change = provider.changes.first()
    assert set(change.changes) == {"opening_periods", "capabilities"}
    assert change.changes["capabilities"] == ["", "mitori:12(要相談)"]
    assert "土 09:00-12:00" in change.changes["opening_periods"][1]
    assert ProviderChange.objects.filter(provider=provider).count() == 2  # create + this edit


def test_save_without_changes_records_nothing(staff_client):
    provider = make_provider()
    before = provider.changes.count()
    response = staff_client.post(reverse(CHANGE_URL, args=[provider.pk]), form_data(provider))
    assert response.status_code == 302
    assert provider.changes.count() == before


def test_add_provider_through_admin(staff_client, staff_user):
    data = form_data()
    add_rows(data, "opening_periods", [{"weekday": "0", "opens": "09:00", "closes": "18:00"}])
    response = staff_client.post(reverse(ADD_URL), data)
    assert response.status_code == 302, text_of(response)[:3000]
    provider = Provider.objects.get(name="世田谷テスト在宅クリニック")
    change = provider.changes.get()
    assert change.action == ProviderChange.Action.CREATE
    assert change.user == staff_user
    assert provider.opening_periods.count() == 1


def test_overlapping_hours_rejected(staff_client):
    provider = make_provider(name="重なり医院")
    data = form_data(provider)
    add_rows(data, "opening_periods", [{"weekday": "0", "opens": "17:00", "closes": "20:00"}])
    response = staff_client.post(reverse(CHANGE_URL, args=[provider.pk]), data)
    assert response.status_code == 200
    page = text_of(response)
    assert "月: 09:00-18:00 と 17:00-20:00 が重なっています。" in page
    assert provider.opening_periods.count() == 5
    assert provider.changes.count() == 1


def test_overnight_spill_overlap_rejected(staff_client):
    provider = make_provider(periods=[(1, dt.time(7), dt.time(12))])
    data = form_data(provider)
    add_rows(data, "opening_periods", [{"weekday": "0", "opens": "20:00", "closes": "08:00"}])
    response = staff_client.post(reverse(CHANGE_URL, args=[provider.pk]), data)
    assert response.status_code == 200
    assert "火: 20:00-08:00 と 07:00-12:00 が重なっています。" in text_of(response)


def test_closes_before_opens_rejected(staff_client):
    provider = make_provider()
    data = form_data(provider)
    add_rows(data, "opening_periods", [{"weekday": "5", "opens": "14:00", "closes": "12:00"}])
    response = staff_client.post(reverse(CHANGE_URL, args=[provider.pk]), data)
    assert response.status_code == 200
    assert "終了時刻が開始時刻より前です" in text_of(response)
    assert not provider.opening_periods.filter(weekday=5).exists()


def test_coordinates_outside_ward_rejected(staff_client):
    provider = make_provider()
    data = form_data(provider, latitude="35.681236", longitude="139.767125")  # Tokyo Station
    response = staff_client.post(reverse(CHANGE_URL, args=[provider.pk]), data)
    assert response.status_code == 200
    assert "地図上の位置が世田谷区の区域の外です" in text_of(response)
    provider.refresh_from_db()
    assert float(provider.latitude) != 35.681236


def test_only_one_coordinate_rejected(staff_client):
    provider = make_provider()
    response = staff_client.post(
        reverse(CHANGE_URL, args=[provider.pk]), form_data(provider, longitude="")
    )
    assert response.status_code == 200
    assert "緯度と経度は両方入力してください。" in text_of(response)


def test_capability_not_for_type_rejected(staff_client):
    provider = make_provider(type_code="pharmacy")
    data = form_data(provider)
    add_rows(data, "provider_capabilities", [
        {"capability": Capability.objects.get(code="home_visit").pk, "count": "", "note": ""},
    ])
    response = staff_client.post(reverse(CHANGE_URL, args=[provider.pk]), data)
    assert response.status_code == 200
    assert "候補にありません" in text_of(response)
    assert not provider.provider_capabilities.exists()


def test_changing_type_with_capability_not_for_new_type_rejected(staff_client):
    provider = make_provider(type_code="clinic", capabilities={"home_visit": {}})
    data = form_data(provider, provider_type=ProviderType.objects.get(code="pharmacy").pk)
    response = staff_client.post(reverse(CHANGE_URL, args=[provider.pk]), data)
    assert response.status_code == 200
    assert "「訪問診療」は「薬局」には設定できません。" in text_of(response)
    provider.refresh_from_db()
    assert provider.provider_type.code == "clinic"


def test_count_on_capability_without_count_rejected(staff_client):
    provider = make_provider()
    data = form_data(provider)
    add_rows(data, "provider_capabilities", [
        {"capability": Capability.objects.get(code="h24").pk, "count": "3", "note": ""},
    ])
    response = staff_client.post(reverse(CHANGE_URL, args=[provider.pk]), data)
    assert response.status_code == 200
    assert "「24時間対応」には件数を入力できません。" in text_of(response)


def test_bad_postal_code_and_phone_shown_at_fields(staff_client):
    provider = make_provider()
    data = form_data(provider, postal_code="1580097", phone="0312345678")
    response = staff_client.post(reverse(CHANGE_URL, args=[provider.pk]), data)
    assert response.status_code == 200
    page = text_of(response)
    assert "郵便番号は「123-4567」の形で入力してください。" in page
    assert "ハイフン付きの半角数字で入力してください。" in page


def test_change_form_has_location_map(staff_client):
    provider = make_provider()
    page = text_of(staff_client.get(reverse(CHANGE_URL, args=[provider.pk])))
    assert 'class="rm-location-map"' in page
    assert "leaflet/leaflet.js" in page
    assert 'type="module"' in page and "js/admin-location.js" in page
    assert "cyberjapandata.gsi.go.jp" in page  # MAP_TILE_URL from settings


def test_delete_is_not_offered(staff_client, admin_client):
    provider = make_provider()
    response = admin_client.post(reverse("admin:resourcemap_provider_delete", args=[provider.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert Provider.objects.filter(pk=provider.pk).exists()


def test_confirm_action_sets_last_confirmed(staff_client):
    provider = make_provider()
    response = staff_client.post(
        reverse(LIST_URL), {"action": "confirm_selected", "_selected_action": [provider.pk]}
    )
    assert response.status_code == 302
    provider.refresh_from_db()
    assert provider.last_confirmed_on == timezone.localdate()
    assert provider.changes.first().action == ProviderChange.Action.CONFIRM


# --- no lost update: the form carries the version it showed --------------------------------


def _approve_phone_and_fax(provider, phone="03-7777-1111", fax="03-7777-2222"):
    """What a survey approval does meanwhile (through the one write path)."""
    from resourcemap import providers

    providers.provider_update(
        provider=provider, changes={"phone": phone, "fax": fax},
        actor_kind=ProviderChange.Actor.SURVEY, source="令和8年度調査 回答#1",
    )


def test_change_form_carries_the_version_it_shows(staff_client):
    provider = make_provider()
    page = staff_client.get(reverse(CHANGE_URL, args=[provider.pk])).content.decode()
    assert re.search(rf'<input type="hidden" name="base_version" value="{provider.version}"', page)


def test_saving_old_form_keeps_changes_approved_meanwhile(staff_client):
    provider = make_provider(phone="03-1111-0000", fax="03-1111-0001", notes="")
    opened = form_data(provider)  # the form as the editor opened it
    _approve_phone_and_fax(provider)

    opened["notes"] = "駐車場があります。"
    response = staff_client.post(reverse(CHANGE_URL, args=[provider.pk]), opened, follow=True)
    assert response.redirect_chain, text_of(response)[:3000]
    provider.refresh_from_db()
    assert (provider.phone, provider.fax) == ("03-7777-1111", "03-7777-2222")
    assert provider.notes == "駐車場があります。"
    assert set(provider.changes.first().changes) == {"notes"}
    page = text_of(response)
    assert "ほかの人が次の項目を変えていました。その内容は残してあります: 電話、FAX" in page


def test_conflicting_save_is_refused_with_both_values(staff_client):
    provider = make_provider(phone="03-1111-0000", fax="03-1111-0001")
    opened = form_data(provider)
    _approve_phone_and_fax(provider)
    history = provider.changes.count()

    opened.update(phone="03-5555-5555", notes="メモ")
    response = staff_client.post(reverse(CHANGE_URL, args=[provider.pk]), opened, follow=True)
    provider.refresh_from_db()
    assert provider.phone == "03-7777-1111" and provider.notes == ""  # nothing saved
    assert provider.changes.count() == history
    page = text_of(response)
    assert "保存していません。あなたが画面を開いた後に、ほかの人がこの事業所を変更しました。" in page
    assert "電話: あなたが画面を開いた後に調査回答が「03-7777-1111」に変えました" in page
    assert "あなたの入力「03-5555-5555」は保存していません。" in page
    # The page shows the current record, with the version to base the next save on.
    assert f'name="base_version" value="{provider.version}"' in page
    assert 'value="03-7777-1111"' in page


def test_form_without_version_is_refused(staff_client):
    provider = make_provider(name="版なし")
    data = form_data(provider, name="書き換え")
    del data["base_version"]
    response = staff_client.post(reverse(CHANGE_URL, args=[provider.pk]), data)
    assert response.status_code == 200
    assert "この画面は古い形式です。事業所の画面を開き直してください。" in text_of(response)
    provider.refresh_from_db()
    assert provider.name == "版なし"


# --- permissions and history admin -----------------------------------------------------------


@pytest.fixture
def viewer_client(client, reference):
    user = User.objects.create_user("viewer", password="pass-Word-1234", is_staff=True)
    user.groups.add(Group.objects.get(name=viewer_group_name()))
    client.force_login(user)
    return client


def test_viewer_can_view_but_not_change(viewer_client):
    provider = make_provider(name="閲覧専用テスト")
    url = reverse(CHANGE_URL, args=[provider.pk])
    response = viewer_client.get(url)
    assert response.status_code == 200
    page = text_of(response)
    assert "閲覧専用テスト" in page
    assert 'name="_save"' not in page
    response = viewer_client.post(url, form_data(provider, name="書き換え"))
    assert response.status_code == 403
    provider.refresh_from_db()
    assert provider.name == "閲覧専用テスト"
    assert viewer_client.get(reverse(ADD_URL)).status_code == 403
    assert viewer_client.get(reverse("admin:resourcemap_provider_import")).status_code == 403


def test_provider_change_admin_is_read_only(staff_client, admin_client):
    provider = make_provider(name="履歴の対象")
    change = provider.changes.get()
    list_page = text_of(admin_client.get(reverse("admin:resourcemap_providerchange_changelist")))
    assert "履歴の対象" in list_page
    detail = admin_client.get(reverse("admin:resourcemap_providerchange_change", args=[change.pk]))
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    assert admin_client.get(reverse("admin:resourcemap_providerchange_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:resourcemap_providerchange_delete", args=[change.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert ProviderChange.objects.filter(pk=change.pk).exists()


def test_reference_admin_pages_render(staff_client):
    for name in ("area", "providertype", "capability", "municipality", "providerchange"):
        response = staff_client.get(reverse(f"admin:resourcemap_{name}_changelist"))
        assert response.status_code == 200, name


def test_opening_period_model_unchanged_by_view(staff_client):
    provider = make_provider()
    staff_client.get(reverse(CHANGE_URL, args=[provider.pk]))
    assert OpeningPeriod.objects.filter(provider=provider).count() == 5
