"""The PostgreSQL event store: one-statement appends, commit-ordered reading by xid8 watermark."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import asyncpg
import pydantic_core
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from wangge.events import tuning
from wangge.events.catalogue import Catalogue, dataschema_for, default_catalogue
from wangge.events.envelope import Checkpoint, Envelope, Metadata, kafka_headers, type_headers
from wangge.events.errors import ConcurrencyConflict, IdempotencyKeyReused, WriteOrderError
from wangge.events.store.base import (
    AppendResult,
    ColumnsByName,
    EventStore,
    Outgoing,
    PendingAppend,
    StoredEvent,
    StreamAppend,
    check_keyed,
)
from wangge.events.store.held import driver as held_driver
from wangge.events.telemetry import current_traceparent, tracing_enabled

_APPENDED_XID = "wangge.appended_xid"

# One round trip writes a whole append: it reads the stream head, checks the expected version and
# the write order, inserts the events and, with an idempotency key, the command's result. When a
# check fails nothing is inserted and the statement returns NULLs; the slow path then says why.
#
# The write-order check: readers order by transaction id. A transaction that took its id with an
# earlier write, then read a stream that a younger transaction had just extended, would sort its
# events before the ones they follow. A transaction's first write taking its id cannot be
# overtaken that way, so the first append checks nothing more. Any other append (after this
# store's appends, whose transaction id is passed in as $3, or after another write, found by the
# slow path) also checks that no younger transaction has extended the stream.
_HEAD = """
WITH head AS (
    SELECT COALESCE(MAX(version), 0) AS v, pg_current_xact_id_if_assigned()::text AS xid
    FROM events WHERE stream_id = $1
), ok AS (
    SELECT v FROM head
    WHERE ($2::int IS NULL OR v = $2::int) AND (xid IS NULL OR xid = $3::text)
)"""
# A later append of a transaction (the store's own appends came first: $3 is their transaction
# id) also checks that no younger transaction extended the stream. Only that statement looks up
# the stream's newest writer: in every append it halved the single-event rate on a growing table.
_HEAD_LATER = """
WITH head AS (
    SELECT COALESCE(MAX(version), 0) AS v, pg_current_xact_id_if_assigned()::text AS xid
    FROM events WHERE stream_id = $1
), newest AS (
    SELECT COALESCE(MAX(transaction_id::text::bigint), 0) AS n FROM events WHERE stream_id = $1
), ok AS (
    SELECT v FROM head, newest
    WHERE ($2::int IS NULL OR v = $2::int)
      AND (xid IS NULL OR (xid = $3::text AND newest.n <= xid::bigint))
)"""


def _insert(head: str) -> str:
    """The events' INSERT, after ``head`` (the CTE that holds the stream's head when the checks
    pass, and no row when they fail). ``head`` is one of this module's own CTE names, never
    input, hence the noqa."""
    return f"""
INSERT INTO events (stream_id, version, event_id, type, schema_version, recorded_at, metadata, data)
SELECT $1, {head}.v + r.ord, r.event_id, r.type, r.schema_version, $4, $5::jsonb, r.data
FROM {head}, unnest($6::uuid[], $7::text[], $8::smallint[], $9::jsonb[])
    WITH ORDINALITY AS r(event_id, type, schema_version, data, ord)
