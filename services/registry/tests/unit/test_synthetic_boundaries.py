"""The synthetic subdistrict's grid boundaries: valid GeoJSON polygons that tile the subdistrict,
as a city's GIS would deliver them, so that the map and routing by location have real shapes."""

from __future__ import annotations

import itertools
import math

import pytest
from shapely import STRtree
from shapely.geometry import Polygon, box, shape
from shapely.ops import unary_union

from wangge.registry.synthetic import SIZES, CodedPlace, Generator, Size

# the presets, and shapes whose grids do not fill the lattice's rows evenly
SHAPES = {**SIZES, "one": Size(1, 1, 0), "prime": Size(5, 7, 0), "ragged": Size(3, 10, 50)}


def polygon(grid: CodedPlace) -> Polygon:
    geojson = grid.geojson()
    assert geojson is not None, grid.code
    geometry = shape(geojson)
    assert isinstance(geometry, Polygon), grid.code
    return geometry


def polygons(generator: Generator) -> list[Polygon]:
    return [polygon(grid) for grid in generator.subdistrict().grids]


def signed_area(ring: tuple[tuple[float, float], ...]) -> float:
    """The shoelace formula: positive for a counter-clockwise ring (RFC 7946's right-hand rule)."""
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in itertools.pairwise(ring)) / 2


@pytest.mark.parametrize("size", SHAPES.values(), ids=list(SHAPES))
def test_every_grid_is_a_closed_counter_clockwise_ring_in_wgs_84(size: Size) -> None:
    grids = Generator(size=size).subdistrict().grids
    assert len(grids) == size.grids
    for grid in grids:
        ring = grid.boundary
        assert ring is not None, grid.code
        assert len(ring) >= 5 and ring[0] == ring[-1], grid.code  # a quadrilateral at least
        assert len(set(ring)) == len(ring) - 1, grid.code  # no point visited twice
        assert signed_area(ring) > 0, grid.code
        # Pukou district, Nanjing: where the default subdistrict code 320111001 is
        assert all(118.5 < lon < 118.7 and 32.0 < lat < 32.1 for lon, lat in ring), grid.code
        assert polygon(grid).is_valid, grid.code


@pytest.mark.parametrize("size", SHAPES.values(), ids=list(SHAPES))
def test_the_grids_tile_the_subdistrict_without_overlap_or_gap(size: Size) -> None:
    grids = polygons(Generator(size=size))
    union = unary_union(grids)
    covering = box(*union.bounds)
    assert math.isclose(sum(g.area for g in grids), covering.area, rel_tol=1e-9)
    assert math.isclose(union.area, covering.area, rel_tol=1e-9)
    tree = STRtree(grids)
    for i, grid in enumerate(grids):
        for j in tree.query(grid):
            # neighbours share edges exactly: their interiors never meet
            assert j == i or not grid.relate_pattern(grids[j], "T********"), (i, int(j))


def test_the_subdistrict_measures_a_few_square_kilometres() -> None:
    union = unary_union(polygons(Generator(size="small")))
    west, south, east, north = union.bounds
    middle = math.radians((south + north) / 2)
    width_km = (east - west) * 111.32 * math.cos(middle)
    height_km = (north - south) * 110.95
    assert 2 < width_km * height_km < 10
    assert math.isclose((west + east) / 2, 118.62, abs_tol=0.01)
    assert math.isclose((south + north) / 2, 32.06, abs_tol=0.01)


@pytest.mark.parametrize("size", ["small", "full"])
def test_each_community_is_one_block_of_its_grids(size: str) -> None:
    subdistrict = Generator(size=size).subdistrict()
    for community in subdistrict.communities:
        block = unary_union(
            [polygon(g) for g in subdistrict.grids if g.code.startswith(f"{community.code}-")]
        )
        assert isinstance(block, Polygon), community.code  # not several pieces


def test_boundaries_follow_the_seed() -> None:
    first, again = Generator(seed=7, size="small"), Generator(seed=7, size="small")
    other = Generator(seed=8, size="small")
    assert [g.boundary for g in first.subdistrict().grids] == [
        g.boundary for g in again.subdistrict().grids
    ]
    assert [g.boundary for g in first.subdistrict().grids] != [
        g.boundary for g in other.subdistrict().grids
    ]


def test_two_subdistricts_of_one_district_lie_side_by_side() -> None:
    one = unary_union(polygons(Generator(size="tiny", subdistrict_code="320111001")))
    two = unary_union(polygons(Generator(size="tiny", subdistrict_code="320111002")))
    assert not one.relate_pattern(two, "T********")
    assert one.touches(two)
