"""No lost update: versions, merge of changes made meanwhile, conflicts, and the row lock."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection, connections

from resourcemap import providers
from resourcemap.models import Capability, Provider, ProviderChange
from tests.factories import make_provider

STAFF = ProviderChange.Actor.STAFF
SURVEY = ProviderChange.Actor.SURVEY


def update(provider, **kwargs):
    kwargs.setdefault("actor_kind", STAFF)
    return providers.provider_update(provider=provider, **kwargs)


def full_form(provider) -> dict:
    """Every tracked field as an editor's form would send it back."""
    return {name: getattr(provider, name) for name in Provider.TRACKED_FIELDS}


def history_matches_record(provider: Provider) -> list[str]:
    """Fields whose latest recorded new value is not what the database holds."""
    snapshot = providers.provider_snapshot(Provider.objects.get(pk=provider.pk))
    latest: dict[str, object] = {}
    for change in ProviderChange.objects.filter(provider=provider).order_by("pk"):
        for name, (_old, new) in change.changes.items():
            latest[name] = new
    return [name for name, value in latest.items() if snapshot.get(name) != value]


@pytest.mark.django_db
def test_each_recorded_change_raises_the_version_once():
    provider = make_provider(phone="03-1000-0000")
    assert provider.version == 1
    assert provider.changes.get().version == 1
    assert update(provider, changes={"phone": "03-1000-0001"}).version == 2
    assert update(provider, changes={"phone": "03-1000-0001"}) is None  # nothing changed
    provider.refresh_from_db()
    assert provider.version == 2
    assert update(provider, changes={}, periods=[]).version == 3
    assert list(provider.changes.order_by("pk").values_list("version", flat=True)) == [1, 2, 3]


@pytest.mark.django_db
def test_old_full_form_keeps_fields_changed_meanwhile():
    provider = make_provider(phone="03-1111-0000", fax="03-1111-0001", notes="")
    seen = full_form(provider)
    update(provider, changes={"phone": "03-7777-1111", "fax": "03-7777-2222"}, actor_kind=SURVEY)

    seen["notes"] = "駐車場があります。"
    change = update(provider, changes=seen, base_version=1)
    provider.refresh_from_db()
    assert (provider.phone, provider.fax, provider.notes) == ("03-7777-1111", "03-7777-2222", "駐車場があります。")
    assert change.changes == {"notes": ["", "駐車場があります。"]}
    assert provider.version == 3
    assert history_matches_record(provider) == []


@pytest.mark.django_db
def test_same_field_changed_by_both_is_refused_and_nothing_saved():
    provider = make_provider(phone="03-1111-0000", notes="")
    seen = full_form(provider)
    update(provider, changes={"phone": "03-7777-1111"}, actor_kind=SURVEY)

    seen.update(phone="03-5555-5555", notes="メモ")
    with pytest.raises(providers.ProviderConflict) as caught:
        update(provider, changes=seen, base_version=1)
    error = caught.value
    assert error.current_version == 2
    [conflict] = error.conflicts
    assert (conflict.field, conflict.label, conflict.theirs, conflict.yours) == (
        "phone", "電話", "03-7777-1111", "03-5555-5555",
    )
    assert conflict.who == "調査回答"
    assert "「03-7777-1111」に変えました" in error.message_dict["phone"][0]
    assert error.lines()[0].startswith("電話: あなたが画面を開いた後に調査回答が")
    provider.refresh_from_db()
    assert (provider.phone, provider.notes, provider.version) == ("03-7777-1111", "", 2)


@pytest.mark.django_db
def test_same_new_value_is_not_a_conflict():
    provider = make_provider(phone="03-1111-0000")
    update(provider, changes={"phone": "03-7777-1111"})
    assert update(provider, changes={"phone": "03-7777-1111"}, base_version=1) is None


@pytest.mark.django_db
def test_confirmation_fields_never_conflict():
    provider = make_provider()
    update(provider, changes={"last_confirmed_on": dt.date(2026, 11, 30), "last_confirmed_source": "電話"})
    change = update(
        provider, changes={"last_confirmed_on": dt.date(2026, 12, 1), "last_confirmed_source": "調査"},
        base_version=1,
    )
    assert change.changes["last_confirmed_source"] == ["電話", "調査"]


