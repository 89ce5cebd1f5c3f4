"""The municipal-standard export (自治体標準オープンデータセット, then v1 domain and portal columns)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .. import formats, search
from ..models import Municipality, Provider
from .normalise import PREFECTURE_RE

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
    for start in range(0, len(ids), 500):
        for provider in search.load_providers(ids[start:start + 500]):
            if provider.is_public:
                yield export_row(provider, municipality)


def export_csv(ids: list[int], municipality: Municipality | None) -> bytes:
    """UTF-8 with BOM, CRLF, RFC 4180 quoting, formula cells escaped (``formats.write_csv``)."""
    return formats.write_csv(EXPORT_HEADERS, export_rows(ids, municipality))
