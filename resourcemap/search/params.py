"""Reading the search parameters: a query string -> validated filters, plus a message for each
parameter that was dropped (nothing here raises on user input), and back to a canonical query
string.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from urllib.parse import urlencode

from django.utils.translation import gettext as _

from .. import inputs
from ..models import Area, Capability, DataVersion, ProviderType

LIST_KEYS = ("type", "cap", "ids")
SINGLE_KEYS = (
    "region", "district", "q", "open", "day", "time", "nightholiday", "lat", "lng", "radius",
    "place", "sort", "page",
)
KNOWN_KEYS = set(LIST_KEYS) | set(SINGLE_KEYS)
# Canonical order of the query string (``page`` is not part of "the search").
QUERY_ORDER = (
    "type", "cap", "region", "district", "q", "open", "day", "time", "nightholiday",
    "lat", "lng", "radius", "place", "sort", "ids",
)
SORTS = ("kana", "distance", "area")
RADIUS_MIN, RADIUS_MAX = 100, 20_000
MAX_Q = 100
MAX_IDS = 500


_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$", re.ASCII)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)


def _get_lists(params) -> dict[str, list[str]]:
    """Normalise a QueryDict, a dict of lists or a dict of strings to {key: [values]}, without
    NUL bytes and other control characters (:func:`inputs.clean_text`)."""
    out: dict[str, list[str]] = {}
    if hasattr(params, "lists"):
        items = params.lists()
    else:
        items = (params or {}).items()
    for key, value in items:
        if isinstance(value, (list, tuple)):
            values = [inputs.clean_text(str(v)) for v in value if v is not None]
        elif value is None:
            values = []
        else:
            values = [inputs.clean_text(str(value))]
        out.setdefault(inputs.clean_text(str(key)), []).extend(values)
    return out


_reference_cache: dict[str, tuple] = {}


def _reference() -> tuple[dict[str, ProviderType], dict[str, Capability], dict[str, Area]]:
    """Types, capabilities and areas by code, kept per process for the current data version
    (every reference data change moves it), so a request reads one row instead of the tables."""
    version = DataVersion.current()
    hit = _reference_cache.get("reference")
    if hit is not None and hit[0] == version:
        return hit[1]
    types = {t.code: t for t in ProviderType.objects.all()}
    caps = {c.code: c for c in Capability.objects.all()}
    areas = {a.code: a for a in Area.objects.select_related("parent")}
    _reference_cache["reference"] = (version, (types, caps, areas))
    return types, caps, areas


def _split_multi(values: Iterable[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


def _valid_date(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _float(value: str) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return number


def clean(params, ids: Iterable | None = None) -> tuple[dict, list[str]]:
    """Validated parameters and messages about what was ignored."""
    raw = _get_lists(params)
    ignored: list[str] = []
    cleaned: dict = {}
    types, caps, areas = _reference()

    for key in raw:
        if key not in KNOWN_KEYS and any(v.strip() for v in raw[key]):
            ignored.append(_("「%(key)s」という条件は使えないため、無視しました。") % {"key": key[:40]})

    def single(key: str) -> str:
        values = [v.strip() for v in raw.get(key, []) if v.strip()]
        return values[-1] if values else ""

    type_codes = []
    for code in _split_multi(raw.get("type", [])):
        if code in types:
            type_codes.append(code)
        else:
            ignored.append(_("種別「%(value)s」は見つからないため、無視しました。") % {"value": code[:40]})
    cleaned["type"] = sorted(type_codes, key=lambda c: (types[c].sort_order, c))

    cap_codes = []
    for code in _split_multi(raw.get("cap", [])):
        if code in caps:
            cap_codes.append(code)
        else:
            ignored.append(
                _("「対応できること」の「%(value)s」は見つからないため、無視しました。")
                % {"value": code[:40]}
            )
    cleaned["cap"] = sorted(cap_codes, key=lambda c: (caps[c].sort_order, c))

    region = single("region")
    if region:
        area = areas.get(region)
        if area is not None and area.level == Area.Level.REGION:
            cleaned["region"] = region
        else:
            ignored.append(_("地域「%(value)s」は見つからないため、無視しました。") % {"value": region[:40]})
    district = single("district")
    if district:
        area = areas.get(district)
        if area is not None and area.level == Area.Level.DISTRICT:
            if cleaned.get("region") and area.parent.code != cleaned["region"]:
                ignored.append(
                    _("地区「%(district)s」は地域「%(region)s」に含まれないため、地域の条件を外しました。")
                    % {"district": area.display_name, "region": areas[cleaned["region"]].display_name}
                )
                cleaned.pop("region")
            cleaned["district"] = district
        else:
            ignored.append(_("地区「%(value)s」は見つからないため、無視しました。") % {"value": district[:40]})

    q = single("q")
    if q:
        q = " ".join(unicodedata.normalize("NFKC", q).split())
        if len(q) > MAX_Q:
            ignored.append(_("キーワードが長すぎるため、先頭の%(n)d文字で探しました。") % {"n": MAX_Q})
            q = q[:MAX_Q]
        cleaned["q"] = q

    open_ = single("open")
    if open_ and open_ not in ("now", "at"):
        ignored.append(_("営業時間の条件「%(value)s」が分からないため、無視しました。") % {"value": open_[:20]})
        open_ = ""
    day = single("day")
    if day:
        if day in {str(i) for i in range(7)}:
            cleaned["day"] = day
        elif day == "holiday":
            cleaned["day"] = day
        elif _DATE_RE.match(day):
            if inputs.iso_date(day):
                cleaned["day"] = day
            elif _valid_date(day):
                ignored.append(
                    _("日付「%(value)s」は%(min)d年から%(max)d年の間で選んでください。無視しました。")
                    % {"value": day, "min": inputs.DATE_MIN.year, "max": inputs.DATE_MAX.year}
                )
            else:
                ignored.append(_("日付「%(value)s」が正しくないため、無視しました。") % {"value": day[:20]})
        else:
            ignored.append(_("曜日・日付「%(value)s」が分からないため、無視しました。") % {"value": day[:20]})
    time = single("time")
    if time:
        match = _TIME_RE.match(time)
        if match:
            cleaned["time"] = f"{int(match.group(1)):02d}:{match.group(2)}"
        else:
            ignored.append(
                _("時刻「%(value)s」は「18:30」の形で入れてください。無視しました。") % {"value": time[:20]}
            )
    if open_ == "now":
        cleaned["open"] = "now"
        if "day" in cleaned or "time" in cleaned:
            ignored.append(_("「いま営業中」を選んだため、曜日と時刻は使いませんでした。"))
            cleaned.pop("day", None)
            cleaned.pop("time", None)
    elif "day" in cleaned or "time" in cleaned:
        cleaned["open"] = "at"
    elif open_ == "at":
        ignored.append(_("曜日か時刻を選んでください。営業時間の条件は使いませんでした。"))

    night = single("nightholiday")
    if night:
        if night in ("1", "on", "true"):
            cleaned["nightholiday"] = "1"
        elif night not in ("0", "off", "false"):
            ignored.append(_("「夜間・休日」の値が分からないため、無視しました。"))

    lat_raw, lng_raw = single("lat"), single("lng")
    if lat_raw or lng_raw:
        lat, lng = _float(lat_raw), _float(lng_raw)
        if lat is None or lng is None or not (-90 <= lat <= 90 and -180 <= lng <= 180):
            ignored.append(_("地図上の位置（緯度・経度）が正しくないため、無視しました。"))
        else:
            cleaned["lat"] = f"{lat:.6f}"
            cleaned["lng"] = f"{lng:.6f}"
    radius = single("radius")
    if radius:
        value = _float(radius)
        if value is None or not (RADIUS_MIN <= value <= RADIUS_MAX):
            ignored.append(
                _("半径は%(min)dmから%(max)dmの間で選んでください。無視しました。")
                % {"min": RADIUS_MIN, "max": RADIUS_MAX}
            )
        elif "lat" not in cleaned:
            ignored.append(_("場所が決まっていないため、半径の条件は使いませんでした。"))
        else:
            cleaned["radius"] = str(int(value))
    place = single("place")
    if place and "lat" in cleaned:
        cleaned["place"] = place[:100]

    sort = single("sort")
    if sort:
        if sort not in SORTS:
            ignored.append(_("並び順「%(value)s」が分からないため、五十音順にしました。") % {"value": sort[:20]})
        elif sort == "distance" and "lat" not in cleaned:
            ignored.append(_("場所が決まっていないため、距離順ではなく五十音順にしました。"))
        else:
            cleaned["sort"] = sort
    if "sort" not in cleaned:
        cleaned["sort"] = "distance" if "lat" in cleaned else "kana"

    id_values = list(ids) if ids is not None else _split_multi(raw.get("ids", []))
    if id_values:
        good: list[int] = []
        bad = 0
        for value in id_values:
            number = inputs.positive_id(value)
            if number is None:
                bad += 1
            elif number not in good:
                good.append(number)
        if bad:
            ignored.append(_("選んだ事業所の番号に正しくないものがあったため、外しました。"))
        if len(good) > MAX_IDS:
            ignored.append(_("選べる事業所は%(n)d件までです。") % {"n": MAX_IDS})
            good = good[:MAX_IDS]
        cleaned["ids"] = good

    page = single("page")
    cleaned["page"] = 1
    if page:
        try:
            cleaned["page"] = max(1, min(int(page), 100_000))
        except ValueError:
            ignored.append(_("ページ番号「%(value)s」が正しくないため、1ページ目を表示しました。") % {"value": page[:10]})
    return cleaned, ignored


def querystring(cleaned: Mapping) -> str:
    pairs: list[tuple[str, str]] = []
    for key in QUERY_ORDER:
        value = cleaned.get(key)
        if value in (None, "", []):
            continue
        if key == "sort" and value == ("distance" if cleaned.get("lat") else "kana"):
            continue  # the default order is implied
        if key == "open" and value == "at":
            continue  # implied by day/time
        if key == "ids":
            pairs.append((key, ",".join(str(v) for v in value)))
        elif isinstance(value, list):
            pairs.extend((key, v) for v in value)
        else:
            pairs.append((key, str(value)))
    return urlencode(pairs)
