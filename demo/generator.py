"""Fictional demo providers for the map, deterministic for a given seed.

Everything generated here is made up: names are built from word parts that carry their own
katakana reading, phone numbers use the 03-0xxx range (no real line in Tokyo starts with 0
after the area code, so nobody can reach a real person by dialling a demo number), e-mail
and web addresses use the reserved ``example.jp`` domain and the 医療機関コード /
介護保険事業所番号 are random 10-digit numbers.

Provider types, capabilities (and which types they apply to), districts, the ward's name and
boundary come from the reference data; the words (name parts with their readings, and the
real 町名 and stations of each Setagaya 地区 so addresses look right) from
``fixtures/demo_vocabulary.json`` (:mod:`demo.vocabulary`). What stays here is how the rows are
made: the mix of types and how rare each capability is (both keyed by code), hours and
capabilities by kind of provider. A district the vocabulary does not know gets addresses with
its own name, so the generator also runs on another municipality's reference data.

Used by ``manage.py load_demo``, ``fixtures/generate_demo.py`` and the benchmarks.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import random
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import transaction

from resourcemap import geo
from resourcemap.models import (
    Area,
    Capability,
    Municipality,
    Provider,
    ProviderChange,
    ProviderType,
)
from resourcemap.providers import providers_bulk_create

from .vocabulary import Town
from .vocabulary import load as load_vocabulary

DEFAULT_SEED = 20260401
SOURCE = "デモデータ"
CONSULT_TYPE = "houkatsu"  # one あんしんすこやかセンター per 地区

# Default mix; --count scales every type except the one-per-district centres.
TYPE_MIX: dict[str, int] = {
    "clinic": 450,
    "dental": 400,
    "pharmacy": 300,
    "hospital": 25,
    "nursing": 90,
    "care_management": 150,
    "home_help": 100,
    "home_rehab": 15,
    "kantaki": 10,
    "teiki": 12,
}
UNKNOWN_TYPE_WEIGHT = 20
DEFAULT_COUNT = sum(TYPE_MIX.values()) + 28

# Coordinates: normally distributed around the district centre, never further than this, and
# always closer to their own district centre than to any other (so the 地区 matches the pin).
SCATTER_SIGMA_M = 560.0
SCATTER_MAX_M = 1800.0
CENTRE_SCATTER_M = 250.0

YEAR_END = {
    "start_date": dt.date(2026, 12, 29),
    "end_date": dt.date(2027, 1, 3),
    "closed": True,
    "note": "年末年始",
}
CONFIRMED_FROM = dt.date(2025, 4, 1)
CONFIRMED_TO = dt.date(2026, 10, 31)

MEDICAL_CODE_KIND = {"hospital": "1", "clinic": "1", "dental": "3", "pharmacy": "4"}
CARE_CODE_TYPES = {"nursing", "care_management", "home_help", "home_rehab", "kantaki", "teiki"}


# ---------------------------------------------------------------------------------------------
# Reference data (read from the database or from a reference fixture)


@dataclass(frozen=True)
class District:
    code: str
    name: str
    name_en: str
    kana: str  # katakana
    lat: float
    lng: float

    @property
    def center_lat(self) -> float:  # as on Area, for geo.nearest_district
        return self.lat

    @property
    def center_lng(self) -> float:
        return self.lng


@dataclass(frozen=True)
class DemoReference:
    districts: tuple[District, ...]
    type_codes: tuple[str, ...]
    # capability code -> (codes of the types it applies to, has a count)
    capabilities: Mapping[str, tuple[frozenset[str], bool]]
    municipality: Any  # anything with .contains(lat, lng)

    def applies(self, capability: str, type_code: str) -> bool:
        entry = self.capabilities.get(capability)
        return bool(entry) and type_code in entry[0]


def to_katakana(text: str) -> str:
    return "".join(chr(ord(ch) + 0x60) if "ぁ" <= ch <= "ゖ" else ch for ch in text)


def reference_from_db() -> DemoReference:
    municipality = Municipality.current()
    districts = tuple(
        District(a.code, a.name, a.name_en, to_katakana(a.kana), float(a.center_lat), float(a.center_lng))
        for a in Area.objects.filter(level=Area.Level.DISTRICT).order_by("sort_order", "code")
    )
    if municipality is None or not districts:
        raise LookupError("Reference data missing: run `manage.py load_reference` first.")
    capabilities = {
        c.code: (frozenset(t.code for t in c.provider_types.all()), c.has_count)
        for c in Capability.objects.prefetch_related("provider_types").order_by("code")
    }
    types = tuple(ProviderType.objects.order_by("sort_order", "code").values_list("code", flat=True))
    return DemoReference(districts, types, capabilities, municipality)


def reference_from_fixture(path: Path) -> DemoReference:
    """The same reference without a database (for ``fixtures/generate_demo.py``)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    municipality = Municipality(**data["municipality"])
    districts = tuple(
        District(
            a["code"], a["name"], a.get("name_en", ""), to_katakana(a.get("kana", "")),
            float(a["center_lat"]), float(a["center_lng"]),
        )
        for a in sorted(data["areas"], key=lambda a: (a.get("sort_order", 0), a["code"]))
        if a["level"] == "district"
    )
    capabilities = {
        c["code"]: (frozenset(c["provider_types"]), bool(c.get("has_count")))
        for c in sorted(data["capabilities"], key=lambda c: c["code"])
    }
    types = tuple(
        t["code"] for t in sorted(data["provider_types"], key=lambda t: (t.get("sort_order", 0), t["code"]))
    )
    return DemoReference(districts, types, capabilities, municipality)


