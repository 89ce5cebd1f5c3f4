"""Public JSON and GeoJSON of the provider search (public fields only).

Built from ``values_list()`` tuples, never model instances. Same query parameters as the map
page (see ``resourcemap.search``); unknown or malformed parameters answer 400 with a JSON message.
``lang=en`` (or ``ja``) picks the language of names; the API lives outside the language
prefixes, so it defaults to Japanese. Responses carry an ETag derived from the cleaned search, the language and the data version,
so unchanged data answers 304; they are gzip-compressed for clients that accept it.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections import defaultdict

import orjson
from django.conf import settings
from django.db.models import Avg, Case, CharField, Count, F, FloatField, Value, When
from django.db.models.functions import Cast, Floor, Round
from django.http import HttpResponse, HttpResponseNotModified
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET

from . import gazetteer, geocoding, links, search
from . import hours as hours_mod
from .language import english
from .models import (
    Area,
    Capability,
    DataVersion,
    GazetteerPlace,
    OpeningPeriod,
    Provider,
    ProviderCapability,
    ProviderType,
)
from .search import areas as search_areas

MAX_AGE = 300
# A map view with more matches than this gets grid clusters instead of points.
MAX_POINTS = settings.MAP_MAX_POINTS
MAX_ZOOM = 22
# Public columns. Provider.PRIVATE_FIELDS never appear here.
COLUMNS = (
    "id", "name", "name_en", "kana", "provider_type__code", "status", "postal_code", "address",
    "building", "lat", "lng", "area__code", "phone", "fax", "website", "email",
    "notes", "notes_en", "hours_unknown", "hours_note", "last_confirmed_on",
    "last_confirmed_source",
)
# The compact API's row, as the database returns it (``display_name`` and the ``distance_m``
# placeholder are annotations): a search done in SQL sends its rows as they come.
COMPACT_COLUMNS = ("id", "lat", "lng", "provider_type__code", "display_name", "address", "distance_m", "phone")
COMPACT_HEADER = ["id", "lat", "lng", "type", "name", "address", "distance_m", "phone"]
DISTANCE_SLOT = COMPACT_COLUMNS.index("distance_m")
# A map view's row (``bbox=``): what the markers need to be drawn and named. The popup asks for
# the rest of one provider when it opens (``?ids=<id>``), so a city-sized view stays small.
# Its coordinates are rounded to 5 decimals (about 1 m, under a pixel at the map's closest zoom)
# and its type is the type's id, named once per answer in ``types`` (id -> code).
VIEW_COLUMNS = ("id", "view_lat", "view_lng", "provider_type_id", "display_name")
VIEW_HEADER = ["id", "lat", "lng", "type_id", "name"]
VIEW_PLACES = 5


class AsFloat(Cast):
    """``CAST(column AS double precision)``: the database hands back floats already, so no
    converter runs per row (Django's float() of every value cost more than the query)."""

    def __init__(self, expression):
        super().__init__(expression, FloatField())

    @property
    def convert_value(self):
        return self._convert_value_noop


# Coordinates as floats straight from the database (no Decimal round trip per row).
FLOAT_COORDS = {"lat": AsFloat("latitude"), "lng": AsFloat("longitude")}


def _compact_annotations() -> dict:
    """The coordinates, the name in the page's language (the English name where there is one)
    and an empty distance (filled in Python when a point is given), computed in SQL."""
    name = Case(When(name_en="", then=F("name")), default=F("name_en")) if english() else F("name")
    # NULL typed as text: no per-row converter (an integer placeholder would get int() per row).
    return {
        **FLOAT_COORDS, "display_name": name, "distance_m": Value(None, output_field=CharField()),
        "view_lat": AsFloat(Round("latitude", VIEW_PLACES)), "view_lng": AsFloat(Round("longitude", VIEW_PLACES)),
    }
assert not set(COLUMNS) & set(Provider.PRIVATE_FIELDS)


def _json(data, status: int = 200) -> HttpResponse:
    return HttpResponse(
        orjson.dumps(data), status=status, content_type="application/json; charset=utf-8"
    )


def _bad_request(messages: list[str]) -> HttpResponse:
    return _json({"error": _("検索の条件に誤りがあります。"), "messages": messages}, status=400)


def _viewport(params) -> tuple[tuple | None, int | None, list[str]]:
    """``bbox=west,south,east,north`` (degrees) and ``zoom=0..22`` of a map view, popped."""
    raw_bbox = params.pop("bbox", [""])[-1].strip()
    raw_zoom = params.pop("zoom", [""])[-1].strip()
    errors: list[str] = []
    bbox = zoom = None
    if raw_bbox:
        parts = [search.finite_float(part) for part in raw_bbox.split(",")]
        if len(parts) != 4 or None in parts:
            errors.append(_("地図の範囲（bbox）は「西,南,東,北」の4つの数で指定してください。"))
        else:
            west, south, east, north = parts
            if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
                errors.append(_("地図の範囲（bbox）が正しくありません。"))
            else:
                bbox = (south, west, north, east)
    if raw_zoom:
        if raw_zoom.isdigit() and 0 <= int(raw_zoom) <= MAX_ZOOM:
            zoom = int(raw_zoom)
        else:
            errors.append(_("地図の縮尺（zoom）は0から%(max)dの整数で指定してください。") % {"max": MAX_ZOOM})
    return bbox, zoom, errors


def _cell_degrees(bbox: tuple, zoom: int | None) -> float:
    """Grid cell size: about 80 screen pixels at ``zoom`` (``search.cell_size``), else 1/16 of the view."""
    if zoom is not None:
        return search.cell_size(zoom)
    return max(bbox[3] - bbox[1], bbox[2] - bbox[0]) / 16


def _clusters(result, cell: float) -> list[list]:
    """[[lat, lng, count], …] per grid cell, positioned at the mean of its providers."""
    if result.in_sql:
        lat, lng = Cast("latitude", FloatField()), Cast("longitude", FloatField())
        rows = (
            result.queryset.filter(latitude__isnull=False)
            .annotate(cy=Floor(lat / cell), cx=Floor(lng / cell))
            .values("cy", "cx")
            .annotate(n=Count("id"), mean_lat=Avg(lat), mean_lng=Avg(lng))
            .order_by()
            .values_list("mean_lat", "mean_lng", "n")
        )
        cells = [[round(a, 6), round(b, 6), n] for a, b, n in rows]
    else:
        sums: dict[tuple[int, int], list[float]] = {}
        for _pid, lat_, lng_, *_rest in result.rows:
            if lat_ is None:
                continue
            item = sums.setdefault((math.floor(lat_ / cell), math.floor(lng_ / cell)), [0.0, 0.0, 0])
            item[0] += lat_
            item[1] += lng_
            item[2] += 1
        cells = [[round(a / n, 6), round(b / n, 6), n] for a, b, n in sums.values()]
    cells.sort(key=lambda c: (-c[2], c[0], c[1]))
    return cells


def _etag(kind: str, cleaned: dict, lang: str, extra: str = "") -> str:
    parts = [kind, search.querystring(cleaned), lang, DataVersion.current(), extra]
    if cleaned.get("open") == "now" or (cleaned.get("open") == "at" and not cleaned.get("day")):
        parts.append(timezone.localtime().strftime("%Y-%m-%dT%H:%M"))
    return '"' + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32] + '"'


