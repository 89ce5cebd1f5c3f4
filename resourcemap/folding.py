"""Text folding for keyword matching, shared by the search and the stored search column.

``fold`` is applied both to what people type and to the provider fields kept in
``Provider.search_text``, so the database can match with a plain ``LIKE`` (trigram-indexed on
PostgreSQL).
"""

from __future__ import annotations

import re
import unicodedata

_KATAKANA_TO_HIRAGANA = {code: code - 0x60 for code in range(0x30A1, 0x30F7)}
# Hyphen-like characters people type in addresses (番地 "4−10", "4‐10"); not ー (長音).
_KATAKANA_TO_HIRAGANA.update({ord(c): "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d"})
_SPACES = re.compile(r"\s+")

# Provider fields a keyword is looked for in (each folded, joined by a newline so that a term
# never matches across two fields).
SEARCH_FIELDS = ("name", "kana", "address", "building", "name_en")


def fold(text: str) -> str:
    """Fold text for matching: NFKC (full/half width), katakana -> hiragana, lower case, no spaces.

    ``ｻｸﾗ``, ``サクラ`` and ``さくら`` all fold to ``さくら``.
    """
    text = unicodedata.normalize("NFKC", text or "")
    text = text.translate(_KATAKANA_TO_HIRAGANA).lower()
    return _SPACES.sub("", text)


def search_text(values) -> str:
    """The stored search column for the values of :data:`SEARCH_FIELDS` (in that order)."""
    return "\n".join(fold(str(value or "")) for value in values)
