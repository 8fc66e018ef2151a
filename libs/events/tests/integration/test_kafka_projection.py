"""Projections fed from Kafka: exactly-once effect despite re-sent events and crashes, and one
trace from the command that appended an event to the handler that projected it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events import sources
from wangge.events.envelope import START
from wangge.events.kafka import ensure_topics
from wangge.events.projection import ProjectionRunner
from wangge.events.relay import OutboxRelay
from wangge.events.sources import StoreSource
from wangge.events.store import PostgresEventStore

from events_projections import CountsProjection, Crash
from events_samples import Counted, catalogue
from kafka_support import counters_for_a_topic, fill_counters, topic_runner

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

TESTS = Path(__file__).resolve().parents[1]


async def _publish_all(relay: OutboxRelay, count: int) -> None:
    """Run the relay until it has published ``count`` more events (acknowledged by Kafka)."""
    target = relay.published + count
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    for _ in range(600):
        if relay.published >= target or task.done():
            break
        await asyncio.sleep(0.05)
    stop.set()
    await task
    assert relay.published >= target


async def _drain(runner: ProjectionRunner, until_applied: int, rounds: int = 200) -> None:
    for _ in range(rounds):
        await runner.run_once()
        if runner.applied >= until_applied and await runner.lag() == 0:
            return
    raise AssertionError(f"applied {runner.applied} of {until_applied}")


async def _published(
    pg_engine: AsyncEngine, kafka_bootstrap: str, *, rounds: int
) -> tuple[PostgresEventStore, str, int, OutboxRelay]:
    """Eight counters of ``rounds`` events each, published to a new topic of four partitions:
    the store, the topic, how many events, and the relay that published them."""
    store, topic, streams = await counters_for_a_topic(
        pg_engine, kafka_bootstrap, partitions=4, streams=8, rounds=rounds
    )
    total = len(streams) * rounds
    relay = OutboxRelay(store, bootstrap_servers=kafka_bootstrap, topic=topic)
    await _publish_all(relay, total)
    return store, topic, total, relay


async def _clean_pass(
    pg_engine: AsyncEngine, store: PostgresEventStore, total: int
) -> dict[str, tuple[int, str]]:
    """The read model one runner leaves from the event table, in one clean pass."""
    clean = CountsProjection(f"clean_{uuid.uuid4().hex[:8]}")
    clean_runner = ProjectionRunner(clean, engine=pg_engine, source=StoreSource(store))
    await clean_runner.start()
    await _drain(clean_runner, total)
    return await clean.snapshot(pg_engine)


async def test_resent_events_and_a_crash_leave_the_same_model_as_one_clean_pass(
    pg_engine: AsyncEngine, kafka_bootstrap: str
) -> None:
    store, topic, total, relay = await _published(pg_engine, kafka_bootstrap, rounds=10)
    # a relay that crashed after publishing but before its checkpoint sends it all again
    await store.save_checkpoint(relay.name, START)
    await _publish_all(relay, total)
    expected = await _clean_pass(pg_engine, store, total)

    name = f"kafka_{uuid.uuid4().hex[:8]}"
    group = f"wangge.projection.{name}"
    crashing = CountsProjection(name, crash_after=total // 2)
    runner = topic_runner(crashing, pg_engine, kafka_bootstrap, topic, group, batch_size=25)
    await runner.start()
    with pytest.raises(Crash):
        await _drain(runner, total)
    await runner.stop()

    # Where to resume comes from the database, never from the group, so the restarted runner
    # may join a group of its own; that keeps this test about the runner, not about how soon the
    # broker notices the crashed member has left (the kill test covers a same-group restart).
    restarted = CountsProjection(name)
    runner = topic_runner(
        restarted, pg_engine, kafka_bootstrap, topic, f"{group}.after-crash", batch_size=25
    )
    await runner.start()
    try:
        await _drain(runner, total - crashing.calls + 1)
    finally:
        await runner.stop()
    assert await restarted.snapshot(pg_engine) == expected
    assert sum(applied for applied, _ in expected.values()) == total


async def test_one_trace_runs_from_the_append_to_the_projection_handler(
    pg_engine: AsyncEngine, kafka_bootstrap: str, spans: InMemorySpanExporter
) -> None:
    store = PostgresEventStore(pg_engine, service="sample", catalogue=catalogue)
    await store.create_schema()
    topic = f"wangge.test.{uuid.uuid4().hex[:10]}"
    await ensure_topics(kafka_bootstrap, [topic], partitions=1)
    spans.clear()
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("POST /households") as command:
        await store.append(f"counter-{uuid.uuid4()}", [Counted(n=1)], expected_version=None)
    trace_id = command.get_span_context().trace_id

    await _publish_all(OutboxRelay(store, bootstrap_servers=kafka_bootstrap, topic=topic), 1)
    projection = CountsProjection(f"traced_{uuid.uuid4().hex[:8]}")
    runner = topic_runner(projection, pg_engine, kafka_bootstrap, topic, f"traced-{uuid.uuid4()}")
    await runner.start()
    try:
        await _drain(runner, 1)
    finally:
        await runner.stop()

    finished = {
        s.name: s
        for s in spans.get_finished_spans()
        if s.context is not None and s.context.trace_id == trace_id
    }
    assert {"POST /households", "events.append", "events.publish", "events.handle"} <= set(finished)
    append = finished["events.append"]
    assert append.parent is not None
    assert append.parent.span_id == command.get_span_context().span_id
    for name in ("events.publish", "events.handle"):
        parent = finished[name].parent
        assert parent is not None
        assert append.context is not None
        assert parent.span_id == append.context.span_id


async def test_a_projection_process_killed_mid_batch_applies_every_event_exactly_once(
    pg_engine_factory: object, database_url: str, kafka_bootstrap: str
) -> None:
    schema = f"projkill_{uuid.uuid4().hex[:8]}"
    engine: AsyncEngine = await pg_engine_factory(schema=schema)  # type: ignore[operator]
    store, topic, streams = await counters_for_a_topic(
        engine, kafka_bootstrap, partitions=3, streams=10, rounds=60
    )
    total = len(streams) * 60
    await _publish_all(OutboxRelay(store, bootstrap_servers=kafka_bootstrap, topic=topic), total)

    name = f"killed_{uuid.uuid4().hex[:8]}"
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
        WANGGE_TEST_PROJECTION=name,
        WANGGE_TEST_DELAY="0.004",  # about 2.4 s for the whole topic
    )
    command = [
        sys.executable, "-m", "wangge.events", "--log-level", "WARNING", "project",
        "--projection", "events_projections:counts_from_environment",
        "--database-url", database_url, "--schema", schema,
        "--bootstrap-servers", kafka_bootstrap, "--topic", topic, "--batch-size", "50",
    ]  # fmt: skip
    rng = random.Random(11)
    projection = CountsProjection(name)
    await ProjectionRunner(projection, engine=engine, source=StoreSource(store)).setup()

    async def applied() -> int:
        return sum(count for count, _ in (await projection.snapshot(engine)).values())

    for _ in range(3):
        before = await applied()
        process = await asyncio.create_subprocess_exec(*command, env=env)
        # kill it once it is applying (a restart first waits for the group to drop the dead
        # member), at a random point of a batch
        for _ in range(600):
            if await applied() > before:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(rng.uniform(0.0, 0.3))
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert 0 < await applied() < total, "the kills should have landed before the end"

    process = await asyncio.create_subprocess_exec(*command, env=env)
    try:
        for _ in range(600):
            if await applied() >= total:
                break
            await asyncio.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()
    ordered = ",".join(str(n) for n in range(60))
    assert await projection.snapshot(engine) == {sid: (60, ordered) for sid in streams}


async def test_two_consumers_of_one_group_apply_every_event_once(
    pg_engine: AsyncEngine, kafka_bootstrap: str
) -> None:
    # the second consumer joins while the first is applying: the group rebalances, partitions
    # change hands mid-stream, and the model is still the one clean pass leaves
    # long enough (about 7 s alone) for the group to hand partitions over while it runs: the
    # first member rejoins at its next heartbeat (every 3 s)
    store, topic, total, _ = await _published(pg_engine, kafka_bootstrap, rounds=30)
    expected = await _clean_pass(pg_engine, store, total)

    name = f"pair_{uuid.uuid4().hex[:8]}"
    projection = CountsProjection(name, delay=0.03)  # slow enough to be joined mid-stream
    runners = [
        topic_runner(
            projection, pg_engine, kafka_bootstrap, topic, f"wangge.projection.{name}", batch_size=5
        )
        for _ in range(2)
    ]
    stop = asyncio.Event()
    first = asyncio.create_task(runners[0].run(stop))
    for _ in range(200):
        if runners[0].applied:
            break
        await asyncio.sleep(0.05)
    second = asyncio.create_task(runners[1].run(stop))
    try:
        for _ in range(600):
            if sum(r.applied for r in runners) >= total:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.gather(first, second)
    assert await projection.snapshot(pg_engine) == expected
    # how the partitions were shared depends on when the first member rejoins; that every event
    # was applied once, whoever applied it, does not
    assert sum(r.applied for r in runners) == total


async def test_a_rebuild_from_kafka_applies_each_event_once_and_the_live_runner_goes_on_after(
    pg_engine: AsyncEngine, kafka_bootstrap: str
) -> None:
    # small batches, each fetched while the one before is written; more events are published
    # while the rebuild runs, so some may be fetched ahead past the ends it set out to reach
    rounds, later = 10, 3
    store, topic, streams = await counters_for_a_topic(
        pg_engine, kafka_bootstrap, partitions=4, streams=8, rounds=rounds
    )
    relay = OutboxRelay(store, bootstrap_servers=kafka_bootstrap, topic=topic)
    await _publish_all(relay, len(streams) * rounds)
    name = f"kafka_rebuild_{uuid.uuid4().hex[:8]}"
    projection = CountsProjection(name, delay=0.002)
    runner = topic_runner(projection, pg_engine, kafka_bootstrap, topic, f"test.{name}", 7)

    async def publish_later() -> None:
        for n in range(rounds, rounds + later):
            for sid in streams:
                await store.append(sid, [Counted(n=n)], expected_version=None)
        await _publish_all(relay, len(streams) * later)

    publishing = asyncio.create_task(publish_later())
    await runner.rebuild()
    rebuilt = await projection.snapshot(pg_engine)
    await publishing
    # the live runner starts from the positions the rebuild stored with its rows
    await runner.start()
    try:
        await _drain(runner, len(streams) * (rounds + later))
    finally:
        await runner.stop()
    assert rebuilt.keys() == set(streams)
    assert all(ns.startswith(_in_order(rounds)) for _, ns in rebuilt.values())
    # each event applied once, in its stream's order: nothing lost past the rebuild's ends
    assert await projection.snapshot(pg_engine) == {
        sid: (rounds + later, _in_order(rounds + later)) for sid in streams
    }


def _in_order(count: int) -> str:
    return ",".join(str(n) for n in range(count))


async def test_a_projection_whose_partitions_are_not_apart_is_applied_by_one_process_at_a_time(
    pg_engine: AsyncEngine, kafka_bootstrap: str
) -> None:
    # two processes' runners of one projection (the service's store as their lock): the second
    # waits while the first applies every partition, and takes over when it stops
    store, topic, total, relay = await _published(pg_engine, kafka_bootstrap, rounds=5)
    name = f"one_{uuid.uuid4().hex[:8]}"
    projection = CountsProjection(name)
    assert not projection.partitions_apart
    runners = [
        ProjectionRunner(
            projection, engine=pg_engine, lock=store, batch_size=10,
            source=topic_runner(
                projection, pg_engine, kafka_bootstrap, topic, f"wangge.projection.{name}"
            ).source,
        )
        for _ in range(2)
    ]  # fmt: skip
    for runner in runners:  # as a service sets each up before it runs (or waits)
        await runner.setup()
    stops = [asyncio.Event(), asyncio.Event()]
    first = asyncio.create_task(runners[0].run(stops[0]))
    for _ in range(200):
        if runners[0].applied >= total:
            break
        await asyncio.sleep(0.05)
    second = asyncio.create_task(runners[1].run(stops[1]))
    await asyncio.sleep(6)  # longer than a rebalance: a member of the group would have partitions
    more = await fill_counters(store, streams=8, rounds=1)
    await _publish_all(relay, len(more))
    for _ in range(400):
        if runners[0].applied >= total + 8:
            break
        await asyncio.sleep(0.05)
    assert (runners[0].applied, runners[1].applied) == (total + 8, 0)
    # waiting, it holds no partitions: its lag is what the first has left, from its positions
    assert await runners[1].lag() == 0
    stops[0].set()
    await first
    more = await fill_counters(store, streams=2, rounds=3)
    await _publish_all(relay, len(more) * 3)
    try:
        for _ in range(400):
            if runners[1].applied >= 6:
                break
            await asyncio.sleep(0.05)
    finally:
        stops[1].set()
        await second
    assert runners[1].applied == 6


async def test_a_standby_asks_its_lag_through_one_consumer_of_no_group_closed_when_it_ends(
    pg_engine: AsyncEngine, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # /readyz asks a waiting runner's lag every few seconds: one consumer answers them all
    store, topic, total, _ = await _published(pg_engine, kafka_bootstrap, rounds=2)
    made: list[AIOKafkaConsumer] = []

    class Made(AIOKafkaConsumer):  # type: ignore[misc]
        def __init__(self, **options: Any) -> None:
            super().__init__(**options)
            made.append(self)

    monkeypatch.setattr(sources, "AIOKafkaConsumer", Made)
    name = f"standby_{uuid.uuid4().hex[:8]}"
    runner = ProjectionRunner(
        CountsProjection(name), engine=pg_engine, lock=store,
        source=topic_runner(
            CountsProjection(name), pg_engine, kafka_bootstrap, topic, f"wangge.projection.{name}"
        ).source,
    )  # fmt: skip
    await runner.setup()
    async with store.exclusive(await runner.qualified_lock_name()):  # another process applies
        standby = asyncio.create_task(runner.run(asyncio.Event()))
        assert [await runner.lag() for _ in range(3)] == [total] * 3
        assert len(made) == 1
        standby.cancel()  # the service stops while it still waits
        with contextlib.suppress(asyncio.CancelledError):
            await standby
    assert made[0]._closed
