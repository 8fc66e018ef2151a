"""Kafka clients with the settings the design needs (aiokafka's defaults are not those)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.partitioner import DefaultPartitioner, murmur2

DEFAULT_PARTITIONS = 12
"""Partitions of each service topic: set for a whole city from the start (DESIGN section 9)."""


def topic_for(service: str, namespace: str = "wangge") -> str:
    """The topic a service publishes its events to (``namespace`` lets several deployments, or
    test runs, share one cluster)."""
    return f"{namespace}.{service}.events"


class StreamPartitioner:
    """The default partitioner's choice (murmur2 of the key, as the Java client makes it, so
    every client puts a stream on the same partition), each key's hash remembered.

    A stream's events share their key, and aiokafka's partitioner, in pure Python, listed the
    topic's partitions and hashed the key again for every message: a fifth of the cost of each
    event the relay published. The relay chooses with this one and names the partition.
    """

    def __init__(self, remembered: int = 65_536) -> None:
        self.remembered = remembered
        self._hashes: dict[bytes, int] = {}

    def __call__(self, key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
        if key is None:
            return int(DefaultPartitioner()(key, all_partitions, available))
        hashed = self._hashes.get(key)
        if hashed is None:
            if len(self._hashes) >= self.remembered:
                self._hashes.clear()
            hashed = self._hashes[key] = murmur2(key) & 0x7FFFFFFF
        return all_partitions[hashed % len(all_partitions)]


def make_producer(bootstrap_servers: str, **overrides: Any) -> AIOKafkaProducer:
    """An idempotent producer that waits for every in-sync replica.

    aiokafka defaults to ``acks=1`` without idempotence: a leader failover can then lose or
    duplicate and reorder messages, which the outbox relay must not allow.
    """
    settings: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers,
        "enable_idempotence": True,
        "acks": "all",
        "linger_ms": 5,
        "max_batch_size": 256 * 1024,
        "max_request_size": 4 * 1024 * 1024,
    }
    settings.update(overrides)
    return AIOKafkaProducer(**settings)


def make_consumer(
    bootstrap_servers: str, *, group_id: str | None, **overrides: Any
) -> AIOKafkaConsumer:
    """A consumer that starts from the beginning and never commits on its own (``group_id``
    None: of no group, its partitions assigned by hand).

    Projections keep their offsets in their own database, in the transaction that applies the
    events; auto-commit would acknowledge messages that were never applied.
    """
    settings: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers,
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
        "max_partition_fetch_bytes": 1024 * 1024,
        "fetch_max_bytes": 8 * 1024 * 1024,
    }
    settings.update(overrides)
    return AIOKafkaConsumer(**settings)


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[str],
    *,
    partitions: int = DEFAULT_PARTITIONS,
    replication_factor: int = 1,
) -> None:
    """Create the topics that are missing; brokers here never auto-create them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(name=topic, num_partitions=partitions, replication_factor=replication_factor)
            for topic in topics
            if topic not in existing
        ]
        if wanted:
            # another process may create a topic between our list and create
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
        await _wait_for_leaders(admin, [t.name for t in wanted])
    finally:
        await admin.close()


async def _wait_for_leaders(admin: AIOKafkaAdminClient, topics: list[str]) -> None:
    # a freshly created topic answers metadata requests before its partitions have leaders
    for _ in range(100):
        if not topics:
            return
        described = await admin.describe_topics(topics)
        if all(
            t.get("error_code", 0) == 0
            and t["partitions"]
            and all(p.get("leader", -1) >= 0 for p in t["partitions"])
            for t in described
        ):
            return
        await asyncio.sleep(0.1)


async def describe_topic(bootstrap_servers: str, topic: str) -> int:
    """The partition count of ``topic``; raises when the brokers cannot be reached.

    Callers bound the wait (``asyncio.timeout``); a readiness probe must not hang.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=3000)
    await admin.start()
    try:
        (description,) = await admin.describe_topics([topic])
        if description.get("error_code"):
            raise RuntimeError(f"topic {topic}: error {description['error_code']}")
        return len(description["partitions"])
    finally:
        await admin.close()
