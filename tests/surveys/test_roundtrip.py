"""The whole year for one provider: issue, answer, public page unchanged, partial approval."""

from django.urls import reverse

from resourcemap.models import ProviderChange
from surveys.models import Response

from .conftest import form_data, open_form


def test_full_round_trip(client, staff_client, issue, staff_user):
    from tests.factories import make_provider

    provider = make_provider(type_code="clinic", phone="03-1111-2222")
    make_provider(type_code="pharmacy")  # another provider in scope
    invitation, token, _code = issue(provider)

    page = open_form(client, token)
    assert page.status_code == 200
    body = page.content.decode()
    assert provider.name in body
    assert "03-1111-2222" in body
    assert "noindex" in page["X-Robots-Tag"]
    assert page["Referrer-Policy"] == "same-origin"
    # Only capabilities for clinics are offered: 訪問服薬指導 is for pharmacies.
    assert "看取り・ターミナルケア" in body
    assert "訪問服薬指導" not in body

    data = form_data(page)
    data["phone"] = "03-9999-8888"
    data["cap_mitori"] = "on"
    data["count_mitori"] = "12"
    data["respondent_email"] = "reply@example.jp"
    posted = client.post(reverse("surveys:form"), data)
    assert posted.status_code == 302, posted.context["form"].errors if posted.context else posted
    receipt = client.get(posted["Location"])
    text = receipt.content.decode()
    assert "ご回答を受け付けました" in text
    assert "03-9999-8888" in text and "看取り・ターミナルケア:12" in text

    # The public record has not changed.
    provider.refresh_from_db()
    assert provider.phone == "03-1111-2222"
    public = client.get(reverse("provider_detail", args=[provider.pk])).content.decode()
    assert "03-1111-2222" in public
    assert "03-9999-8888" not in public
    assert reverse("surveys:correction", args=[provider.pk]) in public

    response = Response.objects.get(invitation=invitation)
    assert response.kind == Response.Kind.UPDATE
    assert response.snapshot["phone"] == "03-1111-2222"

    # Staff see a field-by-field diff and approve only the phone.
    review = staff_client.get(reverse("admin:surveys_response_change", args=[response.pk]))
    review_text = review.content.decode()
    assert review.status_code == 200
    assert "03-9999-8888" in review_text and "看取り・ターミナルケア:12" in review_text
    done = staff_client.post(
        reverse("admin:surveys_response_change", args=[response.pk]),
        {"action": "approve", "keys": ["phone"], "provider_version": review.context["provider"].version},
    )
    assert done.status_code == 302
    response.refresh_from_db()
    assert response.status == Response.Status.PARTLY
    assert response.approved_keys == ["phone"]

    provider.refresh_from_db()
    assert provider.phone == "03-9999-8888"
    assert provider.last_confirmed_on is not None
    assert "回答#" in provider.last_confirmed_source
    assert "staff" not in provider.last_confirmed_source  # shown publicly: no staff names
    public = client.get(reverse("provider_detail", args=[provider.pk])).content.decode()
    assert "03-9999-8888" in public
    assert "看取り" not in public
    assert not provider.provider_capabilities.filter(capability__code="mitori").exists()

    # History: the approval names round, response and staff; the review page lists both.
    change = ProviderChange.objects.filter(provider=provider, actor_kind="survey").first()
    assert change.user == staff_user
    assert f"回答#{response.pk}" in change.source and "令和8年度" in change.source
    assert "staff" in change.source
    assert set(change.changes) >= {"phone", "last_confirmed_on"}
    assert "capabilities" not in change.changes
    history = staff_client.get(reverse("admin:surveys_response_change", args=[response.pk])).content.decode()
    assert "回答を受付" in history and change.source in history

    # Reviewed: the provider can no longer revise.
    again = client.get(reverse("surveys:form"))
    assert "確認済み" in again.content.decode()


def test_no_change_in_one_click_and_bulk_approval(client, staff_client, issue):
    from tests.factories import make_provider

    provider = make_provider()
    _inv, token, _code = issue(provider)
    open_form(client, token)
    posted = client.post(reverse("surveys:form"), {"no_change": "1"})
    assert posted.status_code == 302
    response = Response.objects.get(provider=provider)
    assert response.kind == Response.Kind.NO_CHANGE

    changelist = reverse("admin:surveys_response_changelist")
    result = staff_client.post(changelist, {"action": "approve_no_change", "_selected_action": [response.pk]})
    assert result.status_code == 302
    response.refresh_from_db()
    provider.refresh_from_db()
    assert response.status == Response.Status.APPROVED
    assert provider.last_confirmed_on is not None
    assert ProviderChange.objects.filter(provider=provider, action="confirm", actor_kind="survey").exists()


def test_provider_may_revise_until_review(client, issue):
    from tests.factories import make_provider

    provider = make_provider(fax="03-1234-0000")
    _inv, token, _code = issue(provider)
    page = open_form(client, token)
    data = form_data(page)
    data["fax"] = "03-1234-1111"
    assert client.post(reverse("surveys:form"), data).status_code == 302
    page = client.get(reverse("surveys:form"))
    assert 'value="03-1234-1111"' in page.content.decode()  # shows the earlier answer
    data = form_data(page)
    data["fax"] = "03-1234-2222"
    assert client.post(reverse("surveys:form"), data).status_code == 302
    response = Response.objects.get(provider=provider)
    assert response.proposed["fax"] == "03-1234-2222"
    assert response.revised_count == 1
    assert Response.objects.filter(provider=provider).count() == 1
