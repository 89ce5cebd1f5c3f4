"""A change list's URL filters must not answer questions about fields the staff member may not
see: ``?contact_email__startswith=a`` shown or not shown a provider is a yes/no answer about
its survey contact, and repeated character by character it spells the whole value. Django's
admin allows such filters on every field of the model, so each admin names the fields that
need the survey-contact permission (``Provider.PRIVATE_FIELDS`` and their copies in history,
answers, registrations and the outbox) and those that nobody may filter on (e-mail bodies,
which hold survey links)."""

from __future__ import annotations

import datetime as dt
import smtplib

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs.models import OutgoingEmail
from resourcemap import providers
from resourcemap.models import Provider, ProviderChange, ProviderType
from surveys import services
from surveys.models import Correction, Invitation, Response, SurveyRound
from tests.factories import make_provider

pytestmark = pytest.mark.django_db

SECRET_EMAIL = "hidden-contact@example.jp"
SECRET_PERSON = "秘匿担当者"
SECRET_PHONE = "03-0777-4321"
LINK = "https://map.example.jp/survey/t/Zk3vQ9sLx2TbW7uYc4NpRa/"

LOOKUPS = st.sampled_from(
    ["startswith", "istartswith", "contains", "icontains", "exact", "iexact", "regex", "gte"]
)
ORACLE = settings(
    max_examples=6, derandomize=True, database=None, deadline=None, print_blob=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def records(reference):
    """One provider whose survey contact is in every place that copies it."""
    provider = make_provider(name="照会医院", contact_person=SECRET_PERSON, contact_email=SECRET_EMAIL,
                             contact_phone=SECRET_PHONE)
    providers.provider_update(provider=provider, changes={"contact_email": "old-" + SECRET_EMAIL},
                              actor_kind=ProviderChange.Actor.STAFF)
    providers.provider_update(provider=provider, changes={"contact_email": SECRET_EMAIL},
                              actor_kind=ProviderChange.Actor.STAFF)
    today = timezone.localdate()
    survey_round = SurveyRound.objects.create(
        name="照会調査", opens_on=today - dt.timedelta(days=1), closes_on=today + dt.timedelta(days=9),
    )
    survey_round.provider_types.set(ProviderType.objects.all())
    services.issue_round(survey_round=survey_round)
    invitation = Invitation.objects.get(survey_round=survey_round, provider=provider)
    Response.objects.create(
        invitation=invitation, survey_round=survey_round, provider=provider,
        kind=Response.Kind.UPDATE, proposed={"contact_email": SECRET_EMAIL},
        respondent_name=SECRET_PERSON, respondent_email=SECRET_EMAIL,
    )
    services.register_provider(
        provider_type=ProviderType.objects.get(code="clinic"),
        fields={"name": "照会新規医院", "kana": "ショウカイシンキイイン", "address": "東京都世田谷区用賀1-1-1",
                "phone": "03-0777-2222"},
        capabilities={}, periods=[], applicant_name=SECRET_PERSON,
        applicant_email=SECRET_EMAIL, applicant_phone=SECRET_PHONE,
    )
    Correction.objects.create(provider=provider, message="電話番号が違います",
                              reporter_name=SECRET_PERSON, reporter_contact=SECRET_EMAIL)
    # A mail server's refusal names the address: the error text is the recipient too.
    refused = smtplib.SMTPRecipientsRefused({SECRET_EMAIL.upper(): (550, b"5.1.1 <" + SECRET_EMAIL.encode() + b">")})
    OutgoingEmail.objects.create(kind="invitation", to=[SECRET_EMAIL], subject="照会のお願い",
                                 body=f"こちらから回答してください: {LINK}", status=OutgoingEmail.Status.FAILED,
                                 attempts=5, last_error=repr(refused))
    return provider


# (change list, field, value the row holds in that field, a text the row shows in the list)
PRIVATE = [
    ("admin:resourcemap_provider_changelist", "contact_email", SECRET_EMAIL, "照会医院"),
    ("admin:resourcemap_provider_changelist", "contact_person", SECRET_PERSON, "照会医院"),
    ("admin:resourcemap_provider_changelist", "contact_phone", SECRET_PHONE, "照会医院"),
    ("admin:resourcemap_providerchange_changelist", "changes", "old-" + SECRET_EMAIL, "照会医院"),
    ("admin:surveys_response_changelist", "proposed", SECRET_EMAIL, "照会医院"),
    ("admin:surveys_response_changelist", "respondent_email", SECRET_EMAIL, "照会医院"),
    ("admin:surveys_response_changelist", "respondent_name", SECRET_PERSON, "照会医院"),
    ("admin:surveys_registration_changelist", "applicant_email", SECRET_EMAIL, "照会新規医院"),
    ("admin:surveys_registration_changelist", "applicant_name", SECRET_PERSON, "照会新規医院"),
    ("admin:surveys_registration_changelist", "applicant_phone", SECRET_PHONE, "照会新規医院"),
    ("admin:jobs_outgoingemail_changelist", "to", SECRET_EMAIL, "照会のお願い"),
    ("admin:surveys_correction_changelist", "reporter_name", SECRET_PERSON, "照会医院"),
    ("admin:surveys_correction_changelist", "reporter_contact", SECRET_EMAIL, "照会医院"),
]


def _answer(client, url: str, lookup: str, value: str, marker: str) -> tuple[int, bool]:
    response = client.get(url, {lookup: value})
    return response.status_code, response.status_code == 200 and marker in response.content.decode()


def _guess(secret: str, lookup: str, cut: int, right: bool) -> str:
    """A filter value that matches the row (right) or does not, for that lookup."""
    text = secret if lookup in ("exact", "iexact", "gte") else secret[: max(1, cut)]
    if lookup == "regex":
        text = "^" + text.replace(".", r"\.")
    if right:
        return text if lookup != "gte" else secret[:1]
    return "\u3000zz-no-such" if lookup != "gte" else "\uffff"


@pytest.mark.parametrize(("url_name", "field", "secret", "marker"), PRIVATE,
                         ids=[f"{row[0].split(':')[1]}-{row[1]}" for row in PRIVATE])
def test_viewer_cannot_filter_on_the_survey_contact(viewer, records, url_name, field, secret, marker):
    url = reverse(url_name)
    assert marker in viewer.get(url).content.decode()  # the row itself is the viewer's to see

    @ORACLE
    @given(lookup=LOOKUPS, cut=st.integers(min_value=1, max_value=len(secret)))
    def no_oracle(lookup, cut):
        name = f"{field}__{lookup}"
        right = _answer(viewer, url, name, _guess(secret, lookup, cut, True), marker)
        wrong = _answer(viewer, url, name, _guess(secret, lookup, cut, False), marker)
        assert right == wrong, (name, right, wrong)

    no_oracle()


def test_nobody_can_filter_e_mails_by_their_body(viewer, staff_client, records):
    url = reverse("admin:jobs_outgoingemail_changelist")
    for client in (viewer, staff_client):
        for prefix in ("こちらから回答してください: https://map.example.jp/survey/t/Z", LINK[:-3]):
            right = _answer(client, url, "body__startswith", prefix, "照会のお願い")
            wrong = _answer(client, url, "body__startswith", prefix + "~", "照会のお願い")
            assert right == wrong
        assert _answer(client, url, "body__contains", LINK, "照会のお願い")[0] == 400


def test_editor_still_filters_on_the_survey_contact(staff_client, records):
    url = reverse("admin:resourcemap_provider_changelist")
    assert _answer(staff_client, url, "contact_email__startswith", "hidden-", "照会医院") == (200, True)
    assert _answer(staff_client, url, "contact_email__startswith", "nobody-", "照会医院") == (200, False)
    # The ordinary filters stay open to everyone.
    assert _answer(staff_client, url, "status__exact", Provider.Status.ACTIVE, "照会医院") == (200, True)


def test_viewer_outbox_does_not_show_the_recipient(viewer, staff_client, records):
    email = OutgoingEmail.objects.get(subject="照会のお願い")
    for url in (reverse("admin:jobs_outgoingemail_changelist"),
                reverse("admin:jobs_outgoingemail_change", args=[email.pk])):
        seen = viewer.get(url).content.decode()
        assert "照会のお願い" in seen and "SMTPRecipientsRefused" in seen
        assert SECRET_EMAIL not in seen.lower(), url
        assert SECRET_EMAIL in staff_client.get(url).content.decode(), url
