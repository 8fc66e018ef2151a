"""Telling an outage from a fault of the work itself, and keeping outages quiet in the log.

A database restart, a broker that is gone for a minute or a reset connection are outages: the
same work succeeds once the dependency is back, so a worker waits and starts again, and a
request is answered 503 with ``Retry-After``. Anything else that fails (a handler's bug, an event
a handler cannot apply) fails again on every attempt, so it is treated as the work's own fault:
a projection parks the event instead of retrying it forever.

An outage also makes client libraries log every reconnect attempt (aiokafka wrote 82,000 error
lines during a 39-second broker outage); :class:`RepeatFilter` lets the first of each kind through
and then counts the rest, so an outage reads as a few lines with counts.
"""

from __future__ import annotations

import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator

import sqlalchemy.exc
from aiokafka.errors import KafkaError

from wangge.events.errors import WriteOrderError

# SQLSTATE classes that say the server, not the statement, is the problem: connection exceptions
# (08), insufficient resources (53: too many connections), operator intervention (57P: shutting
# down, starting up), and the transaction conflicts that succeed when run again (40001, 40P01)
_OUTAGE_SQLSTATES = ("08", "53", "57P", "40001", "40P01")


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error and everything it wraps (SQLAlchemy's ``orig``, causes and contexts)."""
    seen: set[int] = set()
    todo: list[BaseException] = [error]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for inner in (getattr(current, "orig", None), current.__cause__, current.__context__):
            if isinstance(inner, BaseException):
                todo.append(inner)


def _is_outage_itself(error: BaseException) -> bool:
    if isinstance(error, ConnectionError | TimeoutError | socket.gaierror | KafkaError):
        return True
    if type(error) is OSError:  # asyncio's "Multiple exceptions" of a connect to every address
        return True
    if isinstance(error, WriteOrderError):  # overtaken on every attempt: a busy stream
        return True
    if isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sqlalchemy.exc.TimeoutError | sqlalchemy.exc.DisconnectionError):
        return True  # no pooled connection came free in time; the server went away
    if isinstance(error, sqlite3.OperationalError):
        # the embedded store's one write lock stayed taken past the busy timeout
        return "locked" in str(error) or "busy" in str(error)
    sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if isinstance(sqlstate, str):
        return sqlstate.startswith(_OUTAGE_SQLSTATES)
    return type(error).__module__.startswith("asyncpg") and "Connection" in type(error).__name__


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` says a dependency (the database, the broker) is unreachable or
    restarting, so that the same work succeeds later, rather than the work being at fault."""
    return any(_is_outage_itself(inner) for inner in _chain(error))


def is_transaction_conflict(error: BaseException) -> bool:
    """Whether ``error`` is PostgreSQL refusing a transaction for another's sake (a deadlock, a
    serialisation failure): the same work in smaller transactions usually passes."""
    return any(getattr(inner, "sqlstate", None) in ("40001", "40P01") for inner in _chain(error))


def first_line(error: BaseException, *, limit: int = 200) -> str:
    """The first line of an error's message, cut to ``limit`` characters (for a short reason)."""
    lines = str(error).strip().splitlines()
    return lines[0][:limit] if lines else ""


class RepeatFilter(logging.Filter):
    """Lets the first record of each kind through, then counts its repeats.

    A kind is a logger and a message template (``Unable connect to node with id %s``): the
    arguments differ from attempt to attempt, the kind does not. After ``window`` seconds the
    next record of a kind passes again, saying how many were held back since the last one, so
    a long outage still shows in the log once a window, and its end shows when the count stops.
    Records below ``level`` (and of loggers not under ``prefixes``, when given) always pass.
    """

    def __init__(
        self,
        *,
        window: float = 60.0,
        level: int = logging.WARNING,
        prefixes: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.window = window
        self.level = level
        self.prefixes = prefixes
        self._kinds: dict[tuple[str, str], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.level:
            return True
        if self.prefixes and not record.name.startswith(self.prefixes):
            return True
        kind = (record.name, str(record.msg))
        now = time.monotonic()
        with self._lock:
            passed, held = self._kinds.get(kind, (-self.window - 1.0, 0))
            if now - passed < self.window:
                self._kinds[kind] = (passed, held + 1)
                return False
            self._kinds[kind] = (now, 0)
        if held:
            record.msg = f"{record.msg} (and {held} more like it in the last {now - passed:.0f} s)"
        return True


NOISY_CLIENT_LOGGERS = ("aiokafka", "kafka", "asyncpg", "sqlalchemy.pool")
"""Client libraries that log every reconnect attempt while a dependency is down."""


def quiet_repeats(handler: logging.Handler, *, window: float = 60.0) -> logging.Handler:
    """Install a :class:`RepeatFilter` for the client libraries' own warnings on ``handler``."""
    if not any(isinstance(f, RepeatFilter) for f in handler.filters):
        handler.addFilter(RepeatFilter(window=window, prefixes=NOISY_CLIENT_LOGGERS))
    return handler
