"""Support for the tests that go through Kafka: a sample store, fresh topics, reading back."""

from __future__ import annotations

import asyncio
import time
import uuid

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events.kafka import ensure_topics
from wangge.events.projection import Projection, ProjectionRunner
from wangge.events.sources import KafkaSource
from wangge.events.store import EventStore, PostgresEventStore

from events_samples import Counted, catalogue


async def read_topic(
    bootstrap: str, topic: str, *, at_least: int, within: float = 60.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` (all partitions, from the beginning), once ``at_least`` distinct
    events (by ``ce_id``; an at-least-once relay may send some twice) are in."""
    # no group: every partition is ours, read from the earliest offset
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        records: list[ConsumerRecord[bytes, bytes]] = []
        ids: set[bytes | None] = set()
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for messages in batch.values():
                records.extend(messages)
                ids.update(dict(m.headers).get("ce_id") for m in messages)
            if len(ids) >= at_least and not batch:
                return records
            await asyncio.sleep(0)
        return records
    finally:
        await consumer.stop()


async def sample_store(engine: AsyncEngine) -> PostgresEventStore:
    """A store of the sample service on ``engine``, its tables created."""
    store = PostgresEventStore(engine, service="sample", catalogue=catalogue)
    await store.create_schema()
    return store


async def new_topic(bootstrap: str, *, partitions: int) -> str:
    """A fresh topic of its own for one test."""
    topic = f"wangge.test.{uuid.uuid4().hex[:10]}"
    await ensure_topics(bootstrap, [topic], partitions=partitions)
    return topic


async def fill_counters(store: EventStore, *, streams: int, rounds: int) -> list[str]:
    """``Counted(n=0..rounds-1)`` on each of ``streams`` new streams, round-robin."""
    ids = [f"counter-{uuid.uuid4()}" for _ in range(streams)]
    for n in range(rounds):
        for sid in ids:
            await store.append(sid, [Counted(n=n)], expected_version=None)
    return ids


async def counters_for_a_topic(
    engine: AsyncEngine, bootstrap: str, *, partitions: int, streams: int, rounds: int
) -> tuple[PostgresEventStore, str, list[str]]:
    """A sample store holding ``streams`` counters of ``rounds`` events each (their stream ids
    come last), and a fresh topic of ``partitions`` to relay them to."""
    store = await sample_store(engine)
    topic = await new_topic(bootstrap, partitions=partitions)
    return store, topic, await fill_counters(store, streams=streams, rounds=rounds)


def topic_runner(
    projection: Projection,
    engine: AsyncEngine,
    bootstrap: str,
    topic: str,
    group_id: str,
    batch_size: int = 500,
) -> ProjectionRunner:
    """A runner of ``projection`` that reads ``topic`` as a member of ``group_id``."""
    return ProjectionRunner(
        projection,
        engine=engine,
        batch_size=batch_size,
        source=KafkaSource(bootstrap, [topic], group_id=group_id),
    )
