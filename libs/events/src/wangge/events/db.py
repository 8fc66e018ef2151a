"""Database engines for the two backends: PostgreSQL (asyncpg) in production, SQLite embedded.

Engines are made by the caller's ``start()`` or app lifespan, never at import.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Hashable,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar, cast

import asyncpg
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from wangge.events import tuning
from wangge.events.runner_state import GENERATIONS_OPTION, GenerationMemo

T = TypeVar("T")

READ_ONLY = "wangge_read_only"
"""The execution option that marks a connection as a reader (SQLite: a deferred BEGIN)."""


def sqlite_url(path: str | Path) -> str:
    """The SQLAlchemy URL of a SQLite file, creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{path}"


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` and ``sqlite://`` URLs, and pick the async drivers."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def create_engine(
    url: str, *, pool_size: int = 10, generations: GenerationMemo | None = None, **kwargs: Any
) -> AsyncEngine:
    """An async engine tuned for the event store on either backend.

    The engine carries ``generations``, the memo its readers look projections' active
    generations up in (a new one unless the caller, who hands it to the runners, made it).
    """
    url = normalise_url(url)
    options = {GENERATIONS_OPTION: GenerationMemo() if generations is None else generations}
    kwargs["execution_options"] = {**kwargs.get("execution_options", {}), **options}
    if url.startswith("sqlite"):
        engine = create_async_engine(url, **kwargs)
        _make_sqlite_transactions_immediate(engine)
        return engine
    # No pool_pre_ping: on asyncpg it costs three round trips (BEGIN, ping, ROLLBACK) per
    # checkout, which more than doubles the cost of an append. A connection broken by a server
    # restart fails one statement, is invalidated by SQLAlchemy and replaced; recycling bounds
    # how long idle connections live behind a proxy or load balancer.
    settings: dict[str, Any] = {
        "pool_size": pool_size,
        "max_overflow": pool_size,
        "pool_recycle": 1800,
    }
    settings.update(kwargs)
    return create_async_engine(url, **settings)


def _make_sqlite_transactions_immediate(engine: AsyncEngine) -> None:
    # pysqlite starts transactions lazily, at the first write, so two connections can both read
    # a stream head and then fail with SQLITE_BUSY when upgrading to a write lock. BEGIN IMMEDIATE
    # takes the write lock up front: one writer at a time, in commit order, which is also what
    # makes reading the log by position safe on SQLite.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # a reader (see read_only) must not hold the write lock while a command writes
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


@asynccontextmanager
async def read_only(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for queries: a read-only transaction that never blocks a writer."""
    async with engine.connect() as conn:
        options: dict[str, Any] = {READ_ONLY: True}
        if engine.dialect.name == "postgresql":
            options["postgresql_readonly"] = True
        yield await conn.execution_options(**options)


async def lock_keys(conn: AsyncConnection, keys: Collection[str], *, shared: bool = False) -> None:
    """Hold named locks until the connection's transaction ends (PostgreSQL advisory locks;
    SQLite has one writer at a time, and its write transactions begin by taking it).

    Two transactions that each read what the other may be writing (a ticket's neighbours at its
    address, a grid's worker) take the same key first, so the second reads after the first
    committed. All of a transaction's keys are taken at once, in one order, so two transactions
    can never each hold a key the other waits for; ``shared`` ones only wait for exclusive ones.
    Taking a lock writes nothing: the transaction's id is still taken by its first append.
    """
    if conn.dialect.name != "postgresql" or not keys:
        return
    take = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    await conn.exec_driver_sql(
        # take is one of the two function names above, never input
        f"SELECT {take}(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k",  # noqa: S608
        (sorted(set(keys)),),
    )


COPY_FROM_ROWS = 8
"""Fewer rows than this are inserted with one INSERT statement rather than COPY."""


async def insert_many(
    conn: AsyncConnection, table: sa.Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert many rows in the connection's transaction: COPY on PostgreSQL.

    An executemany INSERT costs SQLAlchemy a parameter dict per row and PostgreSQL a statement
    per row; COPY streams the rows in binary. Bulk writers (an import, a read model folding
    thousands of new streams) use it. A column some row leaves out is NULL there, and
    Python-side column defaults are not applied. A duplicate key raises
    :class:`sqlalchemy.exc.IntegrityError`, as the INSERT would.
    """
    if not rows:
        return
    driver = None
    # only COPY needs the driver's connection; a few rows (each intake's) never ask for it
    if conn.dialect.name == "postgresql" and len(rows) >= COPY_FROM_ROWS and tuning.FAST_PATHS.copy:
        driver = (await conn.get_raw_connection()).driver_connection
    # SQLAlchemy opens PostgreSQL's transaction at the first statement: COPY before that would
    # commit on its own, so it waits for one
    columns = list(dict.fromkeys(key for row in rows for key in row))
    # COPY asks the server for the table's columns first: a few rows go faster as an INSERT
    if driver is None or not driver.is_in_transaction() or len(rows) < COPY_FROM_ROWS:
        values = [{c: row.get(c) for c in columns} for row in rows]
        # one row as one row: a list of one would take the driver's executemany path
        await conn.execute(sa.insert(table), values[0] if len(values) == 1 else values)
        return
    records: list[Sequence[Any]]
    if all(len(row) == len(columns) for row in rows):
        pick = itemgetter(*columns)
        records = (
            [pick(row) for row in rows]
            if len(columns) > 1
            else [(row[columns[0]],) for row in rows]
        )
    else:
        records = [tuple(row.get(name) for name in columns) for row in rows]
    dialect = conn.dialect
    for index, name in enumerate(columns):
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            records = [
                (*r[:index], None if r[index] is None else process(r[index]), *r[index + 1 :])
                for r in records
            ]
    try:
        await driver.copy_records_to_table(table.name, records=records, columns=columns)
    except asyncpg.IntegrityConstraintViolationError as error:
        raise sa.exc.IntegrityError(f"COPY {table.name}", None, error) from error


_remembered: weakref.WeakKeyDictionary[sa.Engine, dict[Hashable, tuple[object, float]]] = (
    weakref.WeakKeyDictionary()
)


async def remembered(
    conn: AsyncConnection,
    key: Hashable,
    read: Callable[[AsyncConnection], Awaitable[T]],
    *,
    seconds: float,
) -> T:
    """What ``read`` returned on this database in the last ``seconds``, else read it now.

    For small reads that nearly every request makes and that change rarely (a grid map's
    community names, read by every ticket's routing): a request may see them up to ``seconds``
    old, the same bound a read model's generation has (``tuning.GENERATION_MEMO_SECONDS``).
    ``key`` names the read (with the generation's table in it, so a rebuild's swap is a new key).
    An empty answer (None, an empty list) is never remembered.
    """
    known = _remembered.setdefault(conn.sync_engine, {})
    now = time.monotonic()
    hit = known.get(key)
    if hit is not None and now - hit[1] < seconds:
        return cast(T, hit[0])
    value = await read(conn)
    if value:  # an empty answer (a read model still filling) is read again next time
        known[key] = (value, now)
    return value
