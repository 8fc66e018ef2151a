"""The address -> grid map: the hotline bridge's own copy of the registry's place tree.

Routing reads it on every push, so it lives in this service's database (DESIGN section 2: a
service never calls another on the write path). It is fed from the registry's topic (in
embedded mode, the registry's event table) and keeps, per place, what routing matches on: the
normalised address as the registry writes it, the building, the grid and the community
(derived with ``wangge.governance.place_tree``, which also copes with a place arriving before its
parent); each grid's boundary as last drawn (at its registration or later); and who lived in
which dwelling from which day to which (residents per grid on a month's last day are the
denominator of its complaint rate: ``projections.figures``), the stays of a record merged into
another marked so that one human is counted once.

Its queries are here beside it: a ticket's grid by ``domain.routing``'s rules (on every push, and
on the sweeper's retries of triage), a grid's code for access checks.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

import sqlalchemy as sa
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import RecordedEvent, default_catalogue
from wangge.events.db import insert_many, remembered
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.governance import place_tree
from wangge.governance.addresses import normalise_address
from wangge.hotline_bridge.consumed.registry import (
    BuildingRegridded,
    GridBoundaryDrawn,
    PersonMerged,
    PersonMergeUndone,
    PersonMovedIn,
    PersonMovedOut,
    PlaceRegistered,
    PlaceRenamed,
)
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

UUID = sa.Uuid(as_uuid=True)


class Move(NamedTuple):
    """A person's move as the residents table needs it: where in their stream, and what."""

    stream_id: str
    version: int
    data: PersonMovedIn | PersonMovedOut


