"""Japanese public provider lists: import (five layouts) and the municipal-standard export.

Import (``import_file``) reads a CSV in one of these layouts (see DATA-FORMATS.md), detected
from the header row and always read by column *name* (alias tables below, never position):

- ``mhlw``: 介護サービス情報公表システム open data (``jigyosho_{code}.csv``, 24 columns);
- ``v1_medical`` / ``v1_care``: 推奨データセット v1 医療機関一覧 / 介護サービス事業所一覧, also
  as municipalities publish them (prefecture code or name in the first column, 市区町村名 or
  市町村, 所在地 instead of 住所, blank カナ);
- ``standard``: 自治体標準オープンデータセット (current header block: 名称_英字 or 名称_英語,
  所在地_連結表記 …), including the portal's own export (its 種別 column is read as well);
- ``navii``: 医療情報ネット（ナビイ） facility files (病院・診療所・歯科診療所・薬局), optionally with
  the matching ``*_speciality_hours`` file for opening times.

Rules:

- Rows outside ``Municipality.current()`` (by 全国地方公共団体コード, by 都道府県コード +
  市区町村コード, or by 市区町村名) are counted as skipped, never imported.
- The type comes from the service code (サービスの種類 / 実施サービス -> ``ProviderType.service_code``),
  from the service *name* (the type's name or one of its ``import_names``; full/half width,
  spaces, bracketed additions such as （複合型サービス） and a trailing 事業所 do not matter),
  from the code in the file name (``jigyosho_770.csv``), from 医療機関の種類
  (``ProviderType.medical_kinds``), from ナビイ 機関区分 / the file kind, or from the portal's 種別
  column. A row whose 実施サービス lists several mapped services becomes one provider per type.
  Services the map does not list are counted ("not on this map"), never errors.
- Names, addresses and phone numbers are normalised (NFKC; odd hyphens such as ₋ ‐ − – — in
  numbers become ``-``; a phone that lost its leading zero in a spreadsheet gets it back).
  The building (方書) is stored once: MHLW 住所 already ends with it and it is cut off there.
- Matching (in memory, one query for all providers): 医療機関コード, (介護保険事業所番号, type),
  ナビイ ID, then name + address of the same type, where addresses written differently match
  (``生野屋南一丁目10番1号`` = ``生野屋南1-10-1``). A row of the same type with the same address
  but another name, or the same name at another address, is a likely duplicate: it is listed
  as a problem for staff to decide, never created a second time silently.
- The 地区 of a new provider comes from the address through the 町丁目 → 地区 table
  (``DistrictTown``, reference data), else from the nearest district centre.
- Codes are text; a code that lost its leading zero in a spreadsheet is padded
  (事業所番号 to 10 digits, 法人番号 to 13, 医療機関コード from 9 to 10).
- Latitude/longitude 0 or empty mean unknown. Multiple values are split on ``;``, ``、``, ``,``.
- 住所 without a prefecture gets the prefecture (and the 市区町村名 when missing) in front.
- These formats carry no capabilities: capabilities and hours of existing providers are never
  touched, status is never changed, and an empty cell never clears a stored value. A new
  provider gets weekly hours only when the file gives times (診療曜日 + 診療開始時間 +
  診療終了時間, or the ナビイ hours file), otherwise ``hours_unknown`` and the open days as a note.
  備考 becomes the notes of new providers only.
- One bad cell never blocks a whole file: every problem is reported by file line (line 1 is
  the header) and column name. Staff then choose: fix the file and upload it again (nothing is
  saved), or import the good rows and leave out the listed ones (``leave_out_errors``; the
  left-out rows can be downloaded with the reason, ``left_out_csv``). Either way every write
  goes through ``providers.py`` (``actor_kind="import"``) inside one transaction.

医療情報ネット（ナビイ）: the weekday columns ``毎週決まった曜日に休診（月）…（日）`` and ``祝日に休診``
are read as 1 = open that day (see ``realdata/README.md``: every hospital has 日 = 0, the big
outpatient hospitals 土 = 0, all-zero rows reported nothing). They are advisory: they become a
note ("診療日（届出）: 月・火…"), never hours; the 第N週 columns are not used. Opening times come
only from the hours file. Dated closures in ``その他の休診日`` (``01月01日``, ``06月第二土曜日``) become
dated exceptions for their next occurrence (consecutive days merged, 年末年始 named).

Export (``export_rows``): the current 自治体標準オープンデータセット header block, then the v1
domain columns, then the portal's own columns (see ``EXPORT_HEADERS`` and the /opendata/ page).
Public providers and public fields only.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import formats, geo, providers
from ..hours import format_periods as hours_format
from ..models import (
    Area,
    DistrictTown,
    Municipality,
    Provider,
    ProviderChange,
    ProviderExternalId,
    ProviderType,
)

# ---------------------------------------------------------------------------------------------
# Layouts and column aliases

MHLW, V1_MEDICAL, V1_CARE, STANDARD, NAVII = "mhlw", "v1_medical", "v1_care", "standard", "navii"
LAYOUT_LABELS = {
    MHLW: gettext_lazy("介護サービス情報公表システム オープンデータ"),
    V1_MEDICAL: gettext_lazy("推奨データセット v1 医療機関一覧"),
    V1_CARE: gettext_lazy("推奨データセット v1 介護サービス事業所一覧"),
    STANDARD: gettext_lazy("自治体標準オープンデータセット"),
    NAVII: gettext_lazy("医療情報ネット（ナビイ） オープンデータ"),
}
SOURCE_LABELS = {
    MHLW: "介護サービス情報公表",
    V1_MEDICAL: "推奨データセット 医療機関一覧",
    V1_CARE: "推奨データセット 介護サービス事業所一覧",
    STANDARD: "自治体標準オープンデータ",
    NAVII: "医療情報ネット（ナビイ）",
}

# key -> header names (NFKC-normalised before comparing), first found wins.
ALIASES: dict[str, tuple[str, ...]] = {
    "muni_code": ("所在地_全国地方公共団体コード", "全国地方公共団体コード",
                  "都道府県コード又は市区町村コード", "都道府県コード又は市町村コード"),
    "prefecture": ("所在地_都道府県", "都道府県名"),
    "city": ("所在地_市区町村", "市区町村名", "市町村名", "市町村"),
    "town": ("所在地_町字",),
    "block": ("所在地_番地以下",),
    "name": ("名称", "事業所名", "介護サービス事業所名称", "正式名称"),
    "kana": ("名称_カナ", "事業所名カナ", "介護サービス事業所名称_カナ", "正式名称(フリガナ)"),
    "name_en": ("名称_英字", "名称_英語", "英語表記(ローマ字表記)"),
    "service": ("サービスの種類", "実施サービス"),
    "medical_kind": ("医療機関の種類",),
    "type_name": ("種別",),
    "address": ("所在地_連結表記", "住所", "所在地"),
    "building": ("建物名等(方書)", "方書(ビル名等)", "方書"),
    "lat": ("緯度", "所在地座標(緯度)"),
    "lng": ("経度", "所在地座標(経度)"),
    "phone": ("電話番号",),
    "fax": ("FAX番号",),
    "corporate_number": ("法人番号",),
    "corporate_name": ("法人の名称",),
    "care_code": ("事業所番号", "介護保険事業所番号"),
    "medical_code": ("医療機関コード",),
    "days": ("診療曜日", "利用可能曜日"),
    "days_note": ("診療日時特記事項", "利用可能曜日特記事項"),
    "opens": ("診療開始時間",),
    "closes": ("診療終了時間",),
    "website": ("URL", "案内用ホームページアドレス"),
    "notes": ("備考",),
    # 医療情報ネット（ナビイ）
    "navii_id": ("ID",),
    "navii_kind": ("機関区分",),
    "pref_code": ("都道府県コード",),
    "city_code": ("市区町村コード",),
    "holiday_open": ("祝日に休診",),
    "other_closures": ("その他の休診日(gw、お盆等)", "その他の休診日"),
}
NAVII_ONLY_KEYS = ("navii_id", "navii_kind", "pref_code", "city_code", "holiday_open", "other_closures")
WEEKDAY_CHARS = "月火水木金土日"
NAVII_WEEKDAY_HEADER = "毎週決まった曜日に休診({day})"
# 医療情報ネット 機関区分 (part of the file format) -> the kind name looked up in the types'
# 医療機関の種類 / import names (reference data).
NAVII_KINDS = {"1": "病院", "2": "診療所", "3": "歯科診療所", "5": "薬局"}
NAVII_FILE_KINDS = (("hospital", "病院"), ("clinic", "診療所"), ("dental", "歯科診療所"), ("pharmacy", "薬局"))

# Model field -> alias key, for reporting write-path errors by the file's column name.
FIELD_KEYS = {
    "name": "name", "kana": "kana", "name_en": "name_en", "address": "address",
    "building": "building", "latitude": "lat", "longitude": "lng", "phone": "phone", "fax": "fax",
    "website": "website", "corporate_number": "corporate_number",
    "corporate_name": "corporate_name", "care_code": "care_code", "medical_code": "medical_code",
    "notes": "notes", "hours_note": "days_note", providers.HOURS_KEY: "days",
    providers.EXCEPTIONS_KEY: "other_closures",
}
NAVII_HEADERS = ("正式名称", "機関区分", "所在地座標(緯度)")
PREFECTURE_RE = re.compile(r"^(東京都|北海道|(?:京都|大阪)府|.{2,3}県)")
MULTI_SPLIT_RE = re.compile(r"\s*[;；、,，]\s*")
TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
PHONE_PARTS_RE = re.compile(r"(0\d{1,4})\s*[(\s]\s*(\d{1,4})\s*[)\s]\s*(\d{3,4})")
# Dash-like characters seen in published numbers and addresses (after NFKC).
DASHES = "‐‑‒–—―−ー─━⁃"
_DASH_RE = re.compile(f"[{DASHES}]")
_DIGIT_DASH_RE = re.compile(rf"(?<=\d)\s*[{DASHES}-]\s*(?=\d)")
_SPACES_RE = re.compile(r"\s+")
FILE_CODE_RE = re.compile(r"jigyosho_(\d{3})", re.IGNORECASE)

NEW, UPDATE, UNCHANGED, SKIPPED, NOT_LISTED, ERROR = (
    "new", "update", "unchanged", "skipped", "not_listed", "error"
)
STATUS_LABELS = {
    NEW: gettext_lazy("新規"),
    UPDATE: gettext_lazy("変更"),
    UNCHANGED: gettext_lazy("変更なし"),
    SKIPPED: gettext_lazy("対象外（他の自治体）"),
    NOT_LISTED: gettext_lazy("対象外（このマップにない種類）"),
    ERROR: gettext_lazy("誤り"),
}
LEFT_OUT_REASON_HEADER = "取り込まなかった理由"


class LayoutError(formats.FileFormatError):
    """The header row is not one of the supported layouts."""


@dataclass
class RowOutcome:
    line: int
    status: str
    name: str = ""
    type_name: str = ""
    provider_id: int | None = None
    changes: dict[str, list[Any]] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (column, message)
    note: str = ""
    version: int | None = None  # the matched provider's version when this row was read


@dataclass
class ImportReport:
    layout: str
    file_name: str
    committed: bool
    rows: list[RowOutcome] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    not_listed: Counter = field(default_factory=Counter)  # service name -> rows
    left_out_rows: dict[int, list[str]] = field(default_factory=dict)  # line -> original cells
    leave_out_errors: bool = False
    rows_read: int = 0
    seconds: float = 0.0
    hours_file_name: str = ""

    @property
    def layout_label(self) -> str:
        return str(LAYOUT_LABELS[self.layout])

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def totals(self) -> dict[str, int]:
        totals = {s: self.count(s) for s in (NEW, UPDATE, UNCHANGED, SKIPPED, NOT_LISTED, ERROR)}
        totals["error_lines"] = len(self.error_line_numbers)
        return totals

    @property
    def errors(self) -> list[tuple[int, str, str]]:
        return [(r.line, col, msg) for r in self.rows for col, msg in r.errors]

    @property
    def has_errors(self) -> bool:
        return any(r.errors for r in self.rows)

    @property
    def error_line_numbers(self) -> list[int]:
        return sorted({r.line for r in self.rows if r.errors})

    @property
    def good_changes(self) -> int:
        """Rows that would be written (new or changed) if the rows with problems are left out."""
        bad = set(self.error_line_numbers)
        return sum(1 for r in self.rows if r.status in (NEW, UPDATE) and r.line not in bad)

    def error_lines(self) -> list[str]:
        return [
            _("%(line)d行目 %(column)s: %(message)s") % {"line": line, "column": col or "-", "message": msg}
            for line, col, msg in self.errors
        ]

    def not_listed_text(self) -> str:
        return "、".join(
            _("%(name)s %(count)d行") % {"name": name, "count": count}
            for name, count in sorted(self.not_listed.items(), key=lambda item: (-item[1], item[0]))
        )

    def summary(self) -> str:
        t = self.totals
        text = _(
            "新規 %(new)d件、変更 %(update)d件、変更なし %(unchanged)d件、"
            "対象外（他の自治体） %(skipped)d件、誤り %(error_lines)d行"
        ) % t
        if self.not_listed:
            text += _("、このマップにない種類のため対象外 %(count)d行（%(list)s）") % {
                "count": t[NOT_LISTED], "list": self.not_listed_text(),
            }
        if self.committed and self.error_line_numbers:
            text += _("。誤りのある%(count)d行は取り込んでいません") % {"count": len(self.error_line_numbers)}
        return text


# ---------------------------------------------------------------------------------------------
# Normalising text


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def norm_name(text: str) -> str:
    """NFKC (``ＳＯＭＰＯ`` -> ``SOMPO``, full-width space -> space), runs of spaces as one."""
    return _SPACES_RE.sub(" ", _norm(text))


def norm_address(text: str) -> str:
    """NFKC, dashes between digits as ``-`` (``2‐32₋14`` -> ``2-32-14``), single spaces."""
    return _SPACES_RE.sub(" ", _DIGIT_DASH_RE.sub("-", _norm(text)))


def _hyphenate(digits: str) -> str:
    if len(digits) == 11 and digits[:3] in ("050", "070", "080", "090"):
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if len(digits) == 10 and digits[:4] in ("0120", "0800"):
        return f"{digits[:4]}-{digits[4:7]}-{digits[7:]}"
    if len(digits) == 10 and digits[:2] in ("03", "06"):
        return f"{digits[:2]}-{digits[2:6]}-{digits[6:]}"
    return digits


def normalise_phone(text: str) -> str:
    """``03₋6453₋2451`` -> ``03-6453-2451``; ``50-1753-5905`` (a spreadsheet dropped the zero) ->
    ``050-1753-5905``; ``03(1234)5678`` -> ``03-1234-5678``. Anything else is returned as is,
    to be reported by the phone validator."""
    value = _norm(text)
    if not value:
        return ""
    value = re.sub(r"\s*-\s*", "-", _DASH_RE.sub("-", value))
    match = PHONE_PARTS_RE.fullmatch(value)
    if match:
        value = "-".join(match.groups())
    if re.fullmatch(r"[1-9][\d-]+", value) and len(re.sub(r"\D", "", value)) in (9, 10):
        value = "0" + value
    if value.isdigit():
        value = _hyphenate(value)
    return value


_KANJI_DIGITS = {"〇": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def kanji_number(text: str) -> int | None:
    """``三`` -> 3, ``十二`` -> 12, ``二十`` -> 20 (up to 99); None if not a kanji number."""
    if not text or any(ch not in _KANJI_DIGITS and ch != "十" for ch in text):
        return None
    if "十" not in text:
        value = 0
        for ch in text:
            value = value * 10 + _KANJI_DIGITS[ch]
        return value
    tens, _sep, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1:
        return None
    return (_KANJI_DIGITS[tens] if tens else 1) * 10 + (_KANJI_DIGITS[ones] if ones else 0)


_KANJI_NUM_RE = re.compile(r"([〇一二三四五六七八九十]+)(?=丁目|番|号)")


def address_key(address: str) -> str:
    """Comparable form of an address up to the house number: no prefecture, no spaces, no
    building; ``一丁目10番1号`` / ``1丁目10番地1`` / ``1-10-1`` all become ``1-10-1``."""
    text = norm_address(address)
    text = PREFECTURE_RE.sub("", text)
    text = _SPACES_RE.sub("", text)
    text = _KANJI_NUM_RE.sub(lambda m: str(kanji_number(m[1]) if kanji_number(m[1]) is not None else m[1]), text)
    text = re.sub(r"(\d+)丁目", r"\1-", text)
    text = re.sub(r"(\d+)番地?(?:の)?", r"\1-", text)
    text = re.sub(r"(\d+)号", r"\1", text)
    text = re.sub(r"(\d+)の(?=\d)", r"\1-", text)
    text = re.sub(r"-+", "-", text)
    match = re.match(r"^(\D*?)(\d+(?:-\d+)*)", text)
    if match:
        return match[1] + match[2]
    return text


def name_key(name: str) -> str:
    return re.sub(r"[\s・･]", "", _norm(name)).casefold()


def _service_keys(text: str) -> list[str]:
    """Lookup keys of a service or type name: as is, without bracketed additions such as
    ``(複合型サービス)``, and without a trailing 事業所."""
    base = re.sub(r"\s", "", _norm(text))
    keys = [base] if base else []
    stripped = re.sub(r"\([^)]*\)", "", base)
    if stripped and stripped != base:
        keys.append(stripped)
    for key in list(keys):
        if key.endswith("事業所") and len(key) > 3:
            keys.append(key[:-3])
    return keys


def katakana(text: str) -> str:
    """Hiragana -> katakana (other characters unchanged)."""
    return "".join(chr(ord(ch) + 0x60) if "ぁ" <= ch <= "ゖ" else ch for ch in _norm(text))


def _digits_code(text: str, length: int, pad_from: int) -> str:
    """Text code; a purely numeric code of ``pad_from``..``length - 1`` digits is zero-padded."""
    text = _norm(text).replace("-", "")
    if text.endswith(".0") and text[:-2].isdigit():  # "130112345.0" from a spreadsheet
        text = text[:-2]
    if text.isdigit() and pad_from <= len(text) < length:
        text = text.zfill(length)
    return text


def _coordinate(text: str) -> Decimal | None:
    text = _norm(text)
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation as error:
        raise ValueError(_("「%(value)s」は数字ではありません。") % {"value": text}) from error
    if value == 0:
        return None
    return value.quantize(Decimal("0.000001"))


def split_multi(text: str) -> list[str]:
    return [p for p in MULTI_SPLIT_RE.split(_norm(text)) if p]


_DAY_WORDS = {
    "月": [0], "火": [1], "水": [2], "木": [3], "金": [4], "土": [5], "日": [6], "祝": [7],
    "平日": [0, 1, 2, 3, 4],
}


def parse_days(text: str) -> list[int]:
    """``月;火;水`` / ``平日,土曜日`` / ``月～金`` / ``月火水木金`` -> weekdays (7 = 祝日)."""
    days: list[int] = []
    for part in split_multi(text):
        part = part.replace("曜日", "").replace("曜", "").replace("祝日", "祝")
        range_match = re.fullmatch(r"([月火水木金土日])[~〜～\-ー]([月火水木金土日])", part)
        if range_match:
            order = "月火水木金土日"
            a, b = order.index(range_match[1]), order.index(range_match[2])
            found = list(range(a, b + 1)) if a <= b else []
        elif part in _DAY_WORDS:
            found = _DAY_WORDS[part]
        elif part and all(ch in "月火水木金土日祝" for ch in part):
            found = [d for ch in part for d in _DAY_WORDS[ch]]
        else:
            raise ValueError(_("曜日「%(value)s」が分かりません（例: 月;火;水 や 平日）。") % {"value": part})
        if not found:
            raise ValueError(_("曜日「%(value)s」が分かりません（例: 月;火;水 や 平日）。") % {"value": part})
        days.extend(d for d in found if d not in days)
    return sorted(days)


def _parse_time(text: str) -> dt.time:
    match = TIME_RE.match(text)
    if not match or int(match[1]) > 24 or int(match[2]) > 59:
        raise ValueError(_("時刻「%(value)s」は「09:00」の形で書いてください。") % {"value": text})
    hour, minute = int(match[1]), int(match[2])
    return dt.time(0) if hour == 24 else dt.time(hour, minute)


def full_address(address: str, prefecture: str, city: str, municipality: Municipality | None) -> str:
    address = norm_address(address)
    if not address or PREFECTURE_RE.match(address):
        return address
    if not city:
        return address
    prefecture = prefecture or (municipality.prefecture if municipality else "")
    if not address.startswith(city):
        address = city + address
    return prefecture + address


def strip_building(address: str, building: str) -> str:
    """MHLW 住所 already ends with the 方書 (sometimes with no separator): keep it once."""
    if building and address.endswith(building) and len(address) > len(building):
        return address[: -len(building)].rstrip(" ")
    squeezed = building.replace(" ", "")
    if squeezed and address.replace(" ", "").endswith(squeezed):
        # The same building written with different spacing: cut as many characters.
        kept, count = address, len(squeezed)
        while count and kept:
            if kept[-1] != " ":
                count -= 1
            kept = kept[:-1]
        return kept.rstrip(" ") or address
    return address


def nearest_district(lat: Decimal | None, lng: Decimal | None, districts: list[Area]) -> str | None:
    if lat is None or lng is None or not districts:
        return None
    best = min(
        districts,
        key=lambda a: geo.haversine_m(float(lat), float(lng), float(a.center_lat), float(a.center_lng)),
    )
    return best.code


_TOWN_CHOME_RE = re.compile(r"^(\D+?)(\d+)(?:-|$)")


class DistrictTable:
    """町丁目 -> 地区 from the reference table (``DistrictTown``)."""

    def __init__(self, municipality: Municipality | None):
        self.municipality = municipality
        self.towns: dict[str, list[tuple[set[int] | None, str]]] = {}
        for row in DistrictTown.objects.select_related("district"):
            self.towns.setdefault(name_key(row.town), []).append((row.chome_numbers(), row.district.code))

    def district_for(self, address: str) -> str | None:
        if not self.towns:
            return None
        key = address_key(address)
        if self.municipality and key.startswith(self.municipality.name):
            key = key[len(self.municipality.name):]
        match = _TOWN_CHOME_RE.match(key)
        town, chome = (match[1], int(match[2])) if match else (re.sub(r"\d.*$", "", key), None)
        entries = self.towns.get(name_key(town))
        if not entries:
            return None
        for numbers, code in entries:
            if numbers is not None and chome in numbers:
                return code
        for numbers, code in entries:
            if numbers is None:
                return code
        return None


# ---------------------------------------------------------------------------------------------
# Reading


def detect_layout(headers: Iterable[str]) -> str:
    present = {_norm(h) for h in headers}
    if all(_norm(h) in present for h in NAVII_HEADERS):
        return NAVII
    if "所在地_連結表記" in present or "名称_英字" in present or "名称_英語" in present or (
        "所在地_全国地方公共団体コード" in present
    ):
        return STANDARD
    if "事業所名" in present and "サービスの種類" in present:
        return MHLW
    if "医療機関の種類" in present and "名称" in present:
        return V1_MEDICAL
    if "介護サービス事業所名称" in present and "実施サービス" in present:
        return V1_CARE
    raise LayoutError(
        _("見出しの行からファイルの種類が分かりません。介護サービス情報公表システム、推奨データセット（医療機関一覧・介護サービス事業所一覧）、自治体標準オープンデータセット、医療情報ネット（ナビイ）のCSVを選んでください。")
        + " "
        + _("このファイルの列: %(columns)s") % {"columns": "、".join(h for h in headers if h) or "-"}
    )


def column_map(headers: list[str], layout: str | None = None) -> dict[str, str]:
    """alias key -> the header present in the file."""
    result = {}
    for key, names in ALIASES.items():
        if key in NAVII_ONLY_KEYS and layout not in (NAVII, None):
            continue
        for name in names:
            name = _norm(name)  # headers are NFKC-normalised (full-width brackets and so on)
            if name in headers:
                result[key] = name
                break
    return result


REQUIRED_KEYS = {
    MHLW: ("name", "address", "service"),
    V1_MEDICAL: ("name", "address", "medical_kind"),
    V1_CARE: ("name", "address", "service"),
    STANDARD: ("name", "address"),
    NAVII: ("navii_id", "name", "address"),
}


# ---------------------------------------------------------------------------------------------
# 医療情報ネット（ナビイ）: open days, closures, hours file


def navii_open_days(row: Mapping[str, str], columns: Mapping[str, str]) -> list[int] | None:
    """Weekdays (7 = 祝日) flagged 1 = open; None when nothing was reported (all zero/empty)."""
    days = []
    for index, char in enumerate(WEEKDAY_CHARS):
        if _norm(row.get(_norm(NAVII_WEEKDAY_HEADER.format(day=char))) or "") == "1":
            days.append(index)
    holiday = columns.get("holiday_open")
    if holiday and _norm(row.get(holiday) or "") == "1":
        days.append(7)
    return days or None


def days_text(days: Iterable[int]) -> str:
    labels = [*WEEKDAY_CHARS, "祝日"]
    return "・".join(labels[d] for d in days)


_DATE_RE = re.compile(r"^(\d{1,2})月(\d{1,2})日$")
_NTH_RE = re.compile(r"^(\d{1,2})月第([1-5一二三四五])([月火水木金土日])曜日?$")


def _next_occurrence(month: int, day: int, today: dt.date) -> dt.date | None:
    for year in (today.year, today.year + 1):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


def _nth_weekday(year: int, month: int, nth: int, weekday: int) -> dt.date | None:
    first = dt.date(year, month, 1)
    day = first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
    return day if day.month == month else None


def parse_closures(text: str, today: dt.date) -> tuple[list[dict[str, Any]], list[str]]:
    """``01月01日，01月02日，06月第二土曜日`` -> (dated closures for their next occurrence, with
    consecutive days merged; parts not understood, kept as a note)."""
    dates: set[dt.date] = set()
    other: list[str] = []
    for part in split_multi(text):
        part = part.replace(" ", "")
        match = _DATE_RE.match(part)
        nth = _NTH_RE.match(part)
        if match:
            found = _next_occurrence(int(match[1]), int(match[2]), today)
            if found:
                dates.add(found)
                continue
        elif nth:
            month = int(nth[1])
            number = int(nth[2]) if nth[2].isdigit() else "一二三四五".index(nth[2]) + 1
            weekday = WEEKDAY_CHARS.index(nth[3])
            for year in (today.year, today.year + 1):
                found = _nth_weekday(year, month, number, weekday)
                if found and found >= today:
                    dates.add(found)
                    break
            else:
                other.append(part)
            continue
        other.append(part)
    spans: list[dict[str, Any]] = []
    for day in sorted(dates):
        if spans and spans[-1]["end_date"] + dt.timedelta(days=1) == day:
            spans[-1]["end_date"] = day
        else:
            spans.append({"start_date": day, "end_date": day, "closed": True, "note": "休診日"})
    for span in spans:
        start, end = span["start_date"], span["end_date"]
        if (start.month == 12 and (end.month == 1 or end.day == 31)) or (start.month == 1 and start.day <= 3):
            span["note"] = "年末年始"
    return spans, other


@dataclass
class NaviiHours:
    """Weekly periods per facility ID from a ``*_speciality_hours`` file."""

    periods: dict[str, list[tuple[int, dt.time, dt.time]]]
    rows: int


HOURS_DAY_CHARS = (*WEEKDAY_CHARS, "祝")


def read_navii_hours(data: bytes, ids: set[str] | None = None) -> NaviiHours:
    """Read an hours file by header name: ``ID`` and ``{曜}_診療開始時間`` / ``{曜}_診療終了時間``
    (月…日, 祝). Start = end means no hours that day; 00:00–23:59 means 24 hours. All
    departments and time slots of a facility are merged."""
    dataset = formats.read_csv(data)
    headers = [_norm(h) for h in dataset.headers or []]
    columns = {}
    for index, char in enumerate(HOURS_DAY_CHARS):
        start, end = f"{char}_診療開始時間", f"{char}_診療終了時間"
        if start in headers and end in headers:
            columns[index] = (start, end)
    if "ID" not in headers or not columns:
        raise LayoutError(
            _("診療時間のファイルに「ID」と「月_診療開始時間」「月_診療終了時間」…の列がありません。このファイルの列: %(columns)s")
            % {"columns": "、".join(h for h in headers if h) or "-"}
        )
    periods: dict[str, set[tuple[int, dt.time, dt.time]]] = {}
    rows = 0
    for values in dataset.dict:
        rows += 1
        row = {_norm(k): _norm(v or "") for k, v in values.items()}
        facility = row.get("ID", "")
        if not facility or (ids is not None and facility not in ids):
            continue
        for weekday, (start_col, end_col) in columns.items():
            start, end = row.get(start_col, ""), row.get(end_col, "")
            if not start or not end or start == end:
                continue
            try:
                opens = _parse_time(start[:5])
                closes = dt.time(0) if end[:5] == "23:59" else _parse_time(end[:5])
            except ValueError:
                continue
            periods.setdefault(facility, set()).add((weekday, opens, closes))
    return NaviiHours({k: _merge_periods(v) for k, v in periods.items()}, rows)


def _merge_periods(periods: Iterable[tuple[int, dt.time, dt.time]]) -> list[tuple[int, dt.time, dt.time]]:
    """Overlapping or touching periods of a weekday merged (a 24-hour period absorbs the rest)."""
    result = []
    by_day: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for weekday, opens, closes in periods:
        by_day.setdefault(weekday, []).append((opens, closes))
    for weekday in sorted(by_day):
        spans = sorted(by_day[weekday])
        if any(o == dt.time(0) and c == dt.time(0) for o, c in spans):
            result.append((weekday, dt.time(0), dt.time(0)))
            continue
        merged: list[list[dt.time]] = []
        for opens, closes in spans:
            if closes <= opens:  # past midnight: keep as its own period
                merged.append([opens, closes])
                continue
            if merged and merged[-1][1] > merged[-1][0] and opens <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], closes)
            else:
                merged.append([opens, closes])
        result.extend((weekday, o, c) for o, c in merged)
    return result


# ---------------------------------------------------------------------------------------------
# Import


class _Index:
    """Every provider, loaded once, looked up by code, ナビイ ID and name/address keys."""

    def __init__(self):
        self.by_pk: dict[int, Provider] = {}
        self.medical: dict[str, int] = {}
        self.care: dict[tuple[str, int], int] = {}
        self.external: dict[tuple[str, str], int] = {}
        self.by_name_address: dict[tuple[int, str, str], list[int]] = {}
        self.by_address: dict[tuple[int, str], list[int]] = {}
        self.by_name: dict[tuple[int, str], list[int]] = {}
        for provider in Provider.objects.select_related("provider_type", "area"):
            self.add(provider)
        for scheme, value, provider_id in ProviderExternalId.objects.values_list("scheme", "value", "provider_id"):
            self.external[(scheme, value)] = provider_id

    def add(self, provider: Provider) -> None:
        self.by_pk[provider.pk] = provider
        if provider.medical_code:
            self.medical[provider.medical_code] = provider.pk
        if provider.care_code:
            self.care[(provider.care_code, provider.provider_type_id)] = provider.pk
        name, address = name_key(provider.name), address_key(provider.address)
        type_id = provider.provider_type_id
        self.by_name_address.setdefault((type_id, name, address), []).append(provider.pk)
        self.by_address.setdefault((type_id, address), []).append(provider.pk)
        self.by_name.setdefault((type_id, name), []).append(provider.pk)


def _different_places(data: Mapping[str, Any], provider: Provider) -> bool:
    """True when codes or buildings show that a row and a provider are not the same office
    (several clinics in one building share the address)."""
    for key in ("medical_code", "care_code", "corporate_number"):
        if data.get(key) and getattr(provider, key) and getattr(provider, key) != data[key]:
            return True
    building = name_key(data.get("building", ""))
    return bool(building and provider.building and name_key(provider.building) != building)


class _Importer:
    def __init__(self, layout: str, columns: dict[str, str], file_name: str):
        self.layout = layout
        self.columns = columns
        self.file_name = file_name
        self.municipality = Municipality.current()
        self.types = list(ProviderType.objects.all())
        self.by_service = {t.service_code: t for t in self.types if t.service_code}
        self.by_kind: dict[str, ProviderType] = {}
        self.by_name: dict[str, ProviderType] = {}
        for t in self.types:
            for kind in split_multi(t.medical_kinds):
                self.by_kind.setdefault(_norm(kind), t)
        for t in self.types:  # names before aliases, so a type's own name always wins
            for key in _service_keys(t.name):
                self.by_name.setdefault(key, t)
            self.by_name.setdefault(t.code, t)
        for t in self.types:
            for alias in split_multi(t.import_names) + split_multi(t.medical_kinds):
                for key in _service_keys(alias):
                    self.by_name.setdefault(key, t)
        match = FILE_CODE_RE.search(file_name or "")
        self.file_code = match[1] if match else ""
        self.navii_file_kind = ""
        if layout == NAVII:
            lowered = (file_name or "").lower()
            self.navii_file_kind = next((kind for word, kind in NAVII_FILE_KINDS if word in lowered), "")
        # District centres still waiting to be derived from providers are not real positions.
        self.districts = [
            a for a in Area.objects.filter(level=Area.Level.DISTRICT).annotate(located=Count("providers"))
            if not a.center_derived or a.located
        ]
        self.district_table = DistrictTable(self.municipality)
        self.seen: dict[tuple, int] = {}
        self.today = timezone.localdate()
        self.hours: NaviiHours | None = None

    def header(self, key: str) -> str:
        return self.columns.get(key) or ALIASES[key][0]

    def cell(self, row: Mapping[str, str], key: str) -> str:
        header = self.columns.get(key)
        return (row.get(header) or "").strip() if header else ""

    def type_by_name(self, text: str) -> ProviderType | None:
        for key in _service_keys(text):
            found = self.by_name.get(key)
            if found is not None:
                return found
        return None

    # -- row level ---------------------------------------------------------------------------

    def in_municipality(self, row) -> bool:
        muni = self.municipality
        if muni is None:
            return True
        code = _norm(self.cell(row, "muni_code"))
        if self.layout == NAVII:
            pref, city_code = _norm(self.cell(row, "pref_code")), _norm(self.cell(row, "city_code"))
            if pref.isdigit() and city_code.isdigit():
                code = pref.zfill(2) + city_code.zfill(3)
        if code.endswith(".0"):
            code = code[:-2]
        city = _norm(self.cell(row, "city"))
        if city and PREFECTURE_RE.match(city):
            city = PREFECTURE_RE.sub("", city)
        if code.isdigit() and (code.zfill(6) == muni.code or code == muni.code[:5]):
            return True
        if city:
            return city == muni.name
        prefecture_only = (code.isdigit() and (len(code) <= 2 or code.zfill(6).endswith("0000"))) or (
            bool(code) and code == muni.prefecture
        )
        if code and not prefecture_only:
            return False
        # No municipality code: decide by the address.
        address = PREFECTURE_RE.sub("", norm_address(self.cell(row, "address")))
        return not address or address.startswith(muni.name)

    def types_for(self, row, errors: list[tuple[str, str]], not_listed: list[str]) -> list[ProviderType]:
        """The map's types for the row. Services the map does not list go to ``not_listed``."""
        type_name = self.cell(row, "type_name")
        if type_name:
            found = self.by_name.get(_norm(type_name)) or self.type_by_name(type_name)
            if found is None:
                errors.append((self.header("type_name"),
                               _("種別「%(value)s」は登録されていません。") % {"value": type_name}))
                return []
            return [found]
        service = self.cell(row, "service")
        if service:
            found_types: list[ProviderType] = []
            for part in split_multi(service):
                code = part.split(" ")[0]
                found = self.by_service.get(code.zfill(3) if code.isdigit() else code) or self.type_by_name(part)
                if found is None and self.file_code and self.layout == MHLW:
                    found = self.by_service.get(self.file_code)
                if found is None:
                    not_listed.append(_norm(part))
                elif found not in found_types:
                    found_types.append(found)
            return found_types
        if self.layout == NAVII:
            kind = NAVII_KINDS.get(_norm(self.cell(row, "navii_kind"))) or self.navii_file_kind
            found = self.by_kind.get(kind) or self.type_by_name(kind) if kind else None
            if found is None:
                not_listed.append(kind or _norm(self.cell(row, "navii_kind")) or "-")
                return []
            return [found]
        kind = self.cell(row, "medical_kind")
        if kind:
            found = self.by_kind.get(_norm(kind)) or self.type_by_name(kind)
            if found is None:
                not_listed.append(_norm(kind))
                return []
            return [found]
        if self.file_code and self.layout == MHLW and self.file_code in self.by_service:
            return [self.by_service[self.file_code]]
        key = "service" if "service" in self.columns or self.layout in (MHLW, V1_CARE) else "medical_kind"
        errors.append((self.header(key), _("種別を決める値が空です。")))
        return []

    def parse(self, row, errors: list[tuple[str, str]]) -> dict[str, Any]:
        """Fields present in the row (empty cells left out)."""
        data: dict[str, Any] = {}
        for key in ("name", "corporate_name"):
            value = norm_name(self.cell(row, key))
            if value:
                data[key] = value
        name_en = norm_name(self.cell(row, "name_en"))
        if name_en:
            data["name_en"] = name_en
        kana = norm_name(self.cell(row, "kana"))
        if kana:
            data["kana"] = katakana(kana)
        address = self.cell(row, "address")
        if not address and ("town" in self.columns or "block" in self.columns):
            address = "".join(self.cell(row, k) for k in ("prefecture", "city", "town", "block"))
        city = norm_name(self.cell(row, "city"))
        address = full_address(address, _norm(self.cell(row, "prefecture")),
                               PREFECTURE_RE.sub("", city), self.municipality)
        building = norm_name(self.cell(row, "building"))
        if address:
            data["address"] = strip_building(address, building)
        if building:
            data["building"] = building
        for key in ("phone", "fax"):
            value = normalise_phone(self.cell(row, key))
            if value:
                data[key] = value
        website = _norm(self.cell(row, "website"))
        if website:
            data["website"] = website
        for key, length, pad_from in (("care_code", 10, 9), ("medical_code", 10, 9),
                                      ("corporate_number", 13, 12)):
            value = _digits_code(self.cell(row, key), length, pad_from)
            if value:
                data[key] = value
        try:
            lat = _coordinate(self.cell(row, "lat"))
        except ValueError as error:
            errors.append((self.header("lat"), str(error)))
            lat = None
        try:
            lng = _coordinate(self.cell(row, "lng"))
        except ValueError as error:
            errors.append((self.header("lng"), str(error)))
            lng = None
        if lat is not None and lng is not None:
            data["latitude"], data["longitude"] = lat, lng
        if not data.get("name"):
            errors.append((self.header("name"), _("名称が空です。")))
        if not data.get("address"):
            errors.append((self.header("address"), _("住所が空です。")))
        return data

    def hours_for_new(self, row, errors) -> tuple[list | None, str, list[dict[str, Any]]]:
        """(periods or None for unknown, hours note, dated exceptions) for a new provider."""
        if self.layout == NAVII:
            return self.navii_hours(row)
        days_text_value, opens_text, closes_text = (
            self.cell(row, "days"), _norm(self.cell(row, "opens")), _norm(self.cell(row, "closes"))
        )
        note_parts = []
        if days_text_value and not (opens_text and closes_text):
            note_parts.append(f"{self.header('days')}: {days_text_value}")
        note = self.cell(row, "days_note")
        if note:
            note_parts.append(note)
        hours_note = " ".join(note_parts)[:300]
        if not (days_text_value and opens_text and closes_text):
            return None, hours_note, []
        try:
            days = parse_days(days_text_value)
        except ValueError as error:
            errors.append((self.header("days"), str(error)))
            return None, hours_note, []
        starts, ends = split_multi(opens_text), split_multi(closes_text)
        if len(starts) != len(ends):
            errors.append((self.header("closes"), _("開始時間と終了時間の数が合いません。")))
            return None, hours_note, []
        periods = []
        for start, end in zip(starts, ends, strict=True):
            try:
                opens, closes = _parse_time(start), _parse_time(end)
            except ValueError as error:
                errors.append((self.header("opens"), str(error)))
                return None, hours_note, []
            periods.extend((day, opens, closes) for day in days)
        return periods, hours_note, []

    def navii_hours(self, row) -> tuple[list | None, str, list[dict[str, Any]]]:
        note_parts = []
        days = navii_open_days(row, self.columns)
        periods = None
        if self.hours is not None:
            periods = self.hours.periods.get(_norm(self.cell(row, "navii_id"))) or None
        if days and periods is None:
            note_parts.append(_("診療日（医療情報ネットの届出）: %(days)s") % {"days": days_text(days)})
        exceptions, other = parse_closures(self.cell(row, "other_closures"), self.today)
        if other:
            note_parts.append(_("その他の休診日: %(days)s") % {"days": "、".join(other)})
        return periods, " ".join(note_parts)[:300], exceptions

    def match(self, data: Mapping[str, Any], ptype: ProviderType, index: _Index,
              navii_id: str) -> tuple[Provider | None, Provider | None]:
        """(the provider this row is, or a likely duplicate to show staff)."""
        found_id = None
        if data.get("medical_code"):
            found_id = index.medical.get(data["medical_code"])
        if found_id is None and data.get("care_code"):
            found_id = index.care.get((data["care_code"], ptype.pk))
        if found_id is None and navii_id:
            found_id = index.external.get((ProviderExternalId.Scheme.NAVII, navii_id))
        if found_id is not None:
            return index.by_pk.get(found_id), None
        name, address = name_key(data.get("name", "")), address_key(data.get("address", ""))
        candidates = index.by_name_address.get((ptype.pk, name, address), [])
        if len(candidates) == 1:
            found = index.by_pk[candidates[0]]
            clash = any(
                data.get(key) and getattr(found, key) and getattr(found, key) != data[key]
                for key in ("medical_code", "care_code")
            )
            if not clash:
                return found, None
        likely = [
            pk for pk in index.by_address.get((ptype.pk, address), []) + index.by_name.get((ptype.pk, name), [])
            if not _different_places(data, index.by_pk[pk])
        ]
        if candidates or likely:
            return None, index.by_pk[(candidates or likely)[0]]
        return None, None

    def key_for(self, data: Mapping[str, Any], ptype: ProviderType, navii_id: str) -> tuple:
        if data.get("medical_code"):
            return ("medical", data["medical_code"])
        if data.get("care_code"):
            return ("care", data["care_code"], ptype.pk)
        if navii_id:
            return ("navii", navii_id)
        return ("name", ptype.pk, name_key(data.get("name", "")), address_key(data.get("address", "")))

    def district_for(self, data: Mapping[str, Any]) -> tuple[str | None, str]:
        """(district code, how it was found)."""
        code = self.district_table.district_for(data.get("address", ""))
        if code:
            return code, "town"
        code = nearest_district(data.get("latitude"), data.get("longitude"), self.districts)
        return code, "nearest" if code else ""

    def error_column(self, field_name: str) -> str:
        key = FIELD_KEYS.get(field_name)
        if key and key in self.columns:
            return self.columns[key]
        if field_name == "area" or field_name == "provider_type":
            return self.header("service" if "service" in self.columns else "medical_kind")
        label = providers._row_field_label(field_name)
        return label or "-"


