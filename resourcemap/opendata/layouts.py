"""The five file layouts: column aliases (read by header name, never position) and detection."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import formats, providers
from .normalise import _norm

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
NAVII_WEEKDAY_HEADER = "毎週決まった曜日に休診({day})"
# 医療情報ネット 機関区分 (part of the file format) -> the kind name looked up in the types'
# 医療機関の種類 / import names (reference data).
NAVII_KINDS = {"1": "病院", "2": "診療所", "3": "歯科診療所", "5": "薬局"}
NAVII_FILE_KINDS = (("hospital", "病院"), ("clinic", "診療所"), ("dental", "歯科診療所"), ("pharmacy", "薬局"))

# Model field -> the alias key of its column, for reporting write-path errors by column name.
FIELD_ALIASES = {
    "name": "name", "kana": "kana", "name_en": "name_en", "address": "address",
    "building": "building", "latitude": "lat", "longitude": "lng", "phone": "phone", "fax": "fax",
    "website": "website", "corporate_number": "corporate_number",
    "corporate_name": "corporate_name", "care_code": "care_code", "medical_code": "medical_code",
    "notes": "notes", "hours_note": "days_note", providers.HOURS_KEY: "days",
    providers.EXCEPTIONS_KEY: "other_closures",
}
NAVII_HEADERS = ("正式名称", "機関区分", "所在地座標(緯度)")


FILE_CODE_RE = re.compile(r"jigyosho_(\d{3})", re.IGNORECASE)


class LayoutError(formats.FileFormatError):
    """The header row is not one of the supported layouts."""


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
