"""The analysts' cookbook (docs/analytics.md) run over a replay of what services side by side
recorded: from their topics, or their event tables on the embedded default, into a
pseudonymised dataset, as ``wangge replay export`` makes it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import sqlalchemy as sa

from wangge.replay.export import Options, run
from wangge.replay.kafka_reader import kafka_bounds
from wangge.service.testing import Running

DOCS = Path(__file__).resolve().parents[2] / "docs" / "analytics.md"
KEY = bytes.fromhex("cd" * 32)


def cookbook(name: str) -> str:
    """The cookbook's query named ``name`` (its first line is ``-- name: <name>``)."""
    text = DOCS.read_text(encoding="utf-8")
    found = re.search(rf"```sql\n-- name: {name}\n(.*?)```", text, re.S)
    assert found, f"no query {name} in {DOCS}"
    return found.group(1)


def rows_of(db: duckdb.DuckDBPyConnection, query: str) -> list[dict[str, Any]]:
    """A query's rows as dicts by column name."""
    result = db.execute(query)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


async def _events_in(services: Sequence[Running[Any]]) -> int:
    """Events in the services' tables (what their topics will hold)."""
    total = 0
    for running in services:
        async with running.state.engine.connect() as conn:
            total += int(await conn.scalar(sa.text("SELECT count(*) FROM events")) or 0)
    return total


async def replayed(out: Path, services: dict[str, Running[Any]]) -> None:
    """Every event of ``services`` (by the name their topic carries) exported to ``out``: from
    the data folder they share on the embedded default, else from their topics once the relays
    have published all of it (they publish after the commit)."""
    settings = next(iter(services.values())).settings
    if settings.kafka_bootstrap_servers is None:
        await run(Options(out=out, key=KEY, data_dir=settings.data_dir))
        return
    servers, namespace = settings.kafka_bootstrap_servers, settings.kafka_namespace
    topics = [f"{namespace}.{name}.events" for name in services]
    expected = await _events_in(list(services.values()))
    for _ in range(300):
        bounds = await kafka_bounds(servers, topics)
        if sum(b.end for parts in bounds.values() for b in parts.values()) >= expected:
            break
        await asyncio.sleep(0.1)
    await run(Options(out=out, key=KEY, bootstrap_servers=servers, topics=tuple(topics)))
