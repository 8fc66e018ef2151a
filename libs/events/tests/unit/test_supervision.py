"""Outages told from faults, workers restarted after either, and an outage logged as one episode."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

import pytest
import sqlalchemy.exc
from aiokafka.errors import KafkaConnectionError

from wangge.events.errors import ConcurrencyConflict
from wangge.events.faults import RepeatFilter, is_outage, is_transaction_conflict
from wangge.events.supervision import Backoff, Healthy, Supervised, supervise


class _AdminShutdown(Exception):
    sqlstate = "57P01"


class _UniqueViolation(Exception):
    sqlstate = "23505"


def _wrapped(orig: Exception, *, invalidated: bool = False) -> sqlalchemy.exc.DBAPIError:
    return sqlalchemy.exc.DBAPIError("SELECT 1", {}, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        OSError("Multiple exceptions: [Errno 111] Connect call failed"),
        TimeoutError(),
        KafkaConnectionError("no broker"),
        _wrapped(Exception("connection was closed"), invalidated=True),
        _wrapped(_AdminShutdown("terminating connection due to administrator command")),
        sqlite3.OperationalError("database is locked"),
    ],
)
def test_a_dependency_out_of_reach_is_an_outage(error: Exception) -> None:
    assert is_outage(error)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("a handler's bug"),
        KeyError("missing"),
        FileNotFoundError("no such file"),
        _wrapped(_UniqueViolation("duplicate key")),
        sqlite3.OperationalError("no such table: events"),
        ConcurrencyConflict("s", 1, 2),
    ],
)
def test_a_fault_of_the_work_itself_is_no_outage(error: Exception) -> None:
    assert not is_outage(error)


def test_an_outage_wrapped_in_another_error_is_still_one() -> None:
    outer = RuntimeError("while applying a batch")
    outer.__cause__ = ConnectionResetError("reset by peer")
    assert is_outage(outer)


async def test_a_failing_worker_is_restarted_until_it_works_and_its_health_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()
    health = Supervised("relay", healthy_after=float("inf"))
    attempts = 0
    seen: list[bool] = []

    async def work(healthy: Healthy) -> None:
        nonlocal attempts
        attempts += 1
        seen.append(health.ok)
        if attempts <= 3:
            raise ConnectionRefusedError(111, "Connect call failed")
        healthy()
        stop.set()

    with caplog.at_level(logging.DEBUG, logger="wangge.events.supervision"):
        await asyncio.wait_for(
            supervise(work, stop, health=health, backoff=Backoff(first=0.01, most=0.02)), 5
        )
    assert attempts == 4
    assert seen == [True, False, False, False]  # not ready while it restarts
    assert health.ok
    assert health.restarts == 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    # one line when the outage starts, one when it ends: not one per attempt
    assert len(warnings) == 2
    assert "restarting until it is back" in warnings[0]
    assert "recovered after 3 failures" in warnings[1]


async def test_a_worker_that_returns_early_is_started_again() -> None:
    stop = asyncio.Event()
    runs = 0

    async def work(healthy: Healthy) -> None:
        nonlocal runs
        runs += 1
        if runs == 2:
            stop.set()

    await asyncio.wait_for(
        supervise(work, stop, health=Supervised("loop"), backoff=Backoff(first=0.01)), 5
    )
    assert runs == 2


async def test_cancelling_a_supervised_worker_ends_it() -> None:
    started = asyncio.Event()

    async def work(healthy: Healthy) -> None:
        started.set()
        await asyncio.sleep(60)

    task = asyncio.create_task(supervise(work, asyncio.Event(), health=Supervised("w")))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_repeated_warnings_of_a_client_library_pass_once_then_with_a_count() -> None:
    quiet = RepeatFilter(window=60.0, prefixes=("aiokafka",))

    def record(name: str, msg: str, *args: object) -> logging.LogRecord:
        return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)

    template = "Unable connect to node with id %s: %s"
    passed = [quiet.filter(record("aiokafka.conn", template, 1, n)) for n in range(500)]
    assert passed.count(True) == 1
    assert quiet.filter(record("wangge.events.relay", template, 1, 2))  # not a client library
    assert quiet.filter(record("aiokafka.conn", "another kind"))
    # after the window, the next one passes and says how many were held back
    quiet.window = 0.0
    later = record("aiokafka.conn", template, 1, 0)
    assert quiet.filter(later)
    assert "(and 499 more like it" in later.getMessage()


def test_a_deadlock_is_a_conflict_of_transactions_and_passes_when_run_again() -> None:
    class _Deadlock(Exception):
        sqlstate = "40P01"

    assert is_transaction_conflict(_wrapped(_Deadlock("deadlock detected")))
    assert not is_transaction_conflict(_wrapped(_UniqueViolation("duplicate key")))
