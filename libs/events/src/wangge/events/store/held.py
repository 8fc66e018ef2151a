"""The asyncpg connections a PostgreSQL store's lone statements run on, held between them.

An append outside a transaction, and the relay's and the runners' reads of the log, are one
statement each on an asyncpg connection, without SQLAlchemy's per-statement work. Checking the
connection out of SQLAlchemy's pool and back in around each one was a third of a lone append's
Python time (two greenlet switches, the pool's bookkeeping and its reset on return), so the
stores of an engine keep up to its pool's size of them between lone appends and hand them on
directly. They are detached from the pool (the pool's own connections stay free for requests:
held ones counted against it made it open and close overflow connections under read load, and
doubled the registry's lookup p99), so an engine may have up to its pool's size more
connections open.

A connection unused for ``IDLE_SECONDS`` is closed; a broken one is invalidated, and the others
held with it are closed too (a database restart breaks them all); the engine's ``dispose``
closes them, as it closes its pool's.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from wangge.events.faults import is_outage

IDLE_SECONDS = 30.0
"""How long a held connection may go unused before it is closed."""


class _Held:
    """One engine's held connections, the most recently used last."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.idle: list[tuple[PoolProxiedConnection, asyncpg.Connection, float]] = []
        """(the pool's wrapper, its asyncpg connection, when last used): a detached wrapper no
        longer names its driver's connection."""

    def drop(self) -> None:
        """Close every idle one (in a greenlet: the adapter awaits inside one). Invalidated, not
        given back: a disposed engine's old pool would keep them open, and after one broke the
        others were most likely broken with it."""
        idle, self.idle = self.idle, []
        for raw, _, _ in idle:
            raw.invalidate()


_HELD: weakref.WeakKeyDictionary[Engine, _Held] = weakref.WeakKeyDictionary()


def _held(engine: AsyncEngine) -> _Held:
    sync = engine.sync_engine
    held = _HELD.get(sync)
    if held is None:
        size = getattr(sync.pool, "size", None)
        held = _HELD[sync] = _Held(keep=size() if callable(size) else 0)
        event.listen(sync, "engine_disposed", lambda _: held.drop())
    return held


@asynccontextmanager
async def driver(engine: AsyncEngine, *, hold: bool = True) -> AsyncIterator[asyncpg.Connection]:
    """An asyncpg connection for one statement outside a transaction; ``hold``: kept for the
    next one afterwards (a lone append), else given back to the pool (a runner's or the relay's
    read, a statement per batch: holding those between polls cost the service's requests their
    pooled connections)."""
    held = _held(engine)
    raw, connection = await _take(engine, held if hold else None)
    broken = False
    try:
        yield connection
    except BaseException as error:
        # a statement's own error (a conflict) leaves the connection usable; a cancelled one
        # may have left asyncpg mid-exchange, so it is not used again either
        dead = connection.is_closed() or is_outage(error) or isinstance(error, _UNUSABLE)
        broken = dead or not isinstance(error, Exception)
        if broken:
            await greenlet_spawn(raw.invalidate)
        if dead:  # the others most likely went with it (a restart)
            await greenlet_spawn(held.drop)
        if isinstance(error, asyncpg.InternalClientError):
            # the server ended the connection while a statement was being sent (a restart
            # caught mid-exchange leaves asyncpg's protocol "in another operation"): an outage,
            # which the caller answers as one, not a fault of the statement
            raise ConnectionResetError("the database ended the connection") from error
        raise
    finally:
        keep = hold and not broken and len(held.idle) < held.keep
        if keep and not connection.is_in_transaction():
            if not raw.is_detached:
                # out of the pool's count: what the stores hold never leaves the engine's
                # requests fewer pooled connections (the pool then churned new ones for them)
                raw.detach()
            held.idle.append((raw, connection, time.monotonic()))
        else:
            await greenlet_spawn(raw.close)


_UNUSABLE = (asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)
"""Errors after which a connection is not used again (else the next statement on it fails)."""


async def _take(
    engine: AsyncEngine, held: _Held | None
) -> tuple[PoolProxiedConnection, asyncpg.Connection]:
    """A held connection used lately (``held``: a lone append's), else one from the pool; never
    one the server closed (asyncpg notices a closed socket without a round trip)."""
    now = time.monotonic()
    while held and held.idle and now - held.idle[0][2] >= IDLE_SECONDS:
        stale = held.idle.pop(0)[0]
        await greenlet_spawn(stale.close)  # unused for long: closed (the pool opens afresh)
    while True:
        if held and held.idle:
            raw, connection, _ = held.idle.pop()
        else:
            raw = await engine.raw_connection()
            driver = raw.driver_connection
            assert isinstance(driver, asyncpg.Connection)
            connection = driver
        if not connection.is_closed():
            return raw, connection
        await greenlet_spawn(raw.invalidate)