def _activate_language(lang: str) -> HttpResponse | None:
    """Answers in ``?lang=`` (none: Japanese); a 400 for a language the site does not have."""
    if lang:
        if lang not in dict(settings.LANGUAGES):
            return _bad_request([_("言語「%(lang)s」には対応していません。") % {"lang": lang[:10]}])
        translation.activate(lang)
    return None


def _prepare(request, kind: str):
    """(result, None) or (None, response) for a 400 or 304."""
    params = request.GET.copy()
    params.pop("page", None)  # the API returns every match
    refused = _activate_language(params.pop("lang", [""])[-1])
    if refused:
        return None, refused
    bbox, zoom, view_errors = _viewport(params)
    cleaned, ignored = search.clean(params)
    if ignored or view_errors:
        return None, _bad_request(ignored + view_errors)
    lang = translation.get_language() or "ja"
    etag = _etag(kind, cleaned, lang, f"{bbox}|{zoom}")
    if etag_matches(request, etag):
        response = HttpResponseNotModified()
        response["ETag"] = etag
        _cache_headers(response, cleaned)
        return None, response
    if kind == "json" and (bbox is None or zoom is not None):  # a view without zoom counts its cells from the queryset
        result = search.run_cleaned_rows(
            cleaned, ignored, bbox=bbox, columns=COMPACT_COLUMNS if bbox is None else VIEW_COLUMNS,
            annotations=_compact_annotations(), key=lang,
        )
    elif kind == "json":
        result = search.run_cleaned(
            cleaned, ignored, with_conditions=False, bbox=bbox, columns=VIEW_COLUMNS, annotations=_compact_annotations(),
        )
    else:
        result = search.run_cleaned(
            cleaned, ignored, with_conditions=False, bbox=bbox, columns=COLUMNS, annotations=FLOAT_COORDS,
        )
    return (result, etag, bbox, zoom), None


