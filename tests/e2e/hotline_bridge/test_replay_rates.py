"""The analysts' 三率 equal the hotline bridge's: tickets pushed, accepted late and on time,
replied to and rated (one reopened and rated again) on the registry's grid; the two services'
events replayed (from their topics, or their tables on the embedded default) into a
pseudonymised dataset; the cookbook's query in docs/analytics.md run over it with DuckDB gives,
for every grid and month, what ``GET /metrics`` answers. The cookbook's repeated complaints find
the building the tickets came from, with no door in the dataset."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from wangge.hotline_bridge.domain.metrics import CST
from wangge.replay.export import Options, run
from wangge.replay.kafka_reader import kafka_bounds
from wangge.replay.query import connect

from pair_support import Pair, hotline_says, routed

DOCS = Path(__file__).resolve().parents[3] / "docs" / "analytics.md"
KEY = bytes.fromhex("cd" * 32)
ADDRESS = "沿江街道滨江社区12栋2单元1201"
FIGURES = ("tickets", "complaints", "response_rate", "resolution_rate", "satisfaction_rate")


def cookbook(name: str) -> str:
    """The cookbook's query named ``name`` (its first line is ``-- name: <name>``)."""
    text = DOCS.read_text(encoding="utf-8")
    found = re.search(rf"```sql\n-- name: {name}\n(.*?)```", text, re.S)
    assert found, f"no query {name} in {DOCS}"
    return found.group(1)


async def _flow(pair: Pair) -> None:
    client = pair.hotline.client
    worker = pair.hotline.as_("grid_worker", places=[pair.tree.grid_code])
    now = datetime.now(CST).replace(microsecond=0).isoformat()
    steps: list[tuple[str, str | None, bool | None]] = [
        # (received, satisfaction at the follow-up, resolved)
        (now, "satisfied", True),
        (now, "basically_satisfied", False),
        (now, None, None),
        ("2026-11-27T09:30:00+08:00", "unsatisfied", False),  # accepted days late
        ("2026-11-27T10:00:00+08:00", None, None),
    ]
    for index, (received, satisfaction, resolved) in enumerate(steps):
        view = await routed(pair, ADDRESS, received_at=received)
        ticket, number = view["ticket_id"], view["ticket_number"]
        if index == 2:
            continue  # never accepted
        accepted = await client.post(f"/tickets/{ticket}/accept", headers=worker)
        assert accepted.status_code == 200, accepted.text
        replied = await client.post(
            f"/tickets/{ticket}/reply", json={"reply": "已处理", "solved": True}, headers=worker
        )
        assert replied.status_code == 200, replied.text
        if satisfaction is None:
            continue
        rated = await hotline_says(
            pair.hotline, "/tickets/follow-ups",
            {"ticket_number": number, "satisfaction": satisfaction, "resolved": resolved},
        )  # fmt: skip
        assert rated.status_code == 200, rated.text
        if index == 3:  # reopened by the unhappy caller, replied again and rated again
            again = await client.post(
                f"/tickets/{ticket}/reply", json={"reply": "已再次处理", "solved": True},
                headers=worker,
            )  # fmt: skip
            assert again.status_code == 200, again.text
            happy = await hotline_says(
                pair.hotline, "/tickets/follow-ups",
                {"ticket_number": number, "satisfaction": "satisfied", "resolved": True},
            )  # fmt: skip
            assert happy.status_code == 200, happy.text


async def _events_in(pair: Pair) -> int:
    """Events in the registry's and the hotline bridge's tables (what their topics will hold)."""
    total = 0
    for running in (pair.registry, pair.hotline):
        async with running.app.state.service.engine.connect() as conn:
            total += int(await conn.scalar(sa.text("SELECT count(*) FROM events")) or 0)
    return total


async def _replayed(pair: Pair, out: Path) -> None:
    settings = pair.hotline.settings
    if settings.kafka_bootstrap_servers is None:
        await run(Options(out=out, key=KEY, data_dir=settings.data_dir))
        return
    servers, namespace = settings.kafka_bootstrap_servers, settings.kafka_namespace
    topics = [f"{namespace}.registry.events", f"{namespace}.hotline_bridge.events"]
    expected = await _events_in(pair)
    for _ in range(300):  # the relays publish after the commit
        bounds = await kafka_bounds(servers, topics)
        if sum(b.end for parts in bounds.values() for b in parts.values()) >= expected:
            break
        await asyncio.sleep(0.1)
    await run(Options(out=out, key=KEY, bootstrap_servers=servers, topics=tuple(topics)))


async def test_the_cookbooks_rates_equal_the_bridges_metrics(pair: Pair, tmp_path: Path) -> None:
    await _flow(pair)
    out = tmp_path / "replay"
    await _replayed(pair, out)
    with connect(out) as db:
        result = db.execute(cookbook("hotline_rates_per_grid_and_month"))
        names = [d[0] for d in result.description]
        rows = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    assert {r["month"] for r in rows} == {"2026-11", datetime.now(CST).strftime("%Y-%m")}
    admin = pair.hotline.as_("subdistrict_admin", places=[pair.tree.grid_code[:9]])
    compared = 0
    for row in rows:
        answer = await pair.hotline.client.get(f"/metrics?month={row['month']}", headers=admin)
        assert answer.status_code == 200, answer.text
        bridge: dict[str, Any] = next(a for a in answer.json()["areas"] if a["code"] == row["grid"])
        assert {f: row[f] for f in FIGURES} == {f: bridge[f] for f in FIGURES}, row["month"]
        compared += 1
    assert compared == 2
    assert any(row["response_rate"] not in (None, 0, 1) for row in rows)  # a mix, not a constant
    with connect(out) as db:
        result = db.execute(cookbook("repeated_complaints_by_building_and_category"))
        names = [d[0] for d in result.description]
        repeated = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    # the five tickets of 12栋 2单元 1201: one building, one category, no door in the dataset
    assert [(r["building"], r["tickets"]) for r in repeated] == [("沿江街道滨江社区12栋", 5)]
