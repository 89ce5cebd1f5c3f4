"""The result of a search: ordered ids (read lazily when the search ran in SQL) and providers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urlencode

from django.core.exceptions import EmptyResultSet
from django.db.models import QuerySet

from ..models import DataVersion, Provider

# Counts of SQL-only searches (how many match, capability counts), per process and per data
# version: paging through a long list, or the same filter asked again, counts once.
_counts: dict = {}
MAX_REMEMBERED_COUNTS = 512


def count_per_version(kind: str, queryset: QuerySet, compute):
    """``compute()`` for this queryset's SQL, remembered until the data version moves."""
    version = DataVersion.current()
    if _counts.get("version") != version or len(_counts) > MAX_REMEMBERED_COUNTS:
        _counts.clear()
        _counts["version"] = version
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:  # e.g. a shortlist of no ids: nothing to ask the database
        return compute()
    key = (kind, sql, tuple(params))
    if key not in _counts:
        _counts[key] = compute()
    return _counts[key]


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
            self._len = count_per_version("count", self._qs, self._qs.count)
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
