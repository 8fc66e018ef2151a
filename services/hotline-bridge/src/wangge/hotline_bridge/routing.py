"""Finding a ticket's grid in the local grid map (the rules are in ``domain.routing``)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping

import sqlalchemy as sa
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.db import remembered
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
from wangge.service.addresses import normalise_address

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
    if tables is None:
        return Unroutable(("the grid map has not been built yet",))
    places = tables["places"]
    key = normalise_address(address)
    named = await remembered(
        conn, (__name__, places.name), lambda c: _named(c, places), seconds=NAMES_MEMO_SECONDS
    )
    if named is None:
        return Unroutable(("the grid map holds no places yet",))
    communities, ours = named
    reasons: list[str] = []
    tail = from_community(key, communities)
    if tail is None:
        reasons.append("the address names none of the subdistrict's communities")
    else:
        match = await _exact(conn, places, tail)
        if match is not None:
            return match
        reasons.append(f"no dwelling or building is registered at {tail}")
    fuzzy = await _fuzzy(conn, places, key)
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


async def _exact(conn: AsyncConnection, places: sa.Table, tail: str) -> Match | None:
    """A dwelling at the address, else its building."""
    wanted = [tail]
    part = building_part(tail)
    if part is not None and part != tail:
        wanted.append(part)
    rows = (
        await conn.execute(
            sa.select(places.c.place_id, places.c.kind, places.c.grid_id, places.c.address_key)
            .where(
                places.c.address_key.in_(wanted),
                places.c.kind.in_([*_HOMES, "building"]),
                places.c.grid_id.is_not(None),
            )
            .order_by(sa.func.length(places.c.address_key).desc())
        )
    ).all()
    for row in rows:
        if row.address_key == tail and row.kind in _HOMES:
            return Match(RoutingMethod.DWELLING, row.grid_id, row.place_id, f"dwelling {tail}")
    for row in rows:
        if row.kind == "building":
            return Match(
                RoutingMethod.BUILDING, row.grid_id, row.place_id, f"building {row.address_key}"
            )
    return None


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
