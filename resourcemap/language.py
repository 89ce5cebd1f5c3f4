"""Which language a request is answered in: Japanese first, English when chosen."""

from __future__ import annotations

from django.utils.translation import get_language, gettext


def english() -> bool:
    """True when the active language is English (``/en/`` or ``lang=en``)."""
    return (get_language() or "ja").startswith("en")


def join_list(items) -> str:
    """Names in a sentence: 「病院、薬局」 in Japanese, "Hospital, Pharmacy" in English."""
    # Translators: separator between the items of a list of names in a sentence.
    return gettext("、").join(str(item) for item in items)
