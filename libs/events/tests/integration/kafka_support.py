"""Reading a whole topic back, for tests that check what reached Kafka."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer, ConsumerRecord


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
