"""The outbox relay: publishes a service's event table to its Kafka topic, at least once.

The event table is the outbox, so there is no dual write: a command commits its events, and the
relay follows the table in commit order, publishes each event keyed by its stream (so a stream
keeps its order on one partition) and records its checkpoint only after the broker has
acknowledged every event before it. A crash between the acknowledgement and the checkpoint
publishes some events again; consumers drop those by (stream id, version).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from opentelemetry import trace

from wangge.events import metrics
from wangge.events.envelope import Checkpoint
from wangge.events.kafka import StreamPartitioner, make_producer, topic_for
from wangge.events.store import EventStore, Outgoing
from wangge.events.telemetry import context_from, tracer, tracing_enabled
from wangge.events.tuning import LINGER_SECONDS

log = logging.getLogger(__name__)

IN_FLIGHT = 4
"""Batches the relay sends ahead of their acknowledgement (``OutboxRelay.pump``): enough to keep
reading while the broker acknowledges, few enough that a restart publishes little again."""


@dataclass
class _Sent:
    """A batch handed to the producer: where it ends, how many, and its acknowledgements."""

    checkpoint: Checkpoint
    count: int
    acks: list[asyncio.Future[object]]


def relay_name(topic: str) -> str:
    """The relay's name: its lock's and its checkpoint's in the store (so its lag can be read
    from any process, ``EventStore.behind``)."""
    return f"relay:{topic}"


class OutboxRelay:
    """Publishes one service's events to ``wangge.<service>.events``; one active per service."""

    def __init__(
        self,
        store: EventStore,
        *,
        bootstrap_servers: str,
        topic: str | None = None,
        batch_size: int = 1000,
        idle_seconds: float = 0.05,
        linger_seconds: float = LINGER_SECONDS,
        producer: AIOKafkaProducer | None = None,
    ) -> None:
        self.linger_seconds = linger_seconds
        self.store = store
        self.topic = topic or topic_for(store.service)
        self.name = relay_name(self.topic)
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self._bootstrap_servers = bootstrap_servers
        self._producer = producer
        self._partitioner = StreamPartitioner()
        self.published = 0

    async def run(
        self, stop: asyncio.Event | None = None, healthy: Callable[[], None] | None = None
    ) -> None:
        """Publish until ``stop`` is set; waits its turn while another relay is active.

        Any error ends it (a supervisor starts it again: ``wangge.events.supervision``);
        ``healthy`` is called after each batch, published or found empty.
        """
        stop = stop or asyncio.Event()
        async with self.store.exclusive(self.name):
            producer = self._producer or make_producer(self._bootstrap_servers)
            await producer.start()
            try:
                checkpoint = await self.store.load_checkpoint(self.name)
                log.info("relay %s active from %s", self.name, checkpoint)
                await self.pump(producer, checkpoint, stop, healthy)
            finally:
                # flushing needs the broker: when it is gone, what was not acknowledged is
                # published again from the checkpoint by the next relay
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(10):
                        await producer.stop()

    async def pump(
        self,
        producer: AIOKafkaProducer,
        after: Checkpoint,
        stop: asyncio.Event,
        healthy: Callable[[], None] | None = None,
    ) -> None:
        """Publish from ``after`` until ``stop`` is set, up to ``IN_FLIGHT`` batches sent
        ahead of their acknowledgement: the next batch is read and sent while the broker
        acknowledges the one before (waiting for each batch's acknowledgements before reading
        the next left the relay idle for a third of its time). Checkpoints are still saved in
        order, each only once every event up to it is acknowledged."""
        pending: deque[_Sent] = deque()
        try:
            while not stop.is_set():
                sent = await self._send_batch(producer, after)
                if sent is not None:
                    pending.append(sent)
                    after = sent.checkpoint
                while pending and (
                    sent is None or len(pending) > IN_FLIGHT or pending[0].acks[-1].done()
                ):
                    await self._settle(pending.popleft())
                if healthy is not None:
                    healthy()
                count = 0 if sent is None else sent.count
                if count < self.batch_size:
                    # nothing new, or a batch short of full: under a steady load the next
                    # batch gathers meanwhile (a read and a checkpoint per batch, not per
                    # event or two); the wait is the most it adds to an event's publication
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            stop.wait(), self.idle_seconds if count == 0 else self.linger_seconds
                        )
            # stopping: what is acknowledged soon is saved; the rest is published again
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10):
                    while pending:
                        await self._settle(pending.popleft())
        finally:
            for left in pending:  # never saved: its failure, if any, is not this one's to raise
                for ack in left.acks:
                    ack.add_done_callback(_retrieved)

    async def publish_batch(
        self, producer: AIOKafkaProducer, after: Checkpoint
    ) -> tuple[Checkpoint, int]:
        """Publish the next batch after ``after`` and wait for its acknowledgement; returns
        the new checkpoint and the count."""
        sent = await self._send_batch(producer, after)
        if sent is None:
            return after, 0
        await self._settle(sent)
        return sent.checkpoint, sent.count

    async def _send_batch(self, producer: AIOKafkaProducer, after: Checkpoint) -> _Sent | None:
        batch = await self.store.read_outgoing(after, limit=self.batch_size)
        if not batch:
            return None
        # each stream's partition chosen here as the producer's own partitioner would (murmur2
        # of the key), its hash remembered: the producer otherwise lists the topic's partitions
        # and hashes the key again for every message
        partitions = sorted(await producer.partitions_for(self.topic))
        choose = self._partitioner
        traced = tracing_enabled()
        acks = []
        for message in batch:
            partition = choose(message.key, partitions, partitions)
            if message.traceparent is None or not traced:
                acks.append(await self._produce(producer, message, partition))
                continue
            with tracer.start_as_current_span(
                "events.publish",
                context=context_from(message.traceparent),
                kind=trace.SpanKind.PRODUCER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.destination.name": self.topic,
                    "wangge.stream_id": message.subject,
                },
            ):
                acks.append(await self._produce(producer, message, partition))
        return _Sent(batch[-1].checkpoint, len(batch), acks)

    async def _settle(self, sent: _Sent) -> None:
        """Wait for a batch's acknowledgements, then save its checkpoint."""
        for ack in sent.acks:
            await ack
        await self.store.save_checkpoint(self.name, sent.checkpoint)
        self.published += sent.count
        metrics.PUBLISHED.labels(self.topic).inc(sent.count)

    async def _produce(
        self, producer: AIOKafkaProducer, message: Outgoing, partition: int
    ) -> asyncio.Future[object]:
        ack: asyncio.Future[object] = await producer.send(
            self.topic,
            key=message.key,
            value=message.value,
            partition=partition,
            headers=message.headers,
        )
        return ack


def _retrieved(ack: asyncio.Future[object]) -> None:
    if not ack.cancelled():
        ack.exception()
