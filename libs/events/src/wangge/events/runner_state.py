"""The projection runner's own tables, in the read model's database, and the queries on them.

Each projection keeps, per generation of its tables: the source positions it has applied up to
(``projection_positions``), the last version it applied of every stream (to drop events that
arrive twice), and the events it parked (``projection_parked``: an event its handler could not
apply, and every later event of the same stream, waiting in order for a retry or a skip).
Readers find a projection's active generation through the engine's :class:`GenerationMemo`.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from wangge.events import tuning
from wangge.events.store.tables import UTCDateTime
from wangge.events.tuning import GENERATION_MEMO_SECONDS

state = sa.MetaData()
generations = sa.Table(
    "projection_generations",
    state,
    sa.Column("projection", sa.String(200), primary_key=True),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)
positions = sa.Table(
    "projection_positions",
    state,
    sa.Column("projection", sa.String(200), primary_key=True),
    sa.Column("generation", sa.Integer, primary_key=True),
    sa.Column("source_key", sa.String(300), primary_key=True),
    sa.Column("position", sa.String(100), nullable=False),
)
applied_versions = sa.Table(
    "projection_stream_versions",
    state,
    sa.Column("projection", sa.String(200), primary_key=True),
    sa.Column("generation", sa.Integer, primary_key=True),
    sa.Column("stream_id", sa.String(200), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)
covered = sa.Table(
    "projection_covered_spans",
    state,
    # a stretch of the log a bulk transaction applied inline: every event in it is applied or
    # not the projection's, so its runner steps over it (ADR 0012)
    sa.Column("projection", sa.String(200), primary_key=True),
    sa.Column("generation", sa.Integer, primary_key=True),
    sa.Column("first_transaction", sa.BigInteger, primary_key=True),
    sa.Column("first_position", sa.BigInteger, primary_key=True),
    sa.Column("last_transaction", sa.BigInteger, nullable=False),
    sa.Column("last_position", sa.BigInteger, nullable=False),
)
parked = sa.Table(
    "projection_parked",
    state,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("projection", sa.String(200), nullable=False),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("stream_id", sa.String(200), nullable=False),
    sa.Column("sequence", sa.Integer, nullable=False),
    sa.Column("event_id", sa.String(200), nullable=False),
    sa.Column("event_type", sa.String(200), nullable=False),
    sa.Column("source_key", sa.String(300), nullable=False),
    sa.Column("position", sa.String(100), nullable=False),
    # the event as it arrived (CloudEvents attributes and data as JSON text), so that a retry
    # applies it again without its source: a Kafka topic may have dropped it by then. Sealed
    # personal fields stay sealed here, as on the topic.
    sa.Column("attributes", sa.JSON, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("reason", sa.String(400), nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("parked_at", UTCDateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=1),
    sa.Column("retry_requested", sa.Boolean, nullable=False, default=False),
    sa.UniqueConstraint("projection", "generation", "event_id", name="uq_projection_parked_event"),
    sa.Index("ix_projection_parked_stream", "projection", "generation", "stream_id", "sequence"),
)


GENERATIONS_OPTION = "wangge_generations"
"""The engine's execution option that carries its :class:`GenerationMemo`."""


class GenerationMemo:
    """The active generation of each projection as this process last read it, trusted for
    :data:`~wangge.events.tuning.GENERATION_MEMO_SECONDS` (every read model query needs it).

    ``wangge.events.db.create_engine`` makes one per engine and hangs it on the engine, so a
    reader finds it from its connection; the service state and the engine's runners hold the
    same one, and a runner that swaps generations forgets the projection's there, so this
    process's readers see its own swap at once. It lives beside the table it reads so that
    making an engine needs nothing of the projection machinery.
    """

    def __init__(self, *, seconds: float | None = None) -> None:
        if seconds is None:
            # switched off (ADR 0007), every read asks the table
            seconds = GENERATION_MEMO_SECONDS if tuning.FAST_PATHS.generation_memo else 0.0
        self.seconds = seconds
        self._known: dict[str, tuple[int, float]] = {}

    async def active(self, conn: AsyncConnection, projection: str, *, fresh: bool = False) -> int:
        """The projection's active generation (0 before its first start), read again when the
        one known is older than :attr:`seconds` or ``fresh`` is asked for."""
        now = time.monotonic()
        if not fresh:
            hit = self._known.get(projection)
            if hit is not None and now - hit[1] < self.seconds:
                return hit[0]
        value = await read_generation(conn, projection)
        if value:  # a projection that has not started yet is looked up again next time
            self._known[projection] = (value, now)
        return value

    def forget(self, projection: str) -> None:
        """A swap of the projection's generation: the next reader reads it afresh."""
        self._known.pop(projection, None)


