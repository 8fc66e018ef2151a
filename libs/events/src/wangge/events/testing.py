"""Pytest fixtures for real PostgreSQL and Kafka, shared by every package's tests.

``make test`` starts both and exports ``DATABASE_URL`` and ``KAFKA_BOOTSTRAP_SERVERS``; with
``WANGGE_REQUIRE_SERVICES=1`` (set by ``make test``) a missing server fails the test instead of
skipping it, so CI can never pass by skipping the integration suite.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events import tuning
from wangge.events.db import create_engine, normalise_url, sqlite_url


def _required(variable: str) -> str:
    value = os.environ.get(variable)
    if value:
        return value
    message = f"{variable} is not set; run the suite with 'make test', which starts the servers"
    if os.environ.get("WANGGE_REQUIRE_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(message)


def unique_name(prefix: str) -> str:
    """A random name, so tests never depend on each other's rows, schemas or topics."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def database_url() -> str:
    """The PostgreSQL server's URL (from ``DATABASE_URL``)."""
    return normalise_url(_required("DATABASE_URL"))


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """The Kafka bootstrap servers (from ``KAFKA_BOOTSTRAP_SERVERS``)."""
    return _required("KAFKA_BOOTSTRAP_SERVERS")


PgEngineFactory = Callable[..., Awaitable[AsyncEngine]]


@pytest.fixture
async def pg_engine_factory(database_url: str) -> AsyncIterator[PgEngineFactory]:
    """Makes engines on a fresh PostgreSQL schema of their own; dropped after the test."""
    admin = create_engine(database_url, pool_size=1)
    made: list[tuple[AsyncEngine, str]] = []

    async def make(schema: str | None = None, **kwargs: Any) -> AsyncEngine:
        schema = schema or unique_name("t")
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        engine = create_engine(
            database_url, connect_args={"server_settings": {"search_path": schema}}, **kwargs
        )
        made.append((engine, schema))
        return engine

    yield make
    for engine, schema in made:
        await engine.dispose()
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await admin.dispose()


@pytest.fixture
async def pg_engine(pg_engine_factory: PgEngineFactory) -> AsyncEngine:
    """An engine on a fresh PostgreSQL schema."""
    return await pg_engine_factory()


@pytest.fixture(scope="session")
def spans() -> InMemorySpanExporter:
    """The SDK's in-memory exporter, installed once per process as the global tracer provider
    (OpenTelemetry allows only one); tests clear it and filter by their own trace id."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> AsyncEngine:
    """An engine on the embedded default, then on PostgreSQL: a test of both backends."""
    name = "sqlite_engine" if request.param == "sqlite" else "pg_engine"
    engine: AsyncEngine = request.getfixturevalue(name)
    return engine


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An engine on a fresh SQLite file."""
    engine = create_engine(sqlite_url(tmp_path / "events.db"))
    yield engine
    await engine.dispose()


@pytest.fixture(params=["fast", "slow"])
def fast_and_slow(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test with every fast path on, and again with all of them off (their slow twins,
    ``tuning.FastPaths``): a test module that uses it checks that both leave the same events
    and rows (DESIGN section 4). A test marked ``fast_path`` checks a fast path's own workings,
    and runs with the fast paths on only."""
    if request.param == "slow":
        monkeypatch.setattr(tuning, "FAST_PATHS", tuning.FastPaths.parse("none"))
    return str(request.param)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A ``fast_path`` test's slow run is not collected (it would test what is switched off):
    its ``fast_and_slow`` slow run, and every run when ``WANGGE_FAST_PATHS`` turned any off."""
    switched_off = bool(tuning.FAST_PATHS.off)

    def slow(item: pytest.Item) -> bool:
        callspec = getattr(item, "callspec", None)
        return switched_off or (
            callspec is not None and callspec.params.get("fast_and_slow") == "slow"
        )

    items[:] = [
        item for item in items if item.get_closest_marker("fast_path") is None or not slow(item)
    ]
