"""Which language a request is answered in: Japanese first, English when chosen."""

from __future__ import annotations

from django.utils.translation import get_language


def english() -> bool:
    """True when the active language is English (``/en/`` or ``lang=en``)."""
    return (get_language() or "ja").startswith("en")
