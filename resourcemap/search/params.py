"""The one provider search: query string -> validated filters -> ordered provider ids.

Every public output (map page, list, API, print sheet, CSV) calls :func:`run` with the request's
query string, so a copied URL reproduces the same result everywhere.

Filtering happens in two steps:

1. SQL: published status, type, capabilities (all must match), 地域/地区, keyword (every term
   in the folded ``Provider.search_text`` column, see :func:`fold`; trigram-indexed on
   PostgreSQL), a bounding box around a point.
2. Python, on the ids that SQL returned: opening hours (only the periods of those providers for
   the day asked and the day before are read), exact radius, distance sort.

Unknown or malformed parameters are dropped and described in ``result.ignored``; nothing here
raises on user input.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urlencode

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import geo, inputs
from .. import hours as hours_mod
from ..folding import fold
from ..models import (
    Area,
    Capability,
    DataVersion,
    HoursException,
    OpeningPeriod,
    Provider,
    ProviderCapability,
    ProviderType,
)

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
# "Night" opening: a period still open after 20:00 or open before 07:00.
NIGHT_FROM = hours_mod.NIGHT_FROM
EARLY_UNTIL = hours_mod.EARLY_UNTIL

_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$", re.ASCII)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
_WEEKDAY_NAMES = (
    gettext_lazy("月曜日"), gettext_lazy("火曜日"), gettext_lazy("水曜日"), gettext_lazy("木曜日"),
    gettext_lazy("金曜日"), gettext_lazy("土曜日"), gettext_lazy("日曜日"), gettext_lazy("祝日"),
)


# ---------------------------------------------------------------------------------------------
# Result


class LazyIds(Sequence):
    """The ids of an ordered queryset, read only as far as needed.

    ``len()`` is one SQL ``COUNT``, a slice (a page) is ``LIMIT``/``OFFSET``; iterating or
    looking up reads all ids once. Used when the whole search ran in SQL.
    """

    def __init__(self, queryset: QuerySet):
        self._qs = queryset.values_list("id", flat=True)
        self._all: list[int] | None = None
        self._len: int | None = None

    def _load(self) -> list[int]:
        if self._all is None:
            self._all = list(self._qs)
        return self._all

    def __len__(self) -> int:
        if self._all is not None:
            return len(self._all)
        if self._len is None:
            self._len = self._qs.count()
        return self._len

    def __bool__(self) -> bool:
        if self._all is not None or self._len is not None:
            return len(self) > 0
        return self._qs.exists()

    def __getitem__(self, index):
        if (
            self._all is None
            and isinstance(index, slice)
            and index.step in (None, 1)
            and (index.start or 0) >= 0
            and (index.stop is None or index.stop >= 0)
        ):
            return list(self._qs[index])
        return self._load()[index]

    def __iter__(self):
        return iter(self._load())

    def __contains__(self, value) -> bool:
        return value in self._load()

    def __eq__(self, other) -> bool:
        if isinstance(other, (list, tuple, LazyIds)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LazyIds({self._all!r})" if self._all is not None else "LazyIds(<not read>)"


@dataclass
class SearchResult:
    ids: Sequence[int]
    params: dict
    ignored: list[str]
    conditions: list[str]
    querystring: str
    distances: dict[int, float] = field(default_factory=dict)
    queryset: QuerySet | None = None
    # Whether every filter ran in SQL (then ``ids`` is a :class:`LazyIds`).
    in_sql: bool = False
    _rows: list[tuple] | None = None
    _row_query: QuerySet | None = None

    @property
    def count(self) -> int:
        if self._rows is not None:
            return len(self._rows)
        return len(self.ids)

    @property
    def rows(self) -> list[tuple]:
        """The ``columns`` asked of :func:`run_cleaned`, one tuple per match, in result order."""
        if self._rows is None:
            if self._row_query is None:
                raise ValueError("run_cleaned() was called without columns")
            self._rows = list(self._row_query)
        return self._rows

    @cached_property
    def providers(self) -> list[Provider]:
        return load_providers(list(self.ids), self.distances)

    def page_querystring(self, page: int) -> str:
        parts = [self.querystring] if self.querystring else []
        if page > 1:
            parts.append(urlencode({"page": page}))
        return "&".join(parts)


def load_providers(ids: list[int], distances: Mapping[int, float] | None = None) -> list[Provider]:
    """Provider instances for ``ids`` (in that order), with related rows loaded."""
    if not ids:
        return []
    distances = distances or {}
    found: dict[int, Provider] = {}
    # Chunked so that a long id list stays under SQLite's bound-parameter limit.
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        qs = (
            Provider.objects.filter(pk__in=chunk)
            .with_related()
            .with_capabilities()
            .with_hours()
        )
        found.update((p.pk, p) for p in qs)
    providers = []
    for pk in ids:
        provider = found.get(pk)
        if provider is None:
            continue
        provider.distance_m = distances.get(pk)
        providers.append(provider)
    return providers


# ---------------------------------------------------------------------------------------------
# Parameter cleaning


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


# ---------------------------------------------------------------------------------------------
# Opening hours


def _minutes(value: dt.time) -> int:
    return value.hour * 60 + value.minute


def _spans(opens: dt.time, closes: dt.time) -> tuple[int, int]:
    return hours_mod.Period(0, opens, closes).minutes()


def _open_at_date(candidates: QuerySet, when: dt.datetime) -> set[int]:
    """Ids among ``candidates`` open at a local datetime.

    Reads only the candidates' rows for that day and the day before; the day keys (weekday or
    祝日) are worked out once per call, not per row.
    """
    day = when.date()
    prev = day - dt.timedelta(days=1)
    minute = when.hour * 60 + when.minute
    day_keys = ((day, hours_mod.day_key(day)), (prev, hours_mod.day_key(prev)))
    known = candidates.filter(hours_unknown=False)
    exceptions: dict[int, dict[dt.date, HoursException]] = {}
    for exc in HoursException.objects.filter(
        provider__in=known, start_date__lte=day, end_date__gte=prev
    ):
        for d in (prev, day):
            if exc.start_date <= d <= exc.end_date:
                exceptions.setdefault(exc.provider_id, {})[d] = exc
    spans: dict[int, dict[dt.date, list[tuple[int, int]]]] = {}
    span_of = _span_cache()
    periods = OpeningPeriod.objects.filter(
        provider__in=known, weekday__in={key for _d, key in day_keys}
    ).values_list("provider_id", "weekday", "opens", "closes")
    for pid, weekday, opens, closes in periods:
        # Both days can share a key only for two holidays in a row: checking both handles it.
        for key_day, key in day_keys:
            if key == weekday:
                spans.setdefault(pid, {}).setdefault(key_day, []).append(span_of(opens, closes))
    for pid, by_day in exceptions.items():
        for d, exc in by_day.items():
            day_spans = spans.setdefault(pid, {})
            day_spans[d] = [] if exc.closed else [_spans(exc.opens, exc.closes)]
    result = set()
    for pid, by_day in spans.items():
        if any(s <= minute < e for s, e in by_day.get(day, [])) or any(
            e > hours_mod.DAY_MINUTES and minute < e - hours_mod.DAY_MINUTES
            for _s, e in by_day.get(prev, [])
        ):
            result.add(pid)
    return result


def _span_cache():
    """``_spans`` memoised for one request: providers share a handful of distinct periods."""
    cache: dict[tuple[dt.time, dt.time], tuple[int, int]] = {}

    def span_of(opens: dt.time, closes: dt.time) -> tuple[int, int]:
        key = (opens, closes)
        found = cache.get(key)
        if found is None:
            found = cache[key] = _spans(opens, closes)
        return found

    return span_of


def _open_on_weekday(candidates: QuerySet, weekday: int, minute: int | None) -> set[int]:
    """Ids open on a generic weekday (0-6, or 7 for 祝日), at a minute of the day or at any time."""
    keys = [weekday]
    prev_key = (weekday - 1) % 7 if weekday < hours_mod.HOLIDAY else None
    if minute is not None and prev_key is not None:
        keys.append(prev_key)
    rows = OpeningPeriod.objects.filter(
        provider__in=candidates.filter(hours_unknown=False), weekday__in=keys
    ).values_list("provider_id", "weekday", "opens", "closes")
    result = set()
    span_of = _span_cache()
    for pid, key, opens, closes in rows:
        start, end = span_of(opens, closes)
        if key == weekday:
            if minute is None or start <= minute < end:
                result.add(pid)
        elif end > hours_mod.DAY_MINUTES and minute < end - hours_mod.DAY_MINUTES:
            result.add(pid)
    return result


def _night_or_holiday(candidates: QuerySet) -> set[int]:
    rows = OpeningPeriod.objects.filter(
        provider__in=candidates.filter(hours_unknown=False)
    ).values_list("provider_id", "weekday", "opens", "closes")
    result = set()
    for pid, weekday, opens, closes in rows:
        if weekday in (6, hours_mod.HOLIDAY):
            result.add(pid)
            continue
        start, end = _spans(opens, closes)
        if end > NIGHT_FROM or start < EARLY_UNTIL:
            result.add(pid)
    return result


def _after_hours(candidates: QuerySet) -> dict[int, set[str]]:
    """Active providers with an after-hours capability (24時間対応 → 'always', 夜間・休日対応 →
    'night', as the reference data says): id -> kinds."""
    rows = (
        ProviderCapability.objects.filter(
            provider__in=candidates.filter(status=Provider.Status.ACTIVE)
        )
        .exclude(capability__after_hours="")
        .values_list("provider_id", "capability__after_hours")
    )
    out: dict[int, set[str]] = {}
    for pid, kind in rows:
        out.setdefault(pid, set()).add(kind)
    return out


def _reachable_after_hours(candidates: QuerySet, *, night: bool) -> set[int]:
    """Ids reachable outside office hours: always with 'always', at night/holidays with 'night'."""
    return {
        pid
        for pid, kinds in _after_hours(candidates).items()
        if hours_mod.after_hours_reachable(kinds, night=night)
    }


def asked_moment(cleaned: Mapping, now: dt.datetime) -> dt.datetime | None:
    """The moment an hours search asks about, as a local datetime (None: no time asked).

    A generic weekday with a time becomes its next date (from today); 祝日 the next holiday.
    """
    kind, when = _when(cleaned, now)
    if kind == "date":
        return when
    if kind != "weekday" or when[1] is None:
        return None
    key, minute = when
    day = now.date()
    for _i in range(400):
        if (key == hours_mod.HOLIDAY and hours_mod.is_holiday(day)) or (
            key < hours_mod.HOLIDAY and day.weekday() == key and not hours_mod.is_holiday(day)
        ):
            return dt.datetime.combine(day, dt.time(minute // 60, minute % 60))
        day += dt.timedelta(days=1)
    return None


# ---------------------------------------------------------------------------------------------
# The search


def keyword_terms(cleaned: Mapping) -> list[str]:
    """The folded terms of the keyword (each must occur in ``Provider.search_text``)."""
    return [term for term in (fold(part) for part in cleaned.get("q", "").split()) if term]


def base_queryset(cleaned: Mapping) -> QuerySet:
    """The SQL part of the search (everything except hours, exact radius and order)."""
    qs = Provider.objects.published()
    if cleaned.get("type"):
        qs = qs.filter(provider_type__code__in=cleaned["type"])
    for code in cleaned.get("cap", []):
        qs = qs.filter(
            id__in=ProviderCapability.objects.filter(capability__code=code).values("provider_id")
        )
    if cleaned.get("district"):
        qs = qs.filter(area__code=cleaned["district"])
    elif cleaned.get("region"):
        qs = qs.filter(Q(area__parent__code=cleaned["region"]) | Q(area__code=cleaned["region"]))
    if cleaned.get("radius"):
        min_lat, max_lat, min_lng, max_lng = geo.bbox_around(
            float(cleaned["lat"]), float(cleaned["lng"]), float(cleaned["radius"])
        )
        qs = qs.filter(
            latitude__gte=min_lat, latitude__lte=max_lat,
            longitude__gte=min_lng, longitude__lte=max_lng,
        )
    for term in keyword_terms(cleaned):
        qs = qs.filter(search_text__contains=term)
    if "ids" in cleaned:
        # A shortlist whose ids were all dropped selects nothing, never everything.
        qs = qs.filter(pk__in=cleaned["ids"])
    return qs


def _when(cleaned: Mapping, now: dt.datetime) -> tuple[str, object]:
    """('date', datetime) | ('weekday', (key, minute|None)) | ('', None)."""
    if cleaned.get("open") == "now":
        return "date", now
    if cleaned.get("open") != "at":
        return "", None
    day = cleaned.get("day")
    minute = None
    if cleaned.get("time"):
        hh, mm = cleaned["time"].split(":")
        minute = int(hh) * 60 + int(mm)
    if day and _DATE_RE.match(day):
        date = dt.date.fromisoformat(day)
        if minute is None:
            key = hours_mod.day_key(date)
            return "weekday", (key, None)
        return "date", dt.datetime.combine(date, dt.time(minute // 60, minute % 60))
    if day == "holiday":
        return "weekday", (hours_mod.HOLIDAY, minute)
    if day:
        return "weekday", (int(day), minute)
    # A time without a day: today at that time.
    return "date", dt.datetime.combine(now.date(), dt.time(minute // 60, minute % 60))


def conditions(cleaned: Mapping, now: dt.datetime | None = None) -> list[str]:
    types = {t.code: t for t in ProviderType.objects.filter(code__in=cleaned.get("type", []))}
    caps = {c.code: c for c in Capability.objects.filter(code__in=cleaned.get("cap", []))}
    out: list[str] = []
    if cleaned.get("type"):
        out.append(_("種別: %(names)s") % {"names": "、".join(types[c].display_name for c in cleaned["type"])})
    if cleaned.get("cap"):
        out.append(
            _("対応できること: %(names)s") % {"names": "、".join(caps[c].display_name for c in cleaned["cap"])}
        )
    area_code = cleaned.get("district") or cleaned.get("region")
    if area_code:
        area = Area.objects.filter(code=area_code).first()
        if area is not None:
            if area.level == Area.Level.DISTRICT:
                out.append(_("地区: %(name)s") % {"name": area.display_name})
            else:
                out.append(_("地域: %(name)s") % {"name": area.display_name})
    if cleaned.get("q"):
        out.append(_("キーワード: %(q)s") % {"q": cleaned["q"]})
    if cleaned.get("open") == "now":
        out.append(_("いま営業中"))
    elif cleaned.get("open") == "at":
        day = cleaned.get("day")
        if day and _DATE_RE.match(day):
            label = dt.date.fromisoformat(day).strftime("%Y-%m-%d")
        elif day == "holiday":
            label = _("祝日")
        elif day:
            label = str(_WEEKDAY_NAMES[int(day)])
        else:
            label = _("今日")
        if cleaned.get("time"):
            out.append(_("%(day)s %(time)s に営業") % {"day": label, "time": cleaned["time"]})
        else:
            out.append(_("%(day)sに営業") % {"day": label})
    if cleaned.get("nightholiday"):
        out.append(_("夜間（20時以降・7時前）や日曜・祝日も営業・連絡できる"))
    if cleaned.get("lat"):
        where = cleaned.get("place") or _("指定した場所")
        if cleaned.get("radius"):
            radius = int(cleaned["radius"])
            distance = (
                _("%(km)s km") % {"km": f"{radius / 1000:g}"} if radius >= 1000 else _("%(m)d m") % {"m": radius}
            )
            out.append(_("%(place)sから%(distance)s以内") % {"place": where, "distance": distance})
        else:
            out.append(_("%(place)sの近く") % {"place": where})
    if cleaned.get("ids"):
        out.append(_("選んだ事業所（%(n)d件）") % {"n": len(cleaned["ids"])})
    sort_labels = {"kana": _("五十音順"), "distance": _("近い順"), "area": _("地域・地区順")}
    out.append(_("並び順: %(sort)s") % {"sort": sort_labels[cleaned.get("sort", "kana")]})
    return out


def _ordered(qs: QuerySet, cleaned: Mapping) -> QuerySet:
    if cleaned.get("sort") == "area":
        return qs.order_by("area__parent__sort_order", "area__sort_order", "kana", "pk")
    return qs.order_by("kana", "pk")


def run_ids(params, *, now: dt.datetime | None = None, ids: Iterable | None = None) -> list[int]:
    return run(params, now=now, ids=ids, with_conditions=False).ids


def run(
    params,
    *,
    now: dt.datetime | None = None,
    ids: Iterable | None = None,
    with_conditions: bool = True,
) -> SearchResult:
    cleaned, ignored = clean(params, ids=ids)
    return run_cleaned(cleaned, ignored, now=now, with_conditions=with_conditions)


def needs_python(cleaned: Mapping) -> bool:
    """Whether some filter or the order is worked out in Python (hours, exact radius, distance)."""
    return bool(cleaned.get("open") or cleaned.get("nightholiday") or cleaned.get("lat"))


def run_cleaned(
    cleaned: dict,
    ignored: list[str],
    *,
    now: dt.datetime | None = None,
    with_conditions: bool = True,
    columns: Sequence[str] | None = None,
    annotations: Mapping | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> SearchResult:
    """:func:`run` for parameters already passed through :func:`clean`.

    ``columns`` (with ``annotations`` they may name) are read in the same ordered query as
    the ids and returned by ``result.rows``; ``bbox`` (min lat, min lng, max lat, max lng)
    keeps providers inside a map view (answered from the (latitude, longitude) index).
    """
    now = timezone.localtime(now or timezone.now()).replace(tzinfo=None)
    ignored = list(ignored)
    qs = base_queryset(cleaned)
    if bbox is not None:
        qs = qs.filter(
            latitude__gte=bbox[0], longitude__gte=bbox[1], latitude__lte=bbox[2], longitude__lte=bbox[3]
        )
    point = (float(cleaned["lat"]), float(cleaned["lng"])) if cleaned.get("lat") else None
    ordered = _ordered(qs, cleaned)
    if annotations:
        ordered = ordered.annotate(**annotations)
    extra = list(columns or ())

    if not needs_python(cleaned):
        _check_shortlist(cleaned, ignored)
        return SearchResult(
            ids=LazyIds(ordered),
            params=cleaned,
            ignored=ignored,
            conditions=conditions(cleaned, now) if with_conditions else [],
            querystring=querystring(cleaned),
            queryset=qs,
            in_sql=True,
            _row_query=ordered.values_list(*extra) if extra else None,
        )

    fields = ["id", "latitude", "longitude"] if point else ["id"]
    rows = list(ordered.values_list(*fields, *extra))
    result_ids = [row[0] for row in rows]

    # Hours: open by office hours, or reachable through an after-hours capability
    # (24時間対応 at any time, 夜間・休日対応 at night and on Sundays/holidays).
    kind, when = _when(cleaned, now)
    if kind and result_ids:
        if kind == "date":
            allowed = _open_at_date(qs, when)
            night = hours_mod.is_night_or_holiday(when)
        else:
            allowed = _open_on_weekday(qs, *when)
            night = hours_mod.weekday_has_night_or_holiday(*when)
        allowed |= _reachable_after_hours(qs, night=night)
        result_ids = [pk for pk in result_ids if pk in allowed]
    if cleaned.get("nightholiday") and result_ids:
        allowed = _night_or_holiday(qs) | _reachable_after_hours(qs, night=True)
        result_ids = [pk for pk in result_ids if pk in allowed]

    distances: dict[int, float] = {}
    if point:
        coords = {row[0]: (row[1], row[2]) for row in rows}
        for pk in result_ids:
            lat, lng = coords[pk]
            if lat is not None:
                distances[pk] = geo.haversine_m(point[0], point[1], float(lat), float(lng))
        if cleaned.get("radius"):
            radius = float(cleaned["radius"])
            result_ids = [pk for pk in result_ids if distances.get(pk, radius + 1) <= radius]
        if cleaned.get("sort") == "distance":
            result_ids.sort(key=lambda pk: (pk not in distances, distances.get(pk, 0.0)))

    selected_rows = None
    if extra:
        offset = len(fields)
        by_id = {row[0]: row[offset:] for row in rows}
        selected_rows = [by_id[pk] for pk in result_ids]

    _check_shortlist(cleaned, ignored)
    return SearchResult(
        ids=result_ids,
        params=cleaned,
        ignored=ignored,
        conditions=conditions(cleaned, now) if with_conditions else [],
        querystring=querystring(cleaned),
        distances=distances,
        queryset=qs,
        _rows=selected_rows,
    )


def _check_shortlist(cleaned: dict, ignored: list[str]) -> None:
    """Tell about shortlisted ids that are not (or no longer) public, and drop them."""
    if cleaned.get("ids"):
        public = set(
            Provider.objects.published().filter(pk__in=cleaned["ids"]).values_list("id", flat=True)
        )
        missing = [pk for pk in cleaned["ids"] if pk not in public]
        if missing:
            ignored.append(
                _("選んだ事業所のうち%(n)d件は見つからないか公開されていないため、外しました。")
                % {"n": len(missing)}
            )
            cleaned["ids"] = [pk for pk in cleaned["ids"] if pk in public]


# ---------------------------------------------------------------------------------------------
# Helpers for the search form: capability counts and "drop this condition" after zero results


def capability_counts(result: SearchResult) -> dict[str, int]:
    """Capability code -> how many providers of the current result have it (one query)."""
    if result.queryset is None:
        return {}
    if result.in_sql:
        # The result is the queryset itself: count in SQL, without reading its ids.
        return dict(
            ProviderCapability.objects.filter(provider__in=result.queryset)
            .values("capability__code")
            .annotate(n=Count("provider_id"))
            .order_by()
            .values_list("capability__code", "n")
        )
    if not result.ids:
        return {}
    ids = set(result.ids)
    counts: dict[str, int] = {}
    for pid, code in ProviderCapability.objects.filter(provider__in=result.queryset).values_list(
        "provider_id", "capability__code"
    ):
        if pid in ids:
            counts[code] = counts.get(code, 0) + 1
    return counts


@dataclass
class Relaxation:
    """One condition of a search and what the search gives without it."""

    label: str
    querystring: str
    count: int


def relaxations(result: SearchResult, *, now: dt.datetime | None = None) -> list[Relaxation]:
    """For an empty result: each condition the user set, with the count without it.

    One entry per type list, per capability, area, keyword, hours, night/holiday and distance.
    """
    cleaned = {k: v for k, v in result.params.items() if k != "page"}
    types = {t.code: t for t in ProviderType.objects.filter(code__in=cleaned.get("type", []))}
    caps = {c.code: c for c in Capability.objects.filter(code__in=cleaned.get("cap", []))}
    options: list[tuple[str, dict]] = []

    def without(*keys: str, **replace) -> dict:
        params = {k: v for k, v in cleaned.items() if k not in keys}
        params.update(replace)
        return params

    if cleaned.get("type"):
        names = "、".join(types[c].display_name for c in cleaned["type"] if c in types)
        options.append((_("種別（%(names)s）") % {"names": names}, without("type")))
    for code in cleaned.get("cap", []):
        if code in caps:
            options.append(
                (caps[code].display_name, without(cap=[c for c in cleaned["cap"] if c != code]))
            )
    area_code = cleaned.get("district") or cleaned.get("region")
    if area_code:
        area = Area.objects.filter(code=area_code).first()
        if area is not None:
            options.append(
                (_("地区・地域（%(name)s）") % {"name": area.display_name}, without("district", "region"))
            )
    if cleaned.get("q"):
        options.append((_("キーワード（%(q)s）") % {"q": cleaned["q"]}, without("q")))
    if cleaned.get("open"):
        options.append((_("営業している日時"), without("open", "day", "time")))
    if cleaned.get("nightholiday"):
        options.append((_("夜間・休日"), without("nightholiday")))
    if cleaned.get("radius"):
        options.append((_("距離（半径）"), without("radius")))
    out = []
    for label, params in options:
        relaxed = run_cleaned(dict(params), [], now=now, with_conditions=False)
        out.append(Relaxation(label=label, querystring=querystring(params), count=relaxed.count))
    return out