@pytest.mark.django_db
def test_capabilities_and_hours_changed_meanwhile_are_kept():
    provider = make_provider(type_code="clinic", capabilities={})
    mitori = Capability.objects.filter(code="mitori").first()
    assert mitori is not None
    old_periods = providers.current_periods(provider)
    update(provider, changes={}, capabilities={"mitori": {"count": 3}},
           periods=[(5, dt.time(9), dt.time(12))], actor_kind=SURVEY)

    # The editor's form still holds the old capabilities and hours; they only change the name.
    seen = full_form(Provider.objects.get(pk=provider.pk))
    seen["name"] = "新しい名前"
    update(provider, changes=seen, capabilities={}, periods=old_periods, base_version=1)
    snapshot = providers.provider_snapshot(Provider.objects.get(pk=provider.pk))
    assert snapshot["capabilities"] == "mitori:3"
    assert "土 09:00-12:00" in snapshot["opening_periods"]
    assert snapshot["name"] == "新しい名前"

    # Changing them both ways is a conflict.
    with pytest.raises(providers.ProviderConflict) as caught:
        update(provider, changes={}, capabilities={"h24": {}}, base_version=1)
    assert [c.field for c in caught.value.conflicts] == ["capabilities"]


@pytest.mark.django_db
@pytest.mark.parametrize("base", [0, 5])
def test_unknown_base_version_is_refused(base):
    provider = make_provider(name="元の名前")
    update(provider, changes={"phone": "03-7777-1111"})
    with pytest.raises(providers.ProviderConflict) as caught:
        update(provider, changes={"name": "新しい名前"}, base_version=base)
    assert caught.value.conflicts == []
    assert "開き直して" in caught.value.messages[0]
    provider.refresh_from_db()
    assert provider.name == "元の名前"


@pytest.mark.django_db
def test_missing_history_row_is_refused_rather_than_guessed():
    provider = make_provider(name="元の名前")
    update(provider, changes={"phone": "03-7777-1111"})
    provider.changes.filter(version=2).delete()
    with pytest.raises(providers.ProviderConflict):
        update(provider, changes={"name": "新しい名前"}, base_version=1)


# --- threads on PostgreSQL ----------------------------------------------------------------


def _in_thread(target, errors: list, *args, **kwargs):
    def run():
        try:
            target(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            connections.close_all()

    return threading.Thread(target=run)


@pytest.fixture
def slow_write(monkeypatch):
    """Widen the window between reading the record and writing it, so writers overlap."""
    from resourcemap.providers import validation

    original = validation._apply_fields

    def slowly(provider, changes):
        original(provider, changes)
        time.sleep(0.3)

    monkeypatch.setattr(validation, "_apply_fields", slowly)


pg_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks (SELECT ... FOR UPDATE) exist on PostgreSQL only; SQLite writers are "
    "serialised by its immediate transactions, and its in-memory test database is shared "
    "between threads with table locks that do not model separate connections",
)


@pg_only
@pytest.mark.django_db(transaction=True)
def test_two_writers_at_once_lose_nothing_and_history_agrees(reference, slow_write):
    provider = make_provider(phone="03-1111-0000", fax="03-1111-0001", notes="")
    errors: list = []
    threads = [
        _in_thread(update, errors, provider, changes={"phone": "03-7777-1111", "fax": "03-7777-2222"},
                   actor_kind=SURVEY),
        _in_thread(update, errors, provider, changes={"notes": "駐車場があります。"}),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    provider.refresh_from_db()
    assert (provider.phone, provider.fax, provider.notes) == ("03-7777-1111", "03-7777-2222", "駐車場があります。")
    assert history_matches_record(provider) == []
    assert provider.version == 3
    assert sorted(provider.changes.values_list("version", flat=True)) == [1, 2, 3]


@pg_only
@pytest.mark.django_db(transaction=True)
def test_many_old_forms_saved_at_once_all_apply(reference):
    """Eight editors opened the same version; each changed a different field; all saved."""
    provider = make_provider(notes="", hours_note="", building="", fax="", website="",
                             corporate_name="", name_en="", contact_person="")
    seen = full_form(provider)
    edits = {
        "notes": "駐車場あり", "hours_note": "予約制", "building": "2階", "fax": "03-2222-3333",
        "website": "https://example.jp/", "corporate_name": "医療法人テスト会", "name_en": "Test Clinic",
        "contact_person": "山田",
    }
    errors: list = []
    barrier = threading.Barrier(len(edits))

    def save(name, value):
        form = dict(seen, **{name: value})
        barrier.wait(10)
        update(provider, changes=form, base_version=1)

    threads = [_in_thread(save, errors, name, value) for name, value in edits.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    provider.refresh_from_db()
    assert {name: getattr(provider, name) for name in edits} == edits
    assert provider.version == 1 + len(edits)
    assert history_matches_record(provider) == []
