"""A poison event stops one stream, not the runner: parked in order, retried or skipped once."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events import parking
from wangge.events.projection import ProjectionRunner
from wangge.events.relay import OutboxRelay
from wangge.events.sources import KafkaSource, StoreSource
from wangge.events.store import EventStore, open_store

from events_projections import CountsProjection
from events_samples import Counted, HouseholdRegistered, catalogue
from kafka_support import counters_for_a_topic, fill_counters, read_topic, topic_runner

STREAMS = 6
ROUNDS = 8
POISON_AT = 3


async def _filled(engine: AsyncEngine) -> tuple[EventStore, list[str]]:
    store = open_store(engine, service="sample", catalogue=catalogue)
    await store.create_schema()
    return store, await fill_counters(store, streams=STREAMS, rounds=ROUNDS)


async def _run(
    projection: CountsProjection, engine: AsyncEngine, store: EventStore
) -> ProjectionRunner:
    """A runner of ``projection`` started and run until it has applied everything."""
    # retries are looked for at every batch here (once a second in a service)
    runner = ProjectionRunner(
        projection,
        engine=engine,
        source=StoreSource(store, idle_seconds=0),
        batch_size=10,
        generation_check_seconds=0,
    )
    await runner.start()
    await _drain(runner)
    return runner


async def _drain(runner: ProjectionRunner) -> None:
    """Apply until nothing is left; a commit becomes readable once no older transaction of
    the cluster is open (the store's watermark), so an empty fetch with a lag waits a moment."""
    for _ in range(400):
        await runner.run_once()  # also serves retry requests
        if not await runner.run_once() and not await runner.lag():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the runner never caught up")


async def _run_while_relaying(
    runner: ProjectionRunner, relay: OutboxRelay, *, until: Callable[[], Awaitable[bool]]
) -> None:
    """Apply ``runner``'s batches from the topic while ``relay`` publishes to it, until ``until``
    holds and nothing is left to read (it may hold before the messages behind it are read)."""
    stop = asyncio.Event()
    publishing = asyncio.create_task(relay.run(stop))
    await runner.start()
    try:
        for _ in range(200):
            await runner.run_once()
            if await until() and not await runner.lag():
                return
        raise AssertionError(f"{until.__name__} never held with nothing left to read")
    finally:
        await runner.stop()
        stop.set()
        await publishing


def _in_order(count: int) -> str:
    return ",".join(str(n) for n in range(count))


async def test_a_poison_event_parks_its_stream_in_order_and_every_other_stream_flows(
    engine: AsyncEngine,
) -> None:
    store, streams = await _filled(engine)
    stuck = streams[2]
    projection = CountsProjection(f"parking_{uuid.uuid4().hex[:8]}", poison=(stuck, POISON_AT))
    runner = await _run(projection, engine, store)

    model = await projection.snapshot(engine)
    assert model[stuck] == (POISON_AT, _in_order(POISON_AT))
    assert all(model[s] == (ROUNDS, _in_order(ROUNDS)) for s in streams if s != stuck)
    assert await runner.lag() == 0  # the source moved on past the parked events
    found = await parking.list_parked(engine, projection=projection.name)
    assert [(p.stream_id, p.sequence) for p in found] == [
        (stuck, n + 1) for n in range(POISON_AT, ROUNDS)
    ]
    assert found[0].reason == f"Poisoned: count {POISON_AT} of this stream breaks the handler"
    assert found[0].attempts == 1
    assert {p.reason for p in found[1:]} == {"waits behind an earlier parked event"}

    # a later event of the stream waits too, also after a restart of the runner
    await store.append(stuck, [Counted(n=ROUNDS)], expected_version=None)
    runner = await _run(projection, engine, store)
    assert (
        len(await parking.list_parked(engine, projection=projection.name)) == ROUNDS - POISON_AT + 1
    )

    # a retry before the fix fails again: everything stays parked, in order
    assert await parking.request_retry(engine, projection=projection.name) == ROUNDS - POISON_AT + 1
    await _drain(runner)
    again = await parking.list_parked(engine, projection=projection.name)
    assert [p.attempts for p in again][:2] == [2, 0]
    assert not any(p.retry_requested for p in again)

    projection.poison = None  # the fix is deployed
    await parking.request_retry(engine, projection=projection.name, stream_id=stuck)
    await _drain(runner)
    assert await parking.list_parked(engine, projection=projection.name) == []
    assert (await projection.snapshot(engine))[stuck] == (ROUNDS + 1, _in_order(ROUNDS + 1))

    # exactly once: asking again, or the events arriving again, changes nothing
    assert await parking.request_retry(engine, projection=projection.name, stream_id=stuck) == 0
    await store.append(stuck, [Counted(n=ROUNDS + 1)], expected_version=None)
    await _drain(runner)
    assert (await projection.snapshot(engine))[stuck] == (ROUNDS + 2, _in_order(ROUNDS + 2))
    async with engine.connect() as conn:
        assert await parking.parked_counts(conn) == {}


async def test_a_skip_marks_a_parked_stream_applied_and_frees_it(engine: AsyncEngine) -> None:
    store, streams = await _filled(engine)
    stuck = streams[0]
    projection = CountsProjection(f"skipping_{uuid.uuid4().hex[:8]}", poison=(stuck, POISON_AT))
    runner = await _run(projection, engine, store)
    assert (
        await parking.skip(engine, projection=projection.name, stream_id=stuck)
        == ROUNDS - POISON_AT
    )
    await store.append(stuck, [Counted(n=99)], expected_version=None)
    await _drain(runner)
    assert (await projection.snapshot(engine))[stuck] == (
        POISON_AT + 1,
        f"{_in_order(POISON_AT)},99",
    )
    assert await parking.list_parked(engine, projection=projection.name) == []


async def test_the_command_line_lists_retries_and_skips_parked_events(tmp_path: Path) -> None:
    from wangge.events.db import create_engine, sqlite_url

    url = sqlite_url(tmp_path / "parked.db")
    engine = create_engine(url)
    store, streams = await _filled(engine)
    projection = CountsProjection(f"cli_{uuid.uuid4().hex[:8]}", poison=(streams[1], POISON_AT))
    runner = await _run(projection, engine, store)

    async def cli(*args: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "wangge.events", "parked", *args, "--database-url", url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "LOG_LEVEL": "WARNING"},
        )  # fmt: skip
        out, _ = await process.communicate()
        return process.returncode or 0, out.decode()

    code, listed = await cli("list")
    assert code == 0
    assert f'"stream_id": "{streams[1]}"' in listed
    assert f"{ROUNDS - POISON_AT} parked events" in listed

    # a retry waits for the running runner's outcome
    projection.poison = None
    stop = asyncio.Event()
    running = asyncio.create_task(runner.run(stop))
    try:
        code, retried = await cli("retry", "--projection", projection.name, "--wait", "20")
    finally:
        stop.set()
        await running
    assert code == 0, retried
    assert (await projection.snapshot(engine))[streams[1]] == (ROUNDS, _in_order(ROUNDS))

    code, skipped = await cli("skip", "--projection", projection.name)
    assert code != 0
    assert "needs --stream" in skipped
    await engine.dispose()


