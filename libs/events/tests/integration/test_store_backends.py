"""Both event-store backends pass the same contract."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from store_contract import EventStoreContract


class TestSqliteEventStore(EventStoreContract):
    @pytest.fixture
    def engine(self, sqlite_engine: AsyncEngine) -> AsyncEngine:
        return sqlite_engine


@pytest.mark.postgres
@pytest.mark.usefixtures("fast_and_slow")
class TestPostgresEventStoreBothWays(EventStoreContract):
    """The PostgreSQL contract with its fast paths on (two-statement batches, COPY) and with
    their slow twins (one append per stream, executemany): ADR 0006."""

    @pytest.fixture
    def engine(self, pg_engine: AsyncEngine) -> AsyncEngine:
        return pg_engine
