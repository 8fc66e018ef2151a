"""The address -> grid map, the hotline bridge's copy of the registry's places, fed events it
may get with part of the registry's history missing, on an in-memory SQLite database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from wangge.events import IntegrationEvent, RecordedEvent
from wangge.events.projection import ApplyContext
from wangge.governance.testing import from_registry
from wangge.hotline_bridge.consumed.registry import (
    BuildingRegridded,
    PlaceRegistered,
    PlaceRenamed,
)
from wangge.hotline_bridge.projections.grid_map import GridMap

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def recorded(data: IntegrationEvent, place_id: uuid.UUID, version: int) -> RecordedEvent:
    return from_registry(data, f"place-{place_id}", at=NOW, version=version)


@pytest.fixture
async def grid_map() -> AsyncIterator[tuple[GridMap, ApplyContext]]:
    engine = create_async_engine("sqlite+aiosqlite://")
    projection = GridMap()
    tables = projection.tables(1)
    async with engine.begin() as conn:
        await conn.run_sync(next(iter(tables.values())).metadata.create_all)
        yield projection, ApplyContext(conn=conn, tables=tables)
    await engine.dispose()


async def test_a_place_the_copy_never_saw_registered_is_neither_renamed_nor_regridded(
    grid_map: tuple[GridMap, ApplyContext],
) -> None:
    projection, ctx = grid_map
    unknown = uuid.uuid4()
    await projection.apply(ctx, recorded(PlaceRenamed(place_id=unknown, name="新名"), unknown, 2))
    regridded = BuildingRegridded(place_id=unknown, to_grid_id=uuid.uuid4())
    await projection.apply(ctx, recorded(regridded, unknown, 3))
    assert (await ctx.conn.execute(sa.select(ctx.tables["places"]))).first() is None


async def test_a_known_place_renamed_gets_its_new_address(
    grid_map: tuple[GridMap, ApplyContext],
) -> None:
    projection, ctx = grid_map
    community = uuid.uuid4()
    registered = PlaceRegistered(place_id=community, kind="community", name="江心社区")
    await projection.apply(ctx, recorded(registered, community, 1))
    await projection.apply(
        ctx, recorded(PlaceRenamed(place_id=community, name="江心洲社区"), community, 2)
    )
    places = ctx.tables["places"]
    address = await ctx.conn.scalar(
        sa.select(places.c.address).where(places.c.place_id == community)
    )
    assert address is not None and "江心洲社区" in address