RETURNING version, transaction_id::text AS xid
"""  # noqa: S608


_INSERT = _insert("ok")
# one event, the most common append: its values as scalars (arrays cost both sides their
# encoding and the server an unnest)
_INSERT_ONE = """
INSERT INTO events (stream_id, version, event_id, type, schema_version, recorded_at, metadata, data)
SELECT $1, ok.v + 1, $6::uuid, $7::text, $8::smallint, $4, $5::jsonb, $9::jsonb
FROM ok
RETURNING version, transaction_id::text AS xid
"""


def _keyed(head: str) -> str:
    """An append that also records its command's result under the idempotency key, or finds the
    result recorded under it before (a retry: nothing is written, and the first result comes back
    in the same round trip; a failed insert would abort the caller's transaction, so the key is
    never left to the unique index to find). Built of this module's own SQL, never input."""
    return (
        head  # noqa: S608
        + """, prior AS (
    SELECT fingerprint, result::text AS result FROM idempotency_keys WHERE key = $10::text
), fresh AS (
    SELECT v FROM ok WHERE NOT EXISTS (SELECT 1 FROM prior)
), ins AS ("""
        + _insert("fresh")
        + """), idem AS (
    INSERT INTO idempotency_keys (key, fingerprint, result, recorded_at)
    SELECT $10::text, $11::text,
           jsonb_build_object('stream_id', $1::text, 'first_version', MIN(version),
                              'last_version', MAX(version), 'event_ids', to_jsonb($6::uuid[])),
           $4
    FROM ins HAVING COUNT(*) > 0
)
SELECT MIN(version) AS version, MIN(xid) AS xid,
       (SELECT fingerprint FROM prior) AS prior_fingerprint,
       (SELECT result FROM prior) AS prior_result
FROM ins
"""
    )


_APPEND = _HEAD + _INSERT
_APPEND_ONE = _HEAD + _INSERT_ONE
_APPEND_LATER_ONE = _HEAD_LATER + _INSERT_ONE
_APPEND_KEYED = _keyed(_HEAD)
_APPEND_LATER = _HEAD_LATER + _INSERT
_APPEND_LATER_KEYED = _keyed(_HEAD_LATER)
_DIAGNOSE = """
SELECT COALESCE(MAX(version), 0) AS head, pg_current_xact_id_if_assigned()::text AS xid,
       COALESCE(MAX(transaction_id::text::bigint), 0) AS newest
FROM events WHERE stream_id = $1
"""
_READ_ALL = """
SELECT position, transaction_id::text AS xid, stream_id, version, event_id, type, schema_version,
       recorded_at, metadata, data::text AS data
FROM events
WHERE (transaction_id, position) > ($1::text::xid8, $2::bigint)
  AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY transaction_id, position
LIMIT $3
"""
# the same, as the relay publishes it: the metadata's attributes taken out by the server (the
# relay parsed each row's metadata JSON for them), the event id as text
_READ_OUTGOING = """
SELECT position, transaction_id::text AS xid, stream_id, version, event_id::text AS event_id,
       type, schema_version, recorded_at, metadata->>'actor' AS actor,
       metadata->>'correlationid' AS correlationid, metadata->>'causationid' AS causationid,
       metadata->>'traceparent' AS traceparent, data::text AS data
FROM events
WHERE (transaction_id, position) > ($1::text::xid8, $2::bigint)
  AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY transaction_id, position
LIMIT $3
"""
# the same, with data only for the types a reader applies (a projection's runner skips the rest)
_READ_ALL_TYPED = _READ_ALL.replace(
    "data::text AS data", "CASE WHEN type = ANY($4::text[]) THEN data::text ELSE '{}' END AS data"
)
_BATCH_HEADS = """
SELECT pg_current_xact_id_if_assigned()::text AS xid,
       (SELECT COALESCE(json_object_agg(stream_id, head), '{}')::text FROM (
            SELECT stream_id, MAX(version) AS head FROM events
            WHERE stream_id = ANY($1::text[]) GROUP BY stream_id) h) AS heads,
       CASE WHEN pg_current_xact_id_if_assigned() IS NULL THEN 0
            ELSE (SELECT COALESCE(MAX(transaction_id::text::bigint), 0) FROM events
                  WHERE stream_id = ANY($1::text[])) END AS newest
"""
_BATCH_ROWS = """
WITH ins AS (
    INSERT INTO events
        (stream_id, version, event_id, type, schema_version, recorded_at, metadata, data)
    SELECT r.stream_id, r.version, r.event_id, r.type, r.schema_version, $6, {metadata}, r.data
    FROM unnest({arrays})
        AS r(stream_id, version, event_id, type, schema_version, {columns}data)
    RETURNING 1
)"""
# a batch's idempotency keys, recorded by the same statement (streams it starts: none can be
# taken, and one that is fails the batch on the key's unique index, as a concurrent start would)
_BATCH_KEYS = """, idem AS (
    INSERT INTO idempotency_keys (key, fingerprint, result, recorded_at)
    SELECT k.key, k.fingerprint, k.result, $6
    FROM unnest($9::text[], $10::text[], $11::jsonb[]) AS k(key, fingerprint, result)
)"""
# one row back, not one per event: the rows' transaction id is the transaction's own
_BATCH_RESULT = """
SELECT pg_current_xact_id()::text AS xid, (SELECT count(*) FROM ins) AS written
"""
_ARRAYS = "$1::text[], $2::int[], $3::uuid[], $4::text[], $5::smallint[]"


