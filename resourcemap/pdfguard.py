"""PDF renders (print lists, provider sheets, flyers) must not starve the map and the API.

``pdf_view`` wraps each PDF view:

1. A rendered PDF is kept in the "pdfs" cache, keyed by path and query (or the query in the
   one form a view gives, ``cache_query``), language, data version and the local date (the
   date is printed on the sheet); a repeat is answered from there without rendering. Any
   change of provider data moves the data version, so nothing stale is served. A sheet with a
   title of its own is one person's document: rendered each time, never kept, so free text
   cannot push the common sheets out of the cache.
2. A client may start ``RATELIMIT_PRINT_PDF`` renders (cache misses) per period; a request
   refused as busy (below) does not count.
3. At most ``PDF_MAX_CONCURRENT`` renders run at once across all app servers: each render
   holds one of that many slot rows in the shared counter table (taken with one atomic
   ``INSERT … ON CONFLICT``, given back by its owner only). Over that the visitor gets a "busy,
   try again" page (503 with ``Retry-After``) instead of a queue that holds every worker. The
   slot of a killed process frees itself after ``PDF_SLOT_SECONDS``.
4. The render itself (WeasyPrint, CPU bound) runs at a lower CPU priority
   (``printing.html_to_pdf``, ``PDF_RENDER_NICE``), so on a busy machine the map and the API
   are served first.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import random
import secrets
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils import timezone
from django.utils.translation import get_language

from . import ratelimits
from .models import DataVersion

log = logging.getLogger(__name__)
SLOT_KEY = "pdf-renders-running"


def cache_key(request, query: QueryDict | None = None) -> str:
    """The key of the PDF that ``query`` (default: the request's query string) names."""
    query = sorted((key, sorted(values)) for key, values in (request.GET if query is None else query).lists())
    raw = "|".join(
        (request.path, repr(query), get_language() or "", DataVersion.current(),
         timezone.localdate().isoformat())
    )
    return "pdf:" + hashlib.sha256(raw.encode()).hexdigest()


def _slot_key(index: int) -> str:
    return f"{SLOT_KEY}:{index}"


def _acquire_slot() -> tuple[str, int] | None:
    """One free render slot (its key and the owner's token), or None when all are taken."""
    counters = caches[settings.RATELIMIT_USE_CACHE]
    token = secrets.randbelow(2**62) + 1
    slots = list(range(settings.PDF_MAX_CONCURRENT))
    random.shuffle(slots)  # spread the tries over the rows
    for index in slots:
        if counters.add(_slot_key(index), token, settings.PDF_SLOT_SECONDS):
            return _slot_key(index), token
    return None


def _release_slot(slot: tuple[str, int]) -> None:
    # Only while it is still ours: after PDF_SLOT_SECONDS another render may hold the row.
    caches[settings.RATELIMIT_USE_CACHE].delete_if(*slot)


def renders_running() -> int:
    counters = caches[settings.RATELIMIT_USE_CACHE]
    return sum(
        counters.get(_slot_key(index)) is not None for index in range(settings.PDF_MAX_CONCURRENT)
    )


def busy(request, *, retry_after: int = 30):
    response = ratelimits.too_many(request, context={"busy": True}, retry_after=retry_after)
    response.status_code = 503
    return response


def pdf_view(view=None, *, cache_query: Callable[[HttpRequest], QueryDict | None] | None = None):
    """Wrap a PDF view (``@pdf_view`` or ``@pdf_view(cache_query=…)``).

    ``cache_query(request)`` gives the query that names the document (what a view reads of the
    request's query string, in one form), or None for a document that is rendered every time and
    never kept (it still counts under the per-client limit and takes a render slot).
    """
    if view is None:
        return functools.partial(pdf_view, cache_query=cache_query)

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        store = caches["pdfs"]
        # A POST carries a memo of its own (not in the URL): rendered every time, not cached.
        key = None
        if request.method == "GET":
            query = request.GET if cache_query is None else cache_query(request)
            key = cache_key(request, query) if query is not None else None
        hit = store.get(key) if key else None
        if hit is not None:
            content, disposition = hit
            response = HttpResponse(content, content_type="application/pdf")
            response["Content-Disposition"] = disposition
            response["X-PDF-Cache"] = "hit"
            return response
        slot = _acquire_slot()
        if slot is None:  # not counted against the client: trying again later is right
            return busy(request)
        try:
            if not ratelimits.hit(request, "print-pdf", settings.RATELIMITS["print_pdf"]):
                return ratelimits.too_many(request)
            request.pdf_render = True  # counted here: its map is not counted again (static_map)
            response = view(request, *args, **kwargs)
        finally:
            _release_slot(slot)
        if response.status_code == 200 and response.get("Content-Type") == "application/pdf":
            if key:
                store.set(key, (response.content, response["Content-Disposition"]), settings.PDF_CACHE_SECONDS)
            response["X-PDF-Cache"] = "miss" if key else "off"
        return response

    return wrapper


class MapLimited(Exception):
    """This client composed ``RATELIMITS["print_map"]`` new print maps in the limit's window."""


def static_map(request, **kwargs):
    """``staticmap.render(**kwargs)`` for a print page or sheet, under the same rules as a PDF.

    Composing a map takes seconds of CPU for hundreds of markers, and the HTML previews
    (``/print/``, provider sheets) are plain GETs anyone can repeat with another query. So a
    map is kept in the "pdfs" cache by its arguments (markers, size, labels, outline) and the
    data version, and a preview whose title, note or columns change reuses it; a new map
    counts against ``RATELIMITS["print_map"]`` for the client (``MapLimited`` over it), except
    inside a PDF render, which ``pdf_view`` has counted already.
    """
    from . import staticmap

    raw = repr(sorted(kwargs.items())) + "|" + DataVersion.current()
    key = "map:" + hashlib.sha256(raw.encode()).hexdigest()
    store = caches["pdfs"]
    rendered = store.get(key)
    if rendered is not None:
        return rendered
    if not getattr(request, "pdf_render", False) and not ratelimits.hit(
        request, "print-map", settings.RATELIMITS["print_map"]
    ):
        raise MapLimited
    rendered = staticmap.render(**kwargs)
    store.set(key, rendered, settings.PDF_CACHE_SECONDS)
    return rendered