def read_dataset(data: bytes):
    """Decode (utf-8-sig, cp932, utf-16; XLSX/ZIP refused) and parse the CSV."""
    return formats.read_csv(data)


def import_file(
    data: bytes,
    *,
    file_name: str = "",
    commit: bool = False,
    user=None,
    leave_out_errors: bool = False,
    hours_data: bytes | None = None,
    hours_file_name: str = "",
    base_versions: Mapping[int, int] | None = None,
) -> ImportReport:
    """Check (and with ``commit`` save) a public-format CSV. Raises ``formats.FileFormatError``
    for an unreadable file or unknown layout; row problems are in the report.

    Without ``leave_out_errors`` nothing is saved when any row has a problem; with it, the rows
    with problems are left out and the others saved (``report.left_out_rows``). ``hours_data``
    is a ナビイ ``*_speciality_hours`` file for the facility file in ``data``.

    ``base_versions`` ({provider id: version}, from a preview's ``RowOutcome.version``) makes
    each update refuse what changed after the preview (see ``providers.provider_update``); a
    provider the preview did not match is then an error too."""
    started = time.monotonic()
    dataset = read_dataset(data)
    raw_headers = [h or "" for h in dataset.headers or []]
    headers = [_norm(h) for h in raw_headers]
    layout = detect_layout(headers)
    columns = column_map(headers, layout)
    missing = [" / ".join(ALIASES[k]) for k in REQUIRED_KEYS[layout] if k not in columns]
    if layout == STANDARD and not any(k in columns for k in ("type_name", "service", "medical_kind")):
        missing.append("種別 / 実施サービス / 医療機関の種類")
    if missing:
        raise LayoutError(
            _("必要な列「%(names)s」がありません。このファイルの列: %(columns)s")
            % {"names": "」「".join(missing), "columns": "、".join(h for h in headers if h) or "-"}
        )
    with Municipality.pinned():
        return _import(data=data, dataset=dataset, layout=layout, columns=columns, raw_headers=raw_headers,
                       headers=headers, file_name=file_name, commit=commit, user=user,
                       leave_out_errors=leave_out_errors, hours_data=hours_data,
                       hours_file_name=hours_file_name, started=started, base_versions=base_versions)