def _batch_insert(*, each: bool, keyed: bool) -> str:
    """The batch's INSERT: one metadata for every event ($7), or each event its stream's own
    ($7 an array: commands grouped into one transaction); with idempotency keys ($9-$11) when
    ``keyed``. Built of this module's own SQL, never input."""
    rows = _BATCH_ROWS.format(
        metadata="r.metadata" if each else "$7::jsonb",
        arrays=f"{_ARRAYS}, $7::jsonb[], $8::jsonb[]" if each else f"{_ARRAYS}, $8::jsonb[]",
        columns="metadata, " if each else "",
    )
    return rows + (_BATCH_KEYS if keyed else "") + _BATCH_RESULT


_BATCH_INSERT = _batch_insert(each=False, keyed=False)
_BATCH_INSERT_EACH = _batch_insert(each=True, keyed=False)
_BATCH_INSERT_KEYED = _batch_insert(each=False, keyed=True)
_BATCH_INSERT_EACH_KEYED = _batch_insert(each=True, keyed=True)
_OVERTAKEN = (
    "a younger transaction extended the stream after this one took its id: its events would "
    "sort first; retry in a new transaction"
)
_BEATEN = "a concurrent append took the stream's next version first; retry in a new transaction"
_REPLAY = "SELECT fingerprint, result FROM idempotency_keys WHERE key = $1"
_KEY_CONSTRAINT = "idempotency_keys_pkey"


def _dumps(value: object) -> str:
    # pydantic-core's encoder: the same compact UTF-8 text as json.dumps, in a third of the time
    return pydantic_core.to_json(value).decode()


def _first_version(rows: Sequence[Any]) -> int | None:
    """The first version an append wrote, from its RETURNING rows; None if it wrote nothing."""
    versions = [row[0] for row in rows if row[0] is not None]
    return min(versions) if versions else None


