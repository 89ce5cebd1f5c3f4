"""Absolute links to the public site (QR codes, letters, e-mails, survey links, the API)."""

from __future__ import annotations

from django.conf import settings


def absolute_url(path: str) -> str:
    """Absolute URL on the public site, from SITE_URL (never from a request's Host header)."""
    return settings.SITE_URL.rstrip("/") + "/" + path.lstrip("/")
