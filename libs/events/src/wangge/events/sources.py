"""Where a projection runner reads events: a Kafka consumer group in production, the event
tables themselves in embedded mode and for local rebuilds.

Every source hands out events with the position to store once they are applied; the runner
keeps those positions in the read model's database, never in the source (Kafka offsets are not
committed to Kafka), so a restart resumes exactly where the last commit left off.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import IllegalStateError

from wangge.events.catalogue import version_from_dataschema
from wangge.events.envelope import START, Checkpoint, Envelope
from wangge.events.kafka import ensure_topics, make_consumer
from wangge.events.making import maker
from wangge.events.parking import UNKNOWN_TYPE
from wangge.events.store import EventStore, StoredEvent
from wangge.events.store.changes import ChangeWatch, change_watch


@dataclass(frozen=True, slots=True)
class SourcedEvent:
    """An event with the source position to store once it is applied."""

    source_key: str
    position: str
    event: StoredEvent
    fault: str | None = None
    """Why the message could not be read as an event (its envelope stands in, made from what
    could be read): the runner parks it rather than stop on it."""


PositionLoader = Callable[[], Awaitable[dict[str, str]]]


class Source(ABC):
    """Where a runner reads events from."""

    async def start(self, load_positions: PositionLoader) -> None:  # noqa: B027
        """Open connections; ``load_positions`` returns the stored positions of this generation."""

    async def stop(self) -> None:  # noqa: B027
        """Close connections."""

    @abstractmethod
    async def fetch(self, stored: Mapping[str, str], max_records: int) -> list[SourcedEvent]:
        """The next events after the ``stored`` positions; empty when there is nothing new."""

    @abstractmethod
    async def lag(self, stored: Mapping[str, str]) -> int:
        """How many events the source holds beyond the ``stored`` positions."""

    @abstractmethod
    def fresh(self) -> Source:
        """A source of the same events for a rebuild, independent of this one."""

    def narrow(self, types: frozenset[str]) -> Source:
        """This source for a reader that applies only ``types`` (it may then skip data)."""
        return self

    @property
    def tables_read(self) -> list[EventStore]:
        """The event tables this source reads directly (none for Kafka): a runner over them
        applies from one process at a time."""
        return []


class StoreSource(Source):
    """An event table itself: embedded mode and local rebuilds.

    Another service's table (embedded mode's stand-in for its topic) may not exist yet when this
    service starts first: until it does, the source is empty.

    On a SQLite file, a read that found nothing is not repeated until the file's change watch
    (:mod:`wangge.events.store.changes`) saw a commit, or ``recheck_seconds`` passed: an idle
    runner then costs a pragma per fetch rather than a query. PostgreSQL is queried every time.
    """

    KEY = "store"

    def __init__(
        self,
        store: EventStore,
        *,
        idle_seconds: float = 0.05,
        types: frozenset[str] | None = None,
        key: str = KEY,
        recheck_seconds: float = 1.0,
    ) -> None:
        self.store = store
        self.idle_seconds = idle_seconds
        self.types = types
        self.key = key
        self.recheck_seconds = recheck_seconds
        """How long a quiet SQLite file goes unqueried at most: a safety net for a commit the
        watch cannot see (the file replaced under its connection)."""
        self._exists = False
        self._watch: ChangeWatch | None = None
        self._quiet: tuple[Checkpoint, int] | None = None
        """Where the last read that found nothing started, and the watch's version before it."""
        self._quiet_since = 0.0

    def _after(self, stored: Mapping[str, str]) -> Checkpoint:
        value = stored.get(self.key)
        return Checkpoint.parse(value) if value else START

    async def _table_exists(self) -> bool:
        if not self._exists:
            async with self.store.engine.connect() as conn:
                self._exists = await conn.run_sync(
                    lambda sync: sa.inspect(sync).has_table(self.store.tables.events.name)
                )
            if self._exists:
                self._watch = change_watch(self.store.engine)
        return self._exists

    async def fetch(self, stored: Mapping[str, str], max_records: int) -> list[SourcedEvent]:
        if not await self._table_exists():
            await asyncio.sleep(self.idle_seconds)
            return []
        after = self._after(stored)
        # the version is taken before the query: a commit while it runs is seen next time
        version = self._watch.version() if self._watch is not None else None
        if self._still_quiet(after, version):
            await asyncio.sleep(self.idle_seconds)
            return []
        batch = await self.store.read_all(after, limit=max_records, types=self.types)
        if batch or version is None:
            self._quiet = None
        else:
            self._quiet, self._quiet_since = (after, version), time.monotonic()
        if not batch:
            await asyncio.sleep(self.idle_seconds)
        return [SourcedEvent(self.key, str(e.checkpoint), e) for e in batch]

    def _still_quiet(self, after: Checkpoint, version: int | None) -> bool:
        """Whether the last read, from the same place, found nothing and nobody committed since."""
        return (
            version is not None
            and self._quiet == (after, version)
            and time.monotonic() - self._quiet_since < self.recheck_seconds
        )

    async def lag(self, stored: Mapping[str, str]) -> int:
        if not await self._table_exists():
            return 0
        return await self.store.count_after(self._after(stored))

    def fresh(self) -> StoreSource:
        return self.narrow(self.types) if self.types is not None else self._copy(None)

    def narrow(self, types: frozenset[str]) -> StoreSource:
        return self._copy(types)

    def _copy(self, types: frozenset[str] | None) -> StoreSource:
        return StoreSource(
            self.store,
            idle_seconds=self.idle_seconds,
            types=types,
            key=self.key,
            recheck_seconds=self.recheck_seconds,
        )

    @property
    def tables_read(self) -> list[EventStore]:
        return [self.store]