def _import(*, data, dataset, layout, columns, raw_headers, headers, file_name, commit, user,
            leave_out_errors, hours_data, hours_file_name, started, base_versions=None) -> ImportReport:
    importer = _Importer(layout, columns, file_name)
    report = ImportReport(layout=layout, file_name=file_name, committed=False, headers=raw_headers,
                          leave_out_errors=leave_out_errors, hours_file_name=hours_file_name)
    source = f"{SOURCE_LABELS[layout]} {file_name}".strip()
    actor_kind = ProviderChange.Actor.IMPORT
    rows_by_line: dict[int, list[str]] = {}

    with transaction.atomic():
        index = _Index()
        new_rows: list[dict[str, Any]] = []
        new_outcomes: list[RowOutcome] = []
        wanted: list[tuple[dict, str]] = []
        for line, values in enumerate(dataset.dict, start=2):
            report.rows_read += 1
            row = {_norm(k): (v or "") for k, v in values.items()}
            if not importer.in_municipality(row):
                report.rows.append(RowOutcome(line, SKIPPED, name=importer.cell(row, "name")))
                continue
            wanted.append((row, line))
            rows_by_line[line] = [values.get(h) or "" for h in raw_headers]
        if layout == NAVII and hours_data is not None:
            ids = {_norm(importer.cell(row, "navii_id")) for row, _line in wanted}
            importer.hours = read_navii_hours(hours_data, ids)
        for row, line in wanted:
            errors: list[tuple[str, str]] = []
            not_listed: list[str] = []
            ptypes = importer.types_for(row, errors, not_listed)
            if ptypes:
                report.not_listed.update(not_listed)  # 実施サービス parts the map does not list
            if not ptypes and not errors:
                report.rows.append(RowOutcome(line, NOT_LISTED, name=norm_name(importer.cell(row, "name")),
                                              type_name="、".join(not_listed)))
                report.not_listed.update(not_listed)
                continue
            data = importer.parse(row, errors)
            if errors:
                report.rows.append(RowOutcome(line, ERROR, name=data.get("name", ""), errors=errors))
                continue
            navii_id = _norm(importer.cell(row, "navii_id")) if layout == NAVII else ""
            for ptype in ptypes:
                outcome = RowOutcome(line, UNCHANGED, name=data["name"], type_name=ptype.name)
                report.rows.append(outcome)
                key = importer.key_for(data, ptype, navii_id)
                if key in importer.seen:
                    outcome.status = ERROR
                    outcome.errors.append((importer.header("name"), _(
                        "%(line)d行目と同じ事業所です（同じファイルに2回あります）。"
                    ) % {"line": importer.seen[key]}))
                    continue
                importer.seen[key] = line
                existing, likely = importer.match(data, ptype, index, navii_id)
                if existing is not None:
                    _update(importer, existing, data, outcome, user, source, actor_kind, navii_id, index,
                            base_versions=base_versions)
                elif likely is not None:
                    outcome.status = ERROR
                    outcome.provider_id = likely.pk
                    outcome.errors.append((importer.header("name"), _(
                        "登録済みの「%(name)s」（%(address)s、ID %(id)d）と同じ事業所かもしれません。"
                        "同じなら、その事業所に%(code)sを書き足してから取り込み直してください。"
                        "別の事業所なら、名称か住所の違いが分かるように直してください。"
                    ) % {"name": likely.name, "address": likely.address, "id": likely.pk,
                         "code": _("事業所番号などのコード")}))
                else:
                    _prepare_new(importer, row, data, ptype, outcome, new_rows, new_outcomes, navii_id)
        if new_rows:
            _create_all(importer, new_rows, new_outcomes, user, source, actor_kind)
        for outcome in report.rows:
            if outcome.errors:
                outcome.status = ERROR
        bad_lines = set(report.error_line_numbers)
        if bad_lines and not leave_out_errors:
            report.committed = False
        else:
            report.committed = commit
        report.left_out_rows = {line: rows_by_line[line] for line in sorted(bad_lines) if line in rows_by_line}
        if not report.committed:
            transaction.set_rollback(True)
        elif importer.municipality is not None and (
            importer.municipality.geometry_derived or any(a.center_derived for a in importer.districts)
            or Area.objects.filter(center_derived=True).exists()
        ):
            from ..reference import derive_geometry

            derive_geometry()  # a minimal reference file: centre and bounds from the providers
    report.seconds = time.monotonic() - started
    return report


