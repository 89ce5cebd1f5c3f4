"""The one provider search: query string -> validated filters -> ordered provider ids.

Every public output (map page, list, API, print sheet, CSV) calls :func:`run` with the request's
query string, so a copied URL reproduces the same result everywhere.

Filtering happens in two steps:

1. SQL: published status, type, capabilities (all must match), 地域/地区, keyword (every term
   in the folded ``Provider.search_text`` column, see :func:`fold`; trigram-indexed on
   PostgreSQL), a bounding box around a point, opening hours (open at a moment or on a weekday,
   reachable after hours, night or holiday: ``EXISTS`` conditions, see ``opening``). Without a
   point the whole search is one query: ids, count, pages and columns come from it.
2. Python, for a search near a point only: exact radius, distance sort.

Unknown or malformed parameters are dropped and described in ``result.ignored``; nothing here
raises on user input.

The package, by job:

- ``form``: ``SearchForm``, every parameter as a form field (``clean`` reads a query string);
- ``params``: the parameters' names and limits, the canonical query string, and the reference
  data (types, capabilities, areas) kept per data version (``reference``, ``capability_types``);
- ``query``: running the search (``run``, ``run_cleaned``, ``base_queryset``);
- ``opening``: the opening-hours filters as SQL conditions (``hours_condition``, ``asked_moment``);
- ``result``: ``SearchResult``, ``LazyIds``, ``load_providers``;
- ``describe``: the conditions in words (``conditions``);
- ``grid``: counts per map grid cell for zoomed-out views (``cell_counts``);
- ``origin``: the search a link came from (``from=``), never anything but this site's map;
- ``areas``: the 地域/地区 typed by name on a site with many areas (``resolve``, ``suggest``);
- ``suggest``: capability counts and "drop this condition" after zero results.
"""

from ..folding import fold
from . import areas
from .describe import conditions
from .form import RADII, SearchForm, clean, display_form
from .grid import cell_counts, cell_size
from .opening import EARLY_UNTIL, NIGHT_FROM, asked_moment
from .origin import origin_query
from .params import (
    KNOWN_KEYS,
    LIST_KEYS,
    MAX_IDS,
    MAX_Q,
    QUERY_ORDER,
    RADIUS_MAX,
    RADIUS_MIN,
    SINGLE_KEYS,
    SORTS,
    _reference_cache,
    capability_types,
    finite_float,
    querystring,
    split_list,
)
from .params import (
    _reference as reference,
)
from .query import (
    base_queryset,
    keyword_terms,
    needs_python,
    run,
    run_cleaned,
    run_cleaned_rows,
    run_ids,
)
from .result import LazyIds, SearchResult, load_providers
from .suggest import Relaxation, capability_counts, relaxations

__all__ = [
    "areas",
    "EARLY_UNTIL", "KNOWN_KEYS", "LIST_KEYS", "MAX_IDS", "MAX_Q", "NIGHT_FROM", "QUERY_ORDER",
    "RADII", "RADIUS_MAX", "RADIUS_MIN", "SINGLE_KEYS", "SORTS", "LazyIds", "Relaxation", "SearchForm", "SearchResult",
    "finite_float", "_reference_cache", "split_list", "asked_moment", "base_queryset",
    "capability_counts", "cell_counts", "cell_size", "clean", "conditions", "display_form", "fold", "keyword_terms",
    "capability_types", "load_providers",
    "needs_python", "origin_query", "querystring", "reference", "relaxations", "run", "run_cleaned", "run_cleaned_rows", "run_ids",
]
