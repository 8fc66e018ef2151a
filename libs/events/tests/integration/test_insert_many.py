"""insert_many: COPY on PostgreSQL, one INSERT on SQLite; the same rows and errors on both."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events.db import COPY_FROM_ROWS, insert_many

# every test here runs with the fast paths on and with their slow twins (DESIGN section 4)
pytestmark = pytest.mark.usefixtures("fast_and_slow")

metadata = sa.MetaData()
things = sa.Table(
    "insert_many_things",
    metadata,
    sa.Column("thing_id", sa.Uuid(as_uuid=True), primary_key=True),
    sa.Column("name", sa.String(50), nullable=False),
    sa.Column("done", sa.Boolean, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("extra", sa.JSON, nullable=True),
)


@pytest.fixture
async def tables(engine: AsyncEngine) -> AsyncEngine:
    """The engine, with the test table created."""
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    return engine


def _rows(n: int) -> list[dict[str, object]]:
    at = datetime(2026, 11, 27, 8, tzinfo=UTC)
    return [
        {"thing_id": uuid.uuid4(), "name": f"t{i}", "done": i % 2 == 0, "at": at,
         "extra": {"n": i, "名": "网格"}}
        for i in range(n)
    ]  # fmt: skip


async def _read(engine: AsyncEngine) -> list[dict[str, object]]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(things).order_by(things.c.name))
    out = [dict(row._mapping) for row in rows]
    for row in out:  # SQLite keeps no time zone
        if isinstance(row["at"], datetime) and row["at"].tzinfo is None:
            row["at"] = row["at"].replace(tzinfo=UTC)
    return out


# a few rows go as one INSERT, more as COPY on PostgreSQL: both paths, the same outcome
SIZES = pytest.mark.parametrize("size", [3, COPY_FROM_ROWS + 1])


@SIZES
async def test_every_row_arrives_with_its_types(tables: AsyncEngine, size: int) -> None:
    rows = _rows(size)
    rows[1]["at"] = None  # a NULL, and a key given as None
    del rows[2]["extra"]  # a key missing from one row is NULL
    async with tables.begin() as conn:
        await conn.execute(sa.select(1))
        await insert_many(conn, things, rows)
    rows[2]["extra"] = None
    assert await _read(tables) == rows


async def test_rows_written_first_in_a_transaction_roll_back_with_it(tables: AsyncEngine) -> None:
    # before any statement PostgreSQL's transaction has not begun: COPY must not commit alone
    with pytest.raises(RuntimeError):
        async with tables.begin() as conn:
            await insert_many(conn, things, _rows(COPY_FROM_ROWS + 1))
            raise RuntimeError("the command failed")
    assert await _read(tables) == []


@SIZES
async def test_a_duplicate_key_is_an_integrity_error_and_writes_nothing(
    tables: AsyncEngine, size: int
) -> None:
    rows = _rows(size)
    async with tables.begin() as conn:
        await insert_many(conn, things, rows[:1])
    with pytest.raises(sa.exc.IntegrityError):
        async with tables.begin() as conn:
            await conn.execute(sa.select(1))
            await insert_many(conn, things, rows[::-1])
    assert await _read(tables) == rows[:1]


async def test_no_rows_is_no_statement(tables: AsyncEngine) -> None:
    async with tables.begin() as conn:
        await insert_many(conn, things, [])
    assert await _read(tables) == []