def left_out_csv(report: ImportReport) -> bytes:
    """The rows with problems as they were in the file, plus a column with the reasons."""
    reasons: dict[int, list[str]] = {}
    for line, column, message in report.errors:
        reasons.setdefault(line, []).append(f"{column}: {message}" if column and column != "-" else message)
    headers = [*report.headers, LEFT_OUT_REASON_HEADER]
    rows = ([*cells, " / ".join(reasons.get(line, []))] for line, cells in sorted(report.left_out_rows.items()))
    return formats.write_csv(headers, rows)


def _prepare_new(importer, row, data, ptype, outcome, new_rows, new_outcomes, navii_id) -> None:
    errors: list[tuple[str, str]] = []
    periods, hours_note, exceptions = importer.hours_for_new(row, errors)
    if errors:
        outcome.errors.extend(errors)
        return
    fields = dict(data)
    fields["provider_type"] = ptype.code
    if not fields.get("kana"):
        # Blank カナ is allowed in municipal files: derived from a name written in kana, else
        # the name itself keeps the 五十音 order usable until staff or the survey fill it in.
        fields["kana"] = katakana(fields.get("name", ""))
    fields["status"] = Provider.Status.ACTIVE
    fields["area"], how = importer.district_for(data)
    fields["hours_unknown"] = periods is None
    if hours_note:
        fields["hours_note"] = hours_note
    notes = importer.cell(row, "notes")
    if notes:
        fields["notes"] = notes
    outcome.status = NEW
    outcome.changes = {
        k: [None, providers._plain(v.code if isinstance(v, ProviderType | Area) else v)]
        for k, v in fields.items() if v not in (None, "", False)
    }
    if fields["area"]:
        outcome.note = _("地区は住所の町丁目から決めました。") if how == "town" else _(
            "地区はいちばん近い地区の中心から決めました（町丁目の表にない住所）。"
        )
    if periods:
        outcome.changes[providers.HOURS_KEY] = [None, hours_format(periods)]
    if exceptions:
        outcome.changes[providers.EXCEPTIONS_KEY] = [None, providers.exceptions_text(exceptions)]
    if navii_id:
        outcome.changes["navii_id"] = [None, navii_id]
    new_rows.append({"data": fields, "periods": periods or [], "capabilities": {},
                     "exceptions": exceptions, "navii_id": navii_id})
    new_outcomes.append(outcome)