class GridMap(Projection):
    """Places with address key, building, grid and community; grid boundaries."""

    name = "hotline_grid_map"
    reads: ClassVar[tuple[str, ...]] = ("registry",)

    def __init__(self) -> None:
        super().__init__(default_catalogue)

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        places = sa.Table(
            f"hotline_places{suffix}",
            metadata,
            *place_tree.columns(),
            sa.Column("number", sa.String(50)),
            sa.Column("address", sa.String(400)),
            sa.Column("address_key", sa.String(400), index=True),
        )
        boundaries = sa.Table(
            f"hotline_grid_boundaries{suffix}",
            metadata,
            sa.Column("grid_id", UUID, primary_key=True),
            sa.Column("geojson", sa.Text, nullable=False),
        )
        # a person's stays in the subdistrict's dwellings, from the day they moved in to the day
        # they moved on (None: still there): a month is divided by those living there on its
        # last day, not by today's residents. A stay is keyed by the move in's version in the
        # person's stream, so a replay makes the same rows. (Columns changed from the one row
        # per person of earlier releases: the runner sees the new shape and rebuilds the map.)
        # ``merged``: the person's record is merged into another (PersonMerged, not undone). A
        # merge says the two records were always one human, so a merged record's stays count on
        # no day, past months' included; the column is what made the runner rebuild the map
        # from the log once, so merges recorded before it was added are marked too.
        residents = sa.Table(
            f"hotline_residents{suffix}",
            metadata,
            sa.Column("person_id", UUID, primary_key=True),
            sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("dwelling_id", UUID, nullable=False, index=True),
            sa.Column("since", sa.Date, nullable=False),
            sa.Column("until", sa.Date),
            sa.Column("merged", sa.Boolean, nullable=False),
        )
        return {"places": places, "boundaries": boundaries, "residents": residents}

    async def apply_many(
        self, ctx: ApplyContext, events: Sequence[RecordedEvent], new_streams: set[str]
    ) -> None:
        """A replay of the registry's log (a census) is mostly new places and moves. Each run of
        place registrations is inserted and derived at once (``place_tree.register_many``),
        the other place events applied in order between runs; people's moves only touch the
        residents table, which nothing else here reads, so a batch's moves are written
        together after them (:meth:`_moves`). A merge or its undoing marks the stays written
        before it, so the moves before it are written first: the rows are those one-by-one
        application leaves, whatever the registry recorded after a merge."""
        run: list[PlaceRegistered] = []
        moves: list[Move] = []
        fresh = set(new_streams)
        for event in events:
            if isinstance(event.data, PlaceRegistered):
                run.append(event.data)
            elif isinstance(event.data, PersonMovedIn | PersonMovedOut):
                moves.append(Move(event.stream_id, event.version, event.data))
            elif isinstance(event.data, PersonMerged | PersonMergeUndone):
                await self._moves(ctx, moves, fresh)
                # a stream whose stays are written now has a stay a later move must end
                fresh.difference_update(move.stream_id for move in moves)
                moves = []
                await self.apply(ctx, event)
            else:
                await self._register(ctx, run)
                run = []
                await self.apply(ctx, event)
        await self._register(ctx, run)
        await self._moves(ctx, moves, fresh)

    async def _moves(
        self,
        ctx: ApplyContext,
        moves: Sequence[Move],
        new_streams: Collection[str] = (),
    ) -> None:
        """People's moves, in their order: each move ends the person's stay under way on its
        day, and a move in starts one. Those of one person in the batch are chained in memory;
        only people whose stream began before the batch can have a stay to end (a census
        registers thousands, none of whom can)."""
        residents = ctx.tables["residents"]
        by_person: dict[uuid.UUID, list[Move]] = {}
        for move in moves:
            by_person.setdefault(move.data.person_id, []).append(move)
        ending = [
            {"person": person, "day": mine[0].data.on}
            for person, mine in by_person.items()
            if mine[0].stream_id not in new_streams
        ]
        if ending:
            await ctx.conn.execute(
                sa.update(residents)
                .where(residents.c.person_id == sa.bindparam("person"), residents.c.until.is_(None))
                .values(until=sa.bindparam("day")),
                ending[0] if len(ending) == 1 else ending,  # one as one: not the executemany path
            )
        # not merged: the registry records no move of a merged record (a batch's merge marks
        # the stays written before it: ``apply_many``)
        stays = [
            {"person_id": person, "version": move.version, "dwelling_id": move.data.dwelling_id,
             "since": move.data.on, "until": after.data.on if after is not None else None,
             "merged": False}
            for person, mine in by_person.items()
            for move, after in zip(mine, [*mine[1:], None], strict=True)
            if isinstance(move.data, PersonMovedIn)
        ]  # fmt: skip
        await insert_many(ctx.conn, residents, stays)

    async def _register(self, ctx: ApplyContext, run: Sequence[PlaceRegistered]) -> None:
        """New places with their addresses derived, and the boundaries of the grids among them."""
        await place_tree.register_many(
            ctx.conn, ctx.tables["places"],
            [{"place_id": d.place_id, "kind": d.kind, "name": d.name, "code": d.code,
              "number": d.number, "parent_id": d.parent_id} for d in run],
        )  # fmt: skip
        await insert_many(
            ctx.conn, ctx.tables["boundaries"],
            [{"grid_id": d.place_id, "geojson": json.dumps(d.boundary)}
             for d in run if d.kind == "grid" and d.boundary is not None],
        )  # fmt: skip

    @handles(PlaceRegistered)
    async def on_registered(self, ctx: ApplyContext, event: RecordedEvent[PlaceRegistered]) -> None:
        data = event.data
        await self._register(ctx, [data])

    @handles(PlaceRenamed)
    async def on_renamed(self, ctx: ApplyContext, event: RecordedEvent[PlaceRenamed]) -> None:
        data = event.data
        places = ctx.tables["places"]
        renamed = await ctx.conn.execute(
            sa.update(places).where(places.c.place_id == data.place_id).values(name=data.name)
        )
        if not renamed.rowcount:
            return  # a place this copy never saw registered (its history cut short): no address
        # a community's name leads every address in it: derived again, with what is below it
        await place_tree.derive(ctx.conn, places, data.place_id)

    @handles(BuildingRegridded)
    async def on_regridded(
        self, ctx: ApplyContext, event: RecordedEvent[BuildingRegridded]
    ) -> None:
        data = event.data
        places = ctx.tables["places"]
        moved = await ctx.conn.execute(
            sa.update(places)
            .where(places.c.place_id == data.place_id)
            .values(parent_id=data.to_grid_id)
        )
        if moved.rowcount:  # else a building this copy never saw registered: none to route to
            await place_tree.derive(ctx.conn, places, data.place_id)

    @handles(GridBoundaryDrawn)
    async def on_boundary_drawn(
        self, ctx: ApplyContext, event: RecordedEvent[GridBoundaryDrawn]
    ) -> None:
        data = event.data
        places, boundaries = ctx.tables["places"], ctx.tables["boundaries"]
        grid = await ctx.conn.scalar(
            sa.select(places.c.place_id).where(
                places.c.place_id == data.place_id, places.c.kind == "grid"
            )
        )
        if grid is None:
            return  # a grid this copy never saw registered (its history cut short): no routing
        # the latest drawing is the grid's boundary: a point in the old one only is not its
        await ctx.conn.execute(sa.delete(boundaries).where(boundaries.c.grid_id == data.place_id))
        await ctx.conn.execute(
            sa.insert(boundaries).values(grid_id=data.place_id, geojson=json.dumps(data.boundary))
        )

    @handles(PersonMovedIn)
    async def on_moved_in(self, ctx: ApplyContext, event: RecordedEvent[PersonMovedIn]) -> None:
        await self._moves(ctx, [Move(event.stream_id, event.version, event.data)])

    @handles(PersonMovedOut)
    async def on_moved_out(self, ctx: ApplyContext, event: RecordedEvent[PersonMovedOut]) -> None:
        await self._moves(ctx, [Move(event.stream_id, event.version, event.data)])

    @handles(PersonMerged)
    async def on_merged(self, ctx: ApplyContext, event: RecordedEvent[PersonMerged]) -> None:
        """The duplicate's stays stop counting, on every day: a record merged twice, or never
        seen to move in, is no error (its stays are marked again, or there are none)."""
        await self._mark_merged(ctx, event.data.person_id, merged=True)

    @handles(PersonMergeUndone)
    async def on_unmerged(self, ctx: ApplyContext, event: RecordedEvent[PersonMergeUndone]) -> None:
        await self._mark_merged(ctx, event.data.person_id, merged=False)

    async def _mark_merged(self, ctx: ApplyContext, person: uuid.UUID, *, merged: bool) -> None:
        residents = ctx.tables["residents"]
        await ctx.conn.execute(
            sa.update(residents).where(residents.c.person_id == person).values(merged=merged)
        )


# -- finding a ticket's grid (the rules are in domain.routing) ----------------------------

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


async def grid_code_of(
    conn: AsyncConnection, tables: Mapping[str, sa.Table] | None, grid_id: uuid.UUID
) -> str | None:
    """A grid's code, as the grid map knows it (None: no such grid, or no map yet)."""
    if tables is None:
        return None
    t = tables["places"]
    code = await conn.scalar(sa.select(t.c.code).where(t.c.place_id == grid_id, t.c.kind == "grid"))
    return None if code is None else str(code)
