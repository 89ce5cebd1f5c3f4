"""Bounds for values that come from a URL: text, ids and dates.

Everything a client types or a link carries passes through these before it reaches the
database or date arithmetic, so that no value (a NUL byte, an id beyond 64 bits, the year 9999)
can turn into a server error. Used by the search (``search.clean``), the URL converters
(``<id:pk>``) and the back-office list filters.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from django.http import QueryDict

# Primary keys are 64-bit signed integers on every supported database.
ID_MAX = 2**63 - 1
# Dates a search can ask about: wide enough for any real question, and far from the edges of
# the calendar (date arithmetic and the 祝日 calendar overflow near year 1 and 9999).
DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(2100, 12, 31)

_ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
_ID_RE = re.compile(r"^[0-9]{1,19}$", re.ASCII)
# Control characters (NUL included) and lone surrogates.
_DROP_CATEGORIES = {"Cc", "Cs"}
_KEEP = {"\t", "\n", "\r"}


def clean_text(value: str) -> str:
    """``value`` without NUL and other control characters or lone surrogates (PostgreSQL
    refuses NUL in text, a surrogate cannot be encoded, and none of them mean anything)."""
    if not value:
        return ""
    value = str(value)
    if value.isascii() and value.isprintable():
        return value
    return "".join(
        ch for ch in value if ch in _KEEP or unicodedata.category(ch) not in _DROP_CATEGORIES
    )


def positive_id(value) -> int | None:
    """An id from 1 to ``ID_MAX`` written in ASCII digits, else ``None``."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = str(value).strip()
        if not _ID_RE.match(text):
            return None
        number = int(text)
    return number if 1 <= number <= ID_MAX else None


def iso_date(value: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` date between ``DATE_MIN`` and ``DATE_MAX``, else ``None``."""
    if not _ISO_DATE_RE.match(value or ""):
        return None
    try:
        date = dt.date.fromisoformat(value)
    except ValueError:
        return None
    return date if DATE_MIN <= date <= DATE_MAX else None


class IdConverter:
    """``<id:pk>`` in URLs: 1 .. 2**63-1; anything else does not match (404, never 500)."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = positive_id(value)
        if number is None:
            raise ValueError(value)
        return number

    def to_url(self, value) -> str:
        return str(int(value))


class CleanQueryMiddleware:
    """Query parameters without NUL bytes and other control characters, for every view.

    PostgreSQL refuses NUL in text, so ``?district=%00`` in a back-office list filter (or any
    view that puts a parameter into a query) would otherwise be a server error. The cleaned
    parameters replace ``request.GET``; nothing else of the request changes.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.META.get("QUERY_STRING"):
            lists = list(request.GET.lists())
            cleaned = [
                (clean_text(key), [clean_text(value) for value in values]) for key, values in lists
            ]
            if cleaned != lists:
                query = QueryDict(mutable=True)
                for key, values in cleaned:
                    query.setlist(key, query.getlist(key) + values)
                query._mutable = False
                request.GET = query
        return self.get_response(request)
