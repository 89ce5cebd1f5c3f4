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
