"""The outbox relay puts every event on Kafka, in stream order per key, even when killed."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from aiokafka.partitioner import DefaultPartitioner
from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events import Envelope
from wangge.events.envelope import Metadata, decode_data
from wangge.events.kafka import ensure_topics
from wangge.events.relay import OutboxRelay
from wangge.events.store import EventStore, PostgresEventStore

from events_samples import Counted, MemberAdded, catalogue
from kafka_support import counters_for_a_topic, new_topic, read_topic, sample_store

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

TESTS = Path(__file__).resolve().parents[1]


def _first_seen_in_order(records: list[object]) -> dict[str, list[int]]:
    """Per key, the stream versions in the order first seen (re-sends after a crash dropped)."""
    seen: dict[str, list[int]] = defaultdict(list)
    for record in records:
        envelope = Envelope.from_kafka_headers(list(record.headers))  # type: ignore[attr-defined]
        assert record.key.decode() == envelope.subject  # type: ignore[attr-defined]
        versions = seen[envelope.subject]
        if envelope.sequence not in versions:
            versions.append(envelope.sequence)
    return seen


async def test_the_relay_publishes_every_event_with_cloudevents_headers(
    pg_engine: AsyncEngine, kafka_bootstrap: str
) -> None:
    store, topic, streams = await counters_for_a_topic(
        pg_engine, kafka_bootstrap, partitions=3, streams=10, rounds=5
    )
    relay = OutboxRelay(store, bootstrap_servers=kafka_bootstrap, topic=topic, batch_size=17)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    records = await read_topic(kafka_bootstrap, topic, at_least=50)
    stop.set()
    await task
    assert len(records) == 50
    assert {k: v for k, v in _first_seen_in_order(records).items()} == {
        sid: [1, 2, 3, 4, 5] for sid in streams
    }
    envelope = Envelope.from_kafka_headers(list(records[0].headers))
    assert envelope.type == "wangge.sample.Counted"
    assert envelope.source == "/wangge/sample"
    assert dict(records[0].headers)["content-type"] == b"application/json"
    assert set(decode_data(records[0].value)) == {"n"}
    assert relay.published == 50


async def test_each_message_is_its_events_envelope_on_the_partition_its_key_hashes_to(
    pg_engine: AsyncEngine, kafka_bootstrap: str
) -> None:
    store = await sample_store(pg_engine)
    topic = await new_topic(kafka_bootstrap, partitions=5)
    metadata = Metadata(actor="worker-7", correlation_id="c-1", causation_id="cause-2")
    streams = [f"counter-{uuid.uuid4()}" for _ in range(12)]
    for version in range(3):
        for stream in streams:
            await store.append(
                stream, [Counted(n=version)], expected_version=version, metadata=metadata
            )
    await store.append(streams[0], [Counted(n=9)], expected_version=3)  # no metadata at all
    relay = OutboxRelay(store, bootstrap_servers=kafka_bootstrap, topic=topic, batch_size=7)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    records = await read_topic(kafka_bootstrap, topic, at_least=37)
    stop.set()
    await task
    stored = {s.envelope.id: s for s in await store.read_all(limit=100)}
    every = list(range(5))
    for record in records:
        envelope = Envelope.from_kafka_headers(list(record.headers))
        assert list(record.headers) == stored[envelope.id].envelope.kafka_headers()
        assert decode_data(record.value) == stored[envelope.id].data
        # where aiokafka's (and Java's) partitioner puts the key, as any other producer would
        assert record.partition == DefaultPartitioner()(record.key, every, every)
    assert {Envelope.from_kafka_headers(list(r.headers)).actor for r in records} == {
        "worker-7",
        None,
    }


async def test_the_relay_publishes_the_newest_schema_version(
    pg_engine: AsyncEngine, kafka_bootstrap: str
) -> None:
    import sqlalchemy as sa

    store = PostgresEventStore(pg_engine, service="sample", catalogue=catalogue)
    await store.create_schema()
    topic = f"wangge.test.{uuid.uuid4().hex[:10]}"
    await ensure_topics(kafka_bootstrap, [topic], partitions=1)
    sid = f"household-{uuid.uuid4()}"
    await store.append(sid, [MemberAdded(person="x", relationship="y")], expected_version=None)
    async with store.begin() as conn:
        await conn.execute(
            sa.update(store.tables.events).values(
                schema_version=1, data={"name": "p1", "relation": "spouse"}
            )
        )
    relay = OutboxRelay(store, bootstrap_servers=kafka_bootstrap, topic=topic)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    [record] = await read_topic(kafka_bootstrap, topic, at_least=1)
    stop.set()
    await task
    assert decode_data(record.value) == {"person": "p1", "relationship": "spouse"}
    assert Envelope.from_kafka_headers(list(record.headers)).dataschema.endswith(":2")


async def _start_relay(
    database_url: str, schema: str, kafka: str, topic: str
) -> asyncio.subprocess.Process:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
    )
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wangge.events",
        "--log-level",
        "WARNING",
        "relay",
        "--service",
        "sample",
        "--database-url",
        database_url,
        "--schema",
        schema,
        "--bootstrap-servers",
        kafka,
        "--topic",
        topic,
        "--partitions",
        "3",
        "--batch-size",
        "50",
        "--catalogue",
        "events_samples:catalogue",
        env=env,
    )


async def test_a_relay_killed_at_random_points_loses_nothing_and_keeps_stream_order(
    pg_engine_factory: object, database_url: str, kafka_bootstrap: str
) -> None:
    schema = f"relaykill_{uuid.uuid4().hex[:8]}"
    engine: AsyncEngine = await pg_engine_factory(schema=schema)  # type: ignore[operator]
    store: EventStore = PostgresEventStore(engine, service="sample", catalogue=catalogue)
    await store.create_schema()
    topic = f"wangge.test.{uuid.uuid4().hex[:10]}"
    await ensure_topics(kafka_bootstrap, [topic], partitions=3)
    rng = random.Random(7)
    streams = [f"counter-{uuid.uuid4()}" for _ in range(20)]
    written = 0
    appending = True

    async def append_continuously() -> None:
        nonlocal written
        while appending:
            sid = rng.choice(streams)
            await store.append(sid, [Counted(n=written)], expected_version=None)
            written += 1
            await asyncio.sleep(0.001)

    appender = asyncio.create_task(append_continuously())
    kills = 0
    try:
        for _ in range(5):
            relay = await _start_relay(database_url, schema, kafka_bootstrap, topic)
            await asyncio.sleep(rng.uniform(1.5, 3.0))
            relay.send_signal(signal.SIGKILL)
            await relay.wait()
            kills += 1
    finally:
        appending = False
        await appender
    relay = await _start_relay(database_url, schema, kafka_bootstrap, topic)
    try:
        records = await read_topic(kafka_bootstrap, topic, at_least=written, within=90)
    finally:
        relay.send_signal(signal.SIGTERM)
        await relay.wait()

    assert kills == 5 and written > 100
    per_stream = _first_seen_in_order(records)
    expected = {sid: await store.stream_version(sid) for sid in streams}
    assert {sid: len(v) for sid, v in per_stream.items()} == {
        sid: n for sid, n in expected.items() if n
    }
    for sid, versions in per_stream.items():
        assert versions == list(range(1, expected[sid] + 1)), f"{sid} out of order"
