"""The portal's WSGI app plus one constant page, for request-rate floors (bench/front.py).

``/bench-floor/`` answers the bytes of the file named by ``FLOOR_BODY_FILE`` (the front page
as the app rendered it) through the same middleware as every page, with a CSRF token like the
real page; everything else is the portal itself. Only the benchmarks serve this module.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.urls import path

application = get_wsgi_application()
BODY = Path(os.environ["FLOOR_BODY_FILE"]).read_bytes() if os.environ.get("FLOOR_BODY_FILE") else b"{}"
CONTENT_TYPE = os.environ.get("FLOOR_CONTENT_TYPE", "text/html; charset=utf-8")


def constant(request):
    get_token(request)
    return HttpResponse(BODY, content_type=CONTENT_TYPE)


from resourcemap import urls as portal_urls  # noqa: E402

urlpatterns = [path("bench-floor/", constant), *portal_urls.urlpatterns]
settings.ROOT_URLCONF = __name__
