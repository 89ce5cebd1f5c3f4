"""A mail server that is down never turns saved work into an error page: the e-mail is
recorded in the outbox for a retry and shown to staff."""

from django.urls import reverse

from jobs.models import OutgoingEmail
from surveys.models import Response
from tests.factories import make_provider

from .conftest import form_data, open_form
from .test_public_forms import _registration

DOWN = "tests.failing_mail.DownBackend"


def test_saved_answer_shows_its_receipt_page_when_the_mail_server_is_down(client, issue, settings, staff_client):
    settings.EMAIL_BACKEND = DOWN
    provider = make_provider(name="メール不通医院", contact_email="office@example.jp")
    _inv, token, _code = issue(provider)
    data = form_data(open_form(client, token))
    data["phone"] = "03-2222-0000"
    response = client.post(reverse("surveys:form"), data)
    assert response.status_code == 302 and response["Location"] == reverse("surveys:done")
    done = client.get(response["Location"])
    assert done.status_code == 200
    answer = Response.objects.get(provider=provider)
    assert answer.proposed["phone"] == "03-2222-0000"
    email = OutgoingEmail.objects.get(kind="receipt")
    assert email.status == OutgoingEmail.Status.PENDING and email.attempts == 1
    assert email.to == ["office@example.jp"] and "SMTPConnectError" in email.last_error
    assert email.next_attempt_at is not None
    # Staff see the failed e-mail, waiting for its retry.
    page = staff_client.get(reverse("admin:jobs_outgoingemail_changelist")).content.decode()
    assert "送信待ち" in page and "office@example.jp" in page and "mail server unavailable" in page


def test_no_change_answer_and_approval_survive_a_down_mail_server(client, issue, settings, staff_client):
    settings.EMAIL_BACKEND = DOWN
    provider = make_provider(name="承認メール不通医院", contact_email="office2@example.jp")
    _inv, token, _code = issue(provider)
    open_form(client, token)
    page = client.post(reverse("surveys:form"), {"no_change": "1"})
    assert page.status_code == 302 and page["Location"] == reverse("surveys:done")
    answer = Response.objects.get(provider=provider)
    review = staff_client.post(reverse("admin:surveys_response_change", args=[answer.pk]),
                               {"action": "approve_all", "review_note": ""})
    assert review.status_code == 302
    answer.refresh_from_db()
    assert answer.status == Response.Status.APPROVED
    assert OutgoingEmail.objects.filter(kind="review_result", status=OutgoingEmail.Status.PENDING).count() == 1


def test_registration_notice_to_staff_survives_a_down_mail_server(client, reference, settings):
    settings.EMAIL_BACKEND = DOWN
    settings.ADMINS = [("担当", "tantou@example.jp")]
    response = client.post(reverse("surveys:register"), _registration())
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200
    notice = OutgoingEmail.objects.get(kind="staff_notice")
    assert notice.to == ["tantou@example.jp"] and notice.status == OutgoingEmail.Status.PENDING
