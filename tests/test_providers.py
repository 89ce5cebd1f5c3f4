"""The one write path: create, update with history, nothing saved on invalid input."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from resourcemap import providers
from resourcemap.models import DataVersion, Provider, ProviderChange
from tests.factories import make_provider

pytestmark = pytest.mark.django_db
T = dt.time


def test_create_records_history_with_everything():
    provider = make_provider(
        name="作成テスト", capabilities={"mitori": {"count": 3, "note": "要相談"}},
        periods=[(0, T(9), T(12))],
        exceptions=[{"start_date": dt.date(2026, 8, 13), "end_date": dt.date(2026, 8, 15), "note": "夏休み"}],
    )
    change = provider.changes.get()
    assert change.action == ProviderChange.Action.CREATE
    assert change.changes["name"] == [None, "作成テスト"]
    assert change.changes["capabilities"] == [None, "mitori:3(要相談)"]
    assert change.changes["opening_periods"] == [None, "月 09:00-12:00"]
    assert change.changes["hours_exceptions"] == [None, "2026-08-13..2026-08-15 休(夏休み)"]


def test_update_records_only_the_diff_and_user(django_user_model):
    user = django_user_model.objects.create_user("editor")
    provider = make_provider(name="旧", phone="03-1111-1111")
    change = providers.provider_update(
        provider=provider, changes={"name": "新", "phone": "03-1111-1111"},
        periods=[(5, T(9), T(12))], actor_kind="staff", user=user, source="管理画面",
    )
    assert change.changes == {
        "name": ["旧", "新"],
        "opening_periods": ["月 09:00-18:00; 火 09:00-18:00; 水 09:00-18:00; 木 09:00-18:00; 金 09:00-18:00",
                            "土 09:00-12:00"],
    }
    assert change.user == user and change.actor_kind == "staff" and change.source == "管理画面"
    assert provider.name == "新"  # caller's instance refreshed
    assert providers.provider_update(provider=provider, changes={"name": "新"}, actor_kind="staff") is None
    assert provider.changes.count() == 2


def test_update_with_the_stored_values_writes_nothing(django_assert_num_queries):
    """Callers give every value they have; the write path finds what differs."""
    provider = make_provider(name="同じ値", capabilities={"mitori": {"count": 3, "note": ""}},
                             periods=[(0, T(9), T(12))])
    period_ids = list(provider.opening_periods.values_list("pk", flat=True))
    version, data_version = provider.version, DataVersion.current()
    same = {"name": "同じ値", "phone": provider.phone, "provider_type": "clinic", "area": "yoga"}
    with django_assert_num_queries(0):
        assert providers.provider_update(provider=provider, changes=same, actor_kind="import") is None
    assert providers.provider_update(
        provider=provider, changes=same, capabilities={"mitori": {"count": 3, "note": ""}},
        periods=[(0, T(9), T(12))], exceptions=[], actor_kind="import",
    ) is None
    provider.refresh_from_db()
    assert provider.version == version and DataVersion.current() == data_version
    assert list(provider.opening_periods.values_list("pk", flat=True)) == period_ids
    assert provider.changes.count() == 1
    # Only what differs is recorded, and related data as stored is not rewritten.
    change = providers.provider_update(
        provider=provider, changes={**same, "phone": "03-5555-0000"}, periods=[(0, T(9), T(12))],
        actor_kind="import",
    )
    assert list(change.changes) == ["phone"]
    assert list(provider.opening_periods.values_list("pk", flat=True)) == period_ids


def test_invalid_update_saves_nothing():
    provider = make_provider(name="元の名前", capabilities={"h24": {}})
    with pytest.raises(ValidationError) as caught:
        providers.provider_update(
            provider=provider,
            changes={"name": "変えたい", "latitude": Decimal("35.681236"), "longitude": Decimal("139.767125")},
            capabilities={"mitori": {"count": 2}},
            periods=[(0, T(9), T(13)), (0, T(12), T(18))],
            actor_kind="staff",
        )
    errors = caught.value.message_dict
    assert "世田谷区の区域の外" in errors["latitude"][0]
    assert "重なっています" in errors["opening_periods"][0]
    provider.refresh_from_db()
    assert provider.name == "元の名前"
    assert [pc.capability.code for pc in provider.provider_capabilities.all()] == ["h24"]
    assert provider.opening_periods.count() == 5
    assert provider.changes.count() == 1


def test_invalid_create_saves_nothing():
    with pytest.raises(ValidationError) as caught:
        make_provider(postal_code="1234567", phone="abc")
    assert set(caught.value.message_dict) >= {"postal_code", "phone"}
    assert not Provider.objects.exists()
    assert not ProviderChange.objects.exists()


def test_capability_not_applicable_to_type_rejected():
    with pytest.raises(ValidationError) as caught:
        make_provider(type_code="pharmacy", capabilities={"home_visit": {}})
    assert caught.value.message_dict["capabilities"] == ["「訪問診療」は「薬局」には設定できません。"]
    assert not Provider.objects.exists()


def test_count_rules_for_capabilities():
    with pytest.raises(ValidationError, match="件数を入力できません"):
        make_provider(capabilities={"h24": {"count": 1}})
    with pytest.raises(ValidationError, match="件数は数字で入力してください"):
        make_provider(capabilities={"mitori": {"count": "many"}})
    with pytest.raises(ValidationError, match="という対応項目はありません"):
        make_provider(capabilities={"teleport": {}})


def test_unknown_type_code_is_a_validation_error():
    with pytest.raises(ValidationError) as caught:
        make_provider(type_code="vet")
    assert "「vet」は登録されていません。" in caught.value.message_dict["provider_type"]


def test_unknown_type_pk_is_a_validation_error():
    with pytest.raises(ValidationError):
        make_provider(type_code=999999)


def test_bad_exception_rejected():
    with pytest.raises(ValidationError) as caught:
        make_provider(exceptions=[{"start_date": dt.date(2026, 5, 2), "end_date": dt.date(2026, 5, 1)}])
    assert "終了日は開始日と同じかそれより後" in caught.value.message_dict["hours_exceptions"][0]


def test_confirm_sets_date_and_records_confirmation():
    provider = make_provider()
    change = providers.provider_confirm(
        provider=provider, actor_kind="staff", source="電話確認", on=dt.date(2026, 4, 10)
    )
    provider.refresh_from_db()
    assert provider.last_confirmed_on == dt.date(2026, 4, 10)
    assert change.action == ProviderChange.Action.CONFIRM
    again = providers.provider_confirm(
        provider=provider, actor_kind="staff", source="電話確認", on=dt.date(2026, 4, 10)
    )
    assert again.action == ProviderChange.Action.CONFIRM and again.changes == {}


def test_snapshot_is_plain_data():
    provider = make_provider(capabilities={"h24": {}})
    snapshot = providers.provider_snapshot(provider)
    assert snapshot["provider_type"] == "clinic"
    assert snapshot["area"] == "yoga"
    assert snapshot["latitude"].count(".") == 1 and len(snapshot["latitude"].split(".")[1]) == 6
    assert snapshot["capabilities"] == "h24"


def test_validate_gives_the_update_messages_and_writes_nothing():
    provider = make_provider(name="検証テスト", capabilities={"h24": {}})
    bad = {
        "changes": {"name": "", "latitude": Decimal("35.681236"), "longitude": Decimal("139.767125")},
        "capabilities": {"mitori": {"count": "たくさん"}},
        "periods": [(0, T(9), T(13)), (0, T(12), T(18))],
    }
    errors = providers.provider_validate(provider=provider, **bad)
    with pytest.raises(ValidationError) as caught:
        providers.provider_update(provider=provider, actor_kind="staff", **bad)
    assert errors == caught.value.message_dict
    assert set(errors) >= {"name", "latitude", "capabilities", "opening_periods"}
    assert providers.provider_validate(provider=provider, changes={"phone": "03-5555-6666"}) == {}
    provider.refresh_from_db()
    assert provider.name == "検証テスト" and provider.phone != "03-5555-6666"
    assert provider.version == 1 and provider.changes.count() == 1


def test_validate_leaves_the_callers_instance_alone():
    provider = make_provider(name="そのまま")
    assert providers.provider_validate(provider=provider, changes={"name": "変えた"}) == {}
    assert provider.name == "そのまま"


def test_update_on_a_stale_version_keeps_the_newer_value_and_refuses_a_clash():
    provider = make_provider(name="元", phone="03-1111-1111", fax="03-1111-2222")
    seen = provider.version
    providers.provider_update(provider=provider, changes={"phone": "03-2222-2222"}, actor_kind="survey")
    # A form opened before that change saves the fax: the newer phone stays.
    providers.provider_update(
        provider=provider, changes={"phone": "03-1111-1111", "fax": "03-3333-3333"},
        actor_kind="staff", base_version=seen,
    )
    provider.refresh_from_db()
    assert (provider.phone, provider.fax) == ("03-2222-2222", "03-3333-3333")
    with pytest.raises(providers.ProviderConflict) as clash:
        providers.provider_update(provider=provider, changes={"phone": "03-4444-4444"},
                                  actor_kind="staff", base_version=seen)
    assert any("03-2222-2222" in line for line in clash.value.lines())
    provider.refresh_from_db()
    assert provider.phone == "03-2222-2222"


def test_every_write_moves_the_data_version_and_a_no_op_does_not_record():
    provider = make_provider()
    before = DataVersion.current()
    providers.provider_update(provider=provider, changes={"notes": "駐車場あり"}, actor_kind="staff")
    assert DataVersion.current() != before
    count = provider.changes.count()
    assert providers.provider_update(provider=provider, changes={"notes": "駐車場あり"}, actor_kind="staff") is None
    assert provider.changes.count() == count