@pytest.mark.postgres
@pytest.mark.kafka
async def test_an_unreadable_message_on_a_topic_is_parked_and_the_partition_flows_on(
    pg_engine: AsyncEngine, kafka_bootstrap: str
) -> None:
    store, topic, streams = await counters_for_a_topic(
        pg_engine, kafka_bootstrap, partitions=1, streams=2, rounds=2
    )
    relay = OutboxRelay(store, bootstrap_servers=kafka_bootstrap, topic=topic)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        # a message from no relay of ours: no CloudEvents headers at all
        await producer.send_and_wait(topic, key=b"counter-broken", value=b"not json")
    finally:
        await producer.stop()
    projection = CountsProjection(f"unreadable_{uuid.uuid4().hex[:8]}")
    runner = topic_runner(projection, pg_engine, kafka_bootstrap, topic, f"test.{projection.name}")

    async def both_counted() -> bool:
        return len(await projection.snapshot(pg_engine)) == 2

    await _run_while_relaying(runner, relay, until=both_counted)
    assert await projection.snapshot(pg_engine) == {s: (2, "0,1") for s in streams}
    (broken,) = await parking.list_parked(pg_engine, projection=projection.name)
    assert broken.stream_id == "counter-broken"
    assert broken.reason == "unreadable message"
    assert broken.position == "0"


