"""The place tree as rows: what access checks, address matching and roll-ups read.

Every place row knows its ``scope`` (the code of its nearest coded ancestor: a dwelling's is its
grid's code), its building and grid, and its address, so a grid worker's access to a dwelling is
one indexed lookup. A building's grids over time are kept, so "which grid was this dwelling in on
date D" has an answer after re-gridding.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import RecordedEvent, default_catalogue
from wangge.events.db import insert_many
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.governance.addresses import normalise_address, place_address
from wangge.governance.columns import TIME as TIME_COLUMN
from wangge.registry.domain.places import (
    CODED,
    BuildingRegridded,
    DwellingUsageChanged,
    GridBoundaryDrawn,
    PlaceKind,
    PlaceRegistered,
    PlaceRenamed,
)
from wangge.registry.projections.rows import narrowed, page_of, stamp

UUID = sa.Uuid(as_uuid=True)


class PlaceTree(Projection):
    """Places with scope, address and grid; buildings' grid history."""

    name = "registry_places"
    inline = True

    def __init__(self) -> None:
        super().__init__(default_catalogue)

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        places = sa.Table(
            f"registry_places{suffix}",
            metadata,
            sa.Column("place_id", UUID, primary_key=True),
            sa.Column("kind", sa.String(20), nullable=False),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("code", sa.String(30), unique=True),
            sa.Column("number", sa.String(50)),
            sa.Column("parent_id", UUID, index=True),
            sa.Column("usage", sa.String(20)),
            sa.Column("scope", sa.String(30), nullable=False, index=True),
            sa.Column("grid_id", UUID, index=True),
            sa.Column("building_id", UUID, index=True),
            sa.Column("address", sa.String(400), nullable=False),
            sa.Column("address_key", sa.String(400), nullable=False, index=True),
            sa.Column("has_boundary", sa.Boolean, nullable=False, default=False),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("registered_at", TIME_COLUMN, nullable=False),
            sa.Column("updated_at", TIME_COLUMN, nullable=False),
        )
        grids = sa.Table(
            f"registry_building_grids{suffix}",
            metadata,
            sa.Column("building_id", UUID, primary_key=True),
            sa.Column("since", TIME_COLUMN, primary_key=True),
            sa.Column("grid_id", UUID, nullable=False),
        )
        return {"places": places, "building_grids": grids}

    async def apply_many(
        self, ctx: ApplyContext, events: Sequence[RecordedEvent], new_streams: set[str]
    ) -> None:
        fresh = [e for e in events if e.stream_id in new_streams]
        if not fresh or any(not isinstance(e.data, PlaceRegistered) for e in fresh):
            await super().apply_many(ctx, events, new_streams)
            return
        await self._bulk(ctx, fresh)
        for event in events:
            if event.stream_id not in new_streams:
                await self.apply(ctx, event)

    async def _bulk(self, ctx: ApplyContext, events: Sequence[RecordedEvent]) -> None:
        """Registrations of new places, parents first, as one insert per table."""
        places, grids = ctx.tables["places"], ctx.tables["building_grids"]
        registrations = [e.data for e in events if isinstance(e.data, PlaceRegistered)]
        ours = {r.place_id for r in registrations}
        wanted = {r.parent_id for r in registrations if r.parent_id and r.parent_id not in ours}
        known: dict[Any, Any] = {}
        if wanted:
            for existing in await ctx.conn.execute(
                sa.select(places).where(places.c.place_id.in_(wanted))
            ):
                known[existing.place_id] = existing
        rows: list[dict[str, Any]] = []
        building_rows: list[dict[str, Any]] = []
        for event in events:
            data = event.data
            assert isinstance(data, PlaceRegistered)
            row = _registered_row(data, known.get(data.parent_id), event)
            known[data.place_id] = SimpleNamespace(**row)
            rows.append(row)
            if data.kind == PlaceKind.BUILDING and row["grid_id"] is not None:
                building_rows.append(
                    {
                        "building_id": data.place_id,
                        "since": event.envelope.time,
                        "grid_id": row["grid_id"],
                    }
                )
        await insert_many(ctx.conn, places, rows)
        await insert_many(ctx.conn, grids, building_rows)

    @handles(PlaceRegistered)
    async def on_registered(self, ctx: ApplyContext, event: RecordedEvent[PlaceRegistered]) -> None:
        data = event.data
        parent = await _place(ctx, data.parent_id) if data.parent_id is not None else None
        row = _registered_row(data, parent, event)
        await ctx.conn.execute(sa.insert(ctx.tables["places"]).values(**row))
        if data.kind == PlaceKind.BUILDING and row["grid_id"] is not None:
            await ctx.conn.execute(
                sa.insert(ctx.tables["building_grids"]).values(
                    building_id=data.place_id, since=event.envelope.time, grid_id=row["grid_id"]
                )
            )

    @handles(PlaceRenamed)
    async def on_renamed(self, ctx: ApplyContext, event: RecordedEvent[PlaceRenamed]) -> None:
        data = event.data
        places = ctx.tables["places"]
        row = await _place(ctx, data.place_id)
        await _touch(ctx, event, data.place_id, name=data.name)
        kind = PlaceKind(row.kind)
        if kind in (PlaceKind.SUBDISTRICT, PlaceKind.COMMUNITY):
            # the community's name leads every address below it
            await _readdress(ctx, row.address, data.name, _descendants(places, row))

    @handles(BuildingRegridded)
    async def on_regridded(
        self, ctx: ApplyContext, event: RecordedEvent[BuildingRegridded]
    ) -> None:
        data = event.data
        places = ctx.tables["places"]
        building = await _place(ctx, data.place_id)
        grid = await _place(ctx, data.to_grid_id)
        await _touch(ctx, event, data.place_id, parent_id=data.to_grid_id)
        await ctx.conn.execute(
            sa.update(places)
            .where(places.c.building_id == data.place_id)
            .values(scope=grid.scope, grid_id=grid.place_id)
        )
        old_prefix = building.address[: -len(building.number or "")] or building.address
        await _readdress(ctx, old_prefix, grid.address, places.c.building_id == data.place_id)
        await ctx.conn.execute(
            sa.insert(ctx.tables["building_grids"]).values(
                building_id=data.place_id, since=event.envelope.time, grid_id=data.to_grid_id
            )
        )

    @handles(DwellingUsageChanged)
    async def on_usage(self, ctx: ApplyContext, event: RecordedEvent[DwellingUsageChanged]) -> None:
        data = event.data
        await _touch(ctx, event, data.place_id, usage=data.usage)

    @handles(GridBoundaryDrawn)
    async def on_boundary_drawn(
        self, ctx: ApplyContext, event: RecordedEvent[GridBoundaryDrawn]
    ) -> None:
        await _touch(ctx, event, event.data.place_id, has_boundary=True)


