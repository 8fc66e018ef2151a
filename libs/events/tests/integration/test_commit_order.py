"""A reader that follows the PostgreSQL log never misses an event that commits late.

Positions are handed out at insert time but rows become visible at commit, so a reader that asks
for ``position > last`` skips any row whose transaction commits after a younger one. The store's
reader takes only transactions older than the oldest one still running (the xid8 watermark).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from wangge.events import WriteOrderError
from wangge.events.envelope import START
from wangge.events.store import EventStore, PostgresEventStore, StoredEvent, StreamAppend

from events_samples import Counted, catalogue

pytestmark = pytest.mark.postgres

WRITERS = 12
APPENDS_EACH = 25


async def _write(store: EventStore, rng: random.Random, written: list[uuid.UUID]) -> None:
    for n in range(APPENDS_EACH):
        sid = f"counter-{uuid.uuid4()}"
        async with store.begin() as conn:
            result = await store.append(sid, [Counted(n=n)], expected_version=0, connection=conn)
            if rng.random() < 0.3:
                # hold the transaction open after the insert: its position is taken, its row is
                # not yet visible, and younger transactions commit past it
                await asyncio.sleep(rng.uniform(0.005, 0.05))
        written.extend(result.event_ids)


async def _late_commit(store: EventStore, written: list[uuid.UUID], go: asyncio.Event) -> None:
    """One transaction that surely commits after a younger one (so the naive reader must miss)."""
    async with store.begin() as conn:
        result = await store.append(
            f"counter-{uuid.uuid4()}", [Counted(n=-1)], expected_version=0, connection=conn
        )
        await go.wait()
        await asyncio.sleep(0.2)
    written.extend(result.event_ids)


async def test_the_watermark_reader_sees_every_event_and_the_naive_reader_does_not(
    pg_engine_factory: object,
) -> None:
    engine: AsyncEngine = await pg_engine_factory(pool_size=WRITERS + 4)  # type: ignore[operator]
    store = PostgresEventStore(engine, service="sample", catalogue=catalogue)
    await store.create_schema()
    rng = random.Random(20261127)
    written: list[uuid.UUID] = []
    done = asyncio.Event()
    go = asyncio.Event()

    async def follow_watermark() -> list[StoredEvent]:
        # An empty batch means only "nothing visible yet": a transaction anywhere in the cluster
        # may hold the watermark back. So the reader stops once it has seen everything written,
        # or gives up after a generous deadline (and the assertions below then fail).
        seen: list[StoredEvent] = []
        checkpoint = START
        deadline = asyncio.get_running_loop().time() + 60
        while asyncio.get_running_loop().time() < deadline:
            if done.is_set() and len(seen) >= len(written):
                return seen
            batch = await store.read_all(checkpoint, limit=50)
            seen.extend(batch)
            if batch:
                checkpoint = batch[-1].checkpoint
            else:
                await asyncio.sleep(0.002)
        return seen

    async def follow_naive() -> list[StoredEvent]:
        seen: list[StoredEvent] = []
        last = 0
        while True:
            finished = done.is_set()
            batch = await store.read_all_by_position(last, limit=50)
            seen.extend(batch)
            if batch:
                last = batch[-1].checkpoint.position
                go.set()
            elif finished:
                return seen
            else:
                await asyncio.sleep(0.002)

    readers = asyncio.gather(follow_watermark(), follow_naive())
    late = asyncio.create_task(_late_commit(store, written, go))
    await asyncio.gather(
        *(_write(store, random.Random(rng.random()), written) for _ in range(WRITERS))
    )
    go.set()
    await late
    done.set()
    watermark_seen, naive_seen = await readers

    watermark_ids = [e.envelope.id for e in watermark_seen]
    assert len(watermark_ids) == len(set(watermark_ids)), "an event was read twice"
    assert set(watermark_ids) == set(written), "the watermark reader missed events"
    assert [e.checkpoint for e in watermark_seen] == sorted(e.checkpoint for e in watermark_seen)
    missed_by_naive = set(written) - {e.envelope.id for e in naive_seen}
    assert missed_by_naive, "the naive reader should have lost the late commit"
    await engine.dispose()


@pytest.fixture
async def store(pg_engine: AsyncEngine) -> PostgresEventStore:
    """The sample service's store, on the test's own schema."""
    made = PostgresEventStore(pg_engine, service="sample", catalogue=catalogue)
    await made.create_schema()
    return made


async def _write_elsewhere(store: EventStore, conn: AsyncConnection, name: str) -> None:
    """A write that is not an append (a read model's row): it gives the transaction its id."""
    await conn.execute(
        sa.insert(store.tables.checkpoints).values(
            name=name, transaction_id=0, position=0, updated_at=datetime.now(UTC)
        )
    )


async def test_an_append_after_another_write_in_the_transaction_passes(
    store: PostgresEventStore,
) -> None:
    # a reaction writes its own table, then appends: the transaction's id predates the append,
    # which is fine while no younger transaction extended the stream
    sid, other = f"counter-{uuid.uuid4()}", f"counter-{uuid.uuid4()}"
    async with store.begin() as conn:
        await _write_elsewhere(store, conn, f"a read-model write {sid}")
        await store.append(sid, [Counted(n=1)], expected_version=0, connection=conn)
        await store.append(other, [Counted(n=1)], expected_version=0, connection=conn)
        await store.append(sid, [Counted(n=2)], expected_version=1, connection=conn)
    assert (await store.stream_version(sid), await store.stream_version(other)) == (2, 1)
    batched = f"counter-{uuid.uuid4()}"
    async with store.begin() as conn:
        await _write_elsewhere(store, conn, f"a read-model write {batched}")
        await store.append_batch(
            [StreamAppend(batched, [Counted(n=1)], 0), StreamAppend(sid, [Counted(n=3)], 2)],
            connection=conn,
        )
    assert (await store.stream_version(batched), await store.stream_version(sid)) == (1, 3)


async def test_an_append_after_another_write_to_a_stream_a_younger_transaction_extended_is_refused(
    store: PostgresEventStore,
) -> None:
    sid = f"counter-{uuid.uuid4()}"
    await store.append(sid, [Counted(n=1)], expected_version=0)
    with pytest.raises(WriteOrderError):
        async with store.begin() as older:
            await _write_elsewhere(store, older, f"a read-model write {sid}")
            async with store.begin() as younger:
                await store.append(sid, [Counted(n=2)], expected_version=1, connection=younger)
            await store.append(sid, [Counted(n=3)], expected_version=2, connection=older)
    assert await store.stream_version(sid) == 2
    read = await store.read_all(START, limit=10_000)
    assert [e.envelope.sequence for e in read if e.envelope.subject == sid] == [1, 2]


async def test_a_second_append_to_a_stream_a_younger_transaction_extended_is_refused(
    store: PostgresEventStore,
) -> None:
    # T1 takes its transaction id with a first append; T2 (younger) extends stream Y and commits;
    # T1 then reads Y's new head and would append after it, yet sort before it by transaction id
    x, y = f"counter-{uuid.uuid4()}", f"counter-{uuid.uuid4()}"
    await store.append(y, [Counted(n=1)], expected_version=0)
    with pytest.raises(WriteOrderError):
        async with store.begin() as older:
            await store.append(x, [Counted(n=1)], expected_version=0, connection=older)
            async with store.begin() as younger:
                await store.append(y, [Counted(n=2)], expected_version=1, connection=younger)
            await store.append(y, [Counted(n=3)], expected_version=2, connection=older)
    assert (await store.stream_version(x), await store.stream_version(y)) == (0, 2)
    # the same work in a new transaction is younger than every event it follows: it passes
    async with store.begin() as retry:
        await store.append(x, [Counted(n=1)], expected_version=0, connection=retry)
        await store.append(y, [Counted(n=3)], expected_version=2, connection=retry)
    read = await store.read_all(START, limit=100)
    ys = [e.envelope.sequence for e in read if e.envelope.subject == y]
    assert ys == [1, 2, 3], "every stream in order by the readers' order"


async def test_appends_to_several_streams_no_one_else_touched_pass(
    store: PostgresEventStore,
) -> None:
    streams = [f"counter-{uuid.uuid4()}" for _ in range(3)]
    for sid in streams:
        await store.append(sid, [Counted(n=0)], expected_version=0)
    async with store.begin() as conn:
        for sid in streams:
            await store.append(sid, [Counted(n=1)], expected_version=1, connection=conn)
    assert [await store.stream_version(s) for s in streams] == [2, 2, 2]


async def test_an_append_at_any_version_beaten_to_it_by_a_concurrent_one_runs_again(
    store: PostgresEventStore,
) -> None:
    # both read head 1 and insert version 2; the second waits on the first's row, then finds it
    # taken: not the caller's conflict (it asked for no version), so its work runs again
    hotspot = f"hotspot-{uuid.uuid4()}"
    await store.append(hotspot, [Counted(n=1)], expected_version=0)
    first_in = asyncio.Event()

    async def second() -> None:
        await first_in.wait()
        async with store.begin() as conn:
            await store.append(hotspot, [Counted(n=3)], expected_version=None, connection=conn)

    async with store.begin() as conn:
        await store.append(hotspot, [Counted(n=2)], expected_version=None, connection=conn)
        racing = asyncio.create_task(second())
        first_in.set()
        await asyncio.sleep(0.2)  # the second insert now waits on this transaction's row
    with pytest.raises(WriteOrderError):
        await racing
    async with store.begin() as conn:  # run again, it passes
        await store.append(hotspot, [Counted(n=3)], expected_version=None, connection=conn)
    assert await store.stream_version(hotspot) == 3