def _create_all(importer, new_rows, new_outcomes, user, source, actor_kind) -> None:
    rows, outcomes = list(new_rows), list(new_outcomes)
    for _attempt in range(2):
        try:
            created = providers.providers_bulk_create(rows=rows, actor_kind=actor_kind, user=user, source=source)
        except ValidationError as error:
            row_errors = getattr(error, "row_errors", {}) or {}
            for index, field_errors in row_errors.items():
                outcome = outcomes[index - 1]
                for field_name, messages in field_errors.items():
                    outcome.errors.extend((importer.error_column(field_name), m) for m in messages)
            if not row_errors:
                outcomes[0].errors.extend(("-", m) for m in error.messages)
                return
            # Try once more with the good rows, for the preview and for "leave out the bad rows".
            keep = [i for i in range(len(rows)) if (i + 1) not in row_errors]
            rows, outcomes = [rows[i] for i in keep], [outcomes[i] for i in keep]
            if not rows:
                return
            continue
        for outcome, provider in zip(outcomes, created, strict=True):
            outcome.provider_id = provider.pk
        ProviderExternalId.objects.bulk_create(
            [ProviderExternalId(provider=p, scheme=ProviderExternalId.Scheme.NAVII, value=row["navii_id"])
             for p, row in zip(created, rows, strict=True) if row.get("navii_id")],
            batch_size=1000,
        )
        return


