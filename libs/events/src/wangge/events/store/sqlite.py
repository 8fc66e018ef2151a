"""The SQLite event store: the embedded default, one writer at a time."""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.envelope import Checkpoint
from wangge.events.errors import ConcurrencyConflict
from wangge.events.store.base import AppendResult, EventStore, PendingAppend, StoredEvent


class SqliteEventStore(EventStore):
    """Embedded backend (aiosqlite). Transactions begin IMMEDIATE, so commits follow positions."""

    dialect = "sqlite"

    async def _write(
        self, pending: PendingAppend, connection: AsyncConnection | None
    ) -> AppendResult:
        if connection is not None:
            return await self._write_in(connection, pending)
        try:
            async with self.begin() as conn:
                return await self._write_in(conn, pending)
        except ConcurrencyConflict:
            # a concurrent retry of the same command may have won the race: answer as it did
            if pending.idempotency_key is not None:
                async with self.engine.connect() as conn:
                    replayed = await self._replay(
                        conn, pending.idempotency_key, pending.fingerprint
                    )
                if replayed is not None:
                    return replayed
            raise

    async def _write_in(self, conn: AsyncConnection, pending: PendingAppend) -> AppendResult:
        if pending.idempotency_key is not None:
            replayed = await self._replay(conn, pending.idempotency_key, pending.fingerprint)
            if replayed is not None:
                return replayed
        e = self._events
        head = int(
            await conn.scalar(
                sa.select(sa.func.coalesce(sa.func.max(e.c.version), 0)).where(
                    e.c.stream_id == pending.stream_id
                )
            )
            or 0
        )
        if pending.expected_version is not None and head != pending.expected_version:
            raise ConcurrencyConflict(pending.stream_id, pending.expected_version, head)
        rows = [
            {
                "stream_id": pending.stream_id,
                "version": head + i,
                "event_id": event.event_id,
                "type": event.type,
                "schema_version": event.schema_version,
                "recorded_at": pending.recorded_at,
                "metadata": pending.metadata,
                "data": event.data,
            }
            for i, event in enumerate(pending.events, start=1)
        ]
        result = pending.result(head + 1)
        try:
            await conn.execute(sa.insert(e), rows)
            if pending.idempotency_key is not None:
                await conn.execute(
                    sa.insert(self.tables.idempotency_keys).values(
                        key=pending.idempotency_key,
                        fingerprint=pending.fingerprint,
                        result=result.to_json(),
                        recorded_at=pending.recorded_at,
                    )
                )
        except IntegrityError:
            raise ConcurrencyConflict(
                pending.stream_id, pending.expected_version, head + 1
            ) from None
        return result

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
    async def try_exclusive(self, name: str) -> AsyncIterator[bool]:
        """The lock file of :meth:`exclusive`, if it is free at once; yields whether it was."""
        database = self.engine.url.database
        if not database or database == ":memory:":
            yield True
            return
        fd = os.open(f"{database}.{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)

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
