"""The analysts' 三率 equal the hotline bridge's: tickets pushed, accepted late and on time,
replied to and rated (one reopened and rated again) on the registry's grid; the two services'
events replayed (from their topics, or their tables on the embedded default) into a
pseudonymised dataset; the cookbook's query in docs/analytics.md run over it with DuckDB gives,
for every grid and month, what ``GET /rates`` answers. The cookbook's repeated complaints find
the building the tickets came from, with no door in the dataset."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from wangge.hotline_bridge.domain.metrics import CST
from wangge.replay.query import connect

from pair_support import Pair, hotline_says, routed
from replay_support import cookbook, replayed, rows_of

ADDRESS = "沿江街道滨江社区12栋2单元1201"
FIGURES = ("tickets", "complaints", "response_rate", "resolution_rate", "satisfaction_rate")


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


async def test_the_cookbooks_rates_equal_the_bridges_metrics(pair: Pair, tmp_path: Path) -> None:
    await _flow(pair)
    out = tmp_path / "replay"
    await replayed(out, {"registry": pair.registry, "hotline_bridge": pair.hotline})
    with connect(out) as db:
        rows = rows_of(db, cookbook("hotline_rates_per_grid_and_month"))
    assert {r["month"] for r in rows} == {"2026-11", datetime.now(CST).strftime("%Y-%m")}
    admin = pair.hotline.as_("subdistrict_admin", places=[pair.tree.grid_code[:9]])
    compared = 0
    for row in rows:
        answer = await pair.hotline.client.get(f"/rates?month={row['month']}", headers=admin)
        assert answer.status_code == 200, answer.text
        bridge: dict[str, Any] = next(a for a in answer.json()["areas"] if a["code"] == row["grid"])
        assert {f: row[f] for f in FIGURES} == {f: bridge[f] for f in FIGURES}, row["month"]
        compared += 1
    assert compared == 2
    assert any(row["response_rate"] not in (None, 0, 1) for row in rows)  # a mix, not a constant
    with connect(out) as db:
        repeated = rows_of(db, cookbook("repeated_complaints_by_building_and_category"))
    # the five tickets of 12栋 2单元 1201: one building, one category, no door in the dataset
    assert [(r["building"], r["tickets"]) for r in repeated] == [("沿江街道滨江社区12栋", 5)]
