"""A projection of the cases service on an in-memory SQLite database, its tables made, to feed
events to one by one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from wangge.events.projection import ApplyContext, Projection


@asynccontextmanager
async def _on_sqlite(projection: Projection) -> AsyncIterator[ApplyContext]:
    engine = create_async_engine("sqlite+aiosqlite://")
    tables = projection.tables(1)
    async with engine.begin() as conn:
        await conn.run_sync(next(iter(tables.values())).metadata.create_all)
        yield ApplyContext(conn=conn, tables=tables)
    await engine.dispose()


@pytest.fixture
def on_sqlite() -> Callable[[Projection], AbstractAsyncContextManager[ApplyContext]]:
    """Apply a projection's events in one transaction on a fresh in-memory database."""
    return _on_sqlite
