"""The locks that keep a projection's runners from applying the same events side by side.

Two kinds (ADR 0010). A session lock per projection, held while a runner applies: from an event
table, and from Kafka unless the projection's partitions are apart, one process at a time
applies it and the others wait to take over. And, in every batch's transaction, a lock per
source partition (or event table) the batch came from: a partition moved to another consumer,
or a session lock lost with its connection, never lets two transactions apply the same events.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from wangge.events.db import lock_keys
from wangge.events.projection.declaring import Projection
from wangge.events.sources import Source, SourcedEvent
from wangge.events.store import EventStore


class ProjectionLocks:
    """The names of one projection's locks, and who holds its session lock."""

    def __init__(self, projection: Projection, engine: AsyncEngine) -> None:
        self.projection = projection
        self.engine = engine
        self._scope: str | None = None

    @property
    def name(self) -> str:
        """The lock that keeps one process at a time applying the projection (from an event
        table, or from Kafka unless its partitions are apart)."""
        return f"projection:{self.projection.name}"

    async def qualified_name(self) -> str:
        """:attr:`name`, on PostgreSQL qualified by the read model's schema: advisory locks
        are the whole database's, and deployments of one service in schemas of one database
        (the tests', a rebuilt copy beside the live one) must not wait on each other."""
        if self._scope is None:
            scope = ""
            if self.engine.dialect.name == "postgresql":
                async with self.engine.connect() as conn:
                    scope = f"{await conn.scalar(sa.text('SELECT current_schema()'))}:"
            self._scope = scope
        return f"{self._scope}{self.name}"

    def holder(self, source: Source, lock: EventStore | None) -> EventStore | None:
        """Where a runner reading ``source`` takes the session lock (None: it takes none).

        The lock lives with the read model (``lock``: the service's own store) when one is
        given, else with the event table read. From Kafka without an event table, a projection
        whose partitions are apart takes none: the consumer group shares them out.
        """
        tables = source.tables_read
        holder = lock or (tables[0] if tables else None)
        if holder is not None and (tables or not self.projection.partitions_apart):
            return holder
        return None

    async def hold_batch(self, conn: AsyncConnection, batch: Sequence[SourcedEvent]) -> None:
        """Take the batch's partitions (or event tables) for this transaction (PostgreSQL).

        A partition moves between consumers when the group rebalances; the new owner may fetch
        events the old one is still applying. Waiting here until the old owner commits makes
        the applied versions it reads next include that batch, so nothing is applied twice. An
        event table is read by one process at a time (a runner holds the session lock), but
        that lock lives on one connection, which may break alone while the holder goes on: this
        lock keeps even two holders from applying side by side.
        """
        await self.hold_sources(conn, {s.source_key for s in batch})

    async def hold_sources(self, conn: AsyncConnection, source_keys: Collection[str]) -> None:
        """Take these partitions (or event tables) for ``conn``'s transaction (PostgreSQL)."""
        await lock_keys(conn, [f"{self.projection.name}|{key}" for key in source_keys])
