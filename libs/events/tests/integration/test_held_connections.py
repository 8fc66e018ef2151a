"""The connections a PostgreSQL store holds between its lone statements: given back when the
engine is disposed, and never the reason the store stops working after the database drops
them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events.db import create_engine
from wangge.events.faults import is_outage
from wangge.events.store import NO_STREAM, PostgresEventStore

from events_samples import Counted, catalogue

pytestmark = pytest.mark.postgres

_ADMIN_SQL = (
    "SELECT pid FROM pg_stat_activity WHERE application_name = :name "
    "AND backend_type = 'client backend'"
)


@pytest.fixture
async def named(database_url: str) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine, str]]:
    """An engine whose connections carry a name of their own (to find their server processes),
    on a fresh schema; and an engine to look at them with."""
    name, schema = f"held-{uuid.uuid4().hex[:10]}", f"held_{uuid.uuid4().hex[:10]}"
    admin = create_engine(database_url, pool_size=1)
    async with admin.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    settings = {"search_path": schema, "application_name": name}
    engine = create_engine(database_url, pool_size=4, connect_args={"server_settings": settings})
    try:
        yield engine, admin, name
    finally:
        await engine.dispose()
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


async def _backends(admin: AsyncEngine, name: str) -> set[int]:
    async with admin.connect() as conn:
        return {int(pid) for pid in await conn.scalars(sa.text(_ADMIN_SQL), {"name": name})}


async def _appends(store: PostgresEventStore, writers: int) -> None:
    async def one() -> None:
        stream = f"counter-{uuid.uuid4()}"
        for version in range(3):
            await store.append(stream, [Counted(n=version)], expected_version=version)

    await asyncio.gather(*(one() for _ in range(writers)))


async def _store(engine: AsyncEngine) -> PostgresEventStore:
    store = PostgresEventStore(engine, service="sample", catalogue=catalogue)
    await store.create_schema()
    return store


async def test_disposing_the_engine_closes_the_connections_held_between_appends(
    named: tuple[AsyncEngine, AsyncEngine, str],
) -> None:
    engine, admin, name = named
    await _appends(await _store(engine), 6)
    assert await _backends(admin, name), "connections stay open between appends"
    await engine.dispose()
    for _ in range(50):  # a closed connection's server process ends a moment later
        if not await _backends(admin, name):
            break
        await asyncio.sleep(0.1)
    assert not await _backends(admin, name)


async def test_after_the_database_drops_every_connection_appends_work_again(
    named: tuple[AsyncEngine, AsyncEngine, str],
) -> None:
    engine, admin, name = named
    store = await _store(engine)
    await _appends(store, 6)
    async with admin.begin() as conn:
        # as a restart of the database does to every connection
        await conn.execute(
            sa.text(f"SELECT pg_terminate_backend(pid) FROM ({_ADMIN_SQL}) AS ours"),
            {"name": name},
        )
    stream, failed = f"counter-{uuid.uuid4()}", []
    for _ in range(20):
        try:
            await store.append(stream, [Counted(n=1)], expected_version=NO_STREAM)
            break
        except Exception as error:
            failed.append(error)
    else:
        pytest.fail("appends never worked again")
    assert all(is_outage(error) for error in failed), failed
    assert [e.version for e in await store.read_stream(stream)] == [1]
    await _appends(store, 6)  # and go on working