def _registered_row(data: PlaceRegistered, parent: Any, event: RecordedEvent) -> dict[str, Any]:
    """The row of a newly registered place, from its parent's row."""
    kind = PlaceKind(data.kind)
    own = data.code if kind in CODED else None
    grid_id = data.place_id if kind == PlaceKind.GRID else (parent.grid_id if parent else None)
    building_id = (
        data.place_id
        if kind == PlaceKind.BUILDING
        else (parent.building_id if parent is not None else None)
    )
    address = place_address(
        kind, data.name, data.number, parent.address if parent is not None else None
    )
    return {
        "place_id": data.place_id,
        "kind": kind.value,
        "name": data.name,
        "code": data.code,
        "number": data.number,
        "parent_id": data.parent_id,
        "usage": data.usage,
        "scope": own or (parent.scope if parent is not None else ""),
        "grid_id": grid_id,
        "building_id": building_id,
        "address": address,
        "address_key": normalise_address(address),
        "has_boundary": data.boundary is not None,
        "version": event.version,
        "registered_at": event.envelope.time,
        "updated_at": event.envelope.time,
    }


async def _place(ctx: ApplyContext, place_id: Any) -> Any:
    places = ctx.tables["places"]
    return (await ctx.conn.execute(sa.select(places).where(places.c.place_id == place_id))).one()


def _descendants(places: sa.Table, row: Any) -> sa.ColumnElement[bool]:
    return sa.or_(places.c.scope == row.code, places.c.scope.like(f"{row.code}-%"))


async def _touch(ctx: ApplyContext, event: RecordedEvent, place_id: Any, **values: Any) -> None:
    await stamp(ctx, event, "places", "place_id", place_id, **values)