def generation_memo(source: AsyncConnection | AsyncEngine) -> GenerationMemo | None:
    """The memo an engine (or a connection's engine) carries; None for an engine not made by
    ``wangge.events.db.create_engine`` (its readers read the table every time)."""
    memo = source.sync_engine.get_execution_options().get(GENERATIONS_OPTION)
    return memo if isinstance(memo, GenerationMemo) else None


async def read_generation(conn: AsyncConnection, projection: str) -> int:
    """The projection's active generation as the table holds it now (0 before its first start)."""
    generation = await conn.scalar(
        sa.select(generations.c.generation).where(generations.c.projection == projection)
    )
    return int(generation or 0)


@dataclass(frozen=True, slots=True)
class StreamStates:
    """What a generation has done with some streams: the last version applied of each, and
    which of them wait behind a parked event."""

    applied: dict[str, int]
    parked: set[str]


# One index probe per stream, whatever the statistics say. ``stream_id IN (...)`` lets
# PostgreSQL's planner, while it believes a generation has few rows (a rebuild's new one, not
# analysed yet), scan the whole generation and test each row against the list instead: seconds
# per batch once the generation holds 100,000 streams, where this takes milliseconds. The parked
# check is one more probe per stream of an index that is nearly always empty.
_APPLIED = """
    SELECT v.version FROM projection_stream_versions AS v
    WHERE v.projection = $1 AND v.generation = $2 AND v.stream_id = s.stream_id
"""
_PARKED = """
    SELECT 1 FROM projection_parked AS p
    WHERE p.projection = $1 AND p.generation = $2 AND p.stream_id = s.stream_id
"""
_STREAMS = "FROM unnest($3::text[]) AS s(stream_id)"
_APPLIED_VERSIONS = f"SELECT s.stream_id, ({_APPLIED}) AS version, false AS parked {_STREAMS}"
_STREAM_STATES = (
    f"SELECT s.stream_id, ({_APPLIED}) AS version, EXISTS ({_PARKED}) AS parked {_STREAMS}"
)


async def stream_states(
    conn: AsyncConnection,
    projection: str,
    generation: int,
    streams: Collection[str],
    *,
    with_parked: bool = True,
) -> StreamStates:
    """The applied version and (``with_parked``) parked state of each of ``streams``."""
    if not streams:
        return StreamStates({}, set())
    if conn.dialect.name == "postgresql":
        query = _STREAM_STATES if with_parked else _APPLIED_VERSIONS
        rows = list(await conn.exec_driver_sql(query, (projection, generation, list(streams))))
        return StreamStates(
            {row.stream_id: row.version for row in rows if row.version is not None},
            {row.stream_id for row in rows if row.parked},
        )
    key = (applied_versions.c.projection == projection) & (
        applied_versions.c.generation == generation
    )
    rows = list(
        await conn.execute(
            sa.select(applied_versions.c.stream_id, applied_versions.c.version).where(
                key, applied_versions.c.stream_id.in_(streams)
            )
        )
    )
    if not with_parked:
        return StreamStates({row.stream_id: row.version for row in rows}, set())
    waiting = await conn.scalars(
        sa.select(parked.c.stream_id)
        .distinct()
        .where(
            parked.c.projection == projection,
            parked.c.generation == generation,
            parked.c.stream_id.in_(streams),
        )
    )
    return StreamStates({row.stream_id: row.version for row in rows}, set(waiting))


async def applied_versions_of(
    conn: AsyncConnection, projection: str, generation: int, streams: Collection[str]
) -> dict[str, int]:
    """The version of each of ``streams`` the projection's generation has applied (if any)."""
    states = await stream_states(conn, projection, generation, streams, with_parked=False)
    return states.applied


