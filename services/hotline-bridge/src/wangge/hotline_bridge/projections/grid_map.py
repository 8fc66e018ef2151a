"""The address -> grid map: the hotline bridge's own copy of the registry's place tree.

Routing reads it on every push, so it lives in this service's database (DESIGN section 2: a
service never calls another on the write path). It is fed from the registry's topic (in
embedded mode, the registry's event table) and keeps, per place, what routing matches on: the
normalised address as the registry writes it, the building, the grid and the community
(derived with ``wangge.governance.place_tree``, which also copes with a place arriving before its
parent); each grid's drawn boundary; and who lives in which dwelling (residents per grid are the
denominator of the complaint rate).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import sqlalchemy as sa

from wangge.events import RecordedEvent, default_catalogue
from wangge.events.db import insert_many
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.governance import place_tree
from wangge.hotline_bridge.consumed.registry import (
    BuildingRegridded,
    PersonMovedIn,
    PersonMovedOut,
    PlaceRegistered,
    PlaceRenamed,
)

UUID = sa.Uuid(as_uuid=True)


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
        residents = sa.Table(
            f"hotline_residents{suffix}",
            metadata,
            sa.Column("person_id", UUID, primary_key=True),
            sa.Column("dwelling_id", UUID, nullable=False, index=True),
        )
        return {"places": places, "boundaries": boundaries, "residents": residents}

    async def apply_many(
        self, ctx: ApplyContext, events: Sequence[RecordedEvent], new_streams: set[str]
    ) -> None:
        """A replay of the registry's log (a census) is mostly new places and moves. Each run of
        place registrations is inserted and derived at once (``place_tree.register_many``),
        the other place events applied in order between runs; people's moves only touch the
        residents table, which nothing else here reads, so a batch's moves are folded to each
        person's last one and written once."""
        run: list[PlaceRegistered] = []
        moves: list[RecordedEvent] = []
        for event in events:
            if isinstance(event.data, PlaceRegistered):
                run.append(event.data)
            elif isinstance(event.data, PersonMovedIn | PersonMovedOut):
                moves.append(event)
            else:
                await self._register(ctx, run)
                run = []
                await self.apply(ctx, event)
        await self._register(ctx, run)
        if len(moves) < 2:
            for event in moves:
                await self.apply(ctx, event)
            return
        last: dict[Any, Any] = {}
        for event in moves:
            data = event.data
            assert isinstance(data, PersonMovedIn | PersonMovedOut)
            last[data.person_id] = data.dwelling_id if isinstance(data, PersonMovedIn) else None
        residents = ctx.tables["residents"]
        people = list(last)
        for start in range(0, len(people), 5000):  # bounded IN lists
            chunk = people[start : start + 5000]
            await ctx.conn.execute(sa.delete(residents).where(residents.c.person_id.in_(chunk)))
        await insert_many(
            ctx.conn, residents,
            [{"person_id": p, "dwelling_id": d} for p, d in last.items() if d is not None],
        )  # fmt: skip

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

    @handles(PersonMovedIn)
    async def on_moved_in(self, ctx: ApplyContext, event: RecordedEvent[PersonMovedIn]) -> None:
        data = event.data
        residents = ctx.tables["residents"]
        await ctx.conn.execute(sa.delete(residents).where(residents.c.person_id == data.person_id))
        await ctx.conn.execute(
            sa.insert(residents).values(person_id=data.person_id, dwelling_id=data.dwelling_id)
        )

    @handles(PersonMovedOut)
    async def on_moved_out(self, ctx: ApplyContext, event: RecordedEvent[PersonMovedOut]) -> None:
        data = event.data
        residents = ctx.tables["residents"]
        await ctx.conn.execute(sa.delete(residents).where(residents.c.person_id == data.person_id))
