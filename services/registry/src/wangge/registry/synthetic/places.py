"""The places of a synthetic subdistrict: communities, grids, buildings and their dwellings."""

from __future__ import annotations

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