# ---------------------------------------------------------------------------------------------
# Vocabulary: (text, katakana) pairs, from fixtures/demo_vocabulary.json

VOCABULARY = load_vocabulary()
TOWNS = VOCABULARY.towns  # 地区 code -> real 町名 (with 郵便番号 and the number of 丁目)
STATIONS = VOCABULARY.stations  # 地区 code -> stations in or next to it (用賀駅前歯科)
SOFT = VOCABULARY.soft
KANJI = VOCABULARY.kanji
SURNAMES = VOCABULARY.surnames
EKIMAE = VOCABULARY.ekimae
# (suffix, kana, weight, tag); the tag steers hours and capabilities.
CLINIC_KINDS = VOCABULARY.clinic_kinds
DENTAL_KINDS = VOCABULARY.dental_kinds
KIND_EN = VOCABULARY.kind_en
BUILDINGS = VOCABULARY.buildings
NOTES = VOCABULARY.notes

# Capability rarity per type. Values are probabilities; a dict value means "depends on the
# profile" and is resolved in _capabilities(). Capabilities this table does not know (another
# municipality's reference data) get UNKNOWN_CAPABILITY_RATE where they apply.
UNKNOWN_CAPABILITY_RATE = 0.05
RATES: dict[str, dict[str, float]] = {
    "hospital": {
        "h24": 0.9, "home_visit": 0.3, "oushin": 0.2, "mitori": 0.4, "psychiatry": 0.12,
        "pediatric": 0.25, "palliative": 0.5, "home_dental": 0.08, "oral_care": 0.3,
        "dysphagia": 0.35, "night_holiday": 0.6, "nutrition": 0.2, "rehab": 0.6, "dementia": 0.5,
        "acp": 0.4, "foreign_language": 0.3, "barrier_free": 0.95,
    },
    "clinic": {"foreign_language": 0.07, "barrier_free": 0.4},
    "dental": {"foreign_language": 0.06, "barrier_free": 0.3},
    "pharmacy": {
        "home_pharmacy": 0.4, "psychiatry": 0.04, "pediatric": 0.04, "dementia": 0.15,
        "foreign_language": 0.1, "barrier_free": 0.4,
    },
    "nursing": {
        "h24": 0.7, "mitori": 0.45, "psychiatry": 0.05, "pediatric": 0.05, "palliative": 0.4,
        "oral_care": 0.1, "dysphagia": 0.1, "rehab": 0.45, "dementia": 0.5, "acp": 0.35,
        "foreign_language": 0.05,
    },
    "care_management": {
        "h24": 0.05, "psychiatry": 0.04, "dementia": 0.5, "acp": 0.3, "foreign_language": 0.04,
    },
    "home_help": {"h24": 0.08, "mitori": 0.08, "psychiatry": 0.04, "dementia": 0.5, "foreign_language": 0.03},
    "home_rehab": {"pediatric": 0.05, "dysphagia": 0.3, "rehab": 1.0, "dementia": 0.3, "foreign_language": 0.05},
    "kantaki": {"h24": 1.0, "mitori": 0.6, "rehab": 0.4, "dementia": 0.9, "acp": 0.6, "foreign_language": 0.05},
    "teiki": {"h24": 1.0, "mitori": 0.3, "dementia": 0.7, "acp": 0.4, "foreign_language": 0.05},
    "houkatsu": {"dementia": 1.0, "acp": 1.0, "foreign_language": 0.25, "barrier_free": 0.85},
}
KNOWN_CAPABILITIES = frozenset(
    {code for rates in RATES.values() for code in rates}
    | {
        "zaishin_enhanced_single", "zaishin_enhanced_joint", "zaishin_standard", "aseptic",
        "home_dental", "oral_care", "dysphagia", "nutrition", "acp", "palliative", "oushin",
        "home_visit", "night_holiday", "pediatric", "psychiatry", "rehab", "dementia", "mitori",
    }
)
MITORI_MAX = {"hospital": 80, "clinic": 40, "nursing": 30, "kantaki": 15, "teiki": 10, "home_help": 8}


@functools.cache
def _t(text: str) -> dt.time:
    hour, minute = text.split(":")
    return dt.time(int(hour), int(minute))


def _days(days: Sequence[int], *spans: tuple[str, str]) -> list[tuple[int, dt.time, dt.time]]:
    return [(day, _t(a), _t(b)) for day in days for a, b in spans]


