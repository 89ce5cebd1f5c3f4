"""Plain-Python geography: distances and point-in-polygon (no GeoDjango needed)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TypeVar

Place = TypeVar("Place")

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def nearest_district(lat, lng, districts: Iterable[Place]) -> Place | None:
    """The district whose centre (``center_lat``/``center_lng``, as on ``Area``) is closest to a
    point by great-circle distance; None without a point or without districts."""
    if lat is None or lng is None:
        return None
    p1, l1 = math.radians(float(lat)), math.radians(float(lng))
    cos_p1 = math.cos(p1)

    def closeness(district) -> float:
        # The haversine of the central angle: it orders centres as haversine_m() does.
        p2 = math.radians(float(district.center_lat))
        dl = math.radians(float(district.center_lng)) - l1
        return math.sin((p2 - p1) / 2) ** 2 + cos_p1 * math.cos(p2) * math.sin(dl / 2) ** 2

    return min(districts, key=closeness, default=None)


def bbox_around(lat: float, lng: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lng, max_lng) enclosing a circle; used to pre-filter in SQL."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    dlng = math.degrees(radius_m / (EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return lat - dlat, lat + dlat, lng - dlng, lng + dlng


def point_in_polygon(lat: float, lng: float, polygon: Sequence[Sequence[float]]) -> bool:
    """Ray casting; ``polygon`` is a list of [lat, lng] vertices.

    Fewer than three vertices enclose nothing: the answer is then False.
    """
    inside = False
    n = len(polygon)
    if n < 3:
        return False
    j = n - 1
    for i in range(n):
        yi, xi = float(polygon[i][0]), float(polygon[i][1])
        yj, xj = float(polygon[j][0]), float(polygon[j][1])
        if (yi > lat) != (yj > lat):
            x_cross = (xj - xi) * (lat - yi) / (yj - yi) + xi
            if lng < x_cross:
                inside = not inside
        j = i
    return inside
