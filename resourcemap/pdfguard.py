"""PDF renders (print lists, provider sheets, flyers) must not starve the map and the API.

``pdf_view`` wraps each PDF view:

1. A rendered PDF is kept in the "pdfs" cache, keyed by path and query, language, data version
   and the local date (the date is printed on the sheet); a repeat is answered from there
   without rendering. Any change of provider data moves the data version, so nothing stale
   is served.
2. A client may start ``RATELIMIT_PRINT_PDF`` renders (cache misses) per period.
3. At most ``PDF_MAX_CONCURRENT`` renders run at once across all app servers (a counter row in
   the shared database, changed atomically like the rate limits). Over that the visitor gets a
   "busy, try again" page (503 with ``Retry-After``) instead of a queue that holds every worker.
   A slot of a killed process frees itself when the counter's window (``PDF_SLOT_SECONDS``) ends.
"""

from __future__ import annotations

import functools
import hashlib
import logging

from django.conf import settings
from django.core.cache import caches
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import get_language

from . import ratelimits
from .models import DataVersion

log = logging.getLogger(__name__)
SLOT_KEY = "pdf-renders-running"


def cache_key(request) -> str:
    query = sorted((key, sorted(values)) for key, values in request.GET.lists())
    raw = "|".join(
        (request.path, repr(query), get_language() or "", DataVersion.current(),
         timezone.localdate().isoformat())
    )
    return "pdf:" + hashlib.sha256(raw.encode()).hexdigest()


def _acquire_slot() -> bool:
    counters = caches[settings.RATELIMIT_USE_CACHE]
    for _attempt in range(3):
        counters.add(SLOT_KEY, 0, settings.PDF_SLOT_SECONDS)
        try:
            running = counters.incr(SLOT_KEY)
        except ValueError:  # the window ended between add and incr
            continue
        if running <= settings.PDF_MAX_CONCURRENT:
            return True
        _release_slot()
        return False
    return False


def _release_slot() -> None:
    try:
        caches[settings.RATELIMIT_USE_CACHE].decr(SLOT_KEY)
    except ValueError:  # the window ended: the counter started again at zero
        pass


def busy(request, *, retry_after: int = 30):
    response = ratelimits.too_many(request, context={"busy": True}, retry_after=retry_after)
    response.status_code = 503
    return response


def pdf_view(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        store = caches["pdfs"]
        # A POST carries a memo of its own (not in the URL): rendered every time, not cached.
        key = cache_key(request) if request.method == "GET" else None
        hit = store.get(key) if key else None
        if hit is not None:
            content, disposition = hit
            response = HttpResponse(content, content_type="application/pdf")
            response["Content-Disposition"] = disposition
            response["X-PDF-Cache"] = "hit"
            return response
        if not ratelimits.hit(request, "print-pdf", settings.RATELIMITS["print_pdf"]):
            return ratelimits.too_many(request)
        if not _acquire_slot():
            return busy(request)
        try:
            response = view(request, *args, **kwargs)
        finally:
            _release_slot()
        if key and response.status_code == 200 and response.get("Content-Type") == "application/pdf":
            store.set(key, (response.content, response["Content-Disposition"]), settings.PDF_CACHE_SECONDS)
            response["X-PDF-Cache"] = "miss"
        return response

    return wrapper