WEEKDAYS = (0, 1, 2, 3, 4)
ALL_DAYS = (0, 1, 2, 3, 4, 5, 6, 7)


# Katakana -> simplified Hepburn (long vowels dropped, as on station signs: Kyodo, Yoga).
_ROMAJI_YOON = {
    "キャ": "kya", "キュ": "kyu", "キョ": "kyo", "シャ": "sha", "シュ": "shu", "ショ": "sho",
    "チャ": "cha", "チュ": "chu", "チョ": "cho", "ニャ": "nya", "ニュ": "nyu", "ニョ": "nyo",
    "ヒャ": "hya", "ヒュ": "hyu", "ヒョ": "hyo", "ミャ": "mya", "ミュ": "myu", "ミョ": "myo",
    "リャ": "rya", "リュ": "ryu", "リョ": "ryo", "ギャ": "gya", "ギュ": "gyu", "ギョ": "gyo",
    "ジャ": "ja", "ジュ": "ju", "ジョ": "jo", "ビャ": "bya", "ビュ": "byu", "ビョ": "byo",
    "ピャ": "pya", "ピュ": "pyu", "ピョ": "pyo", "ファ": "fa", "フィ": "fi", "フェ": "fe",
    "フォ": "fo", "ティ": "ti", "ディ": "di", "ウィ": "wi", "ウェ": "we", "ヂャ": "ja",
}
_ROMAJI = dict(
    zip(
        "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲン"
        "ガギグゲゴザジズゼゾダヂヅデドバビブベボパピプペポヴ",
        "a i u e o ka ki ku ke ko sa shi su se so ta chi tsu te to na ni nu ne no ha hi fu he ho "
        "ma mi mu me mo ya yu yo ra ri ru re ro wa o n ga gi gu ge go za ji zu ze zo da ji zu de do "
        "ba bi bu be bo pa pi pu pe po vu".split(),
        strict=True,
    )
)
ROMAJI_WORDS = VOCABULARY.romaji_words  # loanwords and compound place names, as usually spelled


def romaji(kana: str) -> str:
    """``ヨウガエキマエ`` -> ``Yogaekimae``; enough for names built from the parts above."""
    if kana in ROMAJI_WORDS:
        return ROMAJI_WORDS[kana]
    out: list[str] = []
    i = 0
    double = False
    while i < len(kana):
        pair, ch = kana[i : i + 2], kana[i]
        if pair in _ROMAJI_YOON:
            syllable, i = _ROMAJI_YOON[pair], i + 2
        elif ch == "ッ":
            double, i = True, i + 1
            continue
        elif ch == "ー":
            i += 1
            continue
        else:
            syllable, i = _ROMAJI.get(ch, ch), i + 1
        if double:
            syllable = ("t" if syllable.startswith("ch") else syllable[0]) + syllable
            double = False
        out.append(syllable)
    text = "".join(out)
    for long, short in (("ou", "o"), ("oo", "o"), ("uu", "u")):
        text = text.replace(long, short)
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------------------------------------
# The generator


@dataclass
class _Profile:
    """What one provider is like, decided before its name, hours and capabilities."""

    type_code: str
    district: District
    tag: str = "general"
    hours: str = "standard"


