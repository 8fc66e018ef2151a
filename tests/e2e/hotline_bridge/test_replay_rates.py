"""The analysts' 三率 equal the hotline bridge's: residents moving in and out of the registry's
grid on days of their own, one of them registered twice and merged (counted once) and another
merged and unmerged (counted); tickets pushed, accepted late and on time, left unaccepted inside
their 24 hours (pending) or past them, replied to and rated (one reopened and rated again), of
two categories; the two services' events replayed (from their topics, or their tables on the
embedded default) into a pseudonymised dataset; the cookbook's query in docs/analytics.md run
over it with DuckDB gives, for every grid and month and for every category of them, what
``GET /rates?categories=true`` answers, the complaint rate divided by the residents of the
month's last day. The cookbook's repeated complaints find the building the tickets came from,
with no door in the dataset."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

from wangge.hotline_bridge.domain.metrics import CST
from wangge.replay.query import connect

from pair_support import Pair, hotline_says, routed
from registry_support import register_person
from replay_support import cookbook, replayed, rows_of

ADDRESS = "沿江街道滨江社区12栋2单元1201"
FIGURES = (
    "tickets", "complaints", "residents", "complaint_rate", "response_rate", "response_pending",
    "resolution_rate", "satisfaction_rate",
)  # fmt: skip
NOVEMBER = "2026-11"


async def _residents(pair: Pair) -> None:
    """Two residents since October (one of them registered twice, the second record merged into
    the first), one since December, one who left in mid-November: the grid held two on 30
    November and holds three today (the bridge's map caught up when it says so)."""
    kept = await register_person(pair.registry, pair.tree, moved_in_on="2026-10-01")
    await register_person(pair.registry, pair.tree, moved_in_on="2026-12-01")
    left = await register_person(pair.registry, pair.tree, moved_in_on="2026-10-01")
    twice = await register_person(pair.registry, pair.tree, moved_in_on="2026-10-01")
    again = await register_person(pair.registry, pair.tree, moved_in_on="2026-10-01")
    registry, admin = pair.registry.client, pair.tree.admin
    moved = await registry.post(
        f"/persons/{left['person_id']}/move-out", json={"on": "2026-11-10"}, headers=admin
    )
    assert moved.status_code == 200, moved.text
    for record, steps in ((twice, ("merge",)), (again, ("merge", "unmerge"))):
        for step in steps:
            body = {"into_person_id": kept["person_id"]} if step == "merge" else None
            done = await registry.post(
                f"/persons/{record['person_id']}/{step}", json=body, headers=admin
            )
            assert done.status_code == 200, done.text
    admin = pair.hotline.as_("subdistrict_admin", places=[pair.tree.grid_code[:9]])
    wanted = {NOVEMBER: 2, datetime.now(CST).strftime("%Y-%m"): 3}
    for _ in range(400):
        counted = {}
        for month in wanted:
            page = (await pair.hotline.client.get(f"/rates?month={month}", headers=admin)).json()
            counted[month] = next(
                a["residents"] for a in page["areas"] if a["code"] == pair.tree.grid_code
            )
        if counted == wanted:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the grid's residents never came to {wanted}: {counted}")


async def _flow(pair: Pair) -> None:
    client = pair.hotline.client
    worker = pair.hotline.as_("grid_worker", places=[pair.tree.grid_code])
    now = datetime.now(CST).replace(microsecond=0).isoformat()
    steps: list[tuple[str, str | None, bool | None]] = [
        # (received, satisfaction at the follow-up, resolved)
        (now, "satisfied", True),
        (now, "basically_satisfied", False),
        (now, None, None),  # not accepted, inside its 24 hours: pending
        ("2026-11-27T09:30:00+08:00", "unsatisfied", False),  # accepted days late
        ("2026-11-27T10:00:00+08:00", None, None),
        ("2026-11-28T10:00:00+08:00", None, None),  # never accepted, its 24 hours long over
        (now, None, None),  # an enquiry, pending
    ]
    for index, (received, satisfaction, resolved) in enumerate(steps):
        category = "0201" if index == 6 else "0301"
        view = await routed(pair, ADDRESS, received_at=received, category_code=category)
        ticket, number = view["ticket_id"], view["ticket_number"]
        if index in (2, 5, 6):
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
    await _residents(pair)
    await _flow(pair)
    out = tmp_path / "replay"
    await replayed(out, {"registry": pair.registry, "hotline_bridge": pair.hotline})
    with connect(out) as db:
        rows = rows_of(db, cookbook("hotline_rates_per_grid_and_month"))
    this_month = datetime.now(CST).strftime("%Y-%m")
    assert {r["month"] for r in rows} == {NOVEMBER, this_month}
    admin = pair.hotline.as_("subdistrict_admin", places=[pair.tree.grid_code[:9]])
    compared = 0
    for row in rows:
        answer = await pair.hotline.client.get(
            f"/rates?month={row['month']}&categories=true", headers=admin
        )
        assert answer.status_code == 200, answer.text
        bridge: dict[str, Any] = next(a for a in answer.json()["areas"] if a["code"] == row["grid"])
        if row["category"] is not None:
            bridge = next(c for c in bridge["categories"] if c["category"] == row["category"])
        assert {f: row[f] for f in FIGURES} == {f: bridge[f] for f in FIGURES}, row
        compared += 1
    assert compared == 5  # each month's grid; November's category, this month's two
    grids = {r["month"]: r for r in rows if r["category"] is None}
    # November: three tickets, none responded in time, two residents on the 30th (the merged
    # record not among them); this month: two responded, two pending (neither part of the
    # rate), three residents today
    assert [grids[NOVEMBER][f] for f in FIGURES] == [3, 3, 2, 1500.0, 0.0, 0, 1.0, 1.0]
    assert [grids[this_month][f] for f in FIGURES[:6]] == [4, 3, 3, 1000.0, 1.0, 2]
    with connect(out) as db:
        repeated = rows_of(db, cookbook("repeated_complaints_by_building_and_category"))
    # the six complaints of 12栋 2单元 1201: one building, one category, no door in the dataset
    assert [(r["building"], r["tickets"]) for r in repeated] == [("沿江街道滨江社区12栋", 6)]
