"""The analysts' care coverage equals the dashboard's: care plans on two grids started months
back through the cases service's API, weekly and fortnightly and monthly, one ended, visited in
some periods and not others (twice in one); every service's events replayed into a
pseudonymised dataset; the cookbook's query in docs/analytics.md gives, for every grid and
month, the plans running, the visits due, made and missed and the coverage that the views
service's grid dashboard shows as of the same day."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from wangge.events.projection import active_tables
from wangge.replay.query import connect
from wangge.views.domain.figures import CST

from quintet_support import Quintet
from replay_support import cookbook, replayed, rows_of
from trio_support import OTHER_WORKER, eventually, json_of

AS_OF = "2026-12-07"
"""The day the cookbook's query is written for: the test puts its own day in its place."""
FIGURES = ("plans", "due", "done", "missed", "coverage_rate")
# (grid: 0 the tree's, 1 the second; starts: days ago; cadence; visits: days ago; ended: days ago)
PLANS: list[tuple[int, int, int, list[int], int | None]] = [
    (0, 75, 7, [74, 60, 45, 44, 20, 3], None),
    (0, 100, 14, [95, 70], 30),
    (1, 50, 10, [48, 30, 1], None),
    (1, 40, 30, [], None),
]


async def _flow(q: Quintet, today: date) -> int:
    """The plans and their visits; how many visits were recorded."""
    trio, client = q.trio, q.trio.cases.client
    grids = [(trio.tree.grid, trio.worker(), None), (trio.second_grid, trio.staff(), OTHER_WORKER)]
    recorded = 0
    for index, (grid, starts, every, visits, ended) in enumerate(PLANS):
        grid_id, headers, account = grids[grid]
        plan = await json_of(
            await client.post(
                "/care-plans",
                json={"resident": f"p-care-{index}", "grid_id": grid_id, "kind": "health_check",
                      "every_days": every, "starts_on": str(today - timedelta(days=starts)),
                      "worker_account": account},
                headers=headers,
            ),
            201,
        )  # fmt: skip
        path = f"/care-plans/{plan['plan_id']}"
        for ago in visits:
            day = str(today - timedelta(days=ago))
            await json_of(
                await client.post(f"{path}/visits", json={"visited_on": day}, headers=headers), 201
            )
            recorded += 1
        if ended is not None:
            body = {"ended_on": str(today - timedelta(days=ended)), "reason": "搬离本网格"}
            await json_of(await client.post(f"{path}/end", json=body, headers=headers))
    return recorded


async def _views_have(q: Quintet, visits: int) -> bool:
    """Whether the views' dashboard tables hold every plan, its end and every visit."""
    state = q.views.state
    async with state.engine.connect() as conn:
        try:
            tables = await active_tables(conn, state.projections["views_dashboard"])
        except LookupError:
            return False
        plans, seen = tables["care_plans"], tables["care_visits"]
        ended = await conn.scalar(
            sa.select(sa.func.count()).select_from(plans).where(plans.c.ended_on.is_not(None))
        )
        found = (
            await conn.scalar(sa.select(sa.func.count()).select_from(plans)),
            ended,
            await conn.scalar(sa.select(sa.func.count()).select_from(seen)),
        )
    return found == (len(PLANS), 1, visits)


async def test_the_cookbooks_care_coverage_equals_the_grid_dashboards(
    quintet: Quintet, tmp_path: Path
) -> None:
    q = quintet
    today = datetime.now(CST).date()
    visits = await _flow(q, today)
    out = tmp_path / "replay"
    await replayed(out, {"registry": q.trio.registry, "cases": q.trio.cases})
    query = cookbook("care_coverage_of_special_groups_per_grid_and_month")
    query = query.replace(AS_OF, today.isoformat())
    with connect(out) as db:
        rows = rows_of(db, query)
    assert len({r["grid"] for r in rows}) == 2 and len({r["month"] for r in rows}) >= 3
    assert any(r["coverage_rate"] not in (None, 0, 1) for r in rows)  # a mix, not a constant
    assert sum(r["missed"] for r in rows) > 0
    await eventually(lambda: _views_have(q, visits), what="the views' care plans")
    shown: dict[tuple[str, str], dict[str, Any]] = {}
    for code in sorted({r["grid"] for r in rows}):
        answer = await q.views.client.get(
            f"/grids/{code}/dashboard", params={"as_of": str(today)}, headers=q.staff()
        )
        for month in (await json_of(answer))["series"]:
            care = month["care"]
            if care["plans"] or care["due"]:
                shown[(code, month["month"])] = {f: care[f] for f in FIGURES}
    computed = {(r["grid"], r["month"]): {f: r[f] for f in FIGURES} for r in rows}
    assert computed == shown
