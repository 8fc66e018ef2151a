"""among: rows whose columns equal one of many values, as arrays on PostgreSQL and IN lists in
chunks on SQLite; the same rows on both, for one column and for two."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events.db import IN_LIST_LIMIT, among, insert_many

metadata = sa.MetaData()
pairs = sa.Table(
    "among_pairs",
    metadata,
    sa.Column("thing_id", sa.Uuid(as_uuid=True), primary_key=True),
    sa.Column("worker", sa.String(20), primary_key=True),
    sa.Column("n", sa.Integer, nullable=False),
)
THINGS = [uuid.uuid4() for _ in range(IN_LIST_LIMIT + 100)]  # more than one chunk on SQLite
WORKERS = ["甲", "乙"]


@pytest.fixture
async def filled(engine: AsyncEngine) -> AsyncEngine:
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        rows = [
            {"thing_id": thing, "worker": worker, "n": i}
            for i, thing in enumerate(THINGS)
            for worker in WORKERS
        ]
        await insert_many(conn, pairs, rows)
    return engine


async def _selected(
    engine: AsyncEngine, columns: list[str], values: Sequence[Sequence[object]]
) -> tuple[set[tuple[object, ...]], int, str]:
    """The (n, worker) of the rows selected, how many statements it took, the backend."""
    async with engine.connect() as conn:
        statements = list(among(conn, [pairs.c[c] for c in columns], values))
        found: set[tuple[object, ...]] = set()
        for where in statements:
            rows = await conn.execute(sa.select(pairs.c.n, pairs.c.worker).where(where))
            found |= {tuple(row) for row in rows}
        return found, len(statements), conn.dialect.name


async def test_one_column_selects_the_rows_named_and_no_others(filled: AsyncEngine) -> None:
    wanted = [*THINGS[1:], uuid.uuid4()]  # not the first, and one no row has
    found, statements, dialect = await _selected(filled, ["thing_id"], [(t,) for t in wanted])
    assert found == {(i, w) for i in range(1, len(THINGS)) for w in WORKERS}
    assert statements == (1 if dialect == "postgresql" else 2)


async def test_two_columns_select_the_pairs_named_not_their_crossings(filled: AsyncEngine) -> None:
    wanted = [(t, WORKERS[i % 2]) for i, t in enumerate(THINGS)]
    found, statements, dialect = await _selected(filled, ["thing_id", "worker"], wanted)
    assert found == {(i, WORKERS[i % 2]) for i in range(len(THINGS))}
    assert statements == (1 if dialect == "postgresql" else 2)


async def test_no_values_is_no_statement(filled: AsyncEngine) -> None:
    assert await _selected(filled, ["thing_id"], []) == (set(), 0, filled.dialect.name)
