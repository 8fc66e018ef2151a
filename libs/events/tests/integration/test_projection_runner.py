"""The projection runner applies each event exactly once, whatever crashes, on both backends."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events import DomainEvent
from wangge.events.projection import ProjectionRunner, active_generation
from wangge.events.sources import StoreSource
from wangge.events.store import EventStore, open_store
from wangge.events.testing import PgEngineFactory

from events_projections import CountsProjection, Crash
from events_samples import Counted, HouseholdRegistered, MemberAdded, catalogue

# every test here runs with the fast paths on and with their slow twins (DESIGN section 4)
pytestmark = pytest.mark.usefixtures("fast_and_slow")

STREAMS = 12
EVENTS_EACH = 15


async def _filled(engine: AsyncEngine) -> tuple[EventStore, list[str]]:
    """A sample store holding :data:`STREAMS` counters of :data:`EVENTS_EACH` rounds, and their
    streams."""
    store = open_store(engine, service="sample", catalogue=catalogue)
    await store.create_schema()
    streams = [f"counter-{uuid.uuid4()}" for _ in range(STREAMS)]
    for round_ in range(EVENTS_EACH):
        for sid in streams:
            events: list[DomainEvent] = [Counted(n=round_)]
            if round_ == 0:
                events.insert(0, HouseholdRegistered(household_id=sid, dwelling="d"))
            if round_ == 3:
                events.append(MemberAdded(person="p", relationship="head"))  # not handled
            await store.append(sid, events, expected_version=None)
    return store, streams


async def _drain(runner: ProjectionRunner) -> None:
    while await runner.run_once():
        pass


async def _started(
    projection: CountsProjection, engine: AsyncEngine, store: EventStore, batch_size: int
) -> ProjectionRunner:
    """A started runner that reads the store in batches of ``batch_size``, never waiting."""
    runner = ProjectionRunner(
        projection, engine=engine, source=StoreSource(store, idle_seconds=0), batch_size=batch_size
    )
    await runner.start()
    return runner


async def test_a_crash_mid_batch_leaves_the_same_model_as_one_clean_pass(
    engine: AsyncEngine,
) -> None:
    store, _ = await _filled(engine)

    clean = CountsProjection(f"clean_{uuid.uuid4().hex[:8]}")
    clean_runner = await _started(clean, engine, store, 40)
    await _drain(clean_runner)
    expected = await clean.snapshot(engine)
    assert sum(applied for applied, _ in expected.values()) == STREAMS * EVENTS_EACH

    name = f"crashy_{uuid.uuid4().hex[:8]}"
    crashing = CountsProjection(name, crash_after=97)  # dies in the middle of the third batch
    runner = await _started(crashing, engine, store, 40)
    with pytest.raises(Crash):
        await _drain(runner)
    half_done = await crashing.snapshot(engine)
    assert 0 < sum(applied for applied, _ in half_done.values()) < STREAMS * EVENTS_EACH

    restarted = CountsProjection(name)
    runner = await _started(restarted, engine, store, 40)
    await _drain(runner)
    assert await restarted.snapshot(engine) == expected
    assert restarted.calls == STREAMS * EVENTS_EACH - sum(a for a, _ in half_done.values())
    assert await runner.lag() == 0


async def test_a_rebuild_replays_into_fresh_tables_and_swaps(engine: AsyncEngine) -> None:
    store, streams = await _filled(engine)
    projection = CountsProjection(f"rebuilt_{uuid.uuid4().hex[:8]}")
    runner = await _started(projection, engine, store, 64)
    await _drain(runner)
    before = await projection.snapshot(engine)
    old_table = projection.tables(1)["counts"]
    async with engine.begin() as conn:  # damage the live model: a rebuild must repair it
        await conn.execute(sa.delete(old_table).where(old_table.c.stream_id == streams[0]))

    generation = await runner.rebuild()

    assert generation == 2
    async with engine.connect() as conn:
        assert await active_generation(conn, projection.name) == 2
        has_old = await conn.run_sync(lambda sync: sa.inspect(sync).has_table(old_table.name))
    assert not has_old
    assert await projection.snapshot(engine) == before
    await store.append(streams[0], [Counted(n=99)], expected_version=None)
    await _drain(runner)
    after = await projection.snapshot(engine)
    assert after[streams[0]][0] == before[streams[0]][0] + 1


async def test_a_runner_follows_a_rebuild_made_by_another_process(engine: AsyncEngine) -> None:
    store, streams = await _filled(engine)
    name = f"followed_{uuid.uuid4().hex[:8]}"
    # two runners of one projection, as two service processes would run it
    here = ProjectionRunner(CountsProjection(name), engine=engine, source=StoreSource(store))
    there = ProjectionRunner(
        CountsProjection(name),
        engine=engine,
        source=StoreSource(store, idle_seconds=0),
        generation_check_seconds=0,
    )
    await here.start()
    await there.start()
    await _drain(there)
    assert await here.rebuild() == 2  # drops generation 1, which `there` was writing
    for sid in streams:
        await store.append(sid, [Counted(n=99)], expected_version=None)
    await _drain(there)  # would fail on the dropped tables without following the swap
    assert there.generation == 2
    counts = await CountsProjection(name).snapshot(engine)
    assert all(counts[sid][0] == EVENTS_EACH + 1 for sid in streams)
    await here.stop()
    await there.stop()


async def test_two_processes_running_a_projection_from_the_table_apply_each_event_once(
    engine: AsyncEngine,
) -> None:
    store, streams = await _filled(engine)
    name = f"shared_{uuid.uuid4().hex[:8]}"
    runners = [
        ProjectionRunner(
            CountsProjection(name), engine=engine, source=StoreSource(store, idle_seconds=0.01)
        )
        for _ in range(2)
    ]
    for runner in runners:
        await runner.setup()
    stop = asyncio.Event()
    tasks = [asyncio.create_task(r.run(stop)) for r in runners]
    for _ in range(200):
        counts = await CountsProjection(name).snapshot(engine)
        if len(counts) == len(streams) and all(c[0] == EVENTS_EACH for c in counts.values()):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=10)
    counts = await CountsProjection(name).snapshot(engine)
    assert all(counts[sid][0] == EVENTS_EACH for sid in streams)
    assert sorted(r.applied for r in runners)[0] == 0  # the other waited its turn


class WiderCounts(CountsProjection):
    """The same projection in a later release: one more column."""

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        tables = dict(super().define_tables(metadata, suffix))
        tables["counts"].append_column(sa.Column("note", sa.String(20)))
        return tables


async def test_a_projection_whose_tables_changed_shape_starts_a_fresh_generation(
    engine: AsyncEngine,
) -> None:
    store, streams = await _filled(engine)
    name = f"shape_{uuid.uuid4().hex[:8]}"
    old = ProjectionRunner(CountsProjection(name), engine=engine, source=StoreSource(store))
    await old.start()
    await _drain(old)
    await old.stop()
    assert old.generation == 1

    wider = WiderCounts(name)
    new = ProjectionRunner(wider, engine=engine, source=StoreSource(store, idle_seconds=0))
    await new.start()
    assert new.generation == 2
    await _drain(new)
    await new.stop()
    async with engine.connect() as conn:
        assert await active_generation(conn, name) == 2
        counts = wider.tables(2)["counts"]
        applied = dict((await conn.execute(sa.select(counts.c.stream_id, counts.c.applied))).all())
        old_left = await conn.run_sync(lambda sync: sa.inspect(sync).has_table(f"{name}_counts_g1"))
    assert applied == {sid: EVENTS_EACH for sid in streams}
    assert not old_left


@pytest.mark.postgres
async def test_processes_starting_side_by_side_set_a_projection_up_once(
    pg_engine_factory: PgEngineFactory,
) -> None:
    # one engine per process, on one fresh schema: each sets up the runner's tables and the
    # projection's first generation at the same moment
    schema = f"side_{uuid.uuid4().hex[:10]}"
    engines = [await pg_engine_factory(schema=schema) for _ in range(4)]
    first = engines[0]
    store = open_store(first, service="sample", catalogue=catalogue)
    await store.create_schema()
    name = f"side_by_side_{uuid.uuid4().hex[:8]}"
    runners = [
        ProjectionRunner(CountsProjection(name), engine=e, source=StoreSource(store))
        for e in engines
    ]
    await asyncio.gather(*(runner.setup() for runner in runners))
    assert {runner.generation for runner in runners} == {1}
