"""What-if variants of our append path, to size proposed library changes (not library code).

* ``NoPingOurs``: the library's store unchanged, on an engine without ``pool_pre_ping``. On
  asyncpg, SQLAlchemy's pre-ping outside a transaction is BEGIN; ``;``; ROLLBACK: three round trips
  on every checkout, i.e. on every append.
* ``OneStatementOurs``: the same append semantics (validation, optimistic concurrency on the stream
  head, conflict error, uuid7 ids, span, xid8 default) in ONE statement, run in autocommit, so an
  append without an explicit connection or idempotency key is one round trip instead of seven
  (ping 3 + BEGIN + head SELECT + INSERT + COMMIT). Appends with a connection or an idempotency key
  fall back to the library's transactional path.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from opentelemetry import trace
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from benchmarks.append import Ours
from benchmarks.common import catalogue
from wangge.events.envelope import Metadata, new_event_id
from wangge.events.errors import ConcurrencyConflict
from wangge.events.model import DomainEvent
from wangge.events.store import AppendResult, PostgresEventStore
from wangge.events.telemetry import current_traceparent, tracer


def _engine_without_ping(url: str, schema: str, pool_size: int) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        connect_args={"server_settings": {"search_path": schema}},
    )


class NoPingOurs(Ours):
    """The library's store on an engine with ``pool_pre_ping=False``."""

    name = "prototype: store, no pre-ping"
    key = "proto_noping"

    def make_engine(self, schema: str) -> AsyncEngine:
        size = max(16, self.settings.writers)
        return _engine_without_ping(self.settings.database_url, schema, size)


# The stream head, the expected-version check and the insert in one statement. A stale
# expected_version inserts nothing (no row returned); a concurrent append of the same versions
# fails on events_stream_version_key, exactly like the library's two-statement version.
APPEND_SQL = sa.text(
    """
WITH head AS (
    SELECT COALESCE(MAX(version), 0) AS v FROM events WHERE stream_id = :stream_id
)
INSERT INTO events (stream_id, version, event_id, type, schema_version, recorded_at, metadata, data)
SELECT :stream_id, head.v + r.ord, r.event_id, r.type, r.schema_version, :recorded_at,
       CAST(:metadata AS jsonb), r.data
FROM head,
     unnest(CAST(:event_ids AS uuid[]), CAST(:types AS text[]),
            CAST(:schema_versions AS smallint[]), CAST(:data AS jsonb[]))
         WITH ORDINALITY AS r(event_id, type, schema_version, data, ord)
WHERE CAST(:expected AS integer) IS NULL OR head.v = CAST(:expected AS integer)
RETURNING version
"""
)


class OneStatementStore(PostgresEventStore):
    """``PostgresEventStore`` whose standalone appends are one autocommit statement."""

    def __init__(self, engine: AsyncEngine, **kwargs: Any) -> None:
        super().__init__(engine, **kwargs)
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def append(
        self,
        stream_id: str,
        events: Sequence[DomainEvent],
        *,
        expected_version: int | None,
        metadata: Metadata = Metadata(),
        idempotency_key: str | None = None,
        connection: AsyncConnection | None = None,
    ) -> AppendResult:
        if connection is not None or idempotency_key is not None or not events:
            return await super().append(
                stream_id,
                events,
                expected_version=expected_version,
                metadata=metadata,
                idempotency_key=idempotency_key,
                connection=connection,
            )
        encoded = [self.catalogue.encode(event) for event in events]
        with tracer.start_as_current_span(
            "events.append",
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "wangge.stream_id": stream_id,
                "wangge.event_count": len(events),
                "wangge.service": self.service,
            },
        ) as span:
            metadata = replace(metadata, traceparent=current_traceparent() or metadata.traceparent)
            meta = {
                k: v
                for k, v in (
                    ("actor", metadata.actor),
                    ("correlationid", metadata.correlation_id),
                    ("causationid", metadata.causation_id),
                    ("traceparent", metadata.traceparent),
                )
                if v is not None
            }
            event_ids = [new_event_id() for _ in encoded]
            params = {
                "stream_id": stream_id,
                "expected": expected_version,
                "recorded_at": datetime.now(UTC),
                "metadata": json.dumps(meta),
                "event_ids": event_ids,
                "types": [entry.type for entry, _ in encoded],
                "schema_versions": [entry.version for entry, _ in encoded],
                "data": [json.dumps(data) for _, data in encoded],
            }
            try:
                async with self._autocommit.connect() as conn:
                    versions = (await conn.execute(APPEND_SQL, params)).scalars().all()
            except IntegrityError:
                span.set_attribute("wangge.conflict", True)
                head = await self.stream_version(stream_id)
                raise ConcurrencyConflict(stream_id, expected_version, head) from None
            if not versions:
                span.set_attribute("wangge.conflict", True)
                head = await self.stream_version(stream_id)
                raise ConcurrencyConflict(stream_id, expected_version, head)
            return AppendResult(
                stream_id=stream_id,
                first_version=min(versions),
                last_version=max(versions),
                event_ids=tuple(event_ids),
            )


class OneStatementOurs(Ours):
    """``OneStatementStore`` on an engine without pre-ping."""

    name = "prototype: one-statement append"
    key = "proto_onestmt"

    async def setup(self) -> None:
        await super().setup()
        self.store = OneStatementStore(self.engine, service="bench", catalogue=catalogue)

    def make_engine(self, schema: str) -> AsyncEngine:
        size = max(16, self.settings.writers)
        return _engine_without_ping(self.settings.database_url, schema, size)
