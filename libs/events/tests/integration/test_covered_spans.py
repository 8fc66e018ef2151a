"""A bulk transaction applied inline is stepped over by the projection's runner (ADR 0012), and
nothing the runner still had to apply is stepped over with it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events import tuning
from wangge.events.command import unit_of_work, unit_on
from wangge.events.projection import ProjectionRunner
from wangge.events.runner_state import covered
from wangge.events.sources import SourcedEvent, StoreSource
from wangge.events.store import NO_STREAM, EventStore, StreamAppend, open_store

from events_projections import CountsProjection
from events_samples import Counted, catalogue

pytestmark = pytest.mark.usefixtures("fast_and_slow")

BULK = 40
"""Streams of a bulk transaction, two events each: past the span's threshold (64 events)."""


class InlineCounts(CountsProjection):
    inline = True


class Counting(StoreSource):
    """The runner's source, counting the events it hands over (what the runner read)."""

    read = 0

    async def fetch(self, stored: dict[str, str], max_records: int) -> list[SourcedEvent]:  # type: ignore[override]
        batch = await super().fetch(stored, max_records)
        Counting.read += len(batch)
        return batch

    def narrow(self, types: frozenset[str]) -> StoreSource:
        return self


async def _setup(engine: AsyncEngine) -> tuple[EventStore, InlineCounts]:
    store = open_store(engine, service="sample", catalogue=catalogue)
    await store.create_schema()
    projection = InlineCounts(f"spans_{uuid.uuid4().hex[:8]}")
    await _runner(engine, store, projection).setup()
    return store, projection


def _runner(engine: AsyncEngine, store: EventStore, projection: InlineCounts) -> ProjectionRunner:
    return ProjectionRunner(
        projection, engine=engine, source=Counting(store, idle_seconds=0), batch_size=10
    )


async def _catch_up(engine: AsyncEngine, store: EventStore, projection: InlineCounts) -> int:
    """Run a fresh runner (as after a restart) until it finds nothing; how many events it read."""
    Counting.read = 0
    runner = _runner(engine, store, projection)
    await runner.start()
    try:
        while await runner.run_once():
            pass
    finally:
        await runner.stop()
    return Counting.read


async def _bulk(store: EventStore, projection: InlineCounts | None, streams: Sequence[str]) -> None:
    appends = [StreamAppend(s, [Counted(n=1), Counted(n=2)], NO_STREAM) for s in streams]
    async with unit_of_work(store, projections=[projection] if projection else []) as unit:
        await unit.append_batch(appends)


async def _spans(engine: AsyncEngine, projection: InlineCounts) -> int:
    async with engine.connect() as conn:
        count = await conn.scalar(
            sa.select(sa.func.count()).where(covered.c.projection == projection.name)
        )
    return int(count or 0)


def _streams(n: int = BULK) -> list[str]:
    return [f"counter-{uuid.uuid4()}" for _ in range(n)]


async def test_a_bulk_transaction_applied_inline_is_stepped_over(engine: AsyncEngine) -> None:
    store, projection = await _setup(engine)
    streams = _streams()
    await _bulk(store, projection, streams)
    # a command's few events after it: read again as before (no span for a handful)
    await store.append(streams[0], [Counted(n=3)], expected_version=2)
    expected = {s: (2, "1,2") for s in streams} | {streams[0]: (3, "1,2,3")}
    read = await _catch_up(engine, store, projection)
    assert await projection.snapshot(engine) == expected
    if tuning.FAST_PATHS.spans:
        assert read == 1  # the command's event only: the bulk's 80 were stepped over
        assert await _spans(engine, projection) == 0  # the runner is past it: gone
    else:
        assert read == 2 * BULK + 1
    assert await _catch_up(engine, store, projection) == 0  # the position was saved


async def test_a_bulk_transaction_not_applied_inline_is_read_and_applied(
    engine: AsyncEngine,
) -> None:
    store, projection = await _setup(engine)
    streams = _streams()
    await _bulk(store, None, streams)  # written without the projection (another writer)
    assert await _spans(engine, projection) == 0
    await _catch_up(engine, store, projection)
    assert await projection.snapshot(engine) == {s: (2, "1,2") for s in streams}


async def test_a_bulk_with_a_stream_left_to_the_runner_records_no_span(
    engine: AsyncEngine,
) -> None:
    store, projection = await _setup(engine)
    behind = f"counter-{uuid.uuid4()}"
    # written without the projection: the inline apply must leave this stream to the runner
    await store.append(behind, [Counted(n=1)], expected_version=NO_STREAM)
    streams = _streams()
    appends = [StreamAppend(s, [Counted(n=1), Counted(n=2)], NO_STREAM) for s in streams]
    async with unit_of_work(store, projections=[projection]) as unit:
        await unit.append_batch(appends)
        loaded = await store.read_stream(behind, connection=unit.conn)
        await unit.append(behind, [Counted(n=2)], expected_version=1, history=loaded)
    assert await _spans(engine, projection) == 0
    await _catch_up(engine, store, projection)
    snapshot = await projection.snapshot(engine)
    assert snapshot[behind] == (2, "1,2")
    assert all(snapshot[s] == (2, "1,2") for s in streams)


async def test_a_transaction_with_appends_the_apply_did_not_see_records_no_span(
    engine: AsyncEngine,
) -> None:
    store, projection = await _setup(engine)
    streams, other = _streams(), f"counter-{uuid.uuid4()}"
    half = len(streams) // 2
    async with store.begin() as conn, unit_on(store, conn, projections=[projection]) as unit:
        await unit.append_batch(
            [StreamAppend(s, [Counted(n=1), Counted(n=2)], NO_STREAM) for s in streams[:half]]
        )
        # between the unit's appends, one the unit does not see (no inline apply of it)
        await store.append(other, [Counted(n=7)], expected_version=NO_STREAM, connection=conn)
        await unit.append_batch(
            [StreamAppend(s, [Counted(n=1), Counted(n=2)], NO_STREAM) for s in streams[half:]]
        )
    assert await _spans(engine, projection) == 0
    await _catch_up(engine, store, projection)
    snapshot = await projection.snapshot(engine)
    assert snapshot[other] == (1, "7")
    assert all(snapshot[s] == (2, "1,2") for s in streams)


async def test_a_rebuild_reads_what_the_old_generation_stepped_over(
    engine: AsyncEngine,
) -> None:
    store, projection = await _setup(engine)
    streams = _streams()
    await _bulk(store, projection, streams)
    runner = _runner(engine, store, projection)
    await runner.rebuild()
    assert await projection.snapshot(engine) == {s: (2, "1,2") for s in streams}
    assert await _spans(engine, projection) == 0  # the retired generation's went with it
