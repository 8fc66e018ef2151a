"""Routing a ticket's address to a grid (派单到网格): the matching rules, free of storage.

The rules run from the surest to the loosest, and every routing records which one matched:

1. **dwelling**: the address, from its community's name on, is a dwelling's (or a unit's) as the
   registry writes it (``滨江社区1栋1单元101``), after normalisation (full-width digits, ``幢``
   for ``栋``, ``室`` dropped...).
2. **building**: the community and building number are a building's; the rest did not match.
3. **fuzzy**: the building number matches exactly, the estate or community name only roughly
   (callers say ``滨江小区`` for ``滨江社区``). A building number is never guessed: ``11栋`` is not
   ``1栋``. The best score must clear the cut-off and beat the runner-up by a margin, so two
   like-named estates are a question for triage, not a coin toss.
4. **location**: the caller's point lies inside a grid's drawn boundary.

An address naming another subdistrict (``XX街道``), or a point outside every grid, is returned to
the hotline (退单) with the reason; anything else waits in the triage queue with its reasons.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from rapidfuzz import fuzz
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

_BUILDING_NUMBER = re.compile(r"(?<!\d)(\d+)栋")
_SUBDISTRICT = re.compile(r"([\u4e00-\u9fff]+?)街道")
_DIVISION = re.compile(r"[省市区县]")


class RoutingMethod(StrEnum):
    """How a ticket found its grid."""

    DWELLING = "dwelling"
    BUILDING = "building"
    FUZZY = "fuzzy"
    LOCATION = "location"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A building or dwelling of the grid map that an address may name."""

    place_id: uuid.UUID
    grid_id: uuid.UUID
    address_key: str


@dataclass(frozen=True, slots=True)
class Match:
    """Where a ticket goes and why."""

    method: RoutingMethod
    grid_id: uuid.UUID
    place_id: uuid.UUID | None
    detail: str
    score: float | None = None


def from_community(key: str, communities: Sequence[str]) -> str | None:
    """The address from the first community name it contains on (the registry's addresses
    start there), trying longer names first (``江心洲社区`` before ``江心社区``)."""
    for name in sorted(communities, key=len, reverse=True):
        at = key.find(name)
        if at >= 0:
            return key[at:]
    return None


def building_part(address: str) -> str | None:
    """The address cut after its building number (``滨江社区1栋2单元`` -> ``滨江社区1栋``)."""
    found = _BUILDING_NUMBER.search(address)
    return address[: found.end()] if found else None


def building_number(key: str) -> tuple[str, str] | None:
    """The building number of an address (``12栋``) and the text before it."""
    found = _BUILDING_NUMBER.search(key)
    if found is None:
        return None
    return f"{found.group(1)}栋", key[: found.start()]


def fuzzy_building(
    key: str, buildings: Sequence[Candidate], *, cutoff: float, margin: float
) -> Match | str:
    """The building whose number the address names exactly and whose estate or community name
    it names best; or why none was chosen."""
    found = building_number(key)
    if found is None:
        return "the address names no building number"
    number, before = found
    scored: list[tuple[float, Candidate]] = []
    for building in buildings:
        if not building.address_key.endswith(number):
            continue
        prefix = building.address_key[: -len(number)]
        if not prefix or (prefix[-1].isdigit()):
            continue  # "11栋" ends with "1栋": another number
        scored.append((fuzz.partial_ratio(prefix, before), building))
    if not scored:
        return f"no building {number} in the subdistrict"
    scored.sort(key=lambda pair: pair[0], reverse=True)
    best, building = scored[0]
    if best < cutoff:
        return f"no building {number} with a name like the address's (best score {best:.0f})"
    if len(scored) > 1 and best - scored[1][0] < margin:
        return f"building {number} of more than one estate matches the address as well"
    return Match(
        RoutingMethod.FUZZY,
        building.grid_id,
        building.place_id,
        f"building {building.address_key} by its number and a name like it",
        round(best, 1),
    )


def grid_at(point: Point, boundaries: Sequence[tuple[uuid.UUID, BaseGeometry]]) -> uuid.UUID | None:
    """The grid whose boundary holds the point (the first drawn, where boundaries overlap)."""
    for grid_id, boundary in boundaries:
        if boundary.covers(point):
            return grid_id
    return None


def other_subdistrict(key: str, ours: Sequence[str]) -> str | None:
    """A subdistrict the address names that is none of ``ours`` (``滨湖街道``), if any."""
    for found in _SUBDISTRICT.finditer(key):
        name = f"{_DIVISION.split(found.group(1))[-1]}街道"  # 南京市建邺区沿江 -> 沿江
        if name != "街道" and name not in ours:
            return name
    return None


@dataclass(frozen=True, slots=True)
class Unroutable:
    """No rule matched: the reasons, and the subdistrict the ticket belongs to when it is plainly
    not ours (then it goes back to the hotline rather than to triage)."""

    reasons: tuple[str, ...]
    outside: str | None = None