def etag_matches(request, etag: str) -> bool:
    """``If-None-Match`` names this tag, compared weakly (RFC 9110 §13.1.2).

    GZipMiddleware / ``gzip_page`` turn a strong tag into ``W/"…"`` on the compressed answer,
    and that weak form is what browsers send back.
    """
    header = request.headers.get("If-None-Match", "")
    if not header:
        return False
    if header.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in header.split(","))


def _cache_headers(response: HttpResponse, cleaned: dict) -> None:
    time_dependent = cleaned.get("open") == "now"
    response["Cache-Control"] = f"public, max-age={60 if time_dependent else MAX_AGE}"
    patch_vary_headers(response, ("Accept-Language", "Cookie"))


def _finish(response: HttpResponse, etag: str, cleaned: dict) -> HttpResponse:
    response["ETag"] = etag
    _cache_headers(response, cleaned)
    return response


def _hours_text(items: tuple[tuple[int, str, str], ...]) -> str:
    """Same text as ``hours.format_periods`` (``月 09:00-12:00,14:00-18:00; 祝 …``), from strings."""
    if not items:
        return ""
    by_day: dict[int, list[str]] = {}
    for weekday, opens, closes in items:
        span = "00:00-24:00" if opens == closes == "00:00" else f"{opens}-{closes}"
        by_day.setdefault(weekday, []).append(span)
    return hours_mod.format_day_spans(by_day)


@require_GET
@gzip_page
def providers_geojson(request):
    prepared, error = _prepare(request, "geojson")
    if error:
        return error
    result, etag, _bbox, _zoom = prepared
    in_english = english()
    type_names = {t.code: t.display_name for t in ProviderType.objects.all()}
    cap_names = {c.code: c.display_name for c in Capability.objects.all()}
    capabilities: dict[int, list] = defaultdict(list)
    periods: dict[int, list] = defaultdict(list)
    if result.rows:
        for pid, code, count, note in ProviderCapability.objects.filter(
            provider__in=result.queryset
        ).order_by("capability__sort_order", "capability__code").values_list(
            "provider_id", "capability__code", "count", "note"
        ):
            item = {"code": code, "name": cap_names[code]}
            if count is not None:
                item["count"] = count
            if note:
                item["note"] = note
            capabilities[pid].append(item)
        # Times as text ("09:00:00") on both databases: no time objects for thousands of rows.
        for pid, weekday, opens, closes in (
            OpeningPeriod.objects.filter(provider__in=result.queryset)
            .order_by("weekday", "opens")
            .values_list("provider_id", "weekday", Cast("opens", CharField()), Cast("closes", CharField()))
        ):
            periods[pid].append((weekday, opens[:5], closes[:5]))
    hours_text = functools.lru_cache(maxsize=4096)(_hours_text)  # many share the same hours
    # Links are built from SITE_URL, like QR codes, never from the request's Host header.
    detail = links.absolute_url(reverse("provider_detail", args=[0]).rsplit("0/", 1)[0])
    features = []
    for row in result.rows:
        props = dict(zip(COLUMNS, row, strict=True))
        pid = props.pop("id")
        lat, lng = props.pop("lat"), props.pop("lng")
        type_code = props.pop("provider_type__code")
        props.update(
            {
                "id": pid,
                "type": type_code,
                "type_name": type_names[type_code],
                "area": props.pop("area__code"),
                "capabilities": capabilities.get(pid, []),
                "hours": hours_text(tuple(periods.get(pid, ()))),
                "url": f"{detail}{pid}/",
            }
        )
        if in_english and props["name_en"]:
            props["display_name"] = props["name_en"]
        else:
            props["display_name"] = props["name"]
        if props["last_confirmed_on"]:
            props["last_confirmed_on"] = props["last_confirmed_on"].isoformat()
        if pid in result.distances:
            props["distance_m"] = round(result.distances[pid])
        features.append(
            {
                "type": "Feature",
                "id": pid,
                "geometry": {"type": "Point", "coordinates": [lng, lat]}
                if lat is not None
                else None,
                "properties": props,
            }
        )
    data = {
        "type": "FeatureCollection",
        "count": result.count,
        "query": result.querystring,
        "features": features,
    }
    return _finish(_json(data), etag, result.params)


