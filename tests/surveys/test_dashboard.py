"""Progress: response rates by type and 地区, statuses, non-respondents and their CSV."""

import csv
import io

from django.core import mail
from django.urls import reverse

from surveys import emails, services
from surveys.models import Response
from tests.factories import make_provider


def test_dashboard_and_nonrespondent_csv(staff_client, survey_round, staff_user):
    clinic = make_provider(type_code="clinic", area_code="yoga", name="回答済み医院", contact_email="a@example.jp")
    make_provider(type_code="pharmacy", area_code="yoga", name="=未回答薬局", fax="03-1000-2000")
    make_provider(type_code="clinic", area_code="kyodo", name="未回答医院", email="pub@example.jp")
    services.issue_round(survey_round=survey_round)
    invitation = survey_round.invitations.get(provider=clinic)
    services.submit_response(invitation=invitation, kind=Response.Kind.NO_CHANGE, proposed={}, snapshot={})

    page = staff_client.get(reverse("admin:surveys_surveyround_dashboard", args=[survey_round.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "回答率: 33%" in text
    assert "未回答医院" in text and "=未回答薬局" in text
    assert "回答済み医院" not in text.split("未回答の事業所")[1]
    rates = {row["name"]: (row["answered"], row["total"]) for row in page.context["by_type"]}
    assert rates["診療所"] == (1, 2) and rates["薬局"] == (0, 1)
    districts = {row["name"]: row["rate"] for row in page.context["by_district"]}
    assert districts["用賀"] == 50 and districts["経堂"] == 0

    paper = staff_client.get(reverse("admin:surveys_surveyround_dashboard", args=[survey_round.pk]) + "?paper=1")
    assert "=未回答薬局" in paper.content.decode() and "未回答医院" not in paper.content.decode().split("未回答の事業所")[1]

    export = staff_client.get(reverse("admin:surveys_surveyround_nonrespondents", args=[survey_round.pk]))
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    names = [row[1] for row in rows[1:]]
    assert sorted(names) == sorted(["'=未回答薬局", "未回答医院"])  # formula-safe


def test_email_invitations_and_reminders(survey_round):
    answered = make_provider(contact_email="done@example.jp")
    waiting = make_provider(email="public@example.jp")
    make_provider()  # no address: needs a paper reminder
    services.issue_round(survey_round=survey_round)
    sent, skipped = emails.send_invitations(survey_round.invitations.all())
    assert (sent, skipped) == (2, 1)
    body = {m.to[0]: m.body for m in mail.outbox}
    inv = survey_round.invitations.get(provider=waiting)
    assert services.invitation_url(inv) in body["public@example.jp"]
    assert services.invitation_code(inv) in body["public@example.jp"]
    services.submit_response(
        invitation=survey_round.invitations.get(provider=answered), kind="no_change", proposed={}, snapshot={}
    )
    mail.outbox.clear()
    sent, _skipped = emails.send_reminders(survey_round.invitations.all())
    assert sent == 1 and mail.outbox[0].to == ["public@example.jp"]
    assert "まだ届いていません" in mail.outbox[0].body
