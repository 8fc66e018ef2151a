"""The address -> grid map: the hotline bridge's own copy of the registry's place tree.

Routing reads it on every push, so it lives in this service's database (DESIGN section 2: a
service never calls another on the write path). It is fed from the registry's topic (in
embedded mode, the registry's event table) and keeps, per place, what routing matches on: the
normalised address as the registry writes it, the building, the grid and the community; and each
grid's drawn boundary.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

import sqlalchemy as sa

from wangge.events import RecordedEvent, default_catalogue
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.hotline_bridge.consumed.registry import (
    BuildingRegridded,
    PlaceRegistered,
    PlaceRenamed,
)
from wangge.service.addresses import normalise_address, place_address

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
            sa.Column("place_id", UUID, primary_key=True),
            sa.Column("kind", sa.String(20), nullable=False, index=True),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("code", sa.String(30), index=True),
            sa.Column("number", sa.String(50)),
            sa.Column("parent_id", UUID, index=True),
            sa.Column("community_id", UUID, index=True),
            sa.Column("grid_id", UUID, index=True),
            sa.Column("building_id", UUID, index=True),
            sa.Column("address", sa.String(400)),
            sa.Column("address_key", sa.String(400), index=True),
        )
        boundaries = sa.Table(
            f"hotline_grid_boundaries{suffix}",
            metadata,
            sa.Column("grid_id", UUID, primary_key=True),
            sa.Column("geojson", sa.Text, nullable=False),
        )
        return {"places": places, "boundaries": boundaries}

    @handles(PlaceRegistered)
    async def on_registered(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        data = event.data
        assert isinstance(data, PlaceRegistered)
        await ctx.conn.execute(
            sa.insert(ctx.tables["places"]).values(
                place_id=data.place_id, kind=data.kind, name=data.name, code=data.code,
                number=data.number, parent_id=data.parent_id,
            )
        )  # fmt: skip
        if data.kind == "grid" and data.boundary is not None:
            await ctx.conn.execute(
                sa.insert(ctx.tables["boundaries"]).values(
                    grid_id=data.place_id, geojson=json.dumps(data.boundary)
                )
            )
        await _resolve(ctx, data.place_id)

    @handles(PlaceRenamed)
    async def on_renamed(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        data = event.data
        assert isinstance(data, PlaceRenamed)
        places = ctx.tables["places"]
        await ctx.conn.execute(
            sa.update(places).where(places.c.place_id == data.place_id).values(name=data.name)
        )
        await _resolve(ctx, data.place_id)  # a community's name leads every address in it

    @handles(BuildingRegridded)
    async def on_regridded(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        data = event.data
        assert isinstance(data, BuildingRegridded)
        places = ctx.tables["places"]
        await ctx.conn.execute(
            sa.update(places)
            .where(places.c.place_id == data.place_id)
            .values(parent_id=data.to_grid_id)
        )
        await _resolve(ctx, data.place_id)


_OWN = {"community": "community_id", "grid": "grid_id", "building": "building_id"}


async def _resolve(ctx: ApplyContext, place_id: Any) -> None:
    """Derive a place's address, community, grid and building from its parent's, then its
    children's from it.

    Places of different streams may arrive out of order (on Kafka, each stream keeps its order
    in its own partition, but a dwelling may overtake its building): a place whose parent has not
    arrived waits without an address, and is resolved when the parent comes.
    """
    places = ctx.tables["places"]
    row = (await ctx.conn.execute(sa.select(places).where(places.c.place_id == place_id))).one()
    parent = None
    if row.parent_id is not None:
        parent = (
            await ctx.conn.execute(sa.select(places).where(places.c.place_id == row.parent_id))
        ).first()
        if parent is None or parent.address is None:
            return  # resolved when the parent arrives
    address = place_address(row.kind, row.name, row.number, parent.address if parent else None)
    values: dict[str, Any] = {
        "community_id": parent.community_id if parent else None,
        "grid_id": parent.grid_id if parent else None,
        "building_id": parent.building_id if parent else None,
    }
    if row.kind in _OWN:
        values[_OWN[row.kind]] = row.place_id
    await ctx.conn.execute(
        sa.update(places)
        .where(places.c.place_id == place_id)
        .values(address=address, address_key=normalise_address(address), **values)
    )
    children = await ctx.conn.scalars(
        sa.select(places.c.place_id).where(places.c.parent_id == place_id)
    )
    for child in children.all():
        await _resolve(ctx, child)
