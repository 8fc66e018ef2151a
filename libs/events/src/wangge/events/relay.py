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
from collections.abc import Callable

from aiokafka import AIOKafkaProducer
from opentelemetry import trace

from wangge.events import metrics
from wangge.events.envelope import Checkpoint, Envelope, encode_data
from wangge.events.kafka import make_producer, topic_for
from wangge.events.store import EventStore, StoredEvent
from wangge.events.telemetry import context_from, tracer, tracing_enabled
from wangge.events.tuning import LINGER_SECONDS

log = logging.getLogger(__name__)


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
                while not stop.is_set():
                    checkpoint, count = await self.publish_batch(producer, checkpoint)
                    if healthy is not None:
                        healthy()
                    if count < self.batch_size:
                        # nothing new, or a batch short of full: under a steady load the next
                        # batch gathers meanwhile (a read and a checkpoint per batch, not per
                        # event or two); the wait is the most it adds to an event's publication
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(
                                stop.wait(),
                                self.idle_seconds if count == 0 else self.linger_seconds,
                            )
            finally:
                # flushing needs the broker: when it is gone, what was not acknowledged is
                # published again from the checkpoint by the next relay
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(10):
                        await producer.stop()

    async def publish_batch(
        self, producer: AIOKafkaProducer, after: Checkpoint
    ) -> tuple[Checkpoint, int]:
        """Publish the next batch after ``after``; returns the new checkpoint and the count."""
        batch = await self.store.read_all(after, limit=self.batch_size)
        if not batch:
            return after, 0
        acks = [await self._send(producer, stored) for stored in batch]
        await asyncio.gather(*acks)
        checkpoint = batch[-1].checkpoint
        await self.store.save_checkpoint(self.name, checkpoint)
        self.published += len(batch)
        metrics.PUBLISHED.labels(self.topic).inc(len(batch))
        return checkpoint, len(batch)

    async def _send(
        self, producer: AIOKafkaProducer, stored: StoredEvent
    ) -> asyncio.Future[object]:
        envelope = stored.envelope
        entry = self.store.catalogue.entry(envelope.type)  # an unknown type stops the relay
        if stored.schema_version == entry.version:
            value = stored.json_data()  # validated at append: published as recorded
        else:
            recorded = stored.decode(self.store.catalogue)  # consumers see only the newest version
            envelope = recorded.envelope
            value = encode_data(recorded.data.model_dump(mode="json"))
        if envelope.traceparent is None or not tracing_enabled():
            return await self._produce(producer, envelope, value)
        with tracer.start_as_current_span(
            "events.publish",
            context=context_from(envelope.traceparent),
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": self.topic,
                "wangge.stream_id": envelope.subject,
            },
        ):
            return await self._produce(producer, envelope, value)

    async def _produce(
        self, producer: AIOKafkaProducer, envelope: Envelope, value: bytes
    ) -> asyncio.Future[object]:
        ack: asyncio.Future[object] = await producer.send(
            self.topic,
            key=envelope.subject.encode(),
            value=value,
            headers=envelope.kafka_headers(),
        )
        return ack