async def _readdress(
    ctx: ApplyContext,
    old_prefix: str,
    new_prefix: str,
    where: sa.ColumnElement[bool],
) -> None:
    places = ctx.tables["places"]
    conn: AsyncConnection = ctx.conn
    rows = (await conn.execute(sa.select(places.c.place_id, places.c.address).where(where))).all()
    for row in rows:
        if not row.address.startswith(old_prefix):
            continue
        address = new_prefix + row.address[len(old_prefix) :]
        await conn.execute(
            sa.update(places)
            .where(places.c.place_id == row.place_id)
            .values(address=address, address_key=normalise_address(address))
        )


# -- queries ---------------------------------------------------------------------------------------


def in_places(scope: sa.ColumnElement[Any], places: Collection[str]) -> sa.ColumnElement[bool]:
    """Rows whose scope lies in one of ``places`` (codes): the place itself, or inside it."""
    clauses = [sa.or_(scope == place, scope.like(f"{place}-%")) for place in sorted(places)]
    return sa.or_(*clauses) if clauses else sa.false()


def with_place(
    table: sa.Table, place_id: sa.ColumnElement[Any], places: Mapping[str, sa.Table],
    address: str = "address",
) -> sa.Select[Any]:  # fmt: skip
    """``table``'s rows with the scope and address (named ``address``) of the place whose id
    is in their column ``place_id``: what scopes a record that keeps only its place's id."""
    pl = places["places"]
    return sa.select(table, pl.c.scope, pl.c.address.label(address)).select_from(
        table.join(pl, pl.c.place_id == place_id)
    )


async def place(conn: AsyncConnection, tables: Mapping[str, sa.Table], place_id: Any) -> Any:
    """A place's row (None if there is none)."""
    t = tables["places"]
    return (await conn.execute(sa.select(t).where(t.c.place_id == place_id))).first()


async def place_with_code(
    conn: AsyncConnection, tables: Mapping[str, sa.Table], code: str
) -> uuid.UUID | None:
    """The place with a code (subdistrict, community or grid), if the register has it."""
    t = tables["places"]
    found: uuid.UUID | None = await conn.scalar(sa.select(t.c.place_id).where(t.c.code == code))
    return found


async def place_scope(
    conn: AsyncConnection, tables: Mapping[str, sa.Table], place_id: Any
) -> str | None:
    """The scope of a place (None if there is none)."""
    t = tables["places"]
    scope: str | None = await conn.scalar(sa.select(t.c.scope).where(t.c.place_id == place_id))
    return scope


async def places_page(
    conn: AsyncConnection,
    tables: Mapping[str, sa.Table],
    *,
    within: Collection[str],
    parent_id: Any = None,
    kind: str | None = None,
    address: str | None = None,
    page: int,
    size: int,
) -> tuple[list[Any], int]:
    """A page of places inside ``within``, by parent, level or address text, and the count."""
    t = tables["places"]
    query = narrowed(
        sa.select(t).where(in_places(t.c.scope, within)),
        (t.c.parent_id, parent_id),
        (t.c.kind, kind),
    )
    if address:
        query = query.where(t.c.address_key.contains(normalise_address(address), autoescape=True))
    return await page_of(conn, query, t.c.address, t.c.place_id, page=page, size=size)


async def grids(
    conn: AsyncConnection,
    tables: Mapping[str, sa.Table],
    *,
    within: Collection[str],
    code: str | None = None,
) -> list[Any]:
    """Grids inside ``within`` (id, code, name), by code; only those in ``code`` if given."""
    pl = tables["places"]
    query = sa.select(pl.c.place_id, pl.c.code, pl.c.name).where(
        pl.c.kind == "grid", in_places(pl.c.scope, within)
    )
    if code is not None:
        query = query.where(sa.or_(pl.c.code == code, pl.c.code.like(f"{code}-%")))
    return list(await conn.execute(query.order_by(pl.c.code)))


async def grid_on(
    conn: AsyncConnection, tables: Mapping[str, sa.Table], building_id: Any, when: datetime
) -> Any:
    """The grid a building was in at ``when`` (None before it was registered)."""
    grids = tables["building_grids"]
    return await conn.scalar(
        sa.select(grids.c.grid_id)
        .where(grids.c.building_id == building_id, grids.c.since <= when)
        .order_by(grids.c.since.desc())
        .limit(1)
    )
