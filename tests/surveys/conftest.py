import datetime as dt

import pytest
from django.core.cache import cache, caches
from django.utils import timezone

from resourcemap.models import ProviderType
from surveys import services
from surveys.models import SurveyRound


@pytest.fixture(autouse=True)
def _clear_rate_limits(db):
    cache.clear()
    caches["ratelimit"].clear()
    yield
    cache.clear()
    caches["ratelimit"].clear()


@pytest.fixture
def survey_round(reference):
    today = timezone.localdate()
    survey_round = SurveyRound.objects.create(
        name="令和8年度 在宅療養資源調査",
        opens_on=today - dt.timedelta(days=5),
        closes_on=today + dt.timedelta(days=30),
        intro="年に1回の確認です。",
    )
    survey_round.provider_types.set(ProviderType.objects.all())
    return survey_round


@pytest.fixture
def issue(survey_round):
    """Issue the round and return a helper giving (invitation, token, code) for a provider."""

    def _issue(provider):
        services.issue_round(survey_round=survey_round)
        invitation = survey_round.invitations.get(provider=provider)
        return invitation, services.invitation_token(invitation), services.invitation_code(invitation)

    return _issue


def open_form(client, token):
    response = client.get(f"/survey/t/{token}/")
    assert response.status_code == 303, response.status_code
    return client.get(response["Location"])


def form_data(response):
    """The POST data of the edit form, as the browser would send it unchanged."""
    form = response.context["form"]
    data = {}
    for field in form:
        value = field.value()
        if field.widget_type == "checkbox":
            if value:
                data[field.html_name] = "on"
            continue
        data[field.html_name] = "" if value is None else str(value)
    return data
