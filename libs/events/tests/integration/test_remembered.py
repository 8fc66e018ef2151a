"""remembered: a small read shared for a moment per database, never remembered empty."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.db import create_engine, remembered, sqlite_url


async def test_a_read_is_remembered_for_its_seconds_per_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [100.0]
    monkeypatch.setattr("wangge.events.db.time", SimpleNamespace(monotonic=lambda: clock[0]))
    answers = [["a"], ["b"], ["c"]]
    reads: list[str] = []

    async def read(conn: AsyncConnection) -> list[str]:
        reads.append(str(conn.engine.url))
        return answers[len(reads) - 1]

    one, other = (create_engine(sqlite_url(tmp_path / f"{n}.db")) for n in ("one", "other"))
    try:
        async with one.connect() as conn:
            assert await remembered(conn, "names", read, seconds=1.0) == ["a"]
            clock[0] += 0.5
            assert await remembered(conn, "names", read, seconds=1.0) == ["a"]
        async with other.connect() as conn:  # another database reads for itself
            assert await remembered(conn, "names", read, seconds=1.0) == ["b"]
        clock[0] += 0.6
        async with one.connect() as conn:  # older than its seconds: read again
            assert await remembered(conn, "names", read, seconds=1.0) == ["c"]
        assert len(reads) == 3
    finally:
        await one.dispose()
        await other.dispose()


async def test_an_empty_answer_is_read_again(tmp_path: Path) -> None:
    answers: list[list[str] | None] = [None, [], ["a"]]

    async def read(conn: AsyncConnection) -> list[str] | None:
        return answers.pop(0)

    engine = create_engine(sqlite_url(tmp_path / "db.db"))
    try:
        async with engine.connect() as conn:
            assert await remembered(conn, "names", read, seconds=60) is None
            assert await remembered(conn, "names", read, seconds=60) == []
            assert await remembered(conn, "names", read, seconds=60) == ["a"]
            assert await remembered(conn, "names", read, seconds=60) == ["a"]
        assert answers == []
    finally:
        await engine.dispose()
