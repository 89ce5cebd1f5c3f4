"""Running the search: one SQL query (hours included), then exact radius and distance order in
Python for a search near a point."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import BooleanField, Case, Exists, F, Func, OuterRef, QuerySet, Value, When
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import geo
from ..folding import fold
from ..language import english
from ..models import Provider, ProviderCapability
from .describe import conditions
from .form import clean
from .opening import Moment, any_exception_covers, asked_date_moment, hours_condition
from .params import _reference, querystring, region_area_ids
from .result import LazyIds, SearchResult

# Keyword terms this short have no trigram; on PostgreSQL they are looked up in the GIN index
# of the 1- and 2-character pieces of the folded text (migration 0015).
SHORT_TERM = 2


class ShortGramsContain(Func):
    """``resourcemap_short_grams(search_text) @> ARRAY[term]``: the term (one or two
    characters) occurs in the text; the same expression as the index, so the index answers."""

    output_field = BooleanField()

    def as_sql(self, compiler, connection, **extra_context):
        column, term = self.source_expressions
        column_sql, column_params = compiler.compile(column)
        term_sql, term_params = compiler.compile(term)
        return f"resourcemap_short_grams({column_sql}) @> ARRAY[{term_sql}]::text[]", (*column_params, *term_params)


def keyword_terms(cleaned: Mapping) -> list[str]:
    """The folded terms of the keyword (each must occur in ``Provider.search_text``)."""
    return [term for term in (fold(part) for part in cleaned.get("q", "").split()) if term]


def base_queryset(cleaned: Mapping, *, now: dt.datetime | None = None, moment: Moment | None = None) -> QuerySet:
    """The SQL part of the search (everything except exact radius and order).

    Hours filters are asked at ``now`` (a local datetime; the current time if None), or at
    ``moment`` when given (see ``opening.Moment``).

    Codes become ids from the reference data kept per data version, so the query filters the
    provider table's own columns (no joins): ``provider_type_id IN``, ``area_id IN`` and one
    ``EXISTS`` semi-join per capability, answered from the (capability, provider) index.
    """
    qs = Provider.objects.published()
    if any(cleaned.get(key) for key in ("type", "cap", "district", "region")):
        types, caps, areas = _reference()  # read only when a filter needs the ids
    if cleaned.get("type"):
        qs = qs.filter(provider_type_id__in=[types[c].pk for c in cleaned["type"] if c in types])
    for code in cleaned.get("cap", []):
        if code not in caps:
            qs = qs.none()  # a code no longer in the reference data matches nothing
            continue
        qs = qs.filter(
            Exists(ProviderCapability.objects.filter(provider_id=OuterRef("pk"), capability_id=caps[code].pk))
        )
    if cleaned.get("district"):
        area = areas.get(cleaned["district"])
        qs = qs.filter(area_id=area.pk) if area else qs.none()
    elif cleaned.get("region"):
        qs = qs.filter(area_id__in=region_area_ids(cleaned["region"]))
    if cleaned.get("radius"):
        min_lat, max_lat, min_lng, max_lng = geo.bbox_around(
            float(cleaned["lat"]), float(cleaned["lng"]), float(cleaned["radius"])
        )
        qs = qs.filter(
            latitude__gte=min_lat, latitude__lte=max_lat,
            longitude__gte=min_lng, longitude__lte=max_lng,
        )
    postgres = connections[qs.db].vendor == "postgresql"
    for term in keyword_terms(cleaned):
        if postgres and len(term) <= SHORT_TERM:
            qs = qs.filter(ShortGramsContain(F("search_text"), Value(term)))
        else:
            qs = qs.filter(search_text__contains=term)
    if "ids" in cleaned:
        # A shortlist whose ids were all dropped selects nothing, never everything.
        qs = qs.filter(pk__in=cleaned["ids"])
    if cleaned.get("open") or cleaned.get("nightholiday"):
        if now is None:
            now = timezone.localtime().replace(tzinfo=None)
        hours = hours_condition(cleaned, now, moment=moment)
        if hours is not None:
            qs = qs.filter(hours)
    return qs


def name_order() -> list:
    """Order by name: 五十音 (the kana reading) on Japanese pages; on English pages the English
    name A–Z where there is one, then the providers without one in 五十音 order."""
    if english():
        without_english = Case(When(name_en="", then=Value(1)), default=Value(0))
        return [without_english, Lower("name_en"), "kana", "pk"]
    return ["kana", "pk"]


def _ordered(qs: QuerySet, cleaned: Mapping) -> QuerySet:
    if cleaned.get("sort") == "area":
        return qs.order_by("area__parent__sort_order", "area__sort_order", *name_order())
    return qs.order_by(*name_order())


def run_ids(params, *, now: dt.datetime | None = None, ids: Iterable | None = None) -> list[int]:
    return list(run(params, now=now, ids=ids, with_conditions=False).ids)


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
    """Whether some filter or the order is worked out in Python (exact radius, distance)."""
    return bool(cleaned.get("lat"))


def run_cleaned(
    cleaned: dict,
    ignored: list[str],
    *,
    now: dt.datetime | None = None,
    with_conditions: bool = True,
    columns: Sequence[str] | None = None,
    annotations: Mapping | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    moment: Moment | None = None,
) -> SearchResult:
    """:func:`run` for parameters already passed through :func:`clean`.

    ``columns`` (with ``annotations`` they may name) are read in the same ordered query as
    the ids and returned by ``result.rows``; ``bbox`` (min lat, min lng, max lat, max lng)
    keeps providers inside a map view (answered from the (latitude, longitude) index).
    """
    now = timezone.localtime(now or timezone.now()).replace(tzinfo=None)
    ignored = list(ignored)
    qs = base_queryset(cleaned, now=now, moment=moment)
    if bbox is not None:
        qs = qs.filter(
            latitude__gte=bbox[0], longitude__gte=bbox[1], latitude__lte=bbox[2], longitude__lte=bbox[3]
        )
    point = (float(cleaned["lat"]), float(cleaned["lng"])) if cleaned.get("lat") else None
    ordered = _ordered(qs, cleaned)
    if annotations:
        ordered = ordered.annotate(**annotations)
    extra = list(columns or ())

    if needs_python(cleaned):
        ids, distances, rows = _near_point(ordered, cleaned, point, extra)
        extra_fields = {"distances": distances, "_rows": rows}
    else:
        ids = LazyIds(ordered)
        extra_fields = {"in_sql": True, "_row_query": ordered.values_list(*extra) if extra else None}
    _check_shortlist(cleaned, ignored)
    return SearchResult(
        ids=ids,
        params=cleaned,
        ignored=ignored,
        conditions=conditions(cleaned, now) if with_conditions else [],
        querystring=querystring(cleaned),
        queryset=qs,
        **extra_fields,
    )


def _near_point(ordered, cleaned: Mapping, point, extra: list[str]):
    """Exact radius and distance order on the rows SQL returned:
    (ids, distances, the ``extra`` columns per id or None)."""
    fields = ["id", "latitude", "longitude"]
    rows = list(ordered.values_list(*fields, *extra))
    result_ids = [row[0] for row in rows]

    distances: dict[int, float] = {}
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
    return result_ids, distances, selected_rows


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


# Compiled row queries of SQL-only searches, per process and per data version: the same search
# asked again (a map's view, the next visitor) runs its SQL without building and compiling the
# queryset, which cost more CPU than the read itself. A search at a moment (open now, a date and
# time) is kept per shape of its moment (``opening.Moment``): compiled once with placeholder
# values, its minute and dates are bound in their places at each request.
_row_sql: dict = {}
MAX_REMEMBERED_SQL = 256
# Placeholder values of a moment: no other parameter of a search is a date, and no constant time
# of the hours rules has these microseconds, so their places in the compiled parameters are theirs.
_PLACEHOLDERS = (dt.time(23, 58, 59, 123_457), dt.date(1, 1, 2), dt.date(1, 1, 1))

class _StoredRows(Sequence):
    """The rows of a stored compiled query, read once when first asked for."""

    def __init__(self, alias: str, sql: str, params: tuple):
        self._alias, self._sql, self._params = alias, sql, params
        self._rows: list[tuple] | None = None

    def _load(self) -> list[tuple]:
        if self._rows is None:
            with connections[self._alias].cursor() as cursor:
                cursor.execute(self._sql, self._params)
                self._rows = cursor.fetchall()
        return self._rows

    def __len__(self) -> int:
        return len(self._load())

    def __getitem__(self, index):
        return self._load()[index]

    def __iter__(self):
        return iter(self._load())


class _StoredIds(Sequence):
    def __init__(self, rows: _StoredRows):
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [row[0] for row in self._rows[index]]
        return self._rows[index][0]


def run_cleaned_rows(
    cleaned: dict,
    ignored: list[str],
    *,
    columns: Sequence[str],
    annotations: Mapping,
    bbox: tuple[float, float, float, float] | None,
    key: str,
    now: dt.datetime | None = None,
) -> SearchResult:
    """:func:`run_cleaned` for the rows alone (``columns``, the first being the id), with the
    compiled SQL kept per data version under ``key`` (what else decides the SQL, e.g. the
    language of the annotations). Same rows, same order; ``result.queryset`` is not kept."""
    from ..models import DataVersion  # the version names the reference data the SQL was built from

    if needs_python(cleaned) or "ids" in cleaned:
        return run_cleaned(
            cleaned, ignored, now=now, with_conditions=False, columns=columns, annotations=annotations, bbox=bbox
        )
    version = DataVersion.current()
    if _row_sql.get("version") != version or len(_row_sql) > MAX_REMEMBERED_SQL:
        _row_sql.clear()
        _row_sql["version"] = version
    moment = None
    if cleaned.get("open"):
        now = now or timezone.now()
        local = timezone.localtime(now).replace(tzinfo=None)
        moment = asked_date_moment(cleaned, local, exceptions_cover=_exceptions_cover)
    cache_key = (key, querystring(cleaned), bbox, tuple(columns), moment and moment.shape)
    stored = _row_sql.get(cache_key)
    if stored is None:
        placeholder = moment and moment.with_values(*_PLACEHOLDERS)
        result = run_cleaned(
            cleaned, ignored, now=now, with_conditions=False, columns=columns, annotations=annotations, bbox=bbox,
            moment=placeholder,
        )
        query = result._row_query
        try:
            sql, params = query.query.get_compiler(using=query.db).as_sql()
        except EmptyResultSet:
            if moment is None:
                return result
            return run_cleaned(
                cleaned, ignored, now=now, with_conditions=False, columns=columns, annotations=annotations,
                bbox=bbox, moment=moment,
            )
        stored = _row_sql[cache_key] = (query.db, sql, tuple(params), _placeholder_places(query.db, params, moment))
    alias, sql, params, places = stored
    if places:
        params = _bind(alias, params, places, moment)
    rows = _StoredRows(alias, sql, params)
    return SearchResult(
        ids=_StoredIds(rows), params=cleaned, ignored=list(ignored), conditions=[],
        querystring=querystring(cleaned), _row_query=rows,
    )


def _adapted(alias: str, values: tuple) -> tuple:
    """A moment's values as the compiler passes them to the database."""
    ops = connections[alias].ops
    instant, day, prev = values
    return ops.adapt_timefield_value(instant), ops.adapt_datefield_value(day), ops.adapt_datefield_value(prev)


def _placeholder_places(alias: str, params: Sequence, moment: Moment | None) -> tuple[tuple[int, int], ...]:
    """(position in the parameters, which value of the moment) of every placeholder."""
    if moment is None:
        return ()
    placeholders = _adapted(alias, _PLACEHOLDERS)
    return tuple(
        (position, placeholders.index(value))
        for position, value in enumerate(params)
        if any(type(value) is type(p) and value == p for p in placeholders)
    )


def _bind(alias: str, params: tuple, places: tuple[tuple[int, int], ...], moment: Moment) -> tuple:
    values = _adapted(alias, moment.values())
    bound = list(params)
    for position, which in places:
        bound[position] = values[which]
    return tuple(bound)


def _exceptions_cover(first: dt.date, last: dt.date) -> bool:
    """Whether any dated exception covers the days, read once per data version and days (every
    change of exceptions goes through the write path, which moves the version)."""
    cache_key = ("exceptions", first, last)
    if cache_key not in _row_sql:
        _row_sql[cache_key] = any_exception_covers(first, last)
    return _row_sql[cache_key]
