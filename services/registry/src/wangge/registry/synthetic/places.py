"""The places of a synthetic subdistrict: communities, grids with their boundaries, buildings
and their dwellings."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from wangge.registry.synthetic.common import CodedPlace

# Plausible community names (社区); a subdistrict takes a seeded sample of them.
_COMMUNITY_NAMES = (
    "滨江",
    "江浦",
    "桥北",
    "泰山",
    "顶山",
    "珠江",
    "浦珠",
    "龙华",
    "明发",
    "永宁",
    "汤泉",
    "石佛",
    "新城",
    "江岸",
    "柳州",
    "旭日",
    "天润",
    "高新",
    "临江",
    "望江",
)

_OCCUPANCY = 0.88  # share of dwellings with a household; the rest stay vacant


@dataclass(frozen=True, slots=True)
class _Building:
    number: str  # "12栋"
    units: tuple[str, ...]  # ("1单元", "2单元"), or ("",) for bungalows and shop rows
    floors: int
    per_floor: int

    @property
    def capacity(self) -> int:
        return len(self.units) * self.floors * self.per_floor

    def dwellings(self) -> Iterator[tuple[str, str]]:
        for unit in self.units:
            for floor in range(1, self.floors + 1):
                for room in range(1, self.per_floor + 1):
                    yield unit, f"{floor}{room:02d}"


@dataclass(frozen=True, slots=True)
class _GridLayout:
    community: CodedPlace
    grid: CodedPlace
    households: int
    buildings: tuple[_Building, ...]

    @property
    def capacity(self) -> int:
        return sum(building.capacity for building in self.buildings)


def _apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` by ``weights`` into whole numbers that add up exactly (largest remainder)."""
    scale = total / sum(weights)
    shares = [weight * scale for weight in weights]
    counts = [math.floor(share) for share in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: counts[i] - shares[i])
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _building(rng: random.Random, number: int, needed: int) -> _Building:
    if rng.random() < 0.05:  # a bungalow or a row of shops: no units, one to three floors
        return _Building(f"{number}栋", ("",), rng.randint(1, 3), rng.randint(4, 9))
    units = rng.randint(1, 3)
    per_floor = rng.randint(2, 4)
    floors_needed = math.ceil(needed / (units * per_floor))
    floors = min(rng.randint(6, 18), max(6, floors_needed))
    labels = tuple(f"{unit}单元" for unit in range(1, units + 1))
    return _Building(f"{number}栋", labels, floors, per_floor)


# -- grid boundaries -------------------------------------------------------------------------------

# Township 001 of district 320111 (Pukou, Nanjing) is centred near 118.62 E, 32.06 N; a synthetic
# subdistrict is a rectangle of about 5.7 km², and the townships of one district sit side by side,
# ten to a row, so that two generated subdistricts in one register never claim the same point.
_CENTRE = (118.62, 32.06)
_WIDTH_M, _HEIGHT_M = 2_600.0, 2_200.0
_METRES_PER_DEGREE_LATITUDE = 110_950.0
_METRES_PER_DEGREE_LONGITUDE = 111_320.0 * math.cos(math.radians(32.06))
# Under a quarter of the spacing on each axis keeps every corner of every cell turning left (the
# cross product of its edges stays above (1 - 2j)² - (2j)² > 0): each cell convex, never folded.
_JITTER = 0.22
_DECIMALS = 6  # about 0.1 m, as RFC 7946 suggests

Point = tuple[float, float]


def grid_boundaries(
    rng: random.Random, grids: int, subdistrict_code: str
) -> list[tuple[Point, ...]]:
    """Each grid's exterior ring (counter-clockwise, closed), in the order grids are numbered.

    The subdistrict is a lattice of cells whose inner points are jittered; grids fill its rows
    in a serpentine (left to right, then right to left), so a community's grids, which are
    numbered one after another, form a block of adjacent cells. A row with fewer grids than
    columns gives some grids two or more cells, with the lattice points along their edges as
    vertices. Neighbours are made from the same points, so they share edges exactly: the
    grids tile the rectangle with neither gap nor overlap.
    """
    rows = min(grids, max(1, round(math.sqrt(grids * _HEIGHT_M / _WIDTH_M))))
    per_row = _apportion(grids, [1.0] * rows)
    columns = max(per_row)
    points = _lattice(rng, rows, columns, int(subdistrict_code[-3:]))
    rings: list[tuple[Point, ...]] = []
    for row, count in enumerate(per_row):
        widths = _apportion(columns, [1.0] * count)
        rng.shuffle(widths)
        edges = [sum(widths[:i]) for i in range(count + 1)]
        spans = list(itertools.pairwise(edges))
        for left, right in spans if row % 2 == 0 else reversed(spans):
            below = [points[row][c] for c in range(left, right + 1)]
            above = [points[row + 1][c] for c in range(right, left - 1, -1)]
            rings.append((*below, *above, below[0]))
    return rings


def _lattice(rng: random.Random, rows: int, columns: int, township: int) -> list[list[Point]]:
    """The lattice's points, row by row from the south; those on the rectangle's sides move
    only along it, so the subdistrict stays the rectangle."""
    dx = _WIDTH_M / _METRES_PER_DEGREE_LONGITUDE
    dy = _HEIGHT_M / _METRES_PER_DEGREE_LATITUDE
    west = _CENTRE[0] - dx / 2 + (township - 1) % 10 * dx
    south = _CENTRE[1] - dy / 2 + (township - 1) // 10 * dy
    dx, dy = dx / columns, dy / rows
    lattice: list[list[Point]] = []
    for row in range(rows + 1):
        line: list[Point] = []
        for column in range(columns + 1):
            x = column + (rng.uniform(-_JITTER, _JITTER) if 0 < column < columns else 0.0)
            y = row + (rng.uniform(-_JITTER, _JITTER) if 0 < row < rows else 0.0)
            line.append((round(west + x * dx, _DECIMALS), round(south + y * dy, _DECIMALS)))
        lattice.append(line)
    return lattice
