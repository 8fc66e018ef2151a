"""The PostgreSQL event store: commit-ordered reading by the transaction-id watermark."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.envelope import Checkpoint
from wangge.events.errors import WriteOrderError
from wangge.events.store.base import EventStore, StoredEvent

_APPENDED_XID = "wangge.appended_xid"


class PostgresEventStore(EventStore):
    """Production backend (SQLAlchemy async on asyncpg)."""

    dialect = "postgresql"

    async def _head(self, conn: AsyncConnection, stream_id: str) -> int:
        # One round trip reads the stream head and whether this transaction already holds an id.
        # Readers order by transaction id; if this transaction took its id with an earlier write
        # and then read a stream that a younger transaction had just extended, its events would
        # sort before the ones they follow. Appending first (or only appending) rules that out.
        row = (
            await conn.execute(
                sa.text(
                    "SELECT COALESCE(MAX(version), 0) AS head, "
                    "pg_current_xact_id_if_assigned()::text AS xid "
                    "FROM events WHERE stream_id = :stream_id"
                ),
                {"stream_id": stream_id},
            )
        ).one()
        if row.xid is not None and conn.info.get(_APPENDED_XID) != row.xid:
            raise WriteOrderError(
                "append events before any other write in the transaction, so that reading by "
                "transaction id keeps each stream in order"
            )
        return int(row.head)

    async def _insert(self, conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
        # RETURNING the transaction id costs no extra round trip and lets a second append in the
        # same transaction pass the write-order guard above.
        result = await conn.execute(
            sa.insert(self._events).returning(sa.cast(self._events.c.transaction_id, sa.Text)),
            rows,
        )
        conn.info[_APPENDED_XID] = result.scalars().first()

    def _transaction_id_column(self) -> sa.ColumnElement[int]:
        return sa.cast(sa.cast(self._events.c.transaction_id, sa.Text), sa.BigInteger).label(
            "transaction_id"
        )

    async def _read_all(
        self, conn: AsyncConnection, after: Checkpoint, limit: int
    ) -> list[StoredEvent]:
        # Only transactions older than the oldest still running one are read: every row with a
        # smaller id has committed (or aborted), so nothing can later appear behind the checkpoint.
        e = self._events
        after_xid = sa.cast(
            sa.cast(sa.literal(str(after.transaction_id)), sa.Text), e.c.transaction_id.type
        )
        query = (
            self._select_stored()
            .where(
                sa.tuple_(e.c.transaction_id, e.c.position)
                > sa.tuple_(after_xid, sa.literal(after.position, sa.BigInteger)),
                e.c.transaction_id < sa.text("pg_snapshot_xmin(pg_current_snapshot())"),
            )
            .order_by(e.c.transaction_id, e.c.position)
            .limit(limit)
        )
        rows = (await conn.execute(query)).all()
        return [self._stored(row) for row in rows]

    @asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        """A session advisory lock on its own connection: released when the holder dies."""
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT pg_advisory_lock(hashtext(:name))"), {"name": name})
            await conn.commit()
            try:
                yield
            finally:
                await conn.execute(
                    sa.text("SELECT pg_advisory_unlock(hashtext(:name))"), {"name": name}
                )
                await conn.commit()