async def upsert(
    conn: AsyncConnection, table: sa.Table, rows: list[dict[str, Any]], *, value: str
) -> None:
    """Insert rows, or update ``value`` where the key exists; one statement on both backends.

    On PostgreSQL many rows go as one array per column, unnested by the server: an executemany
    was a statement per row for both sides (a rebuild's batch saves a version for each of up to
    thousands of streams). A key given twice keeps its last row, as the rows one by one would.
    """
    if not rows:
        return
    if conn.dialect.name == "postgresql" and len(rows) >= UNNEST_ROWS and tuning.FAST_PATHS.copy:
        await _upsert_unnested(conn, table, rows, value=value)
        return
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = dialect_insert(table)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=list(table.primary_key.columns),
            set_={value: statement.excluded[value]},
        ),
        rows,
    )


# A batch's bookkeeping in one round trip: the versions of the streams it started (a plain
# INSERT, so a version already saved fails the batch as the COPY would), of those it continued,
# and its source positions. A runner in the steady state saves a few rows of each after every
# short batch: three statements were three round trips, a tenth of a view's CPU under intake.
_SAVE_BATCH = """
    WITH fresh AS (
        INSERT INTO projection_stream_versions (projection, generation, stream_id, version)
        SELECT $1::text, $2::integer, t.s, t.v FROM unnest($3::text[], $4::integer[]) AS t(s, v)
    ), again AS (
        INSERT INTO projection_stream_versions (projection, generation, stream_id, version)
        SELECT $1::text, $2::integer, t.s, t.v FROM unnest($5::text[], $6::integer[]) AS t(s, v)
        ON CONFLICT (projection, generation, stream_id) DO UPDATE SET version = excluded.version
    )
    INSERT INTO projection_positions (projection, generation, source_key, position)
    SELECT $1::text, $2::integer, t.k, t.p FROM unnest($7::text[], $8::text[]) AS t(k, p)
    ON CONFLICT (projection, generation, source_key) DO UPDATE SET position = excluded.position
"""


async def save_batch(
    conn: AsyncConnection,
    projection: str,
    generation: int,
    *,
    fresh: Mapping[str, int],
    again: Mapping[str, int],
    places: Mapping[str, str],
) -> None:
    """Save a batch's stream versions (``fresh``: streams with no version saved yet, inserted;
    ``again``: streams with one, updated) and source positions, in the batch's transaction."""
    if conn.dialect.name == "postgresql" and tuning.FAST_PATHS.copy:
        await conn.exec_driver_sql(
            _SAVE_BATCH,
            (
                projection, generation, list(fresh), list(fresh.values()),
                list(again), list(again.values()), list(places), list(places.values()),
            ),
        )  # fmt: skip
        return
    key = {"projection": projection, "generation": generation}
    if fresh:
        rows = [{**key, "stream_id": s, "version": v} for s, v in fresh.items()]
        await conn.execute(sa.insert(applied_versions), rows[0] if len(rows) == 1 else rows)
    await upsert(
        conn, applied_versions, [{**key, "stream_id": s, "version": v} for s, v in again.items()],
        value="version",
    )  # fmt: skip
    await upsert(
        conn, positions, [{**key, "source_key": k, "position": p} for k, p in places.items()],
        value="position",
    )  # fmt: skip


UNNEST_ROWS = 16
"""From how many rows an upsert on PostgreSQL sends arrays instead of a statement per row."""


async def _upsert_unnested(
    conn: AsyncConnection, table: sa.Table, rows: list[dict[str, Any]], *, value: str
) -> None:
    key = list(table.primary_key.columns)
    last = {tuple(row[column.name] for column in key): row for row in rows}
    names = list(rows[0])
    kept = list(last.values())
    arrays = [
        sa.bindparam(f"unnest_{name}", [row[name] for row in kept], ARRAY(table.c[name].type))
        for name in names
    ]
    source = sa.func.unnest(*arrays).table_valued(*names).render_derived()
    statement = pg_insert(table).from_select(names, sa.select(*(source.c[n] for n in names)))
    await conn.execute(
        statement.on_conflict_do_update(index_elements=key, set_={value: statement.excluded[value]})
    )