def _update(importer, provider: Provider, data, outcome: RowOutcome, user, source, actor_kind,
            navii_id: str = "", index: _Index | None = None,
            base_versions: Mapping[int, int] | None = None) -> None:
    outcome.provider_id = provider.pk
    outcome.version = provider.version
    base_version = None
    if base_versions is not None:
        base_version = base_versions.get(provider.pk)
        if base_version is None:
            outcome.errors.append((importer.header("name"), _(
                "確認画面の後に登録された事業所と同じです。もう一度ファイルを選んでください。"
            )))
            return
    # Only the fields the file has are compared (the rest are never touched by an import).
    before = {name: providers.field_value(provider, name) for name in (*data, "area")}
    changes = {k: v for k, v in data.items() if providers._plain(v) != before.get(k)}
    if "latitude" in changes or "longitude" in changes:
        changes["latitude"], changes["longitude"] = data["latitude"], data["longitude"]
        if provider.area_id is None:
            changes["area"], _how = importer.district_for(data)
    new_id = bool(navii_id) and index is not None and (ProviderExternalId.Scheme.NAVII, navii_id) not in index.external
    if not changes and not new_id:
        return
    outcome.status = UPDATE
    outcome.changes = {k: [before.get(k), providers._plain(v)] for k, v in changes.items()}
    if new_id:
        outcome.changes["navii_id"] = [None, navii_id]
    if changes:
        try:
            # Capabilities, hours and exceptions are left as they are (None).
            providers.provider_update(
                provider=provider, changes=changes, actor_kind=actor_kind, user=user, source=source,
                base_version=base_version,
            )
        except ValidationError as error:
            for field_name, messages in error.message_dict.items():
                outcome.errors.extend((importer.error_column(field_name), m) for m in messages)
            return
    if new_id:
        ProviderExternalId.objects.create(provider=provider, scheme=ProviderExternalId.Scheme.NAVII, value=navii_id)
        index.external[(ProviderExternalId.Scheme.NAVII, navii_id)] = provider.pk


