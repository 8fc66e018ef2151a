"""Finding a ticket's grid in the local grid map (the rules are in ``domain.routing``)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.db import remembered
from wangge.governance.addresses import normalise_address
from wangge.hotline_bridge.domain.routing import (
    Candidate,
    Match,
    RoutingMethod,
    Unroutable,
    building_number,
    building_part,
    from_community,
    fuzzy_building,
    grid_at,
    other_subdistrict,
)
from wangge.hotline_bridge.domain.tickets import Location

FUZZY_CUTOFF = 70.0
"""The least partial-ratio score of an estate or community name (building numbers are exact)."""
FUZZY_MARGIN = 10.0
"""How far the best fuzzy match must lead the next one."""
_HOMES = ("dwelling", "unit")
NAMES_MEMO_SECONDS = 1.0
"""How long routing trusts the community and subdistrict names it last read (every ticket needs
them; they change when the registry adds or renames a community)."""


async def find_grid(
    conn: AsyncConnection,
    tables: Mapping[str, sa.Table] | None,
    *,
    address: str,
    location: Location | None,
) -> Match | Unroutable:
    """The grid of a ticket's address (or point), or why there is none."""
    (found,) = await find_grids(conn, tables, [(address, location)])
    return found


async def find_grids(
    conn: AsyncConnection,
    tables: Mapping[str, sa.Table] | None,
    wanted: Sequence[tuple[str, Location | None]],
) -> list[Match | Unroutable]:
    """Each address's grid (or point's), or why there is none: the exact matches of them all in
    one query (nearly every ticket has one), the other rules address by address."""
    if tables is None:
        return [Unroutable(("the grid map has not been built yet",))] * len(wanted)
    places = tables["places"]
    named = await remembered(
        conn, (__name__, places.name), lambda c: _named(c, places), seconds=NAMES_MEMO_SECONDS
    )
    if named is None:
        return [Unroutable(("the grid map holds no places yet",))] * len(wanted)
    communities, _ = named
    keys = [normalise_address(address) for address, _ in wanted]
    tails = [from_community(key, communities) for key in keys]
    exact = await _exact(conn, places, [tail for tail in tails if tail is not None])
    found: list[Match | Unroutable] = []
    for (_, location), key, tail in zip(wanted, keys, tails, strict=True):
        match = exact.get(tail) if tail is not None else None
        found.append(match or await _inexact(conn, tables, named, key, tail, location))
    return found


async def _inexact(
    conn: AsyncConnection,
    tables: Mapping[str, sa.Table],
    named: tuple[list[str], list[str]],
    key: str,
    tail: str | None,
    location: Location | None,
) -> Match | Unroutable:
    """The rules after the exact ones: a fuzzy building, the caller's point, another place."""
    _, ours = named
    reasons: list[str] = []
    if tail is None:
        reasons.append("the address names none of the subdistrict's communities")
    else:
        reasons.append(f"no dwelling or building is registered at {tail}")
    fuzzy = await _fuzzy(conn, tables["places"], key)
    if isinstance(fuzzy, Match):
        return fuzzy
    reasons.append(fuzzy)
    point = Point(location.longitude, location.latitude) if location is not None else None
    boundaries = await _boundaries(conn, tables["boundaries"]) if point is not None else []
    if point is not None:
        grid = grid_at(point, boundaries)
        if grid is not None:
            return Match(RoutingMethod.LOCATION, grid, None, "the caller's point is in the grid")
        reasons.append("the caller's point is inside no grid")
    else:
        reasons.append("the ticket gives no location")
    elsewhere = other_subdistrict(key, ours)
    if elsewhere is not None:
        return Unroutable(tuple(reasons), outside=f"the address is in {elsewhere}")
    if point is not None and boundaries and tail is None:
        return Unroutable(tuple(reasons), outside="the caller's point is outside the subdistrict")
    return Unroutable(tuple(reasons))


async def _named(conn: AsyncConnection, places: sa.Table) -> tuple[list[str], list[str]] | None:
    """The subdistrict's communities' names and its own, as routing compares them (None while
    the map holds neither)."""
    rows = (
        await conn.execute(
            sa.select(places.c.kind, places.c.name).where(
                places.c.kind.in_(["subdistrict", "community"])
            )
        )
    ).all()
    if not rows:
        return None
    communities = [normalise_address(r.name) for r in rows if r.kind == "community"]
    return communities, [normalise_address(r.name) for r in rows if r.kind == "subdistrict"]


async def _exact(conn: AsyncConnection, places: sa.Table, tails: Sequence[str]) -> dict[str, Match]:
    """Each address's dwelling, else its building (by the address after its community)."""
    if not tails:
        return {}
    parts = {tail: building_part(tail) for tail in tails}
    wanted = {*tails, *(part for part in parts.values() if part is not None)}
    rows = (
        await conn.execute(
            sa.select(places.c.place_id, places.c.kind, places.c.grid_id, places.c.address_key)
            .where(
                places.c.address_key.in_(sorted(wanted)),
                places.c.kind.in_([*_HOMES, "building"]),
                places.c.grid_id.is_not(None),
            )
            .order_by(places.c.address_key, places.c.place_id)
        )
    ).all()
    homes: dict[str, Any] = {}
    buildings: dict[str, Any] = {}
    for row in rows:  # a key registered twice routes to its first place
        (homes if row.kind in _HOMES else buildings).setdefault(row.address_key, row)
    found: dict[str, Match] = {}
    for tail, part in parts.items():
        if (home := homes.get(tail)) is not None:
            found[tail] = Match(
                RoutingMethod.DWELLING, home.grid_id, home.place_id, f"dwelling {tail}"
            )
            continue
        # the longest key first: the address itself when it names a building, else its building
        for key in (tail, part):
            if key is not None and (building := buildings.get(key)) is not None:
                found[tail] = Match(
                    RoutingMethod.BUILDING, building.grid_id, building.place_id, f"building {key}"
                )
                break
    return found


async def _fuzzy(conn: AsyncConnection, places: sa.Table, key: str) -> Match | str:
    found = building_number(key)
    if found is None:
        return "the address names no building number"
    rows = await conn.execute(
        sa.select(places.c.place_id, places.c.grid_id, places.c.address_key).where(
            places.c.kind == "building",
            places.c.grid_id.is_not(None),
            places.c.address_key.like(f"%{found[0]}"),
        )
    )
    buildings = [Candidate(r.place_id, r.grid_id, r.address_key) for r in rows]
    return fuzzy_building(key, buildings, cutoff=FUZZY_CUTOFF, margin=FUZZY_MARGIN)


async def _boundaries(
    conn: AsyncConnection, table: sa.Table
) -> list[tuple[uuid.UUID, BaseGeometry]]:
    rows = await conn.execute(sa.select(table.c.grid_id, table.c.geojson).order_by(table.c.grid_id))
    return [(row.grid_id, shape(json.loads(row.geojson))) for row in rows]
