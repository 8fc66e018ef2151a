"""The roster, the cases service's copy of the registry, fed the registry's events in the orders
Kafka may hand them over (workers' streams in any order), on an in-memory SQLite database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from wangge.cases.consumed.registry import (
    BuildingRegridded,
    GridWorkerAppointed,
    GridWorkerLeft,
    GridWorkerReassigned,
)
from wangge.cases.projections.roster import Roster, worker_of
from wangge.events import IntegrationEvent, RecordedEvent
from wangge.events.envelope import Envelope
from wangge.events.projection import ApplyContext, Projection

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
OnSqlite = Callable[[Projection], AbstractAsyncContextManager[ApplyContext]]
A, B = uuid.uuid4(), uuid.uuid4()
G, H = uuid.uuid4(), uuid.uuid4()


def recorded(
    data: IntegrationEvent, stream: str, *, at: datetime, version: int = 1
) -> RecordedEvent:
    envelope = Envelope(
        id=uuid.uuid4(), source="/wangge/registry", type=data.event_type, subject=stream,
        time=at, dataschema=f"urn:wangge:schema:{data.event_type}:1", sequence=version,
    )  # fmt: skip
    return RecordedEvent(envelope=envelope, data=data)


def appointed(worker: uuid.UUID, grids: list[uuid.UUID], minutes: int) -> RecordedEvent:
    data = GridWorkerAppointed(
        worker_id=worker, account=f"w-{worker}", name="王", grid_ids=grids, on=date(2026, 11, 27)
    )
    return recorded(data, f"worker-{worker}", at=T0 + timedelta(minutes=minutes))


@pytest.fixture
async def roster(on_sqlite: OnSqlite) -> AsyncIterator[tuple[Roster, ApplyContext]]:
    projection = Roster()
    async with on_sqlite(projection) as ctx:
        yield projection, ctx


async def holder(ctx: ApplyContext, grid: uuid.UUID) -> Any:
    found = await worker_of(ctx.conn, ctx.tables, grid)
    return found[0] if found is not None else None


async def test_an_older_appointment_arriving_late_leaves_the_grid_with_the_newer_one(
    roster: tuple[Roster, ApplyContext],
) -> None:
    projection, ctx = roster
    await projection.apply(ctx, appointed(B, [G], minutes=2))
    await projection.apply(ctx, appointed(A, [G, H], minutes=1))
    assert (await holder(ctx, G), await holder(ctx, H)) == (B, A)
    # A gives up H; B leaves later: both grids have nobody, and A's old claim stays dead
    moved = GridWorkerReassigned(worker_id=A, grid_ids=[uuid.uuid4()], on=date(2026, 11, 28))
    await projection.apply(
        ctx, recorded(moved, f"worker-{A}", at=T0 + timedelta(minutes=3), version=2)
    )
    left = GridWorkerLeft(worker_id=B, on=date(2026, 11, 29))
    await projection.apply(
        ctx, recorded(left, f"worker-{B}", at=T0 + timedelta(minutes=4), version=2)
    )
    assert (await holder(ctx, G), await holder(ctx, H)) == (None, None)


async def test_a_grid_kept_before_the_roster_knew_when_is_taken_by_the_next_appointment(
    roster: tuple[Roster, ApplyContext],
) -> None:
    projection, ctx = roster
    workers, grids = ctx.tables["workers"], ctx.tables["grids"]
    await ctx.conn.execute(sa.insert(workers).values(worker_id=A, account="a", name="王"))
    await ctx.conn.execute(sa.insert(grids).values(grid_id=G, worker_id=A))  # no hold: older
    await projection.apply(ctx, appointed(B, [G], minutes=0))
    assert await holder(ctx, G) == B


async def test_a_building_the_copy_never_saw_registered_is_not_regridded(
    roster: tuple[Roster, ApplyContext],
) -> None:
    projection, ctx = roster
    data = BuildingRegridded(place_id=uuid.uuid4(), to_grid_id=G)
    await projection.apply(
        ctx, recorded(data, f"place-{data.place_id}", at=T0, version=2)
    )  # raises nothing: nothing to move
    assert (await ctx.conn.execute(sa.select(ctx.tables["places"]))).first() is None