# ---------------------------------------------------------------------------------------------
# Export

STANDARD_HEADERS = (
    "全国地方公共団体コード", "ID", "地方公共団体名", "名称", "名称_カナ", "名称_英字",
    "所在地_全国地方公共団体コード", "町字ID", "所在地_連結表記", "所在地_都道府県", "所在地_市区町村",
    "所在地_町字", "所在地_番地以下", "建物名等(方書)", "緯度", "経度",
)
DOMAIN_HEADERS = (
    "電話番号", "FAX番号", "法人番号", "法人の名称", "医療機関コード", "事業所番号", "種別", "URL", "備考",
)
PORTAL_HEADERS = ("対応できること", "最終確認日")
EXPORT_HEADERS = STANDARD_HEADERS + DOMAIN_HEADERS + PORTAL_HEADERS
_TOWN_RE = re.compile(r"^(\D+?)(\d.*)$")


def split_address(address: str, municipality: Municipality | None) -> tuple[str, str, str, str]:
    """(都道府県, 市区町村, 町字, 番地以下) from a full address; best effort."""
    rest = address or ""
    prefecture = city = ""
    match = PREFECTURE_RE.match(rest)
    if match:
        prefecture, rest = match[1], rest[match.end():]
    if municipality and rest.startswith(municipality.name):
        city, rest = municipality.name, rest[len(municipality.name):]
    town, block = rest, ""
    town_match = _TOWN_RE.match(rest)
    if town_match:
        town, block = town_match[1], town_match[2]
    return prefecture, city, town, block


