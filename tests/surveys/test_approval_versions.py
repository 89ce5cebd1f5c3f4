"""No lost update in the survey back office: review approval and registration approval."""

from __future__ import annotations

import pytest
from django.urls import reverse

from resourcemap import providers as provider_service
from resourcemap.models import Provider, ProviderChange
from surveys import services
from surveys.models import Registration, Response
from tests.factories import make_provider

from .conftest import form_data, open_form

pytestmark = pytest.mark.django_db


def _answer(client, token, **changes) -> Response:
    data = form_data(open_form(client, token))
    data.update(changes)
    assert client.post(reverse("surveys:form"), data).status_code == 302
    return Response.objects.latest("pk")


def _staff_edit(provider, user, **changes):
    provider_service.provider_update(
        provider=provider, changes=changes, actor_kind=ProviderChange.Actor.STAFF, user=user,
        source="電話で確認",
    )


def test_review_page_carries_the_version_it_shows(client, staff_client, issue):
    provider = make_provider(phone="03-1111-0000")
    _inv, token, _code = issue(provider)
    response = _answer(client, token, phone="03-2222-0000")
    page = staff_client.get(reverse("admin:surveys_response_change", args=[response.pk])).content.decode()
    assert f'name="provider_version" value="{provider.version}"' in page


def test_approval_after_a_staff_edit_of_the_same_field_is_refused(client, staff_client, issue, staff_user):
    provider = make_provider(phone="03-1111-0000")
    _inv, token, _code = issue(provider)
    response = _answer(client, token, phone="03-2222-0000")
    url = reverse("admin:surveys_response_change", args=[response.pk])
    shown = staff_client.get(url).context["provider"].version
    # Another staff member fixes the phone while the reviewer looks at the answer.
    _staff_edit(provider, staff_user, phone="03-3333-0000")

    page = staff_client.post(url, {"action": "approve_all", "provider_version": shown})
    assert page.status_code == 200
    text = page.content.decode()
    assert "反映できませんでした（何も保存していません）" in text
    assert "電話: あなたが画面を開いた後にstaffが「03-3333-0000」に変えました" in text
    assert "あなたの入力「03-2222-0000」は保存していません。" in text
    provider.refresh_from_db()
    response.refresh_from_db()
    assert provider.phone == "03-3333-0000"
    assert not response.is_reviewed
    # The page now shows the current record; approving from it is a deliberate choice.
    assert f'name="provider_version" value="{provider.version}"' in text
    assert staff_client.post(url, {"action": "approve_all", "provider_version": provider.version}).status_code == 302
    provider.refresh_from_db()
    assert provider.phone == "03-2222-0000"


def test_approval_keeps_a_staff_edit_of_another_field(client, staff_client, issue, staff_user):
    provider = make_provider(phone="03-1111-0000", notes="")
    _inv, token, _code = issue(provider)
    response = _answer(client, token, phone="03-2222-0000")
    url = reverse("admin:surveys_response_change", args=[response.pk])
    shown = staff_client.get(url).context["provider"].version
    _staff_edit(provider, staff_user, notes="駐車場あり")
    assert staff_client.post(url, {"action": "approve_all", "provider_version": shown}).status_code == 302
    provider.refresh_from_db()
    assert (provider.phone, provider.notes) == ("03-2222-0000", "駐車場あり")


def test_approval_from_a_page_without_version_is_refused(client, staff_client, issue):
    provider = make_provider(phone="03-1111-0000")
    _inv, token, _code = issue(provider)
    response = _answer(client, token, phone="03-2222-0000")
    url = reverse("admin:surveys_response_change", args=[response.pk])
    page = staff_client.post(url, {"action": "approve_all"})
    assert "この画面は古くなっています。開き直してから承認してください。" in page.content.decode()
    provider.refresh_from_db()
    assert provider.phone == "03-1111-0000"


# --- registrations --------------------------------------------------------------------------


def _registered(**fields) -> Registration:
    provider = make_provider(status=Provider.Status.PENDING, **fields)
    return Registration.objects.create(provider=provider, applicant_name="佐藤")


def test_registration_approval_publishes_provider_and_registration_together(staff_user, monkeypatch):
    registration = _registered()

    def broken_save(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Registration, "save", broken_save)
    with pytest.raises(RuntimeError):
        services.approve_registration(registration=registration, user=staff_user)
    registration.provider.refresh_from_db()
    assert registration.provider.status == Provider.Status.PENDING  # nothing half-saved
    assert registration.provider.changes.count() == 1

    monkeypatch.undo()
    services.approve_registration(registration=registration, user=staff_user)
    registration.refresh_from_db()
    registration.provider.refresh_from_db()
    assert registration.status == Registration.Status.APPROVED
    assert registration.reviewed_by == staff_user
    assert registration.provider.status == Provider.Status.ACTIVE


def test_registration_is_approved_once(staff_user):
    registration = _registered()
    services.approve_registration(registration=registration, user=staff_user)
    with pytest.raises(services.RegistrationReviewed):
        services.approve_registration(registration=registration, user=staff_user)
    assert registration.provider.changes.count() == 2


def test_registration_approval_keeps_staff_corrections_but_not_over_a_closure(staff_client, staff_user):
    corrected = _registered(phone="03-1111-0000")
    _staff_edit(corrected.provider, staff_user, phone="03-1111-9999")
    closed = _registered()
    _staff_edit(closed.provider, staff_user, status=Provider.Status.CLOSED)

    page = staff_client.post(
        reverse("admin:surveys_registration_changelist"),
        {"action": "approve", "_selected_action": [corrected.pk, closed.pk]}, follow=True,
    )
    text = page.content.decode()
    assert "1 件を公開しました。" in text
    assert "状態: あなたが画面を開いた後にstaffが「廃止」に変えました" in text
    corrected.provider.refresh_from_db()
    closed.provider.refresh_from_db()
    assert (corrected.provider.status, corrected.provider.phone) == (Provider.Status.ACTIVE, "03-1111-9999")
    assert closed.provider.status == Provider.Status.CLOSED
    closed.refresh_from_db()
    assert closed.status == Registration.Status.NEW


def test_registration_approval_publishes_no_staff_login(client, django_user_model):
    """The public page and every public file say how a record was confirmed, never which
    back-office account did it (a login name is half of a login, and typing it wrong five
    times locks that account: django-axes)."""
    from django.contrib.auth.models import Group

    from resourcemap.reference import editor_group_name

    user = django_user_model.objects.create_user("tanaka-login-7", password="pass-Word-1234", is_staff=True)
    user.groups.add(Group.objects.get(name=editor_group_name()))
    registration = _registered(name="登録承認医院")
    services.approve_registration(registration=registration, user=user)
    provider = Provider.objects.get(pk=registration.provider_id)
    assert provider.status == Provider.Status.ACTIVE and provider.last_confirmed_on
    public = [
        client.get(reverse("provider_detail", args=[provider.pk])),
        client.get("/api/providers.geojson"),
        client.get("/opendata/providers.csv"),
    ]
    assert "登録承認医院" in public[0].content.decode()
    for answer in public:
        assert answer.status_code == 200
        assert b"tanaka-login-7" not in answer.content, answer.request["PATH_INFO"]
    # The back office still records who approved it.
    assert "tanaka-login-7" in provider.changes.latest("pk").source
