"""Readings (よみがな, katakana) of provider names, for files that leave カナ blank.

- A name written in kana (and Latin letters, digits, spaces, ・ or ー) is its own reading:
  hiragana becomes katakana.
- Otherwise the name is read with SudachiPy and its small dictionary (SudachiDict-small, both
  Apache-2.0, offline, no download at run time): ``世田谷中央病院`` → ``セタガヤチュウオウビョウイン``.
  Latin words stay as written (``SOMPOケア`` → ``SOMPOケア``), spaces and symbols are left out.
- When a word has no reading in the dictionary (a kanji stays), ``reading`` returns ``""``:
  the caller says so and staff or the survey fill the kana in.

Readings of proper names are a guess: imports mark a derived kana in the preview ("よみがなは
名称から推定しました") so staff can check it.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_KANA_NAME_RE = re.compile(r"^[\u3041-\u3096\u30a1-\u30fa\u30fc\u30fb\u309d\u309e\u30fd\u30fea-zA-Z0-9 \u3000・ー&.\-]+$")
_KANJI_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f々〆ヶ]")
_READING_RE = re.compile(r"^[\u30a1-\u30fa\u30fc]+$")


def to_katakana(text: str) -> str:
    """Hiragana → katakana (other characters unchanged), after NFKC."""
    return "".join(
        chr(ord(ch) + 0x60) if "ぁ" <= ch <= "ゖ" or ch in "ゝゞ" else ch
        for ch in unicodedata.normalize("NFKC", text or "").strip()
    )


@lru_cache(maxsize=1)
def _tokenizer():
    try:
        from sudachipy import Dictionary
    except ImportError:  # pragma: no cover - the package is a dependency; kana-only names still work
        return None
    try:
        dictionary = Dictionary(dict="small")
        return dictionary.tokenizer() if hasattr(dictionary, "tokenizer") else dictionary.create()
    except Exception:  # noqa: BLE001 - a missing dictionary means "no reading", never an import error
        return None


def is_reading(text: str) -> bool:
    """True when ``text`` can be a reading: no kanji (kana, Latin letters, digits, spaces …)."""
    return not _KANJI_RE.search(unicodedata.normalize("NFKC", text or ""))


def is_kana_name(text: str) -> bool:
    """True when ``text`` is written in kana (with Latin letters, digits, spaces, ・ or ー)."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    return bool(_KANA_NAME_RE.match(text)) and bool(re.search(r"[\u3041-\u3096\u30a1-\u30fa]", text))


def reading(name: str) -> str:
    """The katakana reading of ``name``, or ``""`` when it cannot be derived."""
    text = unicodedata.normalize("NFKC", name or "").strip()
    if not text:
        return ""
    if _KANA_NAME_RE.match(text):
        return to_katakana(text).replace(" ", "").replace("\u3000", "")
    tokenizer = _tokenizer()
    if tokenizer is None:
        return ""
    from sudachipy import SplitMode

    parts = []
    for morpheme in tokenizer.tokenize(text, SplitMode.C):
        surface = morpheme.surface()
        pos = morpheme.part_of_speech()[0]
        if pos in ("空白", "補助記号") or not surface.strip():
            continue
        if _KANJI_RE.search(surface):
            value = morpheme.reading_form()
            if not _READING_RE.match(value):
                return ""  # a word the dictionary cannot read
            parts.append(value)
        else:
            parts.append(to_katakana(surface))
    result = "".join(parts)
    return "" if _KANJI_RE.search(result) else result