class DemoGenerator:
    def __init__(self, reference: DemoReference, *, seed: int = DEFAULT_SEED, taken_codes=()):
        self.ref = reference
        self.rng = random.Random(seed)
        self.used_codes: set[str] = set(taken_codes)
        self.used_names: set[str] = set()
        self.serial = 0
        # Mean latitude of the districts, for metre <-> degree conversion.
        lat0 = sum(d.lat for d in reference.districts) / len(reference.districts)
        self.m_per_deg_lat = 111_320.0
        self.m_per_deg_lng = 111_320.0 * math.cos(math.radians(lat0))

    # -- counts ---------------------------------------------------------------------------------

    def type_counts(self, count: int) -> dict[str, int]:
        """How many of each type for ``count`` providers (largest remainder, stable order)."""
        present = [c for c in self.ref.type_codes]
        counts: dict[str, int] = {code: 0 for code in present}
        rest = count
        if CONSULT_TYPE in counts:
            counts[CONSULT_TYPE] = min(len(self.ref.districts), count)
            rest -= counts[CONSULT_TYPE]
        weights = {
            code: TYPE_MIX.get(code, UNKNOWN_TYPE_WEIGHT) for code in present if code != CONSULT_TYPE
        }
        total = sum(weights.values())
        if rest <= 0 or not total:
            return counts
        exact = {code: rest * w / total for code, w in weights.items()}
        for code, value in exact.items():
            counts[code] = int(value)
        left = rest - sum(counts[c] for c in weights)
        for code in sorted(weights, key=lambda c: (-(exact[c] - int(exact[c])), present.index(c)))[:left]:
            counts[code] += 1
        return counts

    # -- rows ----------------------------------------------------------------------------------

    def rows(self, count: int) -> Iterator[dict[str, Any]]:
        counts = self.type_counts(count)
        plan: list[str] = []
        for code in self.ref.type_codes:
            if code != CONSULT_TYPE:
                plan.extend([code] * counts.get(code, 0))
        self.rng.shuffle(plan)
        for district in self.ref.districts[: counts.get(CONSULT_TYPE, 0)]:
            yield self._consult_centre(district)
        districts = self.ref.districts
        for type_code in plan:
            yield self._provider(type_code, self.rng.choice(districts))

    def _consult_centre(self, district: District) -> dict[str, Any]:
        profile = _Profile(CONSULT_TYPE, district, hours="office_sat")
        words = VOCABULARY.consult_centre
        names = {"district": district.name, "district_kana": district.kana, "district_en": district.name_en}
        row = self._row(
            profile, words["name"].format(**names), words["kana"].format(**names), scatter=CENTRE_SCATTER_M
        )
        data = row["data"]
        data["name_en"] = words["name_en"].format(**names).strip()
        data["status"] = "active"
        data["hours_unknown"] = False
        data["hours_note"] = words["hours_note"]
        data["corporate_name"] = words["corporate_name"].format(kanji=self.rng.choice(KANJI)[0])
        data["notes"] = words["notes"]
        row["periods"] = _days((0, 1, 2, 3, 4, 5), ("08:30", "17:15"))
        row["exceptions"] = [dict(YEAR_END)]
        return row

    def _provider(self, type_code: str, district: District) -> dict[str, Any]:
        profile = _Profile(type_code, district)
        rng = self.rng
        if type_code == "clinic":
            kind = self._weighted(CLINIC_KINDS)
            profile.tag = kind[3]
            if profile.tag == "homecare":
                profile.hours = "homecare"
            else:
                profile.hours = self._pick(
                    [("clinic_a", 45), ("clinic_b", 30), ("clinic_c", 17), ("clinic_evening", 8)]
                )
            name, kana, name_en = self._unique_name(lambda: self._clinic_name(district, kind))
        elif type_code == "dental":
            kind = self._weighted(DENTAL_KINDS)
            profile.tag = kind[3]
            profile.hours = "homecare" if profile.tag == "visit" else (
                "dental_sunday" if rng.random() < 0.08 else "dental"
            )
            name, kana, name_en = self._unique_name(lambda: self._clinic_name(district, kind))
        elif type_code == "pharmacy":
            profile.hours = self._pick(
                [("pharmacy", 58), ("pharmacy_lunch", 12), ("pharmacy_monzen", 12),
                 ("pharmacy_holiday", 8), ("pharmacy_night", 7), ("pharmacy_24h", 3)]
            )
            name, kana, name_en = self._unique_name(lambda: self._pharmacy_name(district))
        elif type_code == "hospital":
            profile.hours = "hospital"
            name, kana, name_en = self._unique_name(lambda: self._hospital_name(district))
        else:
            profile.hours = {
                "nursing": "office",
                "care_management": "office",
                "home_help": "office",
                "home_rehab": "office",
                "kantaki": "every_day",
                "teiki": "24h",
            }.get(type_code, "office")
            name, kana, name_en = self._unique_name(lambda: self._care_name(type_code, district))
        row = self._row(profile, name, kana, scatter=None)
        row["data"]["name_en"] = name_en
        return row

    # -- one row -------------------------------------------------------------------------------

    def _row(self, profile: _Profile, name: str, kana: str, *, scatter: float | None) -> dict[str, Any]:
        rng = self.rng
        self.serial += 1
        serial = self.serial
        type_code = profile.type_code
        district = profile.district
        lat, lng = self._coordinates(district, scatter)
        town = rng.choice(TOWNS.get(district.code) or (Town(district.name, district.kana, "", 5),))
        municipality = self.ref.municipality
        address = (
            f"{municipality.prefecture}{municipality.name}{town.name}"
            f"{rng.randint(1, town.chome)}-{rng.randint(1, 40)}-{rng.randint(1, 25)}"
        )
        building = ""
        if type_code in {"clinic", "dental", "pharmacy"} and rng.random() < 0.45 or rng.random() < 0.15:
            suffix = self._weighted_text(BUILDINGS)
            base = rng.choice((town.name, rng.choice(KANJI)[0], rng.choice(SOFT)[0]))
            building = f"{base}{suffix} {rng.randint(1, 4)}階"
        phone = self._phone()
        medical = type_code in MEDICAL_CODE_KIND or type_code in CARE_CODE_TYPES
        has_fax = rng.random() < (0.92 if medical or type_code == CONSULT_TYPE else 0.5)
        fax = self._fax(phone) if has_fax else ""
        slug = f"{type_code.replace('_', '-')}-{serial:05d}"
        web_rate = {"hospital": 0.95, CONSULT_TYPE: 1.0, "clinic": 0.45, "dental": 0.5}.get(type_code, 0.3)
        website = f"https://{slug}.example.jp/" if rng.random() < web_rate else ""
        email = f"info@{slug}.example.jp" if rng.random() < 0.15 else ""
        status = "active"
        if type_code != CONSULT_TYPE:
            roll = rng.random()
            status = "suspended" if roll < 0.03 else "closed" if roll < 0.05 else "active"
        hours_unknown = type_code != CONSULT_TYPE and rng.random() < 0.03
        if hours_unknown:
            # Unknown hours: no periods, and nothing derived from them (夜間・休日対応).
            periods, hours_note = [], "営業時間はお問い合わせください。"
            profile.hours = "unknown"
        else:
            periods, hours_note = self._hours(profile)
        exceptions = []
        if periods and profile.hours not in {"24h", "pharmacy_24h"} and rng.random() < 0.8:
            exceptions.append(dict(YEAR_END))
        capabilities = self._capabilities(profile)
        if "h24" in capabilities and not hours_note and not hours_unknown:
            hours_note = "営業時間外も、ご利用者からの連絡には24時間対応します。"
        confirmed = CONFIRMED_FROM + dt.timedelta(days=rng.randint(0, (CONFIRMED_TO - CONFIRMED_FROM).days))
        data: dict[str, Any] = {
            "name": name,
            "kana": kana,
            "provider_type": type_code,
            "status": status,
            "postal_code": town.postal_code,
            "address": address,
            "building": building,
            "latitude": Decimal(f"{lat:.6f}"),
            "longitude": Decimal(f"{lng:.6f}"),
            "area": district.code,
            "phone": phone,
            "fax": fax,
            "website": website,
            "email": email,
            "contact_person": f"担当 {rng.choice(SURNAMES)[0]}" if rng.random() < 0.7 else "",
            "contact_email": f"survey-{serial:05d}@example.jp" if rng.random() < 0.6 else "",
            "notes": rng.choice(NOTES) if rng.random() < 0.12 else "",
            "hours_unknown": hours_unknown,
            "hours_note": hours_note,
            "medical_code": self._code("13" + MEDICAL_CODE_KIND[type_code] + "9")
            if type_code in MEDICAL_CODE_KIND else "",
            "care_code": self._code("1379") if type_code in CARE_CODE_TYPES else "",
            "corporate_name": self._corporate_name(type_code, district),
            "last_confirmed_on": confirmed,
            "last_confirmed_source": SOURCE,
            "is_demo": True,
        }
        return {"data": data, "capabilities": capabilities, "periods": periods, "exceptions": exceptions}

    # -- pieces --------------------------------------------------------------------------------

    def _pick(self, options: Sequence[tuple[str, int]]) -> str:
        return self.rng.choices([o[0] for o in options], weights=[o[1] for o in options])[0]

    def _weighted(self, kinds):
        return self.rng.choices(kinds, weights=[k[2] for k in kinds])[0]

    def _weighted_text(self, items):
        return self.rng.choices([i[0] for i in items], weights=[i[1] for i in items])[0]

    def _unique_name(self, make) -> tuple[str, str, str]:
        # Try hard for unique names in a ward-sized set; benchmark-sized sets repeat names.
        attempts = 12 if len(self.used_names) < 4000 else 2
        for _attempt in range(attempts):
            name, kana, english = make()
            if name not in self.used_names:
                break
        self.used_names.add(name)
        return name, kana, english

    def _place(self, district: District) -> tuple[str, str]:
        towns = TOWNS.get(district.code) or (Town(district.name, district.kana, "", 1),)
        town = self.rng.choice(towns)
        return town.name, town.kana

    def _station(self, district: District) -> tuple[str, str] | None:
        stations = STATIONS.get(district.code, ())
        return self.rng.choice(stations) if stations else None

    def _prefix(self, district: District, *, surname: bool = True) -> tuple[str, str, str]:
        rng = self.rng
        roll = rng.random()
        station = self._station(district)
        if roll < 0.35:
            part = rng.choice(SOFT)
        elif roll < 0.6 and surname:
            part = rng.choice(SURNAMES)
        elif roll < 0.78 and station:
            return station[0] + EKIMAE[0], station[1] + EKIMAE[1], f"{romaji(station[1])} Ekimae"
        else:
            part = self._place(district)
        return part[0], part[1], romaji(part[1])

    def _clinic_name(self, district: District, kind) -> tuple[str, str, str]:
        prefix, prefix_kana, prefix_en = self._prefix(district)
        return prefix + kind[0], prefix_kana + kind[1], f"{prefix_en} {KIND_EN[kind[0]]}"

    def _pharmacy_name(self, district: District) -> tuple[str, str, str]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.2:
            soft, soft_kana = rng.choice(SOFT)
            place, place_kana = self._station(district) or self._place(district)
            return (
                f"{soft}薬局 {place}店", f"{soft_kana}ヤッキョク{place_kana}テン",
                f"{romaji(soft_kana)} Pharmacy {romaji(place_kana)}",
            )
        if roll < 0.3:
            soft, soft_kana = rng.choice(SOFT)
            return f"{soft}調剤薬局", f"{soft_kana}チョウザイヤッキョク", f"{romaji(soft_kana)} Pharmacy"
        if roll < 0.38:
            soft, soft_kana = rng.choice(SOFT[-7:])
            return f"{soft}ファーマシー", f"{soft_kana}ファーマシー", f"{romaji(soft_kana)} Pharmacy"
        prefix, prefix_kana, prefix_en = self._prefix(district, surname=rng.random() < 0.3)
        return f"{prefix}薬局", f"{prefix_kana}ヤッキョク", f"{prefix_en} Pharmacy"

    def _hospital_name(self, district: District) -> tuple[str, str, str]:
        kanji = self.rng.choice(KANJI)
        place = self._place(district)
        return _filled(self.rng.choice(VOCABULARY.hospital_names), kanji=kanji, place=place)

    def _care_name(self, type_code: str, district: District) -> tuple[str, str, str]:
        soft = self.rng.choice(SOFT)
        place = self._place(district)
        patterns = VOCABULARY.care_names.get(type_code) or VOCABULARY.care_names["*"]
        return _filled(self.rng.choice(patterns), soft=soft, place=place)

    def _corporate_name(self, type_code: str, district: District) -> str:
        rng = self.rng
        kanji = rng.choice(KANJI)[0]
        soft = rng.choice(SOFT)[0]
        if type_code in {"hospital"}:
            return rng.choice((f"医療法人社団{kanji}会", f"社会医療法人{kanji}会"))
        if type_code in {"clinic", "dental"}:
            return f"医療法人社団{kanji}会" if rng.random() < 0.45 else ""
        if type_code == "pharmacy":
            return rng.choice((f"株式会社{soft}ファーマ", f"有限会社{self._place(district)[0]}薬局", ""))
        return rng.choice(
            (f"株式会社{soft}ケア", f"社会福祉法人{kanji}会", f"合同会社{soft}", f"特定非営利活動法人{soft}の会")
        )

    def _phone(self) -> str:
        # 03-0xxx-xxxx: the right shape, but never a line that exists (see module docstring).
        return f"03-0{self.rng.randint(100, 999)}-{self.rng.randint(0, 9998):04d}"

    @staticmethod
    def _fax(phone: str) -> str:
        head, last = phone.rsplit("-", 1)
        return f"{head}-{int(last) + 1:04d}"

    def _code(self, prefix: str) -> str:
        while True:
            code = prefix + "".join(str(self.rng.randint(0, 9)) for _ in range(10 - len(prefix)))
            if code not in self.used_codes:
                self.used_codes.add(code)
                return code

    def _coordinates(self, district: District, scatter: float | None) -> tuple[float, float]:
        rng = self.rng
        sigma = scatter or SCATTER_SIGMA_M
        limit = SCATTER_MAX_M if scatter is None else scatter * 2
        for _attempt in range(500):
            dx = rng.gauss(0.0, sigma)
            dy = rng.gauss(0.0, sigma)
            if math.hypot(dx, dy) > limit:
                continue
            lat = round(district.lat + dy / self.m_per_deg_lat, 6)
            lng = round(district.lng + dx / self.m_per_deg_lng, 6)
            if geo.nearest_district(lat, lng, self.ref.districts) != district:
                continue
            if self.ref.municipality.contains(lat, lng):
                return lat, lng
        return district.lat, district.lng

    # -- hours ---------------------------------------------------------------------------------

    def _hours(self, profile: _Profile) -> tuple[list[tuple[int, dt.time, dt.time]], str]:
        rng = self.rng
        kind = profile.hours
        if kind == "clinic_a":  # 木・土 afternoons off
            am = rng.choice((("09:00", "12:30"), ("09:00", "12:00"), ("08:30", "12:30")))
            pm = rng.choice((("15:00", "18:30"), ("14:30", "18:00"), ("15:00", "18:00")))
            return _days((0, 1, 2, 3, 4, 5), am) + _days((0, 1, 2, 4), pm), ""
        if kind == "clinic_b":  # one weekday off, 土 mornings
            off = rng.choice((2, 3))
            days = tuple(d for d in WEEKDAYS if d != off)
            am = rng.choice((("09:00", "13:00"), ("09:30", "12:30")))
            pm = rng.choice((("14:30", "18:00"), ("15:00", "19:00"), ("16:00", "19:00")))
            return _days(days, am, pm) + _days((5,), am), ""
        if kind == "clinic_c":  # 土 afternoons too, 木 off
            return _days((0, 1, 2, 4), ("09:30", "13:00"), ("15:00", "19:00")) + _days(
                (5,), ("09:30", "13:00"), ("14:00", "17:00")
            ), ""
        if kind == "clinic_evening":  # evenings, 日・祝 mornings
            return (
                _days(WEEKDAYS, ("09:00", "12:30"), ("15:00", "21:00"))
                + _days((5,), ("09:00", "17:00"))
                + _days((6, 7), ("09:00", "12:00")),
                "日曜・祝日は午前のみ診療しています。",
            )
        if kind == "homecare":
            periods = _days(WEEKDAYS, ("09:00", "18:00"))
            if rng.random() < 0.4:
                periods += _days((5,), ("09:00", "13:00"))
            return periods, "外来は予約制です。訪問の時間はご相談ください。"
        if kind in {"dental", "dental_sunday"}:
            am = rng.choice((("09:30", "13:00"), ("10:00", "13:00"), ("09:00", "12:30")))
            pm = rng.choice((("14:30", "18:30"), ("14:30", "19:00"), ("15:00", "20:00")))
            off = rng.choice((3, 3, 2, 6))
            days = tuple(d for d in WEEKDAYS if d != off)
            periods = _days(days, am, pm) + _days((5,), (am[0], "13:00"), ("14:00", "17:00"))
            if kind == "dental_sunday":
                periods += _days((6,), ("10:00", "13:00"), ("14:00", "17:00"))
            return periods, ""
        if kind == "pharmacy":
            close = rng.choice(("18:00", "18:30", "19:00", "19:00", "20:00"))
            sat = rng.choice((("09:00", "13:00"), ("09:00", "17:00"), ("09:00", "14:00")))
            return _days(WEEKDAYS, ("09:00", close)) + _days((5,), sat), ""
        if kind == "pharmacy_lunch":
            return _days(WEEKDAYS, ("09:00", "13:00"), ("14:00", "18:30")) + _days(
                (5,), ("09:00", "13:00")
            ), ""
        if kind == "pharmacy_monzen":  # next to a clinic, same rhythm
            return _days((0, 1, 2, 3, 4, 5), ("09:00", "13:00")) + _days(
                (0, 1, 2, 4), ("14:30", "19:00")
            ), ""
        if kind == "pharmacy_holiday":
            return (
                _days(WEEKDAYS, ("09:00", "19:00"))
                + _days((5,), ("09:00", "18:00"))
                + _days((6, 7), ("10:00", "17:00")),
                "日曜・祝日も開いています。",
            )
        if kind == "pharmacy_night":
            return (
                _days((0, 1, 2, 3, 4, 5), ("09:00", "22:00")) + _days((6, 7), ("10:00", "20:00")),
                "夜22時まで開いています。",
            )
        if kind in {"pharmacy_24h", "24h"}:
            return _days(ALL_DAYS, ("00:00", "00:00")), "24時間・年中無休です。"
        if kind == "hospital":
            return (
                _days(WEEKDAYS, ("08:30", "11:30"), ("13:00", "16:30")) + _days((5,), ("08:30", "11:30")),
                "外来の受付時間です。救急外来は24時間受け付けています。",
            )
        if kind == "every_day":
            return _days(ALL_DAYS, ("09:00", "18:00")), "泊まり・訪問は24時間対応しています。"
        # office hours (nursing, care offices, ...)
        hours = rng.choice((("09:00", "18:00"), ("09:00", "18:00"), ("08:30", "17:30"), ("09:00", "17:00")))
        periods = _days(WEEKDAYS, hours)
        if rng.random() < 0.2:
            periods += _days((5,), ("09:00", "12:00"))
        note = ""
        if profile.type_code == "home_help" and rng.random() < 0.3:
            note = "サービスは 7:00〜22:00（土日祝も）行っています。"
        return periods, note

    # -- capabilities --------------------------------------------------------------------------

    def _capabilities(self, profile: _Profile) -> dict[str, dict[str, Any]]:
        rng = self.rng
        type_code, tag, hours = profile.type_code, profile.tag, profile.hours
        chosen: dict[str, float] = dict(RATES.get(type_code, {}))
        if type_code == "clinic":
            visit = rng.random() < {"homecare": 1.0, "general": 0.3}.get(tag, 0.03)
            chosen.update(
                {
                    "home_visit": 1.0 if visit else 0.0,
                    "oushin": 0.8 if visit else 0.02,
                    "mitori": (0.7 if tag == "homecare" else 0.25) if visit else 0.0,
                    "palliative": 0.45 if visit else 0.02,
                    "nutrition": 0.08 if visit else 0.01,
                    "acp": 0.4 if visit else 0.03,
                    "dysphagia": 0.06 if visit else 0.005,
                    "psychiatry": {"psych": 0.85, "homecare": 0.08}.get(tag, 0.005),
                    "pediatric": {"pediatric": 0.7, "homecare": 0.08}.get(tag, 0.005),
                    "rehab": 0.6 if tag == "ortho" else 0.02,
                    "dementia": {"homecare": 0.7, "general": 0.2, "psych": 0.5}.get(tag, 0.03),
                    "night_holiday": 1.0 if hours == "clinic_evening" else 0.0,
                }
            )
            if visit:
                roll = rng.random()
                zaishin = (
                    "zaishin_enhanced_single" if roll < 0.1
                    else "zaishin_enhanced_joint" if roll < 0.35
                    else "zaishin_standard" if roll < 0.75 else None
                )
                if zaishin:
                    chosen[zaishin] = 1.0
                    chosen["h24"] = 1.0  # 在宅療養支援診療所 must answer around the clock
        elif type_code == "hospital":
            if rng.random() < 0.35:
                chosen[rng.choice(("zaishin_standard", "zaishin_enhanced_single"))] = 1.0
        elif type_code == "dental":
            visit = tag == "visit" or rng.random() < 0.32
            chosen.update(
                {
                    "home_dental": 1.0 if visit else 0.0,
                    "oral_care": 0.8 if visit else 0.15,
                    "dysphagia": 0.25 if visit else 0.01,
                    "pediatric": 0.9 if tag == "pediatric" else 0.01,
                    "dementia": 0.3 if visit else 0.03,
                    "night_holiday": 0.7 if hours == "dental_sunday" else 0.0,
                }
            )
        elif type_code == "pharmacy":
            visit = rng.random() < chosen.pop("home_pharmacy", 0.4)
            night = hours in {"pharmacy_night", "pharmacy_24h", "pharmacy_holiday"}
            chosen.update(
                {
                    "home_pharmacy": 1.0 if visit else 0.0,
                    "aseptic": 0.12 if visit else 0.0,
                    "palliative": 0.45 if visit else 0.02,
                    "h24": 1.0 if hours == "pharmacy_24h" else 0.2 if visit else 0.0,
                    "night_holiday": 1.0 if night else 0.0,
                }
            )
        result: dict[str, dict[str, Any]] = {}
        for code, (types, has_count) in self.ref.capabilities.items():
            if type_code not in types:
                continue
            rate = chosen.get(code, 0.0 if code in KNOWN_CAPABILITIES else UNKNOWN_CAPABILITY_RATE)
            if rate <= 0 or rng.random() >= rate:
                continue
            count = None
            if has_count:
                top = MITORI_MAX.get(type_code, 10)
                count = max(1, int(rng.triangular(1, top, top / 4)))
            result[code] = {"count": count, "note": ""}
        return result


