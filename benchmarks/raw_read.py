"""The raw read the views and replay benches compare with: one aiokafka consumer, nothing else.

Kept apart from the benches that build the year (they import every service) so that the replay
bench can time it in a process as lean as the export's: a process's heap is what Python's
collector walks, and the bench's own made the raw read a tenth slower.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition

BATCH = 2000
"""Records per ``getmany``, as the rebuild benches' runners take them."""


async def raw_read(kafka: str, topics: Sequence[str], partitions: int) -> tuple[int, float]:
    """Every record of ``topics`` (``partitions`` each) from the beginning to the end offsets,
    by one consumer with the runner's fetch sizes, assigned every partition (no group to
    join): (records, seconds)."""
    started = time.perf_counter()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka, enable_auto_commit=False, isolation_level="read_committed",
        max_partition_fetch_bytes=1024 * 1024, fetch_max_bytes=8 * 1024 * 1024,
    )  # fmt: skip
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for topic in topics for p in range(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = {tp: end for tp, end in (await consumer.end_offsets(assigned)).items() if end}
        read = 0
        left = set(ends)
        while left:
            batch = await consumer.getmany(*left, timeout_ms=200, max_records=BATCH)
            for tp, records in batch.items():
                read += len(records)
                if records and records[-1].offset + 1 >= ends[tp]:
                    left.discard(tp)
    finally:
        await consumer.stop()
    return read, time.perf_counter() - started