def export_row(provider: Provider, municipality: Municipality | None) -> list[str]:
    code = municipality.code if municipality else ""
    muni_name = f"{municipality.prefecture}{municipality.name}" if municipality else ""
    prefecture, city, town, block = split_address(provider.address, municipality)
    caps = ";".join(pc.capability.name for pc in provider.provider_capabilities.all())
    return [
        code, str(provider.pk), muni_name, provider.name, provider.kana, provider.name_en,
        code, "", provider.address, prefecture, city, town, block, provider.building,
        "" if provider.latitude is None else str(provider.latitude),
        "" if provider.longitude is None else str(provider.longitude),
        provider.phone, provider.fax, provider.corporate_number, provider.corporate_name,
        provider.medical_code, provider.care_code, provider.provider_type.name, provider.website,
        provider.notes, caps,
        provider.last_confirmed_on.isoformat() if provider.last_confirmed_on else "",
    ]


def export_rows(ids: list[int], municipality: Municipality | None) -> Iterable[list[str]]:
    from .. import search

    for start in range(0, len(ids), 500):
        for provider in search.load_providers(ids[start:start + 500]):
            if provider.is_public:
                yield export_row(provider, municipality)


def export_csv(ids: list[int], municipality: Municipality | None) -> bytes:
    """UTF-8 with BOM, CRLF, RFC 4180 quoting, formula cells escaped (``formats.write_csv``)."""
    return formats.write_csv(EXPORT_HEADERS, export_rows(ids, municipality))


def data_as_of(ids: Iterable[int] | None = None) -> dt.date | None:
    """Newest 最終確認日 or update among public providers (of ``ids`` when given)."""
    from django.db.models import Max
    from django.utils import timezone

    qs = Provider.objects.published()
    if ids is not None:
        ids = list(ids)
        if not ids:
            return None
        if len(ids) <= 900:
            qs = qs.filter(pk__in=ids)
    stats = qs.aggregate(confirmed=Max("last_confirmed_on"), updated=Max("updated_at"))
    dates = [d for d in (stats["confirmed"], stats["updated"] and timezone.localdate(stats["updated"])) if d]
    return max(dates) if dates else None
