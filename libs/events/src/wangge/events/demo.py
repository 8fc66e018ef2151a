"""The embedded demo behind ``make run``: a small synthetic subdistrict, appended and projected.

It shows the whole path on SQLite alone: commands append events to a stream, a projection runner
reads the event table and keeps a grid summary. Services replace it as they land.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
from collections.abc import Mapping
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events.catalogue import Catalogue
from wangge.events.db import create_engine, sqlite_url
from wangge.events.envelope import Metadata, RecordedEvent
from wangge.events.model import DomainEvent
from wangge.events.projection import (
    ApplyContext,
    Projection,
    ProjectionRunner,
    active_generation,
    handles,
)
from wangge.events.sources import StoreSource
from wangge.events.store import NO_STREAM, EventStore, open_store

catalogue = Catalogue()
SUBDISTRICT = "320111001"


@catalogue.event("demo")
class GridDrawn(DomainEvent):
    """A grid (网格) was drawn inside a community of the subdistrict."""

    grid_code: str
    name: str


@catalogue.event("demo")
class HouseholdRegistered(DomainEvent):
    """A household (户) was registered at a dwelling of a grid."""

    household_id: str
    grid_code: str
    dwelling: str
    members: int


@catalogue.event("demo")
class VisitRecorded(DomainEvent):
    """A grid worker (网格员) made a door-to-door visit (走访) to a household."""

    household_id: str
    grid_code: str
    worker: str
    note: str = ""


class GridSummary(Projection):
    """Households, residents and visits per grid."""

    name = "demo_grid_summary"

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        return {
            "grids": sa.Table(
                f"grid_summary{suffix}",
                metadata,
                sa.Column("grid_code", sa.String(30), primary_key=True),
                sa.Column("name", sa.String(100), nullable=False),
                sa.Column("households", sa.Integer, nullable=False, default=0),
                sa.Column("residents", sa.Integer, nullable=False, default=0),
                sa.Column("visits", sa.Integer, nullable=False, default=0),
            )
        }

    @handles(GridDrawn)
    async def on_grid(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        assert isinstance(event.data, GridDrawn)
        await ctx.conn.execute(
            sa.insert(ctx.tables["grids"]).values(
                grid_code=event.data.grid_code,
                name=event.data.name,
                households=0,
                residents=0,
                visits=0,
            )
        )

    @handles(HouseholdRegistered)
    async def on_household(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        assert isinstance(event.data, HouseholdRegistered)
        await _add(ctx, event.data.grid_code, households=1, residents=event.data.members)

    @handles(VisitRecorded)
    async def on_visit(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        assert isinstance(event.data, VisitRecorded)
        await _add(ctx, event.data.grid_code, visits=1)


async def _add(ctx: ApplyContext, grid_code: str, **counts: int) -> None:
    """Add ``counts`` to a grid's row."""
    grids = ctx.tables["grids"]
    await ctx.conn.execute(
        sa.update(grids)
        .where(grids.c.grid_code == grid_code)
        .values({grids.c[name]: grids.c[name] + n for name, n in counts.items()})
    )


async def seed(store: EventStore, rng: random.Random) -> list[tuple[str, str]]:
    """Two communities of two grids, five households each; returns (household, grid) pairs."""
    households = []
    for community in (1, 2):
        for grid in (1, 2):
            code = f"{SUBDISTRICT}-{community:03d}-{grid:03d}"
            await store.append(
                f"grid-{code}",
                [GridDrawn(grid_code=code, name=f"第{community}社区第{grid}网格")],
                expected_version=NO_STREAM,
                idempotency_key=f"seed-{code}",
            )
            for n in range(1, 6):
                household = f"household-{code}-{n:02d}"
                await store.append(
                    household,
                    [
                        HouseholdRegistered(
                            household_id=household,
                            grid_code=code,
                            dwelling=f"{code}/{n // 3 + 1}栋/{n:02d}01",
                            members=rng.randint(1, 5),
                        )
                    ],
                    expected_version=NO_STREAM,
                    idempotency_key=f"seed-{household}",
                    metadata=Metadata(actor=f"worker-{code}"),
                )
                households.append((household, code))
    return households


async def print_summary(engine: AsyncEngine, projection: GridSummary) -> None:
    """The grid summary as a small table."""
    async with engine.connect() as conn:
        grids = projection.tables(await active_generation(conn, projection.name))["grids"]
        rows = (await conn.execute(sa.select(grids).order_by(grids.c.grid_code))).all()
    print(f"{'grid':<20} {'households':>10} {'residents':>10} {'visits':>7}")
    for row in rows:
        print(f"{row.grid_code:<20} {row.households:>10} {row.residents:>10} {row.visits:>7}")


async def run_demo(data_dir: Path, *, serve: bool) -> None:
    """Seed (once), project, print; with ``serve``, keep visiting and projecting until stopped."""
    engine = create_engine(sqlite_url(data_dir / "demo.db"))
    store = open_store(engine, service="demo", catalogue=catalogue)
    await store.create_schema()
    rng = random.Random(2260)  # noqa: S311 (a reproducible demo, nothing secret)
    households = await seed(store, rng)
    projection = GridSummary(catalogue)
    runner = ProjectionRunner(projection, engine=engine, source=StoreSource(store, idle_seconds=0))
    await runner.start()
    while await runner.run_once():
        pass
    print(f"Wangge demo: subdistrict {SUBDISTRICT}, event store {data_dir / 'demo.db'}")
    await print_summary(engine, projection)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        while serve and not stop.is_set():
            household, grid = rng.choice(households)
            visit = VisitRecorded(household_id=household, grid_code=grid, worker=f"worker-{grid}")
            await store.append(household, [visit], expected_version=None)
            while await runner.run_once():
                pass
            print(f"visit recorded at {household}; projected events so far: {runner.applied}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 3)
    finally:
        await runner.stop()
        await engine.dispose()
