"""Normalising the text of public files: names, addresses, phone numbers and codes, and the 地区
of an address (days and times are read by ``resourcemap.hours``).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from ..models import DistrictTown, Municipality

PREFECTURE_RE = re.compile(r"^(東京都|北海道|(?:京都|大阪)府|.{2,3}県)")
MULTI_SPLIT_RE = re.compile(r"\s*[;；、,，]\s*")
PHONE_PARTS_RE = re.compile(r"(0\d{1,4})\s*[(\s]\s*(\d{1,4})\s*[)\s]\s*(\d{3,4})")
# Dash-like characters seen in published numbers and addresses (after NFKC).
DASHES = "‐‑‒–—―−ー─━⁃"
_DASH_RE = re.compile(f"[{DASHES}]")
_DIGIT_DASH_RE = re.compile(rf"(?<=\d)\s*[{DASHES}-]\s*(?=\d)")
_SPACES_RE = re.compile(r"\s+")


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
