"""Logging filter that keeps personal survey links out of every log.

A survey link ``/survey/t/<token>/`` opens one provider's survey form. Django's request logging
writes the path of every 4xx/5xx answer ("Not Found: /survey/t/…/", "Too Many Requests: …"),
the development server logs every request line, and error e-mails to ADMINS carry the request.
``RedactSurveyTokens`` (attached to every handler in ``settings.LOGGING``) replaces the token
in the message, its arguments and the request attached to the record.
"""

from __future__ import annotations

import copy
import logging
import re

from django.http import HttpRequest

REDACTED = "[redacted]"
# Also with a language prefix (/en/survey/t/…) and any characters up to the next "/", "?" or
# "#" (a request line without the trailing slash loses a little more: better too much than
# too little).
_TOKEN_PATH = re.compile(r"(/survey/t/)[^/?#]+")


def redact(text: str) -> str:
    return _TOKEN_PATH.sub(r"\1" + REDACTED, text)


def _redact_value(value):
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bytes):
        return redact(value.decode("latin-1")).encode("latin-1")
    return value


def _redacted_request(request: HttpRequest) -> HttpRequest:
    if not (_TOKEN_PATH.search(request.path) or _TOKEN_PATH.search(request.path_info)):
        return request
    clone = copy.copy(request)
    clone.path = redact(request.path)
    clone.path_info = redact(request.path_info)
    clone.META = {key: _redact_value(value) for key, value in request.META.items()}
    return clone


class RedactSurveyTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, dict):
            record.args = {key: _redact_value(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(_redact_value(value) for value in record.args)
        request = getattr(record, "request", None)
        if isinstance(request, HttpRequest):
            record.request = _redacted_request(request)
        return True
