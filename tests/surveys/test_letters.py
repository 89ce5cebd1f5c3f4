"""Letters PDF: one A4 page per provider, each QR code decodes to that provider's link."""

import subprocess

import pytest
from django.core.management import call_command
from django.urls import reverse
from pypdf import PdfReader

from surveys import services
from surveys.models import LetterJob
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


@pytest.mark.django_db
def test_letters_from_the_admin(staff_client, issue, survey_round, monkeypatch, tmp_path):
    from surveys import letters

    monkeypatch.setattr(letters, "LETTER_DIR", tmp_path / "letters")
    provider = make_provider(name="管理画面の案内状医院")
    invitation, _token, _code = issue(provider)
    # Selected invitations: rendered at once.
    response = staff_client.post(
        reverse("admin:surveys_invitation_changelist"),
        {"action": "letters_pdf", "_selected_action": [invitation.pk]},
    )
    assert response["Content-Type"] == "application/pdf"
    pdf = tmp_path / "sel.pdf"
    pdf.write_bytes(response.content)
    assert "管理画面の案内状医院" in _page_text(pdf, 1)

    # The whole round: a background job with progress; here the job runs in-process.
    started = []
    monkeypatch.setattr(letters, "start_job_in_background", lambda job: started.append(job))
    page = staff_client.post(reverse("admin:surveys_surveyround_letters", args=[survey_round.pk]), {})
    assert page.status_code == 302
    job = started[0]
    letters.run_job(job)
    page = staff_client.get(reverse("admin:surveys_surveyround_letters", args=[survey_round.pk]))
    assert "1/1" in page.content.decode()
    job.refresh_from_db()
    assert job.status == LetterJob.Status.DONE
    download = staff_client.get(reverse("admin:surveys_letterjob_download", args=[job.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"%PDF")
