"""Exporting from Kafka: the export's bounds from the brokers' offsets, and a worker of the
export's consumer group.

The consumer group only deals out partitions between the workers: where each partition is read
from is the dataset's checkpoint, never an offset committed to Kafka. A worker reads one of its
partitions at a time (the others paused), so it holds one chunk in memory whatever it owns.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Sequence
from datetime import datetime

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import IllegalStateError

from wangge.events.kafka import make_consumer
from wangge.replay.chunks import PartitionExport
from wangge.replay.dataset import Bounds, Dataset, Manifest
from wangge.replay.messages import MessageChunk
from wangge.replay.rows import Rows

_FETCH = {"max_partition_fetch_bytes": 2 * 1024 * 1024, "fetch_max_bytes": 4 * 1024 * 1024}


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


async def kafka_bounds(
    bootstrap_servers: str,
    topics: Sequence[str],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, dict[int, Bounds]]:
    """Each partition's offsets between ``since`` and ``until`` (Kafka's offsets-for-times:
    the first message at or after each), from the beginning and to today's end without them."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        parts: list[TopicPartition] = []
        for topic in topics:
            found = await _partitions(consumer, topic)
            parts += [TopicPartition(topic, p) for p in sorted(found)]
        first = await consumer.beginning_offsets(parts)
        last = await consumer.end_offsets(parts)
        starts = dict(first)
        ends = dict(last)
        if since is not None:
            at = await consumer.offsets_for_times({tp: _ms(since) for tp in parts})
            starts = {tp: (found.offset if found else last[tp]) for tp, found in at.items()}
        if until is not None:
            at = await consumer.offsets_for_times({tp: _ms(until) for tp in parts})
            ends = {tp: (found.offset if found else last[tp]) for tp, found in at.items()}
        out: dict[str, dict[int, Bounds]] = {topic: {} for topic in topics}
        for tp in parts:
            out[tp.topic][tp.partition] = Bounds(starts[tp], max(starts[tp], ends[tp]))
        return out
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    for _ in range(50):
        found = consumer.partitions_for_topic(topic)
        if found:
            return set(found)
        await consumer._client.force_metadata_update()  # the only way to ask
        await asyncio.sleep(0.1)
    raise LookupError(f"no topic {topic} on the brokers")


async def kafka_worker(
    dataset: Dataset,
    manifest: Manifest,
    rows: Rows,
    bootstrap_servers: str,
    group_id: str | None,
    *,
    alive: Callable[[], bool] = lambda: True,
) -> int:
    """Export the partitions the group deals this worker (every partition, with no group: a
    lone worker need not join one) until the whole export is written; the events it gathered."""
    consumer = make_consumer(bootstrap_servers, group_id=group_id, **_FETCH)
    owned: dict[TopicPartition, PartitionExport] = {}
    gathered = 0

    def own(tp: TopicPartition) -> None:
        bounds = manifest.sources[tp.topic].get(tp.partition)
        if bounds is None:  # a partition added after the export began
            return
        export = PartitionExport(
            dataset, rows, tp.topic, tp.partition, bounds,
            chunk=manifest.chunk, format=manifest.format, gatherer=MessageChunk,
        )  # fmt: skip
        owned[tp] = export
        consumer.seek(tp, export.position)

    class FromCheckpoints(ConsumerRebalanceListener):  # type: ignore[misc]
        async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
            nonlocal gathered
            for tp in revoked:  # a chunk half gathered is the next owner's to read again
                dropped = owned.pop(tp, None)
                if dropped is not None:
                    gathered += dropped.events

        async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
            for tp in assigned:
                own(tp)
            _focus(consumer, owned)

    if group_id is None:
        await consumer.start()
        everything = [TopicPartition(t, p) for t, p, _ in manifest.units()]
        consumer.assign(everything)
        for tp in everything:
            own(tp)
        _focus(consumer, owned)
    else:
        consumer.subscribe(sorted(manifest.sources), listener=FromCheckpoints())
        await consumer.start()
    try:
        while alive():
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for tp, messages in batch.items():
                export = owned.get(tp)
                if export is not None:
                    export.add(messages)
            for tp, export in list(owned.items()):
                if not export.done and tp in consumer.assignment():
                    with contextlib.suppress(IllegalStateError):
                        export.reached(await consumer.position(tp))
            _focus(consumer, owned)
            if all(e.done for e in owned.values()) and dataset.finished(manifest):
                break
            await asyncio.sleep(0)
    finally:
        gathered += sum(e.events for e in owned.values())
        with contextlib.suppress(Exception):
            async with asyncio.timeout(10):
                await consumer.stop()
    return gathered


def _focus(consumer: AIOKafkaConsumer, owned: dict[TopicPartition, PartitionExport]) -> None:
    """Fetch only the first unfinished partition this worker owns: one chunk in memory."""
    pending = sorted(
        (tp for tp, e in owned.items() if not e.done), key=lambda t: (t.topic, t.partition)
    )
    assigned = consumer.assignment()
    for tp in assigned:
        with contextlib.suppress(IllegalStateError):
            if pending and tp == pending[0]:
                consumer.resume(tp)
            else:
                consumer.pause(tp)


def parent_alive(parent: int) -> Callable[[], bool]:
    """Whether the process that started this worker is still there (a worker orphaned by a
    killed run stops rather than write beside the next run)."""
    return lambda: os.getppid() == parent
