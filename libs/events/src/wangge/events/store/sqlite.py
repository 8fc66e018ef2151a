"""The SQLite event store: the embedded default, one writer at a time."""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.envelope import Checkpoint
from wangge.events.store.base import EventStore, StoredEvent


class SqliteEventStore(EventStore):
    """Embedded backend (aiosqlite). Transactions begin IMMEDIATE, so commits follow positions."""

    dialect = "sqlite"

    async def _head(self, conn: AsyncConnection, stream_id: str) -> int:
        e = self._events
        value = await conn.scalar(
            sa.select(sa.func.coalesce(sa.func.max(e.c.version), 0)).where(
                e.c.stream_id == stream_id
            )
        )
        return int(value or 0)

    async def _read_all(
        self, conn: AsyncConnection, after: Checkpoint, limit: int
    ) -> list[StoredEvent]:
        # One writer at a time and positions handed out inside its write lock: a position is
        # visible only after every smaller one, so ``position > last`` is safe here.
        e = self._events
        query = (
            self._select_stored()
            .where(e.c.position > after.position)
            .order_by(e.c.position)
            .limit(limit)
        )
        rows = (await conn.execute(query)).all()
        return [self._stored(row) for row in rows]

    @asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        """An exclusive lock on a file beside the database, released when the holder dies."""
        database = self.engine.url.database
        if not database or database == ":memory:":
            yield
            return
        path = f"{database}.{name}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
