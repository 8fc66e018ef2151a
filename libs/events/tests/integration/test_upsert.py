"""upsert of the runners' state: a statement per row, or (PostgreSQL, many rows) one array per
column unnested by the server; the same rows either way."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events.runner_state import UNNEST_ROWS, applied_versions, state, upsert

# every test here runs with the fast paths on and with their slow twins (DESIGN section 4)
pytestmark = pytest.mark.usefixtures("fast_and_slow")


@pytest.fixture
async def tables(engine: AsyncEngine) -> AsyncEngine:
    """The engine, with the runners' state tables created."""
    async with engine.begin() as conn:
        await conn.run_sync(state.create_all)
    return engine


def _versions(streams: range, version: int) -> list[dict[str, object]]:
    return [
        {"projection": "p", "generation": 1, "stream_id": f"s-{n}", "version": version}
        for n in streams
    ]


async def _saved(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        v = applied_versions.c
        rows = await conn.execute(sa.select(v.stream_id, v.version))
    return {row.stream_id: row.version for row in rows}


@pytest.mark.parametrize("size", [3, UNNEST_ROWS * 4])
async def test_new_keys_are_inserted_known_ones_updated_and_the_last_row_of_a_key_wins(
    tables: AsyncEngine, size: int
) -> None:
    async with tables.begin() as conn:
        await upsert(conn, applied_versions, _versions(range(size // 2), 1), value="version")
    rows = [*_versions(range(size), 2), *_versions(range(1), 7)]  # s-0 twice: the last wins
    async with tables.begin() as conn:
        await upsert(conn, applied_versions, rows, value="version")

    expected = {f"s-{n}": 2 for n in range(size)} | {"s-0": 7}
    assert await _saved(tables) == expected


async def test_an_upsert_rolls_back_with_its_transaction(tables: AsyncEngine) -> None:
    with pytest.raises(RuntimeError):
        async with tables.begin() as conn:
            rows = _versions(range(UNNEST_ROWS * 2), 1)
            await upsert(conn, applied_versions, rows, value="version")
            raise RuntimeError("the batch failed")
    assert await _saved(tables) == {}