@pytest.mark.postgres
@pytest.mark.kafka
async def test_types_a_reader_skips_are_stepped_over_unread_and_only_its_own_are_parked(
    pg_engine: AsyncEngine, kafka_bootstrap: str
) -> None:
    store, topic, streams = await counters_for_a_topic(
        pg_engine, kafka_bootstrap, partitions=1, streams=2, rounds=2
    )
    # a type the projection never applies, readable, last on the topic
    await store.append(
        "household-1", [HouseholdRegistered(household_id="h1", dwelling="d1")],
        expected_version=None,
    )  # fmt: skip
    counted = catalogue.entry_of(Counted).type.encode()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        # unreadable both (no id, no subject...): one of a type the projection never applies,
        # stepped over as it would be read, and one of its own type, parked
        for key, type_ in ((b"counter-other", b"wangge.sample.Other"), (b"counter-own", counted)):
            await producer.send_and_wait(topic, key=key, value=b"{}", headers=[("ce_type", type_)])
    finally:
        await producer.stop()
    relay = OutboxRelay(store, bootstrap_servers=kafka_bootstrap, topic=topic)
    projection = CountsProjection(f"skipping_{uuid.uuid4().hex[:8]}")
    runner = topic_runner(projection, pg_engine, kafka_bootstrap, topic, f"test.{projection.name}")
    assert isinstance(runner.source, KafkaSource)
    assert runner.source.types == projection.handled_types  # the others never decoded

    async def all_offsets_stored() -> bool:
        return runner._stored.get(f"{topic}/0") == "6"

    await _run_while_relaying(runner, relay, until=all_offsets_stored)
    assert await projection.snapshot(pg_engine) == {s: (2, "0,1") for s in streams}
    (broken,) = await parking.list_parked(pg_engine, projection=projection.name)
    assert (broken.stream_id, broken.position) == ("counter-own", "1")
    # every offset stored, up to the skipped event at the end: two unreadable, four counts
    assert runner._stored == {f"{topic}/0": "6"}


@pytest.mark.postgres
@pytest.mark.kafka
async def test_an_event_that_does_not_decode_is_parked_by_a_rebuild_which_goes_on(
    pg_engine: AsyncEngine, kafka_bootstrap: str
) -> None:
    """A rebuild decodes its next batch ahead; an event that does not decode is left for the
    apply, which parks it as a live runner would, and the rebuild finishes."""
    store, topic, streams = await counters_for_a_topic(
        pg_engine, kafka_bootstrap, partitions=1, streams=2, rounds=2
    )
    relay = OutboxRelay(store, bootstrap_servers=kafka_bootstrap, topic=topic)
    stop = asyncio.Event()
    relaying = asyncio.create_task(relay.run(stop))
    (first, *_) = await read_topic(kafka_bootstrap, topic, at_least=4)
    stop.set()
    await relaying
    headers = [
        (k, b"counter-bad" if k == "ce_subject" else str(uuid.uuid4()).encode() if k == "ce_id"
         else b"1" if k == "ce_sequence" else v)
        for k, v in first.headers
    ]  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        # every header of a counted event of ours, and data that is not JSON
        await producer.send_and_wait(topic, key=b"counter-bad", value=b"{no", headers=headers)
    finally:
        await producer.stop()
    projection = CountsProjection(f"undecodable_{uuid.uuid4().hex[:8]}")
    runner = topic_runner(projection, pg_engine, kafka_bootstrap, topic, f"test.{projection.name}")
    await runner.setup()
    await runner.rebuild()
    assert await projection.snapshot(pg_engine) == {s: (2, "0,1") for s in streams}
    (bad,) = await parking.list_parked(pg_engine, projection=projection.name)
    assert bad.stream_id == "counter-bad"
