"""The search a link came from (``from=``), for a way back to it.

The provider page and the shortlist (its page, print sheet and QR link) carry the search they
were opened from. ``from`` is only ever read as a search of this site's map page: cleaned by the
search's own form and put back behind the map URL, so whatever it holds it can never send a
visitor to another site or page (no open redirect).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import QueryDict
from django.urls import Resolver404, resolve
from django.utils import translation

from .. import inputs
from .form import clean
from .params import querystring

ORIGIN_MAX = 2000
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def is_map_path(path: str) -> bool:
    """Whether ``path`` is the map page in any language (``/``, ``/en/``)."""
    for code, _name in settings.LANGUAGES:
        if path.startswith(f"/{code}/"):
            path = path[len(code) + 1:]
            break
    try:
        with translation.override(settings.LANGUAGE_CODE):
            return resolve(path).url_name == "map"
    except Resolver404:
        return False


def origin_query(value: str | None, *, drop: Iterable[str] = ()) -> str:
    """The cleaned map-search query string that ``value`` names, or ``""``.

    ``value`` is a query string (``type=clinic&cap=h24&page=2``) or a relative URL of this
    site's map page (``/?type=clinic``, ``/en/?type=clinic``); an absolute URL, a
    protocol-relative one or another page gives ``""``. Unknown parameters are dropped by the
    search's own cleaning; the list's page number is kept (after the search) unless ``drop``
    names it, as any other key ``drop`` names is left out.
    """
    text = inputs.clean_text(value or "")[:ORIGIN_MAX].strip()
    if not text:
        return ""
    if text.startswith(("/", "\\")):
        parts = urlsplit(text)
        if text.startswith(("//", "/\\", "\\")) or parts.scheme or parts.netloc:
            return ""
        if not is_map_path(parts.path):
            return ""
        text = parts.query
    elif _SCHEME_RE.match(text):
        return ""  # an absolute URL (https:, javascript: …) is never a search of this site
    params = QueryDict(text.removeprefix("?"), mutable=True)
    for key in drop:
        params.pop(key, None)
    cleaned, _ignored = clean(params)
    query = querystring(cleaned)
    page = cleaned.get("page") or 1
    if "page" not in drop and page > 1:
        query = "&".join(filter(None, [query, urlencode({"page": page})]))
    return query
