"""Personal survey links: exchanged for a session at once, and never written to a log."""

from __future__ import annotations

import io
import logging

import pytest
from django.test import RequestFactory

from resourcemap.logfilters import RedactSurveyTokens, redact
from tests.factories import make_provider

pytestmark = pytest.mark.django_db


@pytest.fixture
def server_log():
    """What the configured log handlers write (not pytest's own capture, which has no filter)."""
    stream = io.StringIO()
    handlers = [
        h for h in logging.getLogger().handlers + logging.getLogger("django").handlers
        if isinstance(h, logging.StreamHandler) and any(isinstance(f, RedactSurveyTokens) for f in h.filters)
    ]
    assert handlers, "the console handler must carry the redaction filter"
    old = [h.setStream(stream) for h in handlers]
    yield stream
    for handler, previous in zip(handlers, old, strict=True):
        handler.setStream(previous)


def test_letter_link_becomes_a_session_and_a_token_free_address(client, issue):
    provider = make_provider(name="トークン交換クリニック")
    invitation, token, _code = issue(provider)
    response = client.get(f"/survey/t/{token}/")
    assert response.status_code == 303
    assert response["Location"] == "/survey/form/"
    assert token not in response["Location"]
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "トークン交換クリニック" in page.content.decode()
    assert token not in page.content.decode()
    # The session, not the address, now opens the form.
    assert client.get("/survey/form/").status_code == 200


def test_access_code_still_opens_the_form(client, issue):
    provider = make_provider(name="コード入力クリニック")
    _invitation, _token, code = issue(provider)
    response = client.post("/survey/", {"code": code})
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert "コード入力クリニック" in page.content.decode()


def test_unknown_link_gives_the_friendly_page_and_the_log_has_no_token(client, reference, server_log):
    token = "Unknown-Token_abcdefghijklmnop"
    response = client.get(f"/survey/t/{token}/")
    assert response.status_code == 404
    assert "リンク" in response.content.decode()
    log = server_log.getvalue()
    assert "Not Found: /survey/t/[redacted]/" in log
    assert token not in log


def test_rate_limited_link_is_not_logged_with_its_token(client, reference, server_log):
    token = "Guessed-Token_abcdefghijklmnop"
    for _attempt in range(100):
        response = client.get(f"/survey/t/{token}/")
        if response.status_code == 429:
            break
    assert response.status_code == 429
    log = server_log.getvalue()
    assert "Too Many Requests: /survey/t/[redacted]/" in log
    assert token not in log


@pytest.mark.parametrize("token", [
    "abcDEF123_-xyzabcDEF123_-xy", "%E3%81%82%00%0A", "a.b,c;d", "x" * 300, "<script>",
])
def test_filter_redacts_messages_arguments_and_the_request(token):
    request = RequestFactory().get(f"/en/survey/t/{token}/?x=1")
    record = logging.LogRecord(
        "django.request", logging.ERROR, __file__, 1, "Internal Server Error: %s", (request.path,), None,
    )
    record.request = request
    RedactSurveyTokens().filter(record)
    assert token not in record.getMessage()
    assert record.getMessage() == "Internal Server Error: /en/survey/t/[redacted]/"
    assert token not in record.request.path and token not in record.request.path_info
    assert token not in record.request.META["PATH_INFO"]
    assert "[redacted]" not in request.path  # the live request is left as it is
    assert redact("GET /survey/form/ 200") == "GET /survey/form/ 200"
