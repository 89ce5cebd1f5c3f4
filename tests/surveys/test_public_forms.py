"""New-provider registration and correction reports from the public side."""

from django.core import mail
from django.urls import reverse

from resourcemap.models import Provider
from surveys.models import Correction, Registration
from tests.factories import make_provider


def _registration(**overrides):
    from resourcemap.models import ProviderType

    data = {
        "provider_type": ProviderType.objects.get(code="nursing").pk,
        "name": "新規訪問看護ステーション", "kana": "シンキホウモンカンゴステーション",
        "postal_code": "158-0097", "address": "東京都世田谷区用賀1-2-3", "phone": "03-1234-5678",
        "latitude": "35.626000", "longitude": "139.633000",
        "hours_0": "09:00-18:00", "cap_h24": "on", "cap_mitori": "on", "count_mitori": "5",
        "applicant_name": "佐藤", "applicant_email": "sato@example.jp",
    }
    data.update(overrides)
    return data


def test_registration_creates_a_pending_provider_invisible_to_the_public(client, staff_client, reference):
    response = client.post(reverse("surveys:register"), _registration())
    assert response.status_code == 302, response.context["form"].errors
    provider = Provider.objects.get(name="新規訪問看護ステーション")
    assert provider.status == Provider.Status.PENDING
    assert provider.contact_email == "sato@example.jp"
    assert provider.area is not None
    assert set(provider.provider_capabilities.values_list("capability__code", flat=True)) == {"h24", "mitori"}
    assert client.get(reverse("provider_detail", args=[provider.pk])).status_code == 404

    registration = Registration.objects.get(provider=provider)
    staff_client.post(reverse("admin:surveys_registration_changelist"),
                      {"action": "approve", "_selected_action": [registration.pk]})
    provider.refresh_from_db()
    assert provider.status == Provider.Status.ACTIVE
    page = client.get(reverse("provider_detail", args=[provider.pk])).content.decode()
    assert "新規訪問看護ステーション" in page
    assert "sato@example.jp" not in page


def test_registration_validates_and_rejects_spam(client, reference):
    page = client.post(reverse("surveys:register"), _registration(phone="12345", cap_home_pharmacy="on"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "ハイフン付き" in text
    assert not Provider.objects.filter(name="新規訪問看護ステーション").exists()
    # Capability that does not apply to the type: the write path's message.
    page = client.post(reverse("surveys:register"), _registration(cap_home_pharmacy="on"))
    assert "には設定できません" in page.content.decode()
    # Honeypot filled: looks like success, nothing stored.
    spam = client.post(reverse("surveys:register"), _registration(homepage_url="http://spam.example"))
    assert spam.status_code == 302
    assert not Provider.objects.filter(name="新規訪問看護ステーション").exists()


def test_registration_is_rate_limited(client, reference):
    for _i in range(5):
        client.post(reverse("surveys:register"), _registration(phone="bad"))
    assert client.post(reverse("surveys:register"), _registration()).status_code == 429


def test_correction_report_and_staff_send_a_survey_link(client, staff_client, survey_round):
    provider = make_provider(name="誤り報告クリニック", contact_email="office@example.jp")
    url = reverse("surveys:correction", args=[provider.pk])
    page = client.get(url)
    assert "誤り報告クリニック" in page.content.decode()
    assert client.post(url, {"message": ""}).status_code == 200
    done = client.post(url, {"message": "電話番号が変わっています", "reporter_contact": "03-0000-0000"})
    assert done.status_code == 302
    correction = Correction.objects.get()
    assert correction.provider == provider

    staff_client.post(reverse("admin:surveys_correction_changelist"),
                      {"action": "send_survey_link", "_selected_action": [correction.pk]})
    correction.refresh_from_db()
    assert correction.status == Correction.Status.INVITED
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["office@example.jp"]
    assert "/survey/t/" in mail.outbox[0].body


def test_correction_for_unknown_or_pending_provider_is_404(client, reference):
    pending = make_provider(status=Provider.Status.PENDING)
    assert client.get(reverse("surveys:correction", args=[pending.pk])).status_code == 404
    assert client.get("/providers/999999/correction/").status_code == 404
