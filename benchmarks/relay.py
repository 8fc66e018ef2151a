"""Relay throughput: the outbox relay moving a pre-filled table to Kafka, against a raw producer.

The table is pre-filled (ten events per stream, 10,000 per transaction) and not timed. Each run
publishes all of it to a fresh 12-partition topic: the relay by ``OutboxRelay.pump`` (what
``OutboxRelay.run`` does once active) on a started ``make_producer`` producer; the raw producer,
also from ``make_producer`` (idempotent, acks=all), leaving the partition to aiokafka's own
partitioner as any client does, sends the very same keys, values and headers,
precomputed by the relay's own ``publish_batch`` on a recording stand-in producer, and awaits
every acknowledgement. Runs are interleaved; the median is reported.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaProducer

from benchmarks.common import (
    Measurement,
    Settings,
    catalogue,
    create_store_tables,
    prefill,
    resources,
    schema_engine,
)
from wangge.events.envelope import START
from wangge.events.kafka import make_producer
from wangge.events.relay import OutboxRelay
from wangge.events.store import PostgresEventStore

Message = tuple[bytes, bytes, list[tuple[str, bytes]]]


class _RecordingProducer:
    """Stands in for a producer: keeps what it is asked to send and acknowledges at once."""

    def __init__(self) -> None:
        self.sent: list[Message] = []

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(12))

    async def send(
        self,
        topic: str,
        *,
        key: bytes,
        value: bytes,
        headers: list[tuple[str, bytes]],
        partition: int | None = None,
    ) -> asyncio.Future[object]:
        self.sent.append((key, value, headers))
        done: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def _messages(store: PostgresEventStore, settings: Settings, count: int) -> list[Message]:
    """Exactly what the relay publishes for each stored event: key, value and headers.

    Taken from ``OutboxRelay.publish_batch`` itself (on a recording producer), so the raw
    producer sends the same bytes whatever the relay's encoding is.
    """
    recorder = _RecordingProducer()
    relay = OutboxRelay(store, bootstrap_servers=settings.kafka, topic="bench.precompute")
    checkpoint = START
    while relay.published < count:
        checkpoint, _ = await relay.publish_batch(recorder, checkpoint)
    return recorder.sent


async def _started_producer(settings: Settings) -> AIOKafkaProducer:
    producer = make_producer(settings.kafka)
    await producer.start()
    return producer


async def run_relay(
    store: PostgresEventStore,
    settings: Settings,
    topic: str,
    count: int,
    relay_class: type[OutboxRelay] = OutboxRelay,
) -> float:
    """Seconds for ``OutboxRelay.pump`` (what ``OutboxRelay.run`` does once active) to move
    ``count`` events to ``topic``, every one acknowledged and its checkpoint saved."""
    relay = relay_class(store, bootstrap_servers=settings.kafka, topic=topic)
    producer = await _started_producer(settings)
    stop = asyncio.Event()

    def published() -> None:
        if relay.published >= count:
            stop.set()

    try:
        checkpoint = await store.load_checkpoint(relay.name)
        started = time.perf_counter()
        await relay.pump(producer, checkpoint, stop, published)
        return time.perf_counter() - started
    finally:
        await producer.stop()


async def run_raw(messages: list[Message], settings: Settings, topic: str) -> float:
    """Seconds for a raw producer to send ``messages`` to ``topic`` and get every ack."""
    producer = await _started_producer(settings)
    try:
        started = time.perf_counter()
        acks = [
            await producer.send(topic, key=key, value=value, headers=headers)
            for key, value, headers in messages
        ]
        await asyncio.gather(*acks)
        return time.perf_counter() - started
    finally:
        await producer.stop()


async def bench_relay(
    settings: Settings,
    log: Any,
    relays: Mapping[str, tuple[str, type[OutboxRelay]]] | None = None,
) -> dict[str, Measurement]:
    """Keys ``relay`` (and any other relay classes') and ``producer``: events/s, median."""
    count = settings.relay_events
    relays = relays or {"relay": ("Wangge OutboxRelay", OutboxRelay)}
    results = {key: Measurement(f"{name}", "events/s") for key, (name, _) in relays.items()}
    raw = Measurement("raw aiokafka producer", "events/s")
    async with resources(settings) as (schemas, topics):
        schema = await schemas.new("relay")
        engine = schema_engine(settings, schema, pool_size=2)
        try:
            await create_store_tables(engine)
            seconds = await prefill(settings, schema, count)
            log(f"  pre-filled {count:,} events in {seconds:.1f} s")
            store = PostgresEventStore(engine, service="bench", catalogue=catalogue)
            messages = await _messages(store, settings, count)
            # the precomputed messages are hundreds of MB of small objects: keep them out of the
            # cyclic GC, which would otherwise slow down every run in this process alike
            gc.collect()
            gc.freeze()
            # warm-up: connections, metadata, JIT of the broker; not timed
            warm = min(count, 10_000)
            await run_raw(messages[:warm], settings, await topics.new("warm"))
            # every topic up front, so no run meets a partition whose leader is still moving
            fresh = {
                (run, key): await topics.new(key)
                for run in range(settings.runs)
                for key in [*relays, "raw"]
            }
            await asyncio.sleep(1.0)
            for run in range(settings.runs):
                for key, (name, cls) in relays.items():
                    topic = fresh[(run, key)]
                    elapsed = await run_relay(store, settings, topic, count, cls)
                    results[key].values.append(count / elapsed)
                    log(f"  relay run {run + 1}: {name:<34} {count / elapsed:>10,.0f} events/s")
                elapsed = await run_raw(messages, settings, fresh[(run, "raw")])
                raw.values.append(count / elapsed)
                name = "raw aiokafka producer"
                log(f"  relay run {run + 1}: {name:<34} {count / elapsed:>10,.0f} events/s")
        finally:
            gc.unfreeze()
            await engine.dispose()
    results["producer"] = raw
    return results
