"""The survey contact of a provider (担当者, 連絡用電話, 連絡用メール) is for staff with its own
permission (区職員（編集）); 区職員（閲覧） sees and exports everything else."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from jobs.models import Job
from resourcemap import formats, providers
from resourcemap.models import Provider, ProviderChange, ProviderType
from resourcemap.resources import ContactlessProviderResource, ProviderResource
from tests.factories import make_provider

pytestmark = pytest.mark.django_db

SECRET = {"contact_person": "秘密担当", "contact_email": "secret-contact@example.jp",
          "contact_phone": "03-0999-1234"}
CSV_INDEX = "0"


def _leaks(text: str) -> list[str]:
    return [value for value in SECRET.values() if value in text]


def _export_csv(client, resource_index: str, resource_class) -> list[dict]:
    response = client.post(reverse("admin:resourcemap_provider_export"), {
        "format": CSV_INDEX, "resource": resource_index,
        # Every column of the full sheet is asked for, the survey contact included.
        **{f"{prefix}_{name}": "on" for name in ProviderResource().get_export_order()
           for prefix in ("providerresource", resource_class.__name__.lower())},
    })
    assert response.status_code == 200, response.status_code
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_groups_and_permission(reference, staff_user):
    from django.contrib.auth.models import User

    assert Provider.may_see_private_contact(staff_user)
    viewer_user = User.objects.create_user("v2", password="pass-Word-1234", is_staff=True)
    from django.contrib.auth.models import Group

    from resourcemap.reference import viewer_group_name

    viewer_user.groups.add(Group.objects.get(name=viewer_group_name()))
    assert viewer_user.has_perm("resourcemap.view_provider")
    assert not Provider.may_see_private_contact(viewer_user)


def test_viewer_export_leaves_out_the_survey_contact_even_when_asked_for(viewer, staff_client):
    make_provider(name="連絡先医院", **SECRET)
    page = viewer.get(reverse("admin:resourcemap_provider_export")).content.decode()
    assert "事業所（調査の連絡先を除く）" in page
    assert "事業所（全項目）" not in page
    rows = _export_csv(viewer, "0", ContactlessProviderResource)
    assert [row["名称"] for row in rows] == ["連絡先医院"]
    assert "担当者（非公開）" not in rows[0]
    assert _leaks(repr(rows)) == []
    # An editor's full export has them.
    full = _export_csv(staff_client, "0", ProviderResource)
    assert full[0]["担当者（非公開）"] == "秘密担当"
    assert full[0]["連絡用メール（非公開）"] == "secret-contact@example.jp"


def test_viewer_background_export_has_no_contact_and_cannot_fetch_a_full_one(viewer, staff_client):
    provider = make_provider(name="裏書き出し医院", **SECRET)
    changelist = reverse("admin:resourcemap_provider_changelist")
    response = viewer.post(changelist, {"action": "export_csv_in_background",
                                        "_selected_action": [provider.pk]}, follow=True)
    assert "調査の連絡先（非公開）の列は含まれません。" in response.content.decode()
    job = Job.objects.get(kind="providers_export_contactless")
    download = viewer.get(reverse("admin:jobs_job_download", args=[job.pk]))
    assert download.status_code == 200
    text = b"".join(download.streaming_content).decode("utf-8-sig")
    assert "裏書き出し医院" in text and _leaks(text) == []
    # The editor's full file is not the viewer's to download.
    staff_client.post(changelist, {"action": "export_csv_in_background",
                                   "_selected_action": [provider.pk]})
    full = Job.objects.get(kind="providers_export")
    assert staff_client.get(reverse("admin:jobs_job_download", args=[full.pk])).status_code == 200
    assert viewer.get(reverse("admin:jobs_job_download", args=[full.pk])).status_code == 403


def test_viewer_provider_page_and_history_hide_the_contact(viewer, staff_client):
    provider = make_provider(name="履歴医院", **SECRET)
    providers.provider_update(
        provider=provider, changes={"contact_email": "new-secret@example.jp", "fax": "03-0999-0000"},
        actor_kind=ProviderChange.Actor.STAFF,
    )
    change = ProviderChange.objects.filter(provider=provider).latest("pk")
    for url in (reverse("admin:resourcemap_provider_change", args=[provider.pk]),
                reverse("admin:resourcemap_providerchange_change", args=[change.pk])):
        seen = viewer.get(url).content.decode()
        assert "履歴医院" in seen
        assert _leaks(seen) == [] and "new-secret@example.jp" not in seen, url
        assert "03-0999-0000" in seen  # the public fax change is shown
    assert "（非公開）" in viewer.get(
        reverse("admin:resourcemap_providerchange_change", args=[change.pk])).content.decode()
    editor_page = staff_client.get(reverse("admin:resourcemap_provider_change", args=[provider.pk]))
    assert "new-secret@example.jp" in editor_page.content.decode()
    assert "secret-contact@example.jp" in staff_client.get(
        reverse("admin:resourcemap_providerchange_change", args=[change.pk])).content.decode()


def test_viewer_nonrespondents_csv_has_no_contact(viewer, staff_client, reference):
    import datetime as dt

    from django.utils import timezone

    from surveys import services
    from surveys.models import SurveyRound

    make_provider(name="未回答医院", **SECRET)
    today = timezone.localdate()
    survey_round = SurveyRound.objects.create(
        name="調査", opens_on=today - dt.timedelta(days=1), closes_on=today + dt.timedelta(days=9))
    survey_round.provider_types.set(ProviderType.objects.all())
    services.issue_round(survey_round=survey_round)
    url = reverse("admin:surveys_surveyround_nonrespondents", args=[survey_round.pk])
    text = viewer.get(url).content.decode("utf-8-sig")
    assert "未回答医院" in text
    assert "担当者" not in text.splitlines()[0] and _leaks(text) == []
    editor_text = staff_client.get(url).content.decode("utf-8-sig")
    assert "秘密担当" in editor_text and "secret-contact@example.jp" in editor_text


def test_contactless_job_never_writes_the_contact(staff_user, reference):
    """Even a job record that asks for everything: the kind decides."""
    from jobs import runner

    make_provider(name="種類医院", **SECRET)
    job = runner.start("providers_export_contactless", params={"format": "csv"}, user=staff_user)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE
    with job.result_file.open("rb") as handle:
        dataset = formats.CSV().create_dataset(handle.read())
    assert "種類医院" in repr(list(dataset)) and _leaks(repr(list(dataset))) == []


def _round():
    import datetime as dt

    from django.utils import timezone

    from surveys.models import SurveyRound

    today = timezone.localdate()
    survey_round = SurveyRound.objects.create(
        name="調査", opens_on=today - dt.timedelta(days=1), closes_on=today + dt.timedelta(days=9))
    survey_round.provider_types.set(ProviderType.objects.all())
    return survey_round


def test_viewer_review_page_hides_the_contact_in_an_answer(viewer, staff_client, reference):
    from resourcemap.providers import provider_snapshot
    from surveys import services
    from surveys.models import Response

    provider = make_provider(name="回答医院", **SECRET)
    survey_round = _round()
    services.issue_round(survey_round=survey_round)
    invitation = survey_round.invitations.get(provider=provider)
    response = services.submit_response(
        invitation=invitation, kind=Response.Kind.UPDATE,
        proposed={"contact_email": "answer-secret@example.jp", "fax": "03-0999-7777"},
        snapshot=provider_snapshot(provider), respondent_name="回答者秘密",
        respondent_email="respondent-secret@example.jp",
    )
    url = reverse("admin:surveys_response_change", args=[response.pk])
    seen = viewer.get(url).content.decode()
    assert "回答医院" in seen and "03-0999-7777" in seen
    for secret in ("answer-secret@example.jp", "回答者秘密", "respondent-secret@example.jp",
                   *SECRET.values()):
        assert secret not in seen, secret
    editor = staff_client.get(url).content.decode()
    assert "answer-secret@example.jp" in editor and "respondent-secret@example.jp" in editor


def test_viewer_registration_pages_hide_the_applicant(viewer, staff_client, reference):
    from surveys import services

    registration = services.register_provider(
        provider_type=ProviderType.objects.get(code="clinic"),
        fields={"name": "新規登録医院", "kana": "シンキトウロクイイン", "address": "東京都世田谷区用賀1-1-1",
                "phone": "03-0999-2222"},
        capabilities={}, periods=[], applicant_name="申請者秘密",
        applicant_email="applicant-secret@example.jp", applicant_phone="03-0999-3333",
    )
    for url in (reverse("admin:surveys_registration_changelist"),
                reverse("admin:surveys_registration_change", args=[registration.pk])):
        seen = viewer.get(url).content.decode()
        assert "新規登録医院" in seen
        for secret in ("申請者秘密", "applicant-secret@example.jp", "03-0999-3333"):
            assert secret not in seen, (url, secret)
    editor = staff_client.get(
        reverse("admin:surveys_registration_change", args=[registration.pk])).content.decode()
    assert "applicant-secret@example.jp" in editor


def test_viewer_correction_pages_hide_the_reporter(viewer, staff_client, reference):
    from surveys.models import Correction

    provider = make_provider(name="訂正対象医院")
    correction = Correction.objects.create(
        provider=provider, message="電話番号が変わっています",
        reporter_name="報告者秘密", reporter_contact="reporter-secret@example.jp",
    )
    for url in (reverse("admin:surveys_correction_changelist"),
                reverse("admin:surveys_correction_change", args=[correction.pk])):
        seen = viewer.get(url).content.decode()
        assert "訂正対象医院" in seen
        for secret in ("報告者秘密", "reporter-secret@example.jp"):
            assert secret not in seen, (url, secret)
    editor = staff_client.get(reverse("admin:surveys_correction_change", args=[correction.pk])).content.decode()
    assert "報告者秘密" in editor and "reporter-secret@example.jp" in editor
