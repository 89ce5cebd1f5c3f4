"""Letters PDF: one A4 page per provider, each QR code decodes to that provider's link."""

import subprocess

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse
from pypdf import PdfReader

from jobs.models import Job
from resourcemap.reference import viewer_group_name
from surveys import letters, services
from tests.factories import make_provider


def _page_qr(pdf_path, page, tmp_path) -> str:
    prefix = tmp_path / f"page{page}"
    subprocess.run(
        ["pdftoppm", "-r", "150", "-f", str(page), "-l", str(page), "-png", "-singlefile",
         str(pdf_path), str(prefix)],
        check=True,
    )
    out = subprocess.run(
        ["zbarimg", "--quiet", "--raw", f"{prefix}.png"], check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def _page_text(pdf_path, page) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf_path), "-"],
        check=True, capture_output=True, text=True,
    ).stdout


@pytest.mark.django_db
def test_letters_pdf_one_page_per_provider_with_its_own_qr(issue, survey_round, tmp_path, settings):
    settings.SITE_URL = "https://map.example.jp"
    made = [
        make_provider(name=f"案内状テスト医院{i}", postal_code=f"154-000{i}", contact_person="山田")
        for i in range(1, 4)
    ]
    for provider in made:
        issue(provider)
    out = tmp_path / "letters.pdf"
    call_command("survey_letters", "--round", str(survey_round.pk), "--out", str(out),
                 "--chunk-size", "2", verbosity=0)
    reader = PdfReader(str(out))
    assert len(reader.pages) == 3
    for page in reader.pages:
        assert round(float(page.mediabox.width)) == 595 and round(float(page.mediabox.height)) == 842
    invitations = {inv.provider_id: inv for inv in survey_round.invitations.all()}
    for number, provider in enumerate(made, start=1):  # mailing order: postal code
        invitation = invitations[provider.pk]
        url = services.invitation_url(invitation)
        assert url.startswith("https://map.example.jp/survey/t/")
        assert _page_qr(out, number, tmp_path) == url
        text = _page_text(out, number)
        assert provider.name in text
        assert provider.postal_code in text
        assert services.invitation_code(invitation) in text
        assert "回答の締切" in text and f"{survey_round.closes_on.year}年" in text
        assert "保健医療福祉推進課" in text
    printed = survey_round.invitations.filter(letter_printed_at__isnull=False).count()
    assert printed == 3


def _download(client, job):
    return client.get(reverse("admin:jobs_job_download", args=[job.pk]))


@pytest.mark.django_db
def test_letters_from_the_admin(staff_client, issue, survey_round, tmp_path):
    provider = make_provider(name="管理画面の案内状医院")
    invitation, _token, _code = issue(provider)
    # Selected invitations: a job on the queue (run at once by the test settings), then the
    # round's letters page lists it with its download.
    response = staff_client.post(
        reverse("admin:surveys_invitation_changelist"),
        {"action": "letters_pdf", "_selected_action": [invitation.pk]},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:surveys_surveyround_letters", args=[survey_round.pk])
    job = Job.objects.get(kind="survey_letters")
    assert job.status == Job.Status.DONE and job.params["ids"] == [invitation.pk]
    download = _download(staff_client, job)
    assert download.status_code == 200
    assert "no-store" in download["Cache-Control"]
    pdf = tmp_path / "sel.pdf"
    pdf.write_bytes(b"".join(download.streaming_content))
    assert "管理画面の案内状医院" in _page_text(pdf, 1)

    # The whole round from the letters page.
    page = staff_client.post(reverse("admin:surveys_surveyround_letters", args=[survey_round.pk]), {})
    assert page.status_code == 302
    page = staff_client.get(reverse("admin:surveys_surveyround_letters", args=[survey_round.pk]))
    text = page.content.decode()
    assert "1/1" in text
    job = Job.objects.filter(kind="survey_letters").order_by("-pk").first()
    assert job.status == Job.Status.DONE and job.message == "1 枚"
    assert reverse("admin:jobs_job_download", args=[job.pk]) in text
    download = _download(staff_client, job)
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"%PDF")
    # The file is in the configured storage, not at a public URL.
    assert job.result_file.name.startswith("private/jobs/out/")
    assert default_storage.exists(job.result_file.name)


@pytest.fixture
def viewer_client(client, reference):
    user = User.objects.create_user("viewer", password="pass-Word-1234", is_staff=True)
    user.groups.add(Group.objects.get(name=viewer_group_name()))
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_view_only_staff_cannot_make_or_download_letters(viewer_client, issue, survey_round, staff_user):
    invitation, _token, _code = issue(make_provider(name="閲覧職員の案内状医院"))
    job = letters.start_letters(survey_round, user=staff_user)
    assert job.status == Job.Status.DONE

    # The action is not offered, and posting it anyway makes nothing.
    changelist = viewer_client.get(reverse("admin:surveys_invitation_changelist"))
    assert changelist.status_code == 200
    assert "選んだ事業所の案内状PDF" not in changelist.content.decode()
    response = viewer_client.post(
        reverse("admin:surveys_invitation_changelist"),
        {"action": "letters_pdf", "_selected_action": [invitation.pk]},
    )
    assert response.get("Content-Type", "").startswith("text/html")
    assert Job.objects.filter(kind="survey_letters").count() == 1
    round_list = viewer_client.get(reverse("admin:surveys_surveyround_changelist")).content.decode()
    assert "案内状PDF（全件）を作る" not in round_list
    assert "催促メール" not in round_list

    # The letters page shows the list but no form and no download link; downloads are refused.
    page = viewer_client.get(reverse("admin:surveys_surveyround_letters", args=[survey_round.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "案内状PDFを作る" not in text
    assert reverse("admin:jobs_job_download", args=[job.pk]) not in text
    assert "編集の権限がある職員だけ" in text
    assert viewer_client.post(
        reverse("admin:surveys_surveyround_letters", args=[survey_round.pk]), {}
    ).status_code == 403
    assert _download(viewer_client, job).status_code == 403
    jobs_list = viewer_client.get(reverse("admin:jobs_job_changelist")).content.decode()
    assert "（権限がありません）" in jobs_list
    assert Job.objects.filter(kind="survey_letters").count() == 1


@pytest.mark.django_db
def test_letters_file_has_no_public_path_even_with_debug(client, issue, survey_round, staff_user, settings):
    issue(make_provider(name="公開パスなし医院"))
    job = letters.start_letters(survey_round, user=staff_user)
    name = job.result_file.name
    assert default_storage.exists(name)
    settings.DEBUG = True
    from django.urls import clear_url_caches

    clear_url_caches()
    for url in (f"/media/{name}", f"/{name}", "/media/private/"):
        assert client.get(url).status_code == 404, url
    # Without login the download view sends to the login page; nothing of the file leaks.
    response = _download(client, job)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    # Whatever URL the storage would name for the file, nothing answers it.
    assert client.get(default_storage.url(name)).status_code == 404
