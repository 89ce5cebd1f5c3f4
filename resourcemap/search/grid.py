"""Counts per map grid cell for a zoomed-out view: ``[[lat, lng, count], …]``.

The grid is global: at ``zoom`` a cell is ``112.5 / 2**zoom`` degrees (about 80 screen pixels),
and a point's cell is ``floor(degrees / size)``. A view is answered for the whole cells it
touches, so the same cell has the same count wherever the view is. On PostgreSQL a search
with no filter but types reads the ``ProviderCell`` rows a trigger keeps (a few hundred rows
however many providers there are); any other search counts its own matches in SQL. Both give
the same answer (each cell placed at the mean of its providers).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal

from django.db import connections
from django.db.models import Count, FloatField, Sum
from django.db.models.functions import Cast, Floor

from ..models import ProviderCell
from .params import _reference
from .query import base_queryset, needs_python

# Filters the stored cells know (published providers with a point, by type).
CELL_FILTERS = {"type", "sort", "page"}


def cell_size(zoom: int) -> float:
    """Degrees per grid cell at ``zoom`` (exact in binary: 112.5 / 2**zoom)."""
    return 360.0 / (256 * 2**zoom) * 80


def cell_range(bbox: tuple[float, float, float, float], zoom: int) -> tuple[int, int, int, int]:
    """(first row, last row, first column, last column) of the cells a view touches;
    ``bbox`` is (south, west, north, east)."""
    size = cell_size(zoom)
    south, west, north, east = bbox
    return math.floor(south / size), math.floor(north / size), math.floor(west / size), math.floor(east / size)


def uses_stored_cells(cleaned: Mapping, zoom: int, using: str = "default") -> bool:
    return (
        connections[using].vendor == "postgresql"
        and zoom <= ProviderCell.MAX_ZOOM
        and not any(value for key, value in cleaned.items() if key not in CELL_FILTERS)
    )


def cell_counts(cleaned: Mapping, bbox: tuple[float, float, float, float], zoom: int,
                *, stored: bool | None = None) -> tuple[list[list], int]:
    """The cells of the view with their counts and mean points, and the total they hold.

    ``cleaned`` must not need Python (a radius around a point: :func:`needs_python`). ``stored`` forces
    or refuses the stored cells (tests compare the two).
    """
    if needs_python(cleaned):
        raise ValueError("cell_counts() counts SQL-only searches")
    y0, y1, x0, x1 = cell_range(bbox, zoom)
    if stored is None:
        stored = uses_stored_cells(cleaned, zoom)
    if stored:
        types, _caps, _areas = _reference()
        rows = ProviderCell.objects.filter(zoom=zoom, cy__range=(y0, y1), cx__range=(x0, x1))
        if cleaned.get("type"):
            rows = rows.filter(provider_type_id__in=[types[c].pk for c in cleaned["type"] if c in types])
        rows = (
            rows.values("cy", "cx")
            .annotate(count=Sum("n"), lat=Sum("sum_lat"), lng=Sum("sum_lng"))
            .filter(count__gt=0)
            .order_by()
            .values_list("count", "lat", "lng")
        )
    else:
        size = cell_size(zoom)
        margin = size / 1024  # the index range; the cell numbers decide
        rows = (
            base_queryset(cleaned)
            .filter(
                latitude__isnull=False, longitude__isnull=False,
                latitude__gte=y0 * size - margin, latitude__lte=(y1 + 1) * size + margin,
                longitude__gte=x0 * size - margin, longitude__lte=(x1 + 1) * size + margin,
            )
            .annotate(
                cy=Floor(Cast("latitude", FloatField()) / size), cx=Floor(Cast("longitude", FloatField()) / size)
            )
            .filter(cy__range=(y0, y1), cx__range=(x0, x1))
            .values("cy", "cx")
            .annotate(count=Count("id"), lat=Sum("latitude"), lng=Sum("longitude"))
            .order_by()
            .values_list("count", "lat", "lng")
        )
    cells = [[_mean(lat, n), _mean(lng, n), n] for n, lat, lng in rows]
    cells.sort(key=lambda c: (-c[2], c[0], c[1]))
    return cells, sum(c[2] for c in cells)


def _mean(total, n: int) -> float:
    return round(float(Decimal(str(total)) / n), 6)
