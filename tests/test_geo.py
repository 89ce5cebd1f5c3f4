"""Plain geography: distances, the SQL pre-filter box and "inside the municipality"."""

from __future__ import annotations

import pytest

from resourcemap import geo
from resourcemap.models import Municipality

SQUARE = [[35.60, 139.60], [35.60, 139.70], [35.70, 139.70], [35.70, 139.60]]


def test_haversine_matches_known_distances():
    # One degree of latitude is about 111.2 km anywhere; 世田谷区役所 to 用賀 is about 2.8 km.
    assert geo.haversine_m(35.0, 139.0, 36.0, 139.0) == pytest.approx(111_195, rel=1e-3)
    assert geo.haversine_m(35.6464, 139.6532, 35.6264, 139.6339) == pytest.approx(2_820, rel=0.02)
    assert geo.haversine_m(35.6, 139.6, 35.6, 139.6) == 0


def test_bbox_around_encloses_the_circle():
    min_lat, max_lat, min_lng, max_lng = geo.bbox_around(35.63, 139.63, 1000)
    for lat, lng in ((max_lat, 139.63), (min_lat, 139.63), (35.63, max_lng), (35.63, min_lng)):
        assert geo.haversine_m(35.63, 139.63, lat, lng) == pytest.approx(1000, rel=1e-3)


@pytest.mark.parametrize(("lat", "lng", "inside"), [
    (35.65, 139.65, True),
    (35.75, 139.65, False),
    (35.65, 139.55, False),
    (35.65, 139.75, False),
])
def test_point_in_polygon(lat, lng, inside):
    assert geo.point_in_polygon(lat, lng, SQUARE) is inside


def test_concave_polygon_excludes_its_notch():
    # A "U": the notch between the arms is outside.
    u_shape = [[0, 0], [0, 3], [3, 3], [3, 2], [1, 2], [1, 1], [3, 1], [3, 0]]
    assert geo.point_in_polygon(2, 0.5, u_shape)
    assert not geo.point_in_polygon(2, 1.5, u_shape)


@pytest.mark.parametrize("polygon", [[], [[35.6, 139.6]], [[35.6, 139.6], [35.7, 139.7]]])
def test_fewer_than_three_vertices_enclose_nothing(polygon):
    assert geo.point_in_polygon(35.65, 139.65, polygon) is False


def test_municipality_without_an_outline_is_its_bounding_box():
    town = Municipality(min_lat=35.6, max_lat=35.7, min_lng=139.6, max_lng=139.7, boundary=[])
    assert town.contains(35.65, 139.65)
    assert not town.contains(35.75, 139.65)
    town.boundary = [[35.6, 139.6], [35.7, 139.7]]  # a line is no outline either
    assert town.contains(35.65, 139.65)
    town.boundary = [[35.60, 139.60], [35.60, 139.70], [35.70, 139.60]]  # the south-west half
    assert town.contains(35.62, 139.62)
    assert not town.contains(35.68, 139.68)


def test_nearest_district_is_the_closest_centre_or_none():
    class Centre:
        def __init__(self, code, lat, lng):
            self.code, self.center_lat, self.center_lng = code, lat, lng

    yoga, seijo, ikejiri = Centre("yoga", 35.6265, 139.6335), Centre("seijo", 35.64, 139.6), Centre(
        "ikejiri", 35.6505, 139.684
    )
    centres = [seijo, yoga, ikejiri]
    assert geo.nearest_district(35.627, 139.634, centres) is yoga
    assert geo.nearest_district("35.6495", "139.683", centres) is ikejiri  # Decimal or text works too
    # The same choice as the smallest great-circle distance, for points all over the ward.
    for lat in (35.60, 35.62, 35.64, 35.66):
        for lng in (139.58, 139.62, 139.66, 139.70):
            expected = min(centres, key=lambda c: geo.haversine_m(lat, lng, c.center_lat, c.center_lng))
            assert geo.nearest_district(lat, lng, centres) is expected
    assert geo.nearest_district(None, 139.6, centres) is None
    assert geo.nearest_district(35.6, 139.6, []) is None