def _filled(pattern: tuple[str, str, str], **words: tuple[str, str]) -> tuple[str, str, str]:
    """A (name, katakana, English) pattern of the vocabulary with (text, katakana) words put in:
    ``{soft}``, ``{soft_kana}`` and ``{soft_en}`` (romanised) for ``soft=``, and so on."""
    forms: dict[str, str] = {}
    for key, (text, kana) in words.items():
        forms[key], forms[f"{key}_kana"], forms[f"{key}_en"] = text, kana, romaji(kana)
    name, kana, english = pattern
    return name.format(**forms), kana.format(**forms), english.format(**forms)


def generate_rows(
    reference: DemoReference, *, count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED, taken_codes=()
) -> list[dict[str, Any]]:
    """Rows for :func:`resourcemap.providers.providers_bulk_create` (same seed, same rows)."""
    return list(DemoGenerator(reference, seed=seed, taken_codes=taken_codes).rows(count))


def iter_rows(
    reference: DemoReference, *, count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED, taken_codes=()
) -> Iterator[dict[str, Any]]:
    return DemoGenerator(reference, seed=seed, taken_codes=taken_codes).rows(count)


# ---------------------------------------------------------------------------------------------
# Loading


def load_demo(
    *, count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED, chunk_size: int = 2000
) -> Counter:
    """Generate and save demo providers through the write path, all or nothing.

    Returns the number created per provider type code.
    """
    reference = reference_from_db()
    taken = set(Provider.objects.exclude(medical_code="").values_list("medical_code", flat=True))
    taken |= set(Provider.objects.exclude(care_code="").values_list("care_code", flat=True))
    created: Counter = Counter()
    chunk: list[dict[str, Any]] = []
    with transaction.atomic():
        for row in iter_rows(reference, count=count, seed=seed, taken_codes=taken):
            chunk.append(row)
            if len(chunk) >= chunk_size:
                _save_chunk(chunk, created)
                chunk = []
        if chunk:
            _save_chunk(chunk, created)
    return created


def _save_chunk(chunk, created: Counter) -> None:
    providers_bulk_create(rows=chunk, actor_kind=ProviderChange.Actor.SYSTEM, source=SOURCE)
    created.update(row["data"]["provider_type"] for row in chunk)


def rows_as_json(rows: Sequence[Mapping[str, Any]]) -> str:
    """Rows as JSON (dates/times/decimals as ISO strings), for inspection and other tools."""

    def default(value: Any) -> Any:
        if isinstance(value, dt.date | dt.time):
            return value.isoformat(timespec="minutes") if isinstance(value, dt.time) else value.isoformat()
        if isinstance(value, Decimal):
            return str(value)
        raise TypeError(type(value))

    plain = [
        {**row, "periods": [[w, o, c] for w, o, c in row["periods"]]} for row in rows
    ]
    return json.dumps(plain, ensure_ascii=False, indent=1, default=default)
