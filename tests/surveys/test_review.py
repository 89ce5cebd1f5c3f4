"""Staff review: conflicts, rejection, validation through the write path."""

import re

from django.urls import reverse

from resourcemap import providers as provider_service
from resourcemap.models import ProviderChange
from surveys import services
from surveys.models import FIELD_LABELS, Response
from tests.factories import make_provider

from .conftest import form_data, open_form


def _answer(client, token, **changes):
    data = form_data(open_form(client, token))
    data.update(changes)
    assert client.post(reverse("surveys:form"), data).status_code == 302
    return Response.objects.latest("pk")


def test_conflict_when_staff_changed_the_record_after_the_form_was_opened(client, staff_client, issue, staff_user):
    provider = make_provider(phone="03-1111-0000", fax="03-1111-0001")
    _inv, token, _code = issue(provider)
    page = open_form(client, token)
    # Staff edit the provider while the form is open.
    provider_service.provider_update(
        provider=provider, changes={"fax": "03-5555-0000"}, actor_kind=ProviderChange.Actor.STAFF,
        user=staff_user, source="電話で確認",
    )
    data = form_data(page)
    data["fax"] = "03-1111-0009"
    client.post(reverse("surveys:form"), data)
    response = Response.objects.get()
    rows = {row.key: row for row in services.diff_rows(response)}
    assert rows["fax"].conflict and rows["fax"].changed
    assert rows["fax"].shown == "03-1111-0001" and rows["fax"].live == "03-5555-0000"
    assert not rows["phone"].conflict

    review = staff_client.get(reverse("admin:surveys_response_change", args=[response.pk])).content.decode()
    assert "競合" in review
    assert "03-5555-0000" in review and "03-1111-0009" in review
    # The conflicting row is not pre-selected: staff choose.
    assert 'value="fax" id="key-fax" >' in review or 'value="fax" id="key-fax">' in review


def test_reject_needs_a_note_and_keeps_the_record(client, staff_client, issue):
    provider = make_provider(phone="03-1111-0000")
    _inv, token, _code = issue(provider)
    response = _answer(client, token, phone="03-2222-0000")
    url = reverse("admin:surveys_response_change", args=[response.pk])
    page = staff_client.post(url, {"action": "reject", "review_note": ""})
    assert page.status_code == 200 and "差し戻しの理由" in page.content.decode()
    assert staff_client.post(url, {"action": "reject", "review_note": "番号を確認させてください"}).status_code == 302
    response.refresh_from_db()
    provider.refresh_from_db()
    assert response.status == Response.Status.REJECTED
    assert provider.phone == "03-1111-0000"


def test_status_closed_report_and_staff_entry(staff_client, issue, staff_user):
    provider = make_provider()
    invitation, _token, _code = issue(provider)
    url = reverse("admin:surveys_invitation_enter", args=[invitation.pk])
    page = staff_client.get(url)
    assert "職員による代理入力" in page.content.decode()
    data = form_data(page)
    data["status"] = "closed"
    data["closure_note"] = "2026年12月末で廃止"
    posted = staff_client.post(url, data)
    assert posted.status_code == 302
    response = Response.objects.get()
    assert response.entered_by == staff_user
    assert response.proposed["status"] == "closed"
    services.approve_response(response=response, keys=["status"], user=staff_user)
    provider.refresh_from_db()
    assert provider.status == "closed"


def test_viewer_cannot_approve(client, issue, django_user_model):
    from django.contrib.auth.models import Group

    from resourcemap.reference import viewer_group_name

    provider = make_provider(phone="03-1111-0000")
    _inv, token, _code = issue(provider)
    response = _answer(client, token, phone="03-2222-0000")
    viewer = django_user_model.objects.create_user("viewer", password="x-Pass-1234", is_staff=True)
    viewer.groups.add(Group.objects.get(name=viewer_group_name()))
    client.force_login(viewer)
    url = reverse("admin:surveys_response_change", args=[response.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"action": "approve_all"}).status_code == 403
    provider.refresh_from_db()
    assert provider.phone == "03-1111-0000"


def test_a_new_round_asks_about_every_field_until_staff_choose(staff_client):
    page = staff_client.get(reverse("admin:surveys_surveyround_add")).content.decode()
    checked = re.findall(r'<input type="checkbox" name="fields" value="([a-z_]+)"[^>]*checked', page)
    assert checked == list(FIELD_LABELS)
    assert 'value="hours_exceptions"' in page and "地図の位置" in page
