"""Reading one row of a file: municipality, types, provider fields and hours, by column name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import geo, kana, providers
from .. import hours as hours_mod
from ..models import Area, Municipality, ProviderType
from .layouts import (
    ALIASES,
    FIELD_ALIASES,
    FILE_CODE_RE,
    MHLW,
    NAVII,
    NAVII_FILE_KINDS,
    NAVII_KINDS,
    V1_CARE,
)
from .navii import NaviiHours, navii_open_days, parse_closures
from .normalise import (
    PREFECTURE_RE,
    DistrictTable,
    _coordinate,
    _digits_code,
    _norm,
    _service_keys,
    full_address,
    katakana,
    norm_address,
    norm_name,
    normalise_phone,
    split_multi,
    strip_building,
)


def _code(length: int, pad_from: int):
    return lambda text: _digits_code(text, length, pad_from)


# Cells copied into the provider's fields through their normaliser; an empty value is left out.
_NAME_CELLS = (("name", norm_name), ("corporate_name", norm_name), ("name_en", norm_name))
_CONTACT_CELLS = (
    ("phone", normalise_phone), ("fax", normalise_phone), ("website", _norm),
    ("care_code", _code(10, 9)), ("medical_code", _code(10, 9)), ("corporate_number", _code(13, 12)),
)


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
        self.today = timezone.localdate()
        self.hours: NaviiHours | None = None
        self.row_notes: list[str] = []  # what ``parse`` corrected in the last row

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

    def _put_cells(self, row, data: dict[str, Any], cells) -> None:
        for key, normalise in cells:
            value = normalise(self.cell(row, key))
            if value:
                data[key] = value

    def parse(self, row, errors: list[tuple[str, str]]) -> dict[str, Any]:
        """Fields present in the row (empty cells left out)."""
        data: dict[str, Any] = {}
        self.row_notes = []
        self._put_cells(row, data, _NAME_CELLS)
        kana_text = norm_name(self.cell(row, "kana"))
        if kana_text and not kana.is_reading(kana_text):
            # Real files hold kanji in カナ: name and カナ swapped (the name then is the
            # reading), or another column's value. Never stored as the reading.
            name = data.get("name", "")
            if kana.is_kana_name(name):
                data["name"], kana_text = kana_text, name
                self.row_notes.append(_("名称とよみがなが入れ替わっていたので、入れ替えて読みました。"))
            else:
                kana_text = ""
                self.row_notes.append(_("よみがなの列に漢字があったので、よみがなとしては使っていません。"))
        if kana_text:
            data["kana"] = katakana(kana_text)
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
        self._put_cells(row, data, _CONTACT_CELLS)
        point = []
        for key in ("lat", "lng"):
            try:
                point.append(_coordinate(self.cell(row, key)))
            except ValueError as error:
                errors.append((self.header(key), str(error)))
                point.append(None)
        if None not in point:
            data["latitude"], data["longitude"] = point
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
            days = hours_mod.parse_days(days_text_value)
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
                opens, closes = hours_mod.parse_time(start), hours_mod.parse_time(end)
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
            note_parts.append(_("診療日（医療情報ネットの届出）: %(days)s") % {"days": hours_mod.format_days(days)})
        exceptions, other = parse_closures(self.cell(row, "other_closures"), self.today)
        if other:
            note_parts.append(_("その他の休診日: %(days)s") % {"days": "、".join(other)})
        return periods, " ".join(note_parts)[:300], exceptions

    def district_for(self, data: Mapping[str, Any]) -> tuple[str | None, str]:
        """(district code, how it was found)."""
        code = self.district_table.district_for(data.get("address", ""))
        if code:
            return code, "town"
        nearest = geo.nearest_district(data.get("latitude"), data.get("longitude"), self.districts)
        return (nearest.code, "nearest") if nearest else (None, "")

    def error_column(self, field_name: str) -> str:
        key = FIELD_ALIASES.get(field_name)
        if key and key in self.columns:
            return self.columns[key]
        if field_name == "area" or field_name == "provider_type":
            return self.header("service" if "service" in self.columns else "medical_kind")
        label = providers.field_label(field_name)
        return label or "-"
