"""Survey workflows as services (one transaction each) and the queries they share."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from resourcemap.models import Area, Provider, ProviderType
from surveys import selectors, services
from surveys.models import Correction, Registration, Response
from tests.factories import make_provider

pytestmark = pytest.mark.django_db
T = dt.time


def _register(**fields):
    yoga = Area.objects.get(code="yoga")
    return services.register_provider(
        provider_type=ProviderType.objects.get(code="nursing"),
        fields={"name": "ひらく訪問看護", "kana": "ヒラクホウモンカンゴ", "address": "東京都世田谷区用賀4-1-1",
                "phone": "03-1234-5678", "latitude": Decimal(str(yoga.center_lat)),
                "longitude": Decimal(str(yoga.center_lng)), **fields},
        capabilities={"h24": {}}, periods=[(0, T(9), T(17))],
        applicant_name="申込 花子", applicant_email="hanako@example.jp",
    )


def test_a_registration_is_a_pending_provider_in_its_district(reference):
    registration = _register()
    provider = registration.provider
    assert registration.status == Registration.Status.NEW
    assert provider.status == Provider.Status.PENDING and provider.area.code == "yoga"
    assert provider.contact_person == "申込 花子" and provider.contact_email == "hanako@example.jp"
    assert not Provider.objects.published().filter(pk=provider.pk).exists()
    assert [pc.capability.code for pc in provider.provider_capabilities.all()] == ["h24"]


def test_a_refused_registration_leaves_nothing_behind(reference):
    with pytest.raises(ValidationError) as caught:
        _register(latitude=Decimal("35.681236"), longitude=Decimal("139.767125"))  # 東京駅
    assert "latitude" in caught.value.message_dict
    assert not Provider.objects.filter(name="ひらく訪問看護").exists()
    assert not Registration.objects.exists()


def test_approving_and_rejecting_registrations(reference, staff_user):
    first, second = _register(), _register(name="ふたつめ訪問看護")
    services.approve_registration(registration=first, user=staff_user)
    assert services.reject_registrations(registrations=Registration.objects.all(), user=staff_user) == 1
    second.refresh_from_db()
    assert second.status == Registration.Status.REJECTED and second.reviewed_by == staff_user
    assert Provider.objects.published().filter(pk=first.provider_id).exists()
    assert not Provider.objects.published().filter(pk=second.provider_id).exists()


def test_a_correction_report_invites_its_provider_once(survey_round, staff_user):
    provider = make_provider()
    correction = Correction.objects.create(provider=provider, message="電話番号が変わりました")
    invitation = services.invite_for_correction(correction=correction, survey_round=survey_round, user=staff_user)
    again = services.invite_for_correction(correction=correction, survey_round=survey_round, user=staff_user)
    assert invitation.pk == again.pk and invitation.provider == provider
    correction.refresh_from_db()
    assert correction.status == Correction.Status.INVITED and correction.resolved_by == staff_user
    assert services.resolve_corrections(corrections=Correction.objects.all(), user=staff_user) == 1
    assert services.resolve_corrections(corrections=Correction.objects.all(), user=staff_user) == 0


def test_non_respondents_are_live_unanswered_invitations(survey_round, issue):
    answered = make_provider(name="こたえた診療所")
    waiting = make_provider(name="まだの診療所", email="")
    by_mail = make_provider(name="メールの診療所", email="info@example.jp")
    revoked = make_provider(name="無効の診療所")
    closed = make_provider(name="廃止の診療所", status=Provider.Status.CLOSED)
    for provider in (answered, waiting, by_mail, revoked):
        issue(provider)
    invitation = survey_round.invitations.get(provider=answered)
    services.submit_response(invitation=invitation, kind=Response.Kind.NO_CHANGE, proposed={}, snapshot={})
    services.revoke(invitation=survey_round.invitations.get(provider=revoked))

    assert closed not in selectors.in_scope_providers(survey_round)
    names = {inv.provider.name for inv in selectors.non_respondents(survey_round)}
    assert names == {"まだの診療所", "メールの診療所"}
    paper = {inv.provider.name for inv in selectors.non_respondents(survey_round, paper_only=True)}
    assert paper == {"まだの診療所"}
    assert selectors.status_counts(survey_round) == {Response.Status.NEW: 1}