class MergedSource(Source):
    """Several event tables read as one (embedded mode's stand-in for several topics).

    Each keeps its own position; a batch takes from each in turn, so a busy table never starves
    a quiet one. Events of different services have no order between them, as on Kafka.
    """

    def __init__(self, sources: Sequence[Source], *, idle_seconds: float = 0.5) -> None:
        if len({getattr(s, "key", id(s)) for s in sources}) != len(sources):
            raise ValueError("merged sources need distinct position keys")
        self.sources = list(sources)
        self.idle_seconds = idle_seconds
        """How long a merge of no sources (nothing configured to read) waits per fetch."""

    async def start(self, load_positions: PositionLoader) -> None:
        for source in self.sources:
            await source.start(load_positions)

    async def stop(self) -> None:
        for source in self.sources:
            await source.stop()

    async def fetch(self, stored: Mapping[str, str], max_records: int) -> list[SourcedEvent]:
        if not self.sources:
            await asyncio.sleep(self.idle_seconds)
            return []
        share = max(1, max_records // len(self.sources))
        batches = await asyncio.gather(*(s.fetch(stored, share) for s in self.sources))
        return [event for batch in batches for event in batch]

    async def lag(self, stored: Mapping[str, str]) -> int:
        return sum([await source.lag(stored) for source in self.sources])

    def fresh(self) -> MergedSource:
        return MergedSource([source.fresh() for source in self.sources])

    def narrow(self, types: frozenset[str]) -> MergedSource:
        return MergedSource([source.narrow(types) for source in self.sources])

    @property
    def tables_read(self) -> list[EventStore]:
        return [store for source in self.sources for store in source.tables_read]


class KafkaSource(Source):
    """Service topics on Kafka, through a consumer group; offsets live in the read model's DB."""

    def __init__(
        self,
        bootstrap_servers: str,
        topics: Sequence[str],
        *,
        group_id: str,
        fetch_timeout_ms: int = 200,
        consumer_options: Mapping[str, Any] | None = None,
        partitions: int | None = None,
        types: frozenset[str] | None = None,
    ) -> None:
        self.partitions = partitions
        """When given, missing topics are made with this many partitions on each start (the
        broker may have been out of reach when the service started)."""
        self.bootstrap_servers = bootstrap_servers
        self.topics = list(topics)
        self.group_id = group_id
        self.fetch_timeout_ms = fetch_timeout_ms
        self.consumer_options = dict(consumer_options or {})
        self.types = types
        """The types its reader applies (None: all): others are handed out as :func:`skipped`."""
        self._wanted = None if types is None else frozenset(t.encode() for t in types)
        self._consumer: AIOKafkaConsumer | None = None
        self._ends_consumer: AIOKafkaConsumer | None = None
        """A consumer of no group, for :meth:`_ends` (made on its first call, closed by
        :meth:`stop`): a standby's ``/readyz`` asks every few seconds, and a consumer started
        and stopped for each answer opened and closed its connections every time."""
        self._ends_made = asyncio.Lock()

    @staticmethod
    def key(tp: TopicPartition) -> str:
        return f"{tp.topic}/{tp.partition}"

    async def start(self, load_positions: PositionLoader) -> None:
        if self.partitions:
            await ensure_topics(self.bootstrap_servers, self.topics, partitions=self.partitions)
        consumer = make_consumer(
            self.bootstrap_servers, group_id=self.group_id, **self.consumer_options
        )
        self._consumer = consumer

        class SeekToStored(ConsumerRebalanceListener):  # type: ignore[misc]
            # Kafka's committed offsets are never used: the database is the only truth of what
            # was applied, so each newly assigned partition starts right after its stored offset.
            async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
                return None

            async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
                # the consumer fetches the new partitions from where Kafka would start them while
                # this waits on the database: paused until placed, so no record is handed out
                # from there only to be read again after the seek (it read most topics twice)
                consumer.pause(*assigned)
                try:
                    stored = await load_positions()
                    beginning = []
                    for tp in assigned:
                        offset = stored.get(KafkaSource.key(tp))
                        if offset is None:
                            beginning.append(tp)
                        else:
                            consumer.seek(tp, int(offset) + 1)
                    if beginning:
                        await consumer.seek_to_beginning(*beginning)
                finally:
                    for tp in assigned:
                        with contextlib.suppress(IllegalStateError):
                            # a partition revoked meanwhile is no longer ours to resume
                            consumer.resume(tp)

        consumer.subscribe(self.topics, listener=SeekToStored())
        await consumer.start()

    async def stop(self) -> None:
        consumer, self._consumer = self._consumer, None
        ends, self._ends_consumer = self._ends_consumer, None
        for one in (consumer, ends):
            if one is not None:
                # leaving the group needs the broker: when it is gone, the group's session
                # timeout frees the partitions instead (the consumer of no group just closes)
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(10):
                        await one.stop()

    def _require(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("the Kafka source is not started")
        return self._consumer

    async def fetch(self, stored: Mapping[str, str], max_records: int) -> list[SourcedEvent]:
        consumer = self._require()
        records = await consumer.getmany(timeout_ms=self.fetch_timeout_ms, max_records=max_records)
        out: list[SourcedEvent] = []
        wanted = self._wanted
        read = 0
        for tp, messages in records.items():
            key = self.key(tp)
            for message in messages:
                read += 1
                if read % HAND_BACK_EVERY == 0:
                    await asyncio.sleep(0)
                if wanted is not None:
                    type_ = _type_header(message.headers)
                    if type_ is not None and type_ not in wanted and type_ != _UNKNOWN:
                        # a type the reader skips: its position, never its envelope or data
                        out.append(_make_sourced(key, str(message.offset), skipped(type_), None))
                        continue
                out.append(self._sourced(key, message))
        return out

    def _sourced(self, key: str, message: Any) -> SourcedEvent:
        position = str(message.offset)
        headers = message.headers or ()
        try:
            envelope = Envelope.from_kafka_headers(headers)
            version = version_from_dataschema(envelope.dataschema)
        except (KeyError, ValueError, UnicodeDecodeError) as error:
            # not an event of ours as it stands (a producer's bug, a message from elsewhere):
            # parked under its key, so that the partition flows on and someone can look at it
            found = {k: v.decode(errors="replace") for k, v in headers if k.startswith("ce_")}
            envelope = Envelope(
                id=uuid.uuid5(uuid.NAMESPACE_URL, f"kafka:{key}/{position}"),
                source=found.get("ce_source", "unknown"),
                type=found.get("ce_type", UNKNOWN_TYPE),
                subject=(message.key or b"").decode(errors="replace") or f"unreadable:{key}",
                time=datetime.now(UTC),
                dataschema=found.get("ce_dataschema", ""),
                sequence=0,
            )
            fault = f"unreadable message at {key}@{position}: {type(error).__name__}: {error}"
            event = StoredEvent(envelope, 0, Checkpoint(0, message.offset), json_data=b"{}")
            return SourcedEvent(key, position, event, fault=fault)
        event = StoredEvent(
            envelope, version, _make_checkpoint(0, message.offset), json_data=message.value or b"{}"
        )
        return _make_sourced(key, position, event, None)

    async def end_offsets(self) -> dict[str, int]:
        """The last offset of every assigned partition (-1 for an empty one)."""
        consumer = self._require()
        assigned = consumer.assignment()
        ends = await consumer.end_offsets(list(assigned)) if assigned else {}
        return {self.key(tp): end - 1 for tp, end in ends.items()}

    def fetched_ends(self) -> dict[str, int] | None:
        """The last offset of every assigned partition as the consumer's last fetch of it saw
        (its last stable offset: where a ``read_committed`` reader ends), with no request; None
        until each has been fetched once.

        :meth:`end_offsets` asks the broker on the connection the fetches use, and a broker
        answers one connection's requests in order: once a consumer has read all there is, its
        next fetch waits there for new records (``fetch_max_wait_ms``, half a second), and the
        question waits behind it. A rebuild wants only an end reached after it started.
        """
        consumer = self._require()
        ends: dict[str, int] = {}
        for tp in consumer.assignment():
            end = consumer.last_stable_offset(tp)
            if end is None or end < 0:
                return None
            ends[self.key(tp)] = end - 1
        return ends or None

    async def lag(self, stored: Mapping[str, str]) -> int:
        ends = await self.end_offsets() if self._consumer is not None else await self._ends()
        return sum(max(0, end - int(stored.get(key, "-1"))) for key, end in ends.items())

    async def _ends(self) -> dict[str, int]:
        """The last offset of every partition of the topics, asked by a consumer of no group:
        the lag of a runner that holds no partitions (another process applies its projection,
        ADR 0010) is what that process has still to apply, from the positions it saved."""
        consumer = await self._ends_reader()
        # the topics' partitions, asked afresh (a topic made since). ``consumer.topics()`` asks
        # as much but leaves the consumer's own metadata as it was: one given no topics then
        # knows no partitions, and every lag came out 0 (aiokafka has no public way to ask)
        cluster = await consumer._client.fetch_all_metadata()
        tps = [
            TopicPartition(topic, partition)
            for topic in self.topics
            for partition in sorted(cluster.partitions_for_topic(topic) or ())
        ]
        ends = await consumer.end_offsets(tps) if tps else {}
        return {self.key(tp): end - 1 for tp, end in ends.items()}

    async def _ends_reader(self) -> AIOKafkaConsumer:
        """The source's consumer of no group, started on first use; one for its life, however
        many lags are asked at once."""
        async with self._ends_made:
            if self._ends_consumer is None:
                consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap_servers)
                try:
                    await consumer.start()
                except BaseException:
                    # the broker out of reach (or the asker gone): the next call tries afresh
                    with contextlib.suppress(Exception):
                        await consumer.stop()
                    raise
                self._ends_consumer = consumer
            return self._ends_consumer

    def fresh(self) -> KafkaSource:
        return KafkaSource(
            self.bootstrap_servers,
            self.topics,
            group_id=f"{self.group_id}.rebuild",
            fetch_timeout_ms=self.fetch_timeout_ms,
            consumer_options=self.consumer_options,
            partitions=self.partitions,
            types=self.types,
        )

    def share(self, topics: Sequence[str], index: int) -> KafkaSource:
        """A source over some of these topics, in a consumer group of its own (``index``
        tells the shares of one rebuild apart): a rebuild applying its topics side by side."""
        return KafkaSource(
            self.bootstrap_servers,
            list(topics),
            group_id=f"{self.group_id}.{index}",
            fetch_timeout_ms=self.fetch_timeout_ms,
            consumer_options=self.consumer_options,
            partitions=self.partitions,
            types=self.types,
        )

    def narrow(self, types: frozenset[str]) -> KafkaSource:
        return KafkaSource(
            self.bootstrap_servers,
            self.topics,
            group_id=self.group_id,
            fetch_timeout_ms=self.fetch_timeout_ms,
            consumer_options=self.consumer_options,
            partitions=self.partitions,
            types=types,
        )


HAND_BACK_EVERY = 128
"""Records a fetch reads before it hands the event loop back for a turn: a batch of thousands
took tens of milliseconds in one go, which a rebuild's write of the batch before it (waiting on
the database between its statements) and a server's requests waited out."""

_UNKNOWN = UNKNOWN_TYPE.encode()
_make_sourced = maker(SourcedEvent)
_make_checkpoint = maker(Checkpoint)


def _type_header(headers: Sequence[tuple[str, bytes]] | None) -> bytes | None:
    # the relay writes ce_type third (``Envelope.kafka_headers``): a short walk
    for name, value in headers or ():
        if name == "ce_type":
            return value
    return None


@functools.lru_cache(maxsize=1024)
def skipped(type_: bytes) -> StoredEvent:
    """What stands for a message of a type its reader does not apply: one shared event per
    type, with nothing read but the type (the runner only steps over it, keeping its position).

    A message that cannot be read as an event is parked only when its reader applies its type
    (or it has none), so one skipped unread is skipped as it would have been read."""
    envelope = Envelope(
        id=uuid.uuid5(uuid.NAMESPACE_URL, "wangge:skipped:" + type_.hex()),
        source="",
        type=type_.decode(errors="replace"),
        subject="",
        time=datetime.fromtimestamp(0, UTC),
        dataschema="",
        sequence=0,
    )
    return StoredEvent(envelope, 0, START, json_data=b"{}")
