"""Commands update their service's own read models in their transaction, and the runner agrees."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events.command import check_expected, load, unit_of_work
from wangge.events.db import read_only
from wangge.events.errors import ConcurrencyConflict
from wangge.events.model import DomainEvent
from wangge.events.projection import ProjectionRunner
from wangge.events.sources import StoreSource
from wangge.events.store import NO_STREAM, EventStore, open_store

from events_projections import CountsProjection
from events_samples import Counted, HouseholdRegistered, catalogue

# every test here runs with the fast paths on and with their slow twins (DESIGN section 4)
pytestmark = pytest.mark.usefixtures("fast_and_slow")


class InlineCounts(CountsProjection):
    inline = True


async def _setup(engine: AsyncEngine) -> tuple[EventStore, InlineCounts, ProjectionRunner]:
    store = open_store(engine, service="sample", catalogue=catalogue)
    await store.create_schema()
    projection = InlineCounts(f"inline_{uuid.uuid4().hex[:8]}")
    runner = ProjectionRunner(
        projection, engine=engine, source=StoreSource(store, idle_seconds=0), batch_size=7
    )
    await runner.setup()
    return store, projection, runner


def _fold(state: int | None, event: DomainEvent, version: int) -> int:
    return version


async def _count(store: EventStore, projection: InlineCounts, stream: str, n: int) -> None:
    loaded = await load(store, stream, _fold)
    async with unit_of_work(store, projections=[projection]) as unit:
        await unit.append(
            stream, [Counted(n=n)], expected_version=loaded.version, history=loaded.events
        )


async def test_a_command_reads_its_own_write_and_the_runner_applies_nothing_twice(
    engine: AsyncEngine,
) -> None:
    store, projection, runner = await _setup(engine)
    stream = f"counter-{uuid.uuid4()}"
    async with unit_of_work(store, projections=[projection]) as unit:
        await unit.append(
            stream,
            [HouseholdRegistered(household_id=stream, dwelling="d"), Counted(n=1)],
            expected_version=NO_STREAM,
        )
    assert await projection.snapshot(engine) == {stream: (1, "1")}
    await _count(store, projection, stream, 2)
    assert await projection.snapshot(engine) == {stream: (2, "1,2")}
    await runner.start()
    while await runner.run_once():
        pass
    assert await projection.snapshot(engine) == {stream: (2, "1,2")}
    assert runner.applied == 0


async def test_a_stream_the_model_has_not_caught_up_on_is_left_to_the_runner(
    engine: AsyncEngine,
) -> None:
    store, projection, runner = await _setup(engine)
    stream = f"counter-{uuid.uuid4()}"
    # written without the projection (a rebuild catching up, a projection added later)
    await store.append(stream, [Counted(n=1), Counted(n=2)], expected_version=NO_STREAM)
    await _count(store, projection, stream, 3)
    assert await projection.snapshot(engine) == {}  # applying 3 now would make the runner skip 1, 2
    await runner.start()
    while await runner.run_once():
        pass
    assert await projection.snapshot(engine) == {stream: (3, "1,2,3")}
    await _count(store, projection, stream, 4)
    assert await projection.snapshot(engine) == {stream: (4, "1,2,3,4")}


async def test_a_failed_command_leaves_neither_events_nor_read_model(engine: AsyncEngine) -> None:
    store, projection, _ = await _setup(engine)
    stream = f"counter-{uuid.uuid4()}"
    with pytest.raises(RuntimeError):
        async with unit_of_work(store, projections=[projection]) as unit:
            await unit.append(stream, [Counted(n=1)], expected_version=NO_STREAM)
            raise RuntimeError("a later rule of the command failed")
    assert await store.read_stream(stream) == []
    assert await projection.snapshot(engine) == {}


async def test_if_match_on_a_moved_stream_is_a_conflict(engine: AsyncEngine) -> None:
    store, projection, _ = await _setup(engine)
    stream = f"counter-{uuid.uuid4()}"
    await _count(store, projection, stream, 1)
    loaded = await load(store, stream, _fold)
    check_expected(loaded, 1)
    with pytest.raises(ConcurrencyConflict):
        check_expected(loaded, 0)


async def test_a_reader_does_not_block_a_writer(engine: AsyncEngine) -> None:
    store, projection, _ = await _setup(engine)
    stream = f"counter-{uuid.uuid4()}"
    async with read_only(engine) as reader:
        await reader.execute(sa.text("SELECT 1"))  # a snapshot is open
        await asyncio.wait_for(_count(store, projection, stream, 1), timeout=10)
    assert await projection.snapshot(engine) == {stream: (1, "1")}
