"""Japanese public provider lists: import (three layouts) and the municipal-standard export.

Import (``import_file``) reads a CSV in one of these layouts (see DATA-FORMATS.md), detected
from the header row and always read by column *name* (alias tables below, never position):

- ``mhlw``: 介護サービス情報公表システム open data (``jigyosho_{code}.csv``, 24 columns);
- ``v1_medical`` / ``v1_care``: 推奨データセット v1 医療機関一覧 / 介護サービス事業所一覧;
- ``standard``: 自治体標準オープンデータセット (current header block: 名称_英字 or 名称_英語,
  所在地_連結表記 …), including the portal's own export (its 種別 column is read as well).

Rules:

- Rows outside ``Municipality.current()`` (by 全国地方公共団体コード, or by 市区町村名) are
  counted as skipped, never imported.
- The type comes from the service code (サービスの種類 / 実施サービス -> ``ProviderType.service_code``),
  from 医療機関の種類 (``ProviderType.medical_kinds``) or from the portal's 種別 column. A row
  whose 実施サービス lists several mapped services becomes one provider per type.
- Matching: 医療機関コード, then (介護保険事業所番号, type), then 名称 + 住所.
- Codes are text; a code that lost its leading zero in a spreadsheet is padded
  (事業所番号 to 10 digits, 法人番号 to 13, 医療機関コード from 9 to 10).
- Latitude/longitude 0 or empty mean unknown. Multiple values are split on ``;``, ``、``, ``,``.
- 住所 without a prefecture gets the prefecture (and the 市区町村名 when missing) in front.
- The 地区 of a new provider is guessed from the nearest district centre.
- These formats carry no capabilities: capabilities and hours of existing providers are never
  touched, status is never changed, and an empty cell never clears a stored value. A new
  provider gets weekly hours only when 診療曜日 + 診療開始時間 + 診療終了時間 are given,
  otherwise ``hours_unknown``. 備考 becomes the notes of new providers only.
- All-or-nothing: every write goes through ``providers.py`` (``actor_kind="import"``) inside one
  transaction, which is rolled back on a dry run or when any row has an error. Errors are
  reported by file line (line 1 is the header) and column name.

Not supported yet: 医療情報ネット (ナビイ) open data (DATA-FORMATS §4). Its facility files
carry weekly/nth-week closure flags whose meaning (1 = open or 1 = closed) public parsers
disagree on, and its hours come in a separate per-department file. Importing it would mean
guessing the flags silently, so such a header is refused with a message instead.

Export (``export_rows``): the current 自治体標準オープンデータセット header block, then the v1
domain columns, then the portal's own columns (see ``EXPORT_HEADERS`` and the /opendata/ page).
Public providers and public fields only.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import formats, geo, providers
from .hours import format_periods as hours_format
from .models import Area, Municipality, Provider, ProviderChange, ProviderType

# ---------------------------------------------------------------------------------------------
# Layouts and column aliases

MHLW, V1_MEDICAL, V1_CARE, STANDARD = "mhlw", "v1_medical", "v1_care", "standard"
LAYOUT_LABELS = {
    MHLW: gettext_lazy("介護サービス情報公表システム オープンデータ"),
    V1_MEDICAL: gettext_lazy("推奨データセット v1 医療機関一覧"),
    V1_CARE: gettext_lazy("推奨データセット v1 介護サービス事業所一覧"),
    STANDARD: gettext_lazy("自治体標準オープンデータセット"),
}
SOURCE_LABELS = {
    MHLW: "介護サービス情報公表",
    V1_MEDICAL: "推奨データセット 医療機関一覧",
    V1_CARE: "推奨データセット 介護サービス事業所一覧",
    STANDARD: "自治体標準オープンデータ",
}

# key -> header names, first found wins.
ALIASES: dict[str, tuple[str, ...]] = {
    "muni_code": ("所在地_全国地方公共団体コード", "全国地方公共団体コード",
                  "都道府県コード又は市区町村コード", "都道府県コード又は市町村コード"),
    "prefecture": ("所在地_都道府県", "都道府県名"),
    "city": ("所在地_市区町村", "市区町村名"),
    "town": ("所在地_町字",),
    "block": ("所在地_番地以下",),
    "name": ("名称", "事業所名", "介護サービス事業所名称"),
    "kana": ("名称_カナ", "事業所名カナ", "介護サービス事業所名称_カナ"),
    "name_en": ("名称_英字", "名称_英語"),
    "service": ("サービスの種類", "実施サービス"),
    "medical_kind": ("医療機関の種類",),
    "type_name": ("種別",),
    "address": ("所在地_連結表記", "住所"),
    "building": ("建物名等(方書)", "建物名等（方書）", "方書（ビル名等）", "方書(ビル名等)", "方書"),
    "lat": ("緯度",),
    "lng": ("経度",),
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
    "website": ("URL",),
    "notes": ("備考",),
}
# Model field -> alias key, for reporting write-path errors by the file's column name.
FIELD_KEYS = {
    "name": "name", "kana": "kana", "name_en": "name_en", "address": "address",
    "building": "building", "latitude": "lat", "longitude": "lng", "phone": "phone", "fax": "fax",
    "website": "website", "corporate_number": "corporate_number",
    "corporate_name": "corporate_name", "care_code": "care_code", "medical_code": "medical_code",
    "notes": "notes", "hours_note": "days_note", providers.HOURS_KEY: "days",
}
NAVII_HEADERS = ("正式名称", "機関区分", "所在地座標（緯度）")
PREFECTURE_RE = re.compile(r"^(東京都|北海道|(?:京都|大阪)府|.{2,3}県)")
MULTI_SPLIT_RE = re.compile(r"\s*[;；、,，]\s*")
TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
PHONE_PARTS_RE = re.compile(r"(0\d{1,4})\s*[(\s]\s*(\d{1,4})\s*[)\s]\s*(\d{3,4})")

NEW, UPDATE, UNCHANGED, SKIPPED, ERROR = "new", "update", "unchanged", "skipped", "error"
STATUS_LABELS = {
    NEW: gettext_lazy("新規"),
    UPDATE: gettext_lazy("変更"),
    UNCHANGED: gettext_lazy("変更なし"),
    SKIPPED: gettext_lazy("対象外（他の自治体）"),
    ERROR: gettext_lazy("誤り"),
}


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


@dataclass
class ImportReport:
    layout: str
    file_name: str
    committed: bool
    rows: list[RowOutcome] = field(default_factory=list)

    @property
    def layout_label(self) -> str:
        return str(LAYOUT_LABELS[self.layout])

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def totals(self) -> dict[str, int]:
        return {s: self.count(s) for s in (NEW, UPDATE, UNCHANGED, SKIPPED, ERROR)}

    @property
    def errors(self) -> list[tuple[int, str, str]]:
        return [(r.line, col, msg) for r in self.rows for col, msg in r.errors]

    @property
    def has_errors(self) -> bool:
        return any(r.errors for r in self.rows)

    def error_lines(self) -> list[str]:
        return [
            _("%(line)d行目 %(column)s: %(message)s") % {"line": line, "column": col or "-", "message": msg}
            for line, col, msg in self.errors
        ]

    def summary(self) -> str:
        t = self.totals
        return _(
            "新規 %(new)d件、変更 %(update)d件、変更なし %(unchanged)d件、"
            "対象外（他の自治体） %(skipped)d件、誤り %(error)d件"
        ) % t


# ---------------------------------------------------------------------------------------------
# Reading


def detect_layout(headers: Iterable[str]) -> str:
    present = {_norm(h) for h in headers}
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
    if all(_norm(h) in present for h in NAVII_HEADERS):
        raise LayoutError(
            _("医療情報ネット（ナビイ）のファイルにはまだ対応していません（休診日の印の意味がはっきりしないため）。")
        )
    raise LayoutError(
        _("見出しの行からファイルの種類が分かりません。介護サービス情報公表システム、推奨データセット（医療機関一覧・介護サービス事業所一覧）、自治体標準オープンデータセットのCSVを選んでください。")
    )


def column_map(headers: list[str]) -> dict[str, str]:
    """alias key -> the header present in the file."""
    result = {}
    for key, names in ALIASES.items():
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
}


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


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
    address = _norm(address)
    if not address or PREFECTURE_RE.match(address):
        return address
    if not city:
        return address
    prefecture = prefecture or (municipality.prefecture if municipality else "")
    if not address.startswith(city):
        address = city + address
    return prefecture + address


def nearest_district(lat: Decimal | None, lng: Decimal | None, districts: list[Area]) -> str | None:
    if lat is None or lng is None or not districts:
        return None
    best = min(
        districts,
        key=lambda a: geo.haversine_m(float(lat), float(lng), float(a.center_lat), float(a.center_lng)),
    )
    return best.code


# ---------------------------------------------------------------------------------------------
# Import


class _Importer:
    def __init__(self, layout: str, columns: dict[str, str], file_name: str):
        self.layout = layout
        self.columns = columns
        self.file_name = file_name
        self.municipality = Municipality.current()
        self.types = list(ProviderType.objects.all())
        self.by_service = {t.service_code: t for t in self.types if t.service_code}
        self.by_kind: dict[str, ProviderType] = {}
        for t in self.types:
            for kind in split_multi(t.medical_kinds):
                self.by_kind.setdefault(kind, t)
        self.by_name = {_norm(t.name): t for t in self.types} | {t.code: t for t in self.types}
        self.districts = list(Area.objects.filter(level=Area.Level.DISTRICT))
        self.seen: dict[tuple, int] = {}

    def header(self, key: str) -> str:
        return self.columns.get(key) or ALIASES[key][0]

    def cell(self, row: Mapping[str, str], key: str) -> str:
        header = self.columns.get(key)
        return (row.get(header) or "").strip() if header else ""

    # -- row level ---------------------------------------------------------------------------

    def in_municipality(self, row) -> bool:
        muni = self.municipality
        if muni is None:
            return True
        code = _norm(self.cell(row, "muni_code"))
        if code.endswith(".0"):
            code = code[:-2]
        city = _norm(self.cell(row, "city"))
        if city and PREFECTURE_RE.match(city):
            city = PREFECTURE_RE.sub("", city)
        if code.isdigit() and (code.zfill(6) == muni.code or code == muni.code[:5]):
            return True
        if city:
            return city == muni.name
        prefecture_only = code.isdigit() and (len(code) <= 2 or code.zfill(6).endswith("0000"))
        if code and not prefecture_only:
            return False
        # No municipality code: decide by the address.
        address = PREFECTURE_RE.sub("", _norm(self.cell(row, "address")))
        return not address or address.startswith(muni.name)

    def types_for(self, row, errors: list[tuple[str, str]]) -> list[ProviderType]:
        type_name = self.cell(row, "type_name")
        if type_name:
            found = self.by_name.get(_norm(type_name))
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
                found = self.by_service.get(code.zfill(3) if code.isdigit() else code) or self.by_name.get(_norm(part))
                if found is None:
                    errors.append((self.header("service"), _(
                        "サービス「%(value)s」に当たる種別がありません（種別の「介護サービスコード」を確かめてください）。"
                    ) % {"value": part}))
                elif found not in found_types:
                    found_types.append(found)
            return found_types
        kind = self.cell(row, "medical_kind")
        if kind:
            found = self.by_kind.get(_norm(kind))
            if found is None:
                errors.append((self.header("medical_kind"), _(
                    "医療機関の種類「%(value)s」に当たる種別がありません（種別の「医療機関の種類（取込用）」を確かめてください）。"
                ) % {"value": kind}))
                return []
            return [found]
        key = "service" if "service" in self.columns or self.layout in (MHLW, V1_CARE) else "medical_kind"
        errors.append((self.header(key), _("種別を決める値が空です。")))
        return []

    def parse(self, row, errors: list[tuple[str, str]]) -> dict[str, Any]:
        """Fields present in the row (empty cells left out)."""
        data: dict[str, Any] = {}
        for key in ("name", "corporate_name"):
            value = self.cell(row, key)
            if value:
                data[key] = value
        name_en = _norm(self.cell(row, "name_en"))
        if name_en:
            data["name_en"] = name_en
        kana = _norm(self.cell(row, "kana"))
        if kana:
            data["kana"] = kana
        address = self.cell(row, "address")
        if not address and ("town" in self.columns or "block" in self.columns):
            address = "".join(self.cell(row, k) for k in ("prefecture", "city", "town", "block"))
        address = full_address(address, _norm(self.cell(row, "prefecture")), _norm(self.cell(row, "city")),
                               self.municipality)
        if address:
            data["address"] = address
        building = _norm(self.cell(row, "building"))
        if building:
            data["building"] = building
        for key in ("phone", "fax"):
            value = _norm(self.cell(row, key))
            if value:
                # "03(1234)5678" / "03 1234 5678" -> "03-1234-5678"; anything else is validated as is.
                match = PHONE_PARTS_RE.fullmatch(value)
                data[key] = "-".join(match.groups()) if match else value
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

    def hours_for_new(self, row, errors) -> tuple[list | None, str]:
        """(periods or None for unknown, hours note) for a new provider."""
        days_text, opens_text, closes_text = (
            self.cell(row, "days"), _norm(self.cell(row, "opens")), _norm(self.cell(row, "closes"))
        )
        note_parts = []
        if days_text and not (opens_text and closes_text):
            note_parts.append(f"{self.header('days')}: {days_text}")
        note = self.cell(row, "days_note")
        if note:
            note_parts.append(note)
        hours_note = " ".join(note_parts)[:300]
        if not (days_text and opens_text and closes_text):
            return None, hours_note
        try:
            days = parse_days(days_text)
        except ValueError as error:
            errors.append((self.header("days"), str(error)))
            return None, hours_note
        starts, ends = split_multi(opens_text), split_multi(closes_text)
        if len(starts) != len(ends):
            errors.append((self.header("closes"), _("開始時間と終了時間の数が合いません。")))
            return None, hours_note
        periods = []
        for start, end in zip(starts, ends, strict=True):
            try:
                opens, closes = _parse_time(start), _parse_time(end)
            except ValueError as error:
                errors.append((self.header("opens"), str(error)))
                return None, hours_note
            periods.extend((day, opens, closes) for day in days)
        return periods, hours_note

    def match(self, data: Mapping[str, Any], ptype: ProviderType) -> Provider | None:
        qs = Provider.objects.select_related("provider_type", "area")
        if data.get("medical_code"):
            found = qs.filter(medical_code=data["medical_code"]).first()
            if found:
                return found
        if data.get("care_code"):
            found = qs.filter(care_code=data["care_code"], provider_type=ptype).first()
            if found:
                return found
        candidates = list(qs.filter(name=data.get("name"), address=data.get("address"))[:2])
        if len(candidates) == 1:
            found = candidates[0]
            for key in ("medical_code", "care_code"):
                if data.get(key) and getattr(found, key) and getattr(found, key) != data[key]:
                    return None
            return found
        return None

    def key_for(self, data: Mapping[str, Any], ptype: ProviderType) -> tuple:
        if data.get("medical_code"):
            return ("medical", data["medical_code"])
        if data.get("care_code"):
            return ("care", data["care_code"], ptype.pk)
        return ("name", data.get("name"), data.get("address"))

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
    data: bytes, *, file_name: str = "", commit: bool = False, user=None
) -> ImportReport:
    """Check (and with ``commit`` save) a public-format CSV. Raises ``formats.FileFormatError``
    for an unreadable file or unknown layout; row problems are in the report."""
    dataset = read_dataset(data)
    headers = [_norm(h) for h in dataset.headers or []]
    layout = detect_layout(headers)
    columns = column_map(headers)
    missing = [ALIASES[k][0] for k in REQUIRED_KEYS[layout] if k not in columns]
    if layout == STANDARD and not any(k in columns for k in ("type_name", "service", "medical_kind")):
        missing.append("種別 / 実施サービス / 医療機関の種類")
    if missing:
        raise LayoutError(_("必要な列「%(names)s」がありません。") % {"names": "」「".join(missing)})
    importer = _Importer(layout, columns, file_name)
    report = ImportReport(layout=layout, file_name=file_name, committed=False)
    source = f"{SOURCE_LABELS[layout]} {file_name}".strip()
    actor_kind = ProviderChange.Actor.IMPORT

    with transaction.atomic():
        new_rows: list[dict[str, Any]] = []
        new_outcomes: list[RowOutcome] = []
        for line, values in enumerate(dataset.dict, start=2):
            row = {_norm(k): (v or "") for k, v in values.items()}
            if not importer.in_municipality(row):
                report.rows.append(RowOutcome(line, SKIPPED, name=importer.cell(row, "name")))
                continue
            errors: list[tuple[str, str]] = []
            ptypes = importer.types_for(row, errors)
            data = importer.parse(row, errors)
            if errors:
                report.rows.append(RowOutcome(line, ERROR, name=data.get("name", ""), errors=errors))
                continue
            for ptype in ptypes:
                outcome = RowOutcome(line, UNCHANGED, name=data["name"], type_name=ptype.name)
                report.rows.append(outcome)
                key = importer.key_for(data, ptype)
                if key in importer.seen:
                    outcome.status = ERROR
                    outcome.errors.append((importer.header("name"), _(
                        "%(line)d行目と同じ事業所です（同じファイルに2回あります）。"
                    ) % {"line": importer.seen[key]}))
                    continue
                importer.seen[key] = line
                existing = importer.match(data, ptype)
                if existing is None:
                    _prepare_new(importer, row, data, ptype, outcome, new_rows, new_outcomes)
                else:
                    _update(importer, existing, data, outcome, user, source, actor_kind)
        if new_rows:
            _create_all(importer, new_rows, new_outcomes, user, source, actor_kind)
        report.committed = commit and not report.has_errors
        if not report.committed:
            transaction.set_rollback(True)
    for outcome in report.rows:
        if outcome.errors:
            outcome.status = ERROR
    return report


def _prepare_new(importer, row, data, ptype, outcome, new_rows, new_outcomes) -> None:
    errors: list[tuple[str, str]] = []
    periods, hours_note = importer.hours_for_new(row, errors)
    if errors:
        outcome.errors.extend(errors)
        return
    fields = dict(data)
    fields["provider_type"] = ptype.code
    fields.setdefault("kana", "")
    fields["status"] = Provider.Status.ACTIVE
    fields["area"] = nearest_district(data.get("latitude"), data.get("longitude"), importer.districts)
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
    if periods:
        outcome.changes[providers.HOURS_KEY] = [None, hours_format(periods)]
    new_rows.append({"data": fields, "periods": periods or [], "capabilities": {}})
    new_outcomes.append(outcome)


def _create_all(importer, new_rows, new_outcomes, user, source, actor_kind) -> None:
    from django.core.exceptions import ValidationError

    try:
        created = providers.providers_bulk_create(rows=new_rows, actor_kind=actor_kind, user=user, source=source)
    except ValidationError as error:
        for index, field_errors in getattr(error, "row_errors", {}).items():
            outcome = new_outcomes[index - 1]
            for field_name, messages in field_errors.items():
                outcome.errors.extend((importer.error_column(field_name), m) for m in messages)
        if not getattr(error, "row_errors", None):
            new_outcomes[0].errors.extend(("-", m) for m in error.messages)
        return
    for outcome, provider in zip(new_outcomes, created, strict=True):
        outcome.provider_id = provider.pk


def _update(importer, provider: Provider, data, outcome: RowOutcome, user, source, actor_kind) -> None:
    from django.core.exceptions import ValidationError

    outcome.provider_id = provider.pk
    before = {name: providers.field_value(provider, name) for name in Provider.TRACKED_FIELDS}
    changes = {k: v for k, v in data.items() if providers._plain(v) != before.get(k)}
    if "latitude" in changes or "longitude" in changes:
        changes["latitude"], changes["longitude"] = data["latitude"], data["longitude"]
        if provider.area_id is None:
            changes["area"] = nearest_district(data["latitude"], data["longitude"], importer.districts)
    if not changes:
        return
    outcome.status = UPDATE
    outcome.changes = {k: [before.get(k), providers._plain(v)] for k, v in changes.items()}
    try:
        # Capabilities, hours and exceptions are left as they are (None).
        providers.provider_update(
            provider=provider, changes=changes, actor_kind=actor_kind, user=user, source=source
        )
    except ValidationError as error:
        for field_name, messages in error.message_dict.items():
            outcome.errors.extend((importer.error_column(field_name), m) for m in messages)


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
    from . import search

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
