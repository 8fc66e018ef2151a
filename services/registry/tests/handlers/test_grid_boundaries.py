"""Grid boundaries below HTTP: drawn after registration or seeded with it, the place tree's
``has_boundary`` follows, in the command's transaction and after a rebuild alike."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from geojson_pydantic import Polygon

from wangge.events import Metadata
from wangge.events.command import CommandRunner
from wangge.events.projection import ProjectionRunner, active_tables
from wangge.events.sources import StoreSource
from wangge.registry.bootstrap import RegistryCore
from wangge.registry.config import RegistrySettings
from wangge.registry.domain.places import GridBoundaryDrawn, PlaceKind, PlaceRegistered
from wangge.registry.handlers import places
from wangge.registry.projections.places import PlaceTree
from wangge.registry.seeding import seed_tree
from wangge.registry.synthetic import Generator

from registry_support import started_without_app


@pytest.fixture
async def core(registry_settings: RegistrySettings) -> AsyncIterator[RegistryCore]:
    async with started_without_app(registry_settings) as registry:
        yield registry


def run(core: RegistryCore, key: str | None = None) -> CommandRunner:
    return core.commands(Metadata(actor="admin-1"), idempotency_key=key)


def square(side: float = 0.01) -> Polygon:
    west, south = 118.62, 32.06
    ring = [[west, south], [west + side, south], [west + side, south + side],
            [west, south + side], [west, south]]  # fmt: skip
    return Polygon.model_validate({"type": "Polygon", "coordinates": [ring]})


async def grid(core: RegistryCore) -> uuid.UUID:
    """A grid registered without a boundary, as a census import of grids leaves it."""
    parent: uuid.UUID | None = None
    for kind, code in (("subdistrict", "320111001"), ("community", "320111001-001"),
                       ("grid", "320111001-001-001")):  # fmt: skip
        cmd = places.RegisterPlace(kind=PlaceKind(kind), name=code, code=code, parent_id=parent)
        result = await places.register_place(run(core), cmd)
        parent = uuid.UUID(result.stream_id.removeprefix("place-"))
    assert parent is not None
    return parent


async def rows(core: RegistryCore) -> dict[uuid.UUID, Any]:
    async with core.store.engine.connect() as conn:
        t = (await active_tables(conn, core.projection(PlaceTree.name)))["places"]
        return {r.place_id: r for r in await conn.execute(sa.select(t))}


async def test_a_boundary_drawn_after_registration_marks_the_grid_in_the_command(
    core: RegistryCore,
) -> None:
    grid_id = await grid(core)
    assert not (await rows(core))[grid_id].has_boundary

    drawn = await places.draw_grid_boundary(
        run(core), places.DrawGridBoundary(place_id=grid_id, boundary=square())
    )

    assert drawn is not None and drawn.last_version == 2
    row = (await rows(core))[grid_id]
    assert (row.has_boundary, row.version) == (True, 2)
    [event] = (await core.store.read_stream(drawn.stream_id))[1:]
    assert event.data == GridBoundaryDrawn(place_id=grid_id, boundary=square())


async def test_the_same_boundary_again_records_nothing_and_a_new_one_replaces_it(
    core: RegistryCore,
) -> None:
    grid_id = await grid(core)
    first = places.DrawGridBoundary(place_id=grid_id, boundary=square())
    await places.draw_grid_boundary(run(core, "gis-1"), first)

    assert await places.draw_grid_boundary(run(core), first) is None
    retried = await places.draw_grid_boundary(run(core, "gis-1"), first)
    assert retried is not None and retried.replayed and retried.last_version == 2
    redrawn = places.DrawGridBoundary(place_id=grid_id, boundary=square(0.02))
    again = await places.draw_grid_boundary(run(core), redrawn)

    assert again is not None and again.last_version == 3
    history = await core.store.read_stream(f"place-{grid_id}")
    drawings = [e.data.boundary for e in history if isinstance(e.data, GridBoundaryDrawn)]
    assert drawings == [square(), square(0.02)]
    assert (await rows(core))[grid_id].version == 3


async def test_seeded_grids_carry_their_boundaries_and_a_rebuild_keeps_every_mark(
    core: RegistryCore,
) -> None:
    generator = Generator(seed=5, size="tiny")
    subdistrict = generator.subdistrict()
    await seed_tree(core, generator)
    by_code = {r.code: r for r in (await rows(core)).values()}
    assert {code for code, r in by_code.items() if r.has_boundary} == {
        g.code for g in subdistrict.grids
    }
    first = subdistrict.grids[0]
    [registered] = await core.store.read_stream(f"place-{by_code[first.code].place_id}")
    assert isinstance(registered.data, PlaceRegistered)
    assert registered.data.boundary == Polygon.model_validate(first.geojson())
    community = subdistrict.communities[0]
    late = await places.register_place(
        run(core),
        places.RegisterPlace(kind=PlaceKind.GRID, name="第99网格", code=f"{community.code}-099",
                             parent_id=by_code[community.code].place_id),
    )  # fmt: skip
    late_id = uuid.UUID(late.stream_id.removeprefix("place-"))
    await places.draw_grid_boundary(
        run(core), places.DrawGridBoundary(place_id=late_id, boundary=square())
    )
    applied = await rows(core)

    runner = ProjectionRunner(
        core.projection(PlaceTree.name), engine=core.store.engine, source=StoreSource(core.store)
    )
    await runner.rebuild()

    rebuilt = await rows(core)
    assert rebuilt == applied
    assert (rebuilt[late_id].has_boundary, rebuilt[late_id].version) == (True, 2)