@require_GET
@gzip_page
def providers_json(request):
    """Compact form for the map: one array per provider, column names given once.

    With ``bbox`` only the providers in that view; when they are more than MAX_POINTS, grid
    clusters (``[lat, lng, count]``, counted in SQL) instead of providers. With ``zoom`` too
    (the map always sends it), the cells are the global grid's (``search.grid``): the count
    and the cells are those of the whole cells the view touches. A view's rows carry
    ``VIEW_HEADER`` only (id, lat, lng, type, name); ``?ids=<id>`` gives one provider's whole row.
    """
    prepared, error = _prepare(request, "json")
    if error:
        return error
    result, etag, bbox, zoom = prepared
    columns = COMPACT_HEADER if bbox is None else VIEW_HEADER
    if bbox is not None and zoom is not None and not search.needs_python(result.params):
        cells, total = search.cell_counts(result.params, bbox, zoom)
        if total > MAX_POINTS:
            data = {
                "count": total, "query": result.querystring, "columns": columns, "providers": [],
                "clusters": cells,
            }
            return _finish(_json(data), etag, result.params)
    elif bbox is not None and result.count > MAX_POINTS:
        data = {
            "count": result.count,
            "query": result.querystring,
            "columns": columns,
            "providers": [],
            "clusters": _clusters(result, _cell_degrees(bbox, zoom)),
        }
        return _finish(_json(data), etag, result.params)
    items = result.rows
    if bbox is not None:
        types, _caps, _areas = search.reference()
        data = {
            "count": result.count, "query": result.querystring, "columns": columns, "providers": items,
            "types": {str(t.pk): code for code, t in types.items()},
        }
        return _finish(_json(data), etag, result.params)
    if result.distances:
        distances = result.distances
        items = [
            (*row[:DISTANCE_SLOT], round(distances[row[0]]) if row[0] in distances else None, *row[DISTANCE_SLOT + 1:])
            for row in items
        ]
    data = {
        "count": result.count,
        "query": result.querystring,
        "columns": columns,
        "providers": items,
    }
    return _finish(_json(data), etag, result.params)


@require_GET
def geocode(request):
    """{"lat", "lng", "label"} for a typed place, or 400/404 with a message."""
    text = request.GET.get("q", "")
    try:
        place = geocoding.lookup(text, request=request)
    except geocoding.GeocoderLimited as exc:
        response = _json({"error": str(exc)}, status=429)
        response["Retry-After"] = str(exc.retry_after)
        return response
    except geocoding.GeocodingError as exc:
        return _json({"error": str(exc)}, status=400 if not text.strip() else 404)
    response = _json({"lat": round(place.lat, 6), "lng": round(place.lng, 6), "label": place.label})
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_GET
def places(request):
    """Place names for the autocompletion of "near a place": ``?q=三軒`` → up to 8 stations
    and 町丁目 of the gazetteer whose name or reading starts with the text (O(result)).
    ``lang=en`` gives the kinds (駅 / 町丁目) in English; the names stay as written."""
    text = request.GET.get("q", "")[: geocoding.MAX_TEXT]
    refused = _activate_language(request.GET.get("lang", ""))
    if refused:
        return refused
    kinds = dict(GazetteerPlace.Kind.choices)
    items = [
        {"label": entry.name, "kind": entry.kind, "kind_label": str(kinds[entry.kind]), "detail": entry.detail}
        for entry in gazetteer.suggest(text)
    ]
    response = _json({"query": text, "places": items})
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_GET
def areas(request):
    """地域/地区 names for the typed area field of a site with many areas: ``?q=太子`` → up to 8
    areas whose name, reading or 「地域 地区」 name starts with the text (an index, O(result)).
    ``label`` is what the field sends back (resolved by the search form)."""
    text = request.GET.get("q", "")[:100]
    refused = _activate_language(request.GET.get("lang", ""))
    if refused:
        return refused
    levels = dict(Area.Level.choices)
    items = [
        {"label": search_areas.label(area), "code": area.code, "kind": area.level, "kind_label": str(levels[area.level])}
        for area in search_areas.suggest(text)
    ]
    response = _json({"query": text, "areas": items})
    response["Cache-Control"] = "public, max-age=300"
    return response
