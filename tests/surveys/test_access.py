"""A provider reaches only its own record; bad links reveal nothing; guessing is limited."""

import datetime as dt

import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse

from surveys import services
from surveys.models import Response
from tests.factories import make_provider

from .conftest import form_data, open_form


def _invalid(response):
    assert response.status_code == 404
    text = response.content.decode()
    assert "このリンク・コードは使えません" in text
    return text


def test_wrong_token_gets_the_generic_page(client, issue):
    provider = make_provider(name="秘密のクリニック")
    issue(provider)
    text = _invalid(client.get("/survey/t/AAAAAAAAAAAAAAAAAAAAAAAAAA/"))
    assert "秘密のクリニック" not in text
    _invalid(client.get("/survey/t/not-a-token%00/"))
    # Without a session the form itself reveals nothing.
    assert "秘密のクリニック" not in _invalid(client.get(reverse("surveys:form")))


def test_revoked_and_reissued_links_stop_working(client, issue):
    provider = make_provider(name="再発行クリニック")
    invitation, token, code = issue(provider)
    services.reissue(invitation=invitation)
    assert "再発行クリニック" not in _invalid(client.get(f"/survey/t/{token}/"))
    assert "再発行クリニック" not in _invalid(client.post(reverse("surveys:start"), {"code": code}))
    new_token = services.invitation_token(invitation)
    assert new_token != token
    assert open_form(client, new_token).status_code == 200
    services.revoke(invitation=invitation)
    # An open session dies with the revoked link as well.
    _invalid(client.get(reverse("surveys:form")))


def test_expired_round_gives_the_same_page(client, issue, survey_round):
    provider = make_provider(name="締切後クリニック")
    _invitation, token, code = issue(provider)
    after = survey_round.closes_on + dt.timedelta(days=1)
    with time_machine.travel(dt.datetime.combine(after, dt.time(10, 0)).astimezone(), tick=False):
        text = _invalid(client.get(f"/survey/t/{token}/"))
        assert "締切" in text
        assert "締切後クリニック" not in text
        _invalid(client.post(reverse("surveys:start"), {"code": code}))


def test_access_code_opens_the_form_in_any_typing(client, issue):
    provider = make_provider(name="コード入力クリニック")
    _invitation, _token, code = issue(provider)
    typed = code.replace("-", " ").lower()
    response = client.post(reverse("surveys:start"), {"code": typed})
    assert response.status_code == 302
    assert "コード入力クリニック" in client.get(response["Location"]).content.decode()


def test_another_providers_id_in_the_form_changes_nothing_there(client, issue):
    mine = make_provider(name="自分の診療所", phone="03-1000-0001")
    other = make_provider(name="よその診療所", phone="03-2000-0002")
    _inv, token, _code = issue(mine)
    page = open_form(client, token)
    assert "よその診療所" not in page.content.decode()
    data = form_data(page)
    data.update({"provider": other.pk, "provider_id": other.pk, "invitation": other.pk, "pk": other.pk})
    data["phone"] = "03-3000-0003"
    assert client.post(reverse("surveys:form"), data).status_code == 302
    assert not Response.objects.filter(provider=other).exists()
    assert Response.objects.get().provider == mine
    other.refresh_from_db()
    mine.refresh_from_db()
    assert other.phone == "03-2000-0002" and mine.phone == "03-1000-0001"


def test_bad_input_shows_messages_next_to_fields_and_saves_nothing(client, issue):
    provider = make_provider()
    _inv, token, _code = issue(provider)
    data = form_data(open_form(client, token))
    data.update({
        "phone": "0312345678x", "postal_code": "1580097", "website": "not a url",
        "hours_0": "18:00-09:00, 25:00-26:00", "latitude": "35.000000", "longitude": "139.000000",
        "hours_exceptions": "someday closed",
    })
    page = client.post(reverse("surveys:form"), data)
    assert page.status_code == 200
    form = page.context["form"]
    assert "phone" in form.errors and "postal_code" in form.errors and "website" in form.errors
    assert "hours_0" in form.errors
    assert "hours_exceptions" in form.errors
    text = page.content.decode()
    assert "入力に直してほしいところがあります" in text
    assert not Response.objects.exists()
    # Pin outside the ward, everything else fine: the write path's own check answers.
    data = form_data(open_form(client, token))
    data.update({"latitude": "35.000000", "longitude": "139.000000"})
    page = client.post(reverse("surveys:form"), data)
    assert page.status_code == 200
    assert "区域の外" in str(page.context["form"].errors["latitude"])
    assert not Response.objects.exists()


def test_robots_txt_keeps_survey_links_out_of_search_engines(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert "Disallow: /survey/" in response.content.decode()


def test_exceptions_in_the_sheet_form_are_read_and_shown_back_one_a_line(client, issue):
    provider = make_provider()
    _inv, token, _code = issue(provider)
    data = form_data(open_form(client, token))
    data["hours_exceptions"] = "2026-12-29..2027-01-03 休(年末年始); ２０２６/５/１ 10:00〜15:00"
    posted = client.post(reverse("surveys:form"), data)
    assert posted.status_code == 302, posted.context["form"].errors if posted.context else posted
    assert Response.objects.get().proposed["hours_exceptions"] == [
        {"start_date": "2026-12-29", "end_date": "2027-01-03", "closed": True, "opens": None,
         "closes": None, "note": "年末年始"},
        {"start_date": "2026-05-01", "end_date": "2026-05-01", "closed": False, "opens": "10:00",
         "closes": "15:00", "note": ""},
    ]
    again = open_form(client, token).context["form"]
    assert again["hours_exceptions"].value().splitlines() == [
        "2026-05-01 10:00-15:00", "2026-12-29..2027-01-03 休(年末年始)",
    ]


def test_bad_exception_lines_are_named_by_line(client, issue):
    provider = make_provider()
    _inv, token, _code = issue(provider)
    data = form_data(open_form(client, token))
    data["hours_exceptions"] = "2026-05-01 休\n2026-02-30 休\n2026-05-02 25:00-26:00"
    page = client.post(reverse("surveys:form"), data)
    errors = page.context["form"].errors["hours_exceptions"]
    assert [e.split("。")[0] for e in errors] == [
        "2行目「2026-02-30 休」を読み取れません", "3行目「2026-05-02 25:00-26:00」を読み取れません",
    ]
    assert not Response.objects.exists()


def test_the_survey_session_ends_when_the_browser_closes(client, issue):
    """Care offices share computers: the session cookie of an opened survey is a browser-session
    cookie (no expiry date), for the link and for the typed code alike."""
    _invitation, token, code = issue(make_provider())
    client.get(f"/survey/t/{token}/")
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["expires"] == "" and cookie["max-age"] == ""
    other = Client()
    other.post(reverse("surveys:start"), {"code": code})
    cookie = other.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie.value and cookie["expires"] == "" and cookie["max-age"] == ""
