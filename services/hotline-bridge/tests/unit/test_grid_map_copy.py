"""The address -> grid map, the hotline bridge's copy of the registry's places, fed events it
may get with part of the registry's history missing, on an in-memory SQLite database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from wangge.events import IntegrationEvent, RecordedEvent
from wangge.events.projection import ApplyContext
from wangge.governance.testing import from_registry
from wangge.hotline_bridge.consumed.registry import (
    BuildingRegridded,
    GridBoundaryDrawn,
    PlaceRegistered,
    PlaceRenamed,
)
from wangge.hotline_bridge.domain.routing import Match, RoutingMethod
from wangge.hotline_bridge.domain.tickets import Location
from wangge.hotline_bridge.projections.grid_map import GridMap, find_grid

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


def square(west: float, south: float = 32.06, side: float = 0.01) -> dict[str, Any]:
    ring = [[west, south], [west + side, south], [west + side, south + side],
            [west, south + side], [west, south]]  # fmt: skip
    return {"type": "Polygon", "coordinates": [ring]}


async def grid_at(ctx: ApplyContext, longitude: float, latitude: float) -> uuid.UUID | None:
    """The grid routing finds for a point whose address matches nothing."""
    found = await find_grid(
        ctx.conn, ctx.tables, address="沿江街道江边步道",
        location=Location(longitude=longitude, latitude=latitude),
    )  # fmt: skip
    if isinstance(found, Match):
        assert found.method == RoutingMethod.LOCATION
        return found.grid_id
    return None


async def a_grid(projection: GridMap, ctx: ApplyContext, **fields: Any) -> uuid.UUID:
    """A subdistrict, a community and a grid in it, registered one batch after another."""
    subdistrict, community, grid = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for place_id, data in (
        (subdistrict, PlaceRegistered(place_id=subdistrict, kind="subdistrict", name="沿江街道",
                                      code="320111001")),
        (community, PlaceRegistered(place_id=community, kind="community", name="滨江社区",
                                    code="320111001-001", parent_id=subdistrict)),
        (grid, PlaceRegistered(place_id=grid, kind="grid", name="第1网格",
                               code="320111001-001-001", parent_id=community, **fields)),
    ):  # fmt: skip
        await projection.apply_many(ctx, [recorded(data, place_id, 1)], {f"place-{place_id}"})
    return grid


async def test_a_boundary_drawn_after_registration_routes_a_point_inside_it(
    grid_map: tuple[GridMap, ApplyContext],
) -> None:
    projection, ctx = grid_map
    grid = await a_grid(projection, ctx)
    assert await grid_at(ctx, 118.625, 32.065) is None
    drawn = GridBoundaryDrawn(place_id=grid, boundary=square(118.62))
    await projection.apply_many(ctx, [recorded(drawn, grid, 2)], set())
    assert await grid_at(ctx, 118.625, 32.065) == grid


async def test_the_latest_drawing_replaces_the_boundary_drawn_at_registration(
    grid_map: tuple[GridMap, ApplyContext],
) -> None:
    projection, ctx = grid_map
    grid = await a_grid(projection, ctx, boundary=square(118.60))
    assert await grid_at(ctx, 118.605, 32.065) == grid
    redrawn = [
        recorded(GridBoundaryDrawn(place_id=grid, boundary=square(118.62)), grid, 2),
        recorded(GridBoundaryDrawn(place_id=grid, boundary=square(118.64)), grid, 3),
    ]
    await projection.apply_many(ctx, redrawn, set())
    assert await grid_at(ctx, 118.605, 32.065) is None
    assert await grid_at(ctx, 118.625, 32.065) is None
    assert await grid_at(ctx, 118.645, 32.065) == grid
    boundaries = ctx.tables["boundaries"]
    assert await ctx.conn.scalar(sa.select(sa.func.count()).select_from(boundaries)) == 1


async def test_a_boundary_of_a_grid_the_copy_never_saw_registered_is_passed_over(
    grid_map: tuple[GridMap, ApplyContext],
) -> None:
    projection, ctx = grid_map
    unknown = uuid.uuid4()
    drawn = GridBoundaryDrawn(place_id=unknown, boundary=square(118.62))
    await projection.apply(ctx, recorded(drawn, unknown, 2))
    assert (await ctx.conn.execute(sa.select(ctx.tables["boundaries"]))).first() is None


async def test_a_multipolygon_boundary_routes_a_point_in_either_part(
    grid_map: tuple[GridMap, ApplyContext],
) -> None:
    projection, ctx = grid_map
    grid = await a_grid(projection, ctx)
    west, east = square(118.60)["coordinates"], square(118.64)["coordinates"]
    parts = {"type": "MultiPolygon", "coordinates": [west, east]}
    await projection.apply(ctx, recorded(GridBoundaryDrawn(place_id=grid, boundary=parts), grid, 2))
    assert await grid_at(ctx, 118.605, 32.065) == await grid_at(ctx, 118.645, 32.065) == grid
    assert await grid_at(ctx, 118.625, 32.065) is None
