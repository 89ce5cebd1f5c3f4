"""The words of the demo data, read from ``fixtures/demo_vocabulary.json``.

Each word comes with its katakana reading. The towns (町名 with 郵便番号 and the highest 丁目) and
stations are keyed by 地区 code, as in the reference data; the name patterns use ``{soft}``,
``{kanji}``, ``{place}`` and ``{district}``, each also with ``_kana`` and ``_en``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PATH = Path(__file__).resolve().parent.parent / "fixtures" / "demo_vocabulary.json"

Word = tuple[str, str]  # (text, katakana)
Pattern = tuple[str, str, str]  # (name, katakana, English)


@dataclass(frozen=True)
class Town:
    name: str
    kana: str
    postal_code: str
    chome: int  # highest 丁目


@dataclass(frozen=True)
class Vocabulary:
    towns: dict[str, tuple[Town, ...]]
    stations: dict[str, tuple[Word, ...]]
    consult_centre: dict[str, str]
    soft: tuple[Word, ...]  # friendly words for clinics, pharmacies and care offices
    kanji: tuple[Word, ...]  # for hospitals and corporations
    surnames: tuple[Word, ...]
    ekimae: Word
    clinic_kinds: tuple[tuple[str, str, int, str], ...]  # (suffix, kana, weight, tag)
    dental_kinds: tuple[tuple[str, str, int, str], ...]
    kind_en: dict[str, str]
    hospital_names: tuple[Pattern, ...]
    care_names: dict[str, tuple[Pattern, ...]]  # by type code; "*" for other types
    buildings: tuple[tuple[str, int], ...]  # (suffix, weight)
    notes: tuple[str, ...]
    romaji_words: dict[str, str]  # readings spelled as they are usually written


def _tuples(items: list[list[Any]]) -> tuple[tuple, ...]:
    return tuple(tuple(item) for item in items)


def load(path: Path = PATH) -> Vocabulary:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return Vocabulary(
        towns={code: tuple(Town(*town) for town in towns) for code, towns in data["towns"].items()},
        stations={code: _tuples(stations) for code, stations in data["stations"].items()},
        consult_centre=dict(data["consult_centre"]),
        soft=_tuples(data["soft"]),
        kanji=_tuples(data["kanji"]),
        surnames=_tuples(data["surnames"]),
        ekimae=tuple(data["ekimae"]),
        clinic_kinds=_tuples(data["clinic_kinds"]),
        dental_kinds=_tuples(data["dental_kinds"]),
        kind_en=dict(data["kind_en"]),
        hospital_names=_tuples(data["hospital_names"]),
        care_names={code: _tuples(names) for code, names in data["care_names"].items()},
        buildings=_tuples(data["buildings"]),
        notes=tuple(data["notes"]),
        romaji_words={**data["loanword_romaji"], **data["place_romaji"]},
    )