class PostgresEventStore(EventStore):
    """Production backend (SQLAlchemy async on asyncpg)."""

    dialect = "postgresql"

    def __init__(
        self, engine: AsyncEngine, *, service: str, catalogue: Catalogue = default_catalogue
    ) -> None:
        super().__init__(engine, service=service, catalogue=catalogue)
        self._newest_versions: dict[str, int] = {}
        """Each type's newest schema version, as the relay asks it for every row."""

    def _statement(
        self, pending: PendingAppend, appended_xid: str | None
    ) -> tuple[str, tuple[Any, ...]]:
        """The append's SQL (with or without an idempotency key) and its parameters."""
        events = pending.events
        params = (
            pending.stream_id,
            pending.expected_version,
            appended_xid,
            pending.recorded_at,
            _dumps(pending.metadata),
            [e.event_id for e in events],
            [e.type for e in events],
            [e.schema_version for e in events],
            [_dumps(e.data) for e in events],
        )
        later = appended_xid is not None
        if pending.idempotency_key is None:
            if len(events) == 1:
                one = (*params[:5], *(column[0] for column in params[5:]))
                return (_APPEND_LATER_ONE if later else _APPEND_ONE), one
            return (_APPEND_LATER if later else _APPEND), params
        keyed = _APPEND_LATER_KEYED if later else _APPEND_KEYED
        return keyed, (*params, pending.idempotency_key, pending.fingerprint)

    async def _write(
        self, pending: PendingAppend, connection: AsyncConnection | None
    ) -> AppendResult:
        if connection is not None:
            return await self._write_in(connection, pending)
        # On its own, an append is one autocommitted statement on a pooled asyncpg connection:
        # no BEGIN and COMMIT round trips, and none of SQLAlchemy's per-statement work.
        async with held_driver(self.engine) as driver:
            return await self._write_alone(driver, pending)

    async def _write_alone(
        self, driver: asyncpg.Connection, pending: PendingAppend
    ) -> AppendResult:
        try:
            sql, params = self._statement(pending, None)
            first = _first_version(await driver.fetch(sql, *params))
        except asyncpg.UniqueViolationError as error:
            # a concurrent append took the version, or a concurrent retry took the key
            replayed = await self._replay_driver(driver, pending)
            if replayed is not None:
                return replayed
            if error.constraint_name == _KEY_CONSTRAINT:
                raise IdempotencyKeyReused(pending.idempotency_key or "") from None
            head = await driver.fetchval(_DIAGNOSE, pending.stream_id)
            raise ConcurrencyConflict(
                pending.stream_id, pending.expected_version, int(head)
            ) from None
        if first is not None:
            return pending.result(first)
        replayed = await self._replay_driver(driver, pending)
        if replayed is not None:
            return replayed
        head = await driver.fetchval(_DIAGNOSE, pending.stream_id)
        raise ConcurrencyConflict(pending.stream_id, pending.expected_version, int(head))

    async def append_batch(
        self,
        appends: Sequence[StreamAppend],
        *,
        connection: AsyncConnection,
        metadata: Metadata | None = None,
    ) -> list[AppendResult]:
        # Two statements for the whole batch: the heads of the streams it extends (and the
        # write-order check), then one INSERT of every event. A new stream's version 1 taken by
        # a concurrent writer fails the unique (stream, version) key, as a single append would.
        if not appends:
            return []
        if not tuning.FAST_PATHS.batch_append:
            # the slow twin: each stream appended on its own, with every check of one append
            return await super().append_batch(appends, connection=connection, metadata=metadata)
        check_keyed(appends)
        metadata = metadata or Metadata()
        traceparent = current_traceparent() if tracing_enabled() else None
        pendings = [
            self._pending(
                a.stream_id,
                a.expected_version,
                [self.catalogue.encode(event) for event in a.events],
                a.metadata or metadata,
                traceparent if a.metadata is None else None,
                a.idempotency_key,
                a.fingerprint,
            )
            for a in appends
        ]
        if any(not p.events for p in pendings):
            raise ValueError("an append needs at least one event")
        extended = [p.stream_id for p in pendings if p.expected_version]
        check = (await connection.exec_driver_sql(_BATCH_HEADS, (extended,))).one()
        if check.xid is not None and int(check.newest) > int(check.xid):
            raise WriteOrderError(_OVERTAKEN)
        heads = json.loads(check.heads)
        for p in pendings:
            head = int(heads.get(p.stream_id, 0))
            if head != p.expected_version:
                raise ConcurrencyConflict(p.stream_id, p.expected_version, head)
        columns: tuple[list[Any], ...] = ([], [], [], [], [], [], [])
        shared = all(p.metadata == pendings[0].metadata for p in pendings)
        for p in pendings:
            assert p.expected_version is not None
            metadata_json = None if shared else _dumps(p.metadata)
            for offset, row in enumerate(p.events, 1):
                columns[0].append(p.stream_id)
                columns[1].append(p.expected_version + offset)
                columns[2].append(row.event_id)
                columns[3].append(row.type)
                columns[4].append(row.schema_version)
                columns[5].append(metadata_json)
                columns[6].append(_dumps(row.data))
        recorded_at = pendings[0].recorded_at
        # one metadata for the whole batch (an import) is sent once, not once per event
        statement, metadata_param = (
            (_BATCH_INSERT, _dumps(pendings[0].metadata))
            if shared
            else (_BATCH_INSERT_EACH, columns[5])
        )
        params: tuple[Any, ...] = (*columns[:5], recorded_at, metadata_param, columns[6])
        keyed = [p for p in pendings if p.idempotency_key is not None]
        if keyed:
            statement = _BATCH_INSERT_KEYED if shared else _BATCH_INSERT_EACH_KEYED
            params += (
                [p.idempotency_key for p in keyed],
                [p.fingerprint for p in keyed],
                [_dumps(p.result(1, recorded_at).to_json()) for p in keyed],
            )
        try:
            result = await connection.exec_driver_sql(statement, params)
        except IntegrityError:
            raise ConcurrencyConflict("a stream of the batch", None, 0) from None
        connection.info[_APPENDED_XID] = result.one().xid
        return [p.result((p.expected_version or 0) + 1, recorded_at) for p in pendings]

    async def _replay_driver(
        self, driver: asyncpg.Connection, pending: PendingAppend
    ) -> AppendResult | None:
        if pending.idempotency_key is None:
            return None
        row = await driver.fetchrow(_REPLAY, pending.idempotency_key)
        if row is None:
            return None
        if row["fingerprint"] != pending.fingerprint:
            raise IdempotencyKeyReused(pending.idempotency_key)
        return AppendResult.from_json(row["result"])

    async def _write_in(self, conn: AsyncConnection, pending: PendingAppend) -> AppendResult:
        try:
            result = await conn.exec_driver_sql(
                *self._statement(pending, conn.info.get(_APPENDED_XID))
            )
        except IntegrityError:
            # a concurrent append took the next version (or a concurrent retry took the key);
            # the caller's transaction is aborted, so the stream's head cannot be read here. An
            # append at any version was only beaten to it: its work runs again, and passes
            if pending.expected_version is None:
                raise WriteOrderError(_BEATEN) from None
            raise ConcurrencyConflict(
                pending.stream_id, pending.expected_version, (pending.expected_version or 0) + 1
            ) from None
        rows = result.all()
        if pending.idempotency_key is not None and rows[0].prior_result is not None:
            if rows[0].prior_fingerprint != pending.fingerprint:
                raise IdempotencyKeyReused(pending.idempotency_key)
            return AppendResult.from_json(json.loads(rows[0].prior_result))
        first = _first_version(rows)
        if first is not None:
            conn.info[_APPENDED_XID] = rows[0].xid
            return pending.result(first)
        diagnosis = (await conn.exec_driver_sql(_DIAGNOSE, (pending.stream_id,))).one()
        if diagnosis.xid is not None and int(diagnosis.newest) > int(diagnosis.xid):
            raise WriteOrderError(_OVERTAKEN)
        if diagnosis.xid is not None and diagnosis.xid != conn.info.get(_APPENDED_XID):
            # the transaction took its id with another write (a reaction's read model, a key
            # store) and no younger transaction extended the stream: the append runs again as a
            # later one, and so do the transaction's next appends (each checks the stream's
            # newest writer)
            conn.info[_APPENDED_XID] = diagnosis.xid
            return await self._write_in(conn, pending)
        raise ConcurrencyConflict(pending.stream_id, pending.expected_version, diagnosis.head)

    def _transaction_id_column(self) -> sa.ColumnElement[int]:
        return sa.cast(sa.cast(self._events.c.transaction_id, sa.Text), sa.BigInteger).label(
            "transaction_id"
        )

    async def _read_all(
        self, conn: AsyncConnection, after: Checkpoint, limit: int
    ) -> list[StoredEvent]:
        params = (str(after.transaction_id), after.position, limit)
        rows = (await conn.exec_driver_sql(_READ_ALL, params)).all()
        return [self._stored_row(row._mapping) for row in rows]

    async def _read_all_alone(
        self, after: Checkpoint, limit: int, types: frozenset[str] | None = None
    ) -> list[StoredEvent]:
        # the relay's hot path: raw rows on a pooled asyncpg connection, no SQLAlchemy per row
        async with held_driver(self.engine, hold=False) as driver:
            position = (str(after.transaction_id), after.position, limit)
            if types is None:
                rows = await driver.fetch(_READ_ALL, *position)
            else:
                rows = await driver.fetch(_READ_ALL_TYPED, *position, sorted(types))
        return [self._stored_row(row) for row in rows]

    async def read_outgoing(self, after: Checkpoint, *, limit: int) -> list[Outgoing]:
        # the relay's hot path: each message made straight from its row, no envelope between
        async with held_driver(self.engine, hold=False) as driver:
            rows = await driver.fetch(
                _READ_OUTGOING, str(after.transaction_id), after.position, limit
            )
        source, newest = self._source, self._newest_versions
        out = []
        for row in rows:
            type_, version, subject = row["type"], row["schema_version"], row["stream_id"]
            checkpoint = Checkpoint(int(row["xid"]), row["position"])
            if version != (newest.get(type_) or self._newest_version(type_)):
                out.append(Outgoing.of(self._outgoing_stored(row, checkpoint), self.catalogue))
                continue
            headers = kafka_headers(
                type_headers(source, type_, dataschema_for(type_, version)),
                row["event_id"], subject, row["recorded_at"], row["version"],
                row["actor"], row["correlationid"], row["causationid"], row["traceparent"],
            )  # fmt: skip
            out.append(
                Outgoing(
                    checkpoint, subject, subject.encode(), row["data"].encode(), headers,
                    row["traceparent"],
                )
            )  # fmt: skip
        return out

    def _newest_version(self, type_: str) -> int:
        version = self._newest_versions[type_] = self.catalogue.entry(type_).version
        return version

    def _outgoing_stored(self, row: ColumnsByName, checkpoint: Checkpoint) -> StoredEvent:
        """A row of ``_READ_OUTGOING`` as a stored event, for an event recorded at an older
        version (upcast before it is published)."""
        type_, version = row["type"], row["schema_version"]
        envelope = Envelope(
            id=UUID(row["event_id"]), source=self._source, type=type_, subject=row["stream_id"],
            time=row["recorded_at"], dataschema=dataschema_for(type_, version),
            sequence=row["version"], actor=row["actor"], correlationid=row["correlationid"],
            causationid=row["causationid"], traceparent=row["traceparent"],
        )  # fmt: skip
        return StoredEvent(envelope, version, checkpoint, json_data=row["data"].encode())

    def _stored_row(self, row: ColumnsByName) -> StoredEvent:
        # the data stays the JSON text PostgreSQL returned, which the relay publishes as it is
        return StoredEvent(
            self._envelope(row),
            row["schema_version"],
            Checkpoint(int(row["xid"]), row["position"]),
            json_data=row["data"].encode(),
        )

    @asynccontextmanager
    async def try_exclusive(self, name: str) -> AsyncIterator[bool]:
        """A session advisory lock if it is free at once; yields whether it was."""
        async with self.engine.connect() as conn:
            got = bool(
                await conn.scalar(
                    sa.text("SELECT pg_try_advisory_lock(hashtext(:name))"), {"name": name}
                )
            )
            await conn.commit()
            try:
                yield got
            finally:
                if got:
                    await conn.execute(
                        sa.text("SELECT pg_advisory_unlock(hashtext(:name))"), {"name": name}
                    )
                    await conn.commit()

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
