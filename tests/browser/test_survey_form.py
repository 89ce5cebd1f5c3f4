"""The provider's survey form on a 360px phone, driven with the keyboard only."""

import datetime as dt

import pytest
from django.utils import timezone

from resourcemap.models import ProviderType
from surveys import services
from surveys.models import Response, SurveyRound
from tests.factories import ensure_reference, make_provider

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args():
    return {"viewport": {"width": 360, "height": 740}, "locale": "ja-JP", "is_mobile": True,
            "has_touch": True, "device_scale_factor": 1}


def _tab_to(page, element_id: str, limit: int = 250) -> None:
    for _i in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"could not reach #{element_id} with Tab")


def test_phone_keyboard_only_update(live_server, browser_page, transactional_db):
    ensure_reference()
    provider = make_provider(type_code="clinic", name="スマホ回答クリニック", phone="03-1111-2222")
    today = timezone.localdate()
    survey_round = SurveyRound.objects.create(
        name="令和8年度 在宅療養資源調査", opens_on=today - dt.timedelta(days=1),
        closes_on=today + dt.timedelta(days=30),
    )
    survey_round.provider_types.set(ProviderType.objects.all())
    services.issue_round(survey_round=survey_round)
    invitation = survey_round.invitations.get()
    page = browser_page
    page.goto(f"{live_server.url}/survey/t/{services.invitation_token(invitation)}/")
    page.wait_for_load_state("load")
    assert page.locator("h1").inner_text().startswith("スマホ回答クリニック")
    # Nothing wider than the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path="/tmp/survey-form-360.png", full_page=False)

    _tab_to(page, "id_phone")
    page.keyboard.press("Control+A")
    page.keyboard.type("03-9999-8888")
    _tab_to(page, "id_cap_mitori")
    page.keyboard.press("Space")
    assert page.locator("#id_cap_mitori").is_checked()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_count_mitori"
    page.keyboard.type("7")
    # The submit button is the last control of the form: Tab to it and press Enter.
    for _i in range(250):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "この内容で送る":
            break
    else:
        raise AssertionError("submit button not reachable by keyboard")
    page.keyboard.press("Enter")
    page.wait_for_url("**/survey/done/")
    text = page.locator("main").inner_text()
    assert "ご回答を受け付けました" in text
    assert "03-9999-8888" in text
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path="/tmp/survey-done-360.png", full_page=True)
    response = Response.objects.get()
    assert response.proposed["phone"] == "03-9999-8888"
    assert response.proposed["capabilities"]["mitori"]["count"] == 7
    provider.refresh_from_db()
    assert provider.phone == "03-1111-2222"  # nothing public until staff approve
    assert not page.console_errors, page.console_errors


def test_phone_validation_message_next_to_the_field(live_server, browser_page, transactional_db):
    ensure_reference()
    make_provider(type_code="pharmacy", name="検証薬局")
    today = timezone.localdate()
    survey_round = SurveyRound.objects.create(
        name="調査", opens_on=today, closes_on=today + dt.timedelta(days=3)
    )
    survey_round.provider_types.set(ProviderType.objects.all())
    services.issue_round(survey_round=survey_round)
    invitation = survey_round.invitations.get()
    page = browser_page
    page.goto(f"{live_server.url}/survey/")
    _tab_to(page, "id_code")
    page.keyboard.type(services.invitation_code(invitation).lower())
    page.keyboard.press("Enter")
    page.wait_for_url("**/survey/form/")
    page.fill("#id_phone", "0312")
    page.locator("button", has_text="この内容で送る").click()
    page.wait_for_load_state("load")
    # The error summary takes focus and links to the field; the message sits by the field.
    assert page.evaluate("document.activeElement.id") == "survey-errors"
    field_group = page.locator("#id_phone").locator("xpath=..")
    assert "ハイフン付き" in field_group.inner_text()
    assert page.locator("#id_phone").get_attribute("aria-invalid") == "true"
    page.screenshot(path="/tmp/survey-error-360.png", full_page=False)
    assert Response.objects.count() == 0
