"""Address -> point for "near a place".

Area names (地域・地区, e.g. 「用賀」「用賀地区」「北沢地域」) resolve locally from the reference
data, then the offline gazetteer (``gazetteer.py``: stations, 町丁目, addresses that start with a
町丁目, postal codes). Anything else goes to the geocoder named by ``settings.GEOCODER`` (a dotted
path to a class with ``lookup(text) -> Place | None``); the default asks the 国土地理院 address
search at ``settings.GEOCODER_URL``. Failures become :class:`GeocodingError` with a message for
residents. Each outside lookup holds a web worker up to its timeout and spends another
service's capacity, so lookups that would go outside are limited per client
(``RATELIMIT_GEOCODE``); answers found offline are never limited.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from . import gazetteer, ratelimits
from .folding import fold
from .models import Area, Municipality

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 3
MAX_TEXT = 100


@dataclass(frozen=True)
class Place:
    lat: float
    lng: float
    label: str


class GeocodingError(Exception):
    """Raised with a message that can be shown to the user as is."""


class GeocoderLimited(GeocodingError):
    """This client asked the outside geocoder too often; ``retry_after`` seconds to wait."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class GSIGeocoder:
    """国土地理院 address search (https://msearch.gsi.go.jp/address-search/AddressSearch?q=...)."""

    def __init__(self, url: str | None = None, timeout: float = TIMEOUT_SECONDS):
        self.url = url or settings.GEOCODER_URL
        self.timeout = timeout

    def lookup(self, text: str) -> Place | None:
        municipality = Municipality.current()
        query = text
        if municipality and municipality.name not in text:
            query = f"{municipality.prefecture}{municipality.name}{text}"
        url = f"{self.url}?{urllib.parse.urlencode({'q': query})}"
        if not url.startswith(("http://", "https://")):
            raise GeocodingError(_("住所の検索が設定されていません。"))
        request = urllib.request.Request(url, headers={"User-Agent": "resourcemap/1.0"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                data = json.loads(response.read(1_000_000).decode("utf-8"))
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            logger.warning("geocoder failed for %r: %s", text, exc)
            raise GeocodingError(
                _("いま住所を調べることができません。地区を選ぶか、しばらくしてからもう一度お試しください。")
            ) from exc
        candidates = []
        for item in data if isinstance(data, list) else []:
            try:
                lng, lat = item["geometry"]["coordinates"][:2]
                candidates.append(Place(float(lat), float(lng), str(item["properties"]["title"])))
            except (KeyError, TypeError, ValueError, IndexError):
                continue
        if municipality:
            inside = [p for p in candidates if municipality.contains(p.lat, p.lng)]
            return inside[0] if inside else None
        return candidates[0] if candidates else None


class FakeGeocoder:
    """Offline geocoder for tests and demos: a few known addresses, nothing else."""

    PLACES = {
        fold("世田谷区役所"): Place(35.646096, 139.653247, "世田谷区役所"),
        fold("用賀駅"): Place(35.626427, 139.633999, "用賀駅"),
        fold("東京都世田谷区用賀4丁目"): Place(35.6269, 139.6337, "東京都世田谷区用賀四丁目"),
        fold("下北沢駅"): Place(35.661568, 139.666897, "下北沢駅"),
        fold("成城学園前駅"): Place(35.640273, 139.598897, "成城学園前駅"),
    }

    def lookup(self, text: str) -> Place | None:
        key = fold(text)
        for name, place in self.PLACES.items():
            if key and (key in name or name in key):
                return place
        return None


def resolve_area(text: str) -> Place | None:
    key = fold(text)
    for suffix in (fold("地区"), fold("地域"), fold("まちづくりセンター")):
        if key.endswith(suffix) and len(key) > len(suffix):
            key = key[: -len(suffix)]
    if not key:
        return None
    # Districts first: 北沢 is both a 地区 and a 地域; "北沢地域" ends with 地域 and is handled below.
    areas = sorted(Area.objects.all(), key=lambda a: a.level != Area.Level.DISTRICT)
    wants_region = fold(text).endswith(fold("地域"))
    for area in areas:
        if wants_region and area.level != Area.Level.REGION:
            continue
        if key in (fold(area.name), fold(area.kana), fold(area.name_en)):
            return Place(float(area.center_lat), float(area.center_lng), str(area))
    return None


def _municipality_name() -> str:
    municipality = Municipality.current()
    return municipality.display_name if municipality else ""


def geocoder():
    return import_string(settings.GEOCODER)()


def lookup(text: str, *, request=None) -> Place:
    """A point for ``text``; raises GeocodingError with a message for the user.

    With ``request`` (a visitor's request), a lookup that would go to the outside geocoder
    counts against ``RATELIMITS["geocode"]`` for that client (GeocoderLimited over it)."""
    text = " ".join((text or "").split())[:MAX_TEXT]
    if not text:
        raise GeocodingError(_("場所（住所・駅名・地区名）を入力してください。"))
    place = resolve_area(text)
    if place is not None:
        return place
    try:
        found = gazetteer.lookup(text)
    except gazetteer.PostalCodeError as exc:
        raise GeocodingError(
            _("郵便番号「%(text)s」は%(place)sの番号です。%(municipality)sの郵便番号か、町名・駅名で探してください。")
            % {"text": text, "place": str(exc), "municipality": _municipality_name()}
        ) from exc
    if found is not None:
        return Place(found.lat, found.lng, found.label)
    if gazetteer.is_postal_code(text):
        raise GeocodingError(
            _("郵便番号「%(text)s」の場所が見つかりませんでした。町名や駅名で試してください。") % {"text": text}
        )
    if request is not None and not ratelimits.hit(request, "geocode", settings.RATELIMITS["geocode"]):
        seconds = getattr(request, "ratelimit_retry_after", 60)
        raise GeocoderLimited(
            _("住所の検索が続いたため、しばらく止めています。%(wait)s待ってからお試しいただくか、駅名・地区名で探してください。")
            % {"wait": ratelimits.wait_text(seconds)},
            seconds,
        )
    try:
        place = geocoder().lookup(text)
    except GeocodingError:
        raise
    except Exception as exc:  # a misconfigured or broken geocoder must not become a 500
        logger.exception("geocoder error")
        raise GeocodingError(_("いま住所を調べることができません。地区を選んでください。")) from exc
    if place is None:
        raise GeocodingError(
            _("「%(text)s」の場所が見つかりませんでした。町名と番地、駅名や地区名で試してください。")
            % {"text": text}
        )
    return place
