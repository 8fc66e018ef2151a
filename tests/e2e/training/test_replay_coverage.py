"""The analysts' training coverage equals the training service's ``GET /coverage``: a seeded
year of topic sessions for workers of two communities, then a worker appointed late, one who
left, one moved to the other community, a session moved and one cancelled; the registry's and
the training service's events replayed into a pseudonymised dataset; the cookbook's query in
docs/analytics.md gives, for every topic, in all and per community, the workers on the roster on
the day of the topic's last session and those of them who attended, as the route answers."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from wangge.events.projection import active_tables
from wangge.governance.times import local_day
from wangge.replay.query import connect
from wangge.training import seeding
from wangge.training.projections.roster import Roster

from duo_support import Duo, json_of
from replay_support import cookbook, replayed, rows_of
from trio_support import eventually

LAWYER = {"name": "李律师", "kind": "outside", "organisation": "江苏某律师事务所"}


def _when(days: int) -> dict[str, str]:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)
    return {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat()}


async def _session(duo: Duo, topic: str, days: int) -> str:
    body = {"topic": topic, "instructors": [LAWYER], "place": "街道会议室", "capacity": 30,
            **_when(days)}  # fmt: skip
    created = await json_of(
        await duo.training.client.post("/sessions", json=body, headers=duo.trainer()), 201
    )
    return str(created["session_id"])


async def _roster_has(duo: Duo, left: str, moved: str) -> bool:
    """Whether the training roster shows the worker who left and the one moved."""
    state = duo.training.state
    async with state.engine.connect() as conn:
        workers = (await active_tables(conn, state.projections[Roster.name]))["workers"]
        rows = {
            str(r.worker_id): r
            for r in await conn.execute(
                sa.select(workers.c.worker_id, workers.c.grid_ids, workers.c.left_on)
            )
        }
    return rows[left].left_on is not None and list(rows[moved].grid_ids) == [duo.second_grid]


async def _flow(duo: Duo, today: date) -> None:
    registry, admin = duo.registry.client, duo.tree.admin
    workers = [await duo.appoint(f"worker-{n}", f"网格员{n}") for n in range(3)]
    workers += [await duo.appoint(f"worker-{n}", f"网格员{n}", duo.second_grid) for n in (3, 4)]
    await seeding._append_year(
        duo.training.state, [uuid.UUID(w) for w in workers], since=date(2026, 1, 1)
    )
    late = await registry.post(
        "/workers",
        json={"account": "worker-5", "name": "网格员5", "grid_ids": [duo.second_grid],
              "on": str(today - timedelta(days=30))},
        headers=admin,
    )  # fmt: skip
    await duo.on_roster((await json_of(late, 201))["worker_id"])
    leaving = {"on": str(today - timedelta(days=90)), "reason": "调任"}
    await json_of(await registry.post(f"/workers/{workers[0]}/leave", json=leaving, headers=admin))
    moving = {"grid_ids": [duo.second_grid], "on": str(today - timedelta(days=10))}
    await json_of(await registry.put(f"/workers/{workers[1]}/grids", json=moving, headers=admin))
    await eventually(lambda: _roster_has(duo, workers[0], workers[1]), what="the roster")
    trainer = duo.trainer()
    moved = await _session(duo, "应急处置", 10)
    reschedule = {**_when(12), "place": "社区活动室", "reason": "会议室另有安排"}
    await json_of(
        await duo.training.client.post(
            f"/sessions/{moved}/reschedule", json=reschedule, headers=trainer
        )
    )
    cancelled = await _session(duo, "政策法规", 20)
    await json_of(
        await duo.training.client.post(
            f"/sessions/{cancelled}/cancel", json={"reason": "讲师有事"}, headers=trainer
        )
    )


async def test_the_cookbooks_training_coverage_equals_the_coverage_route(
    duo: Duo, tmp_path: Path
) -> None:
    await _flow(duo, local_day(datetime.now(UTC)))
    out = tmp_path / "replay"
    await replayed(out, {"registry": duo.registry, "training": duo.training})
    with connect(out) as db:
        rows = rows_of(db, cookbook("training_coverage"))
    assert len({r["topic"] for r in rows}) == 7
    assert {r["community"] for r in rows} == {None, "320111001-001", "320111001-002"}
    assert len({(r["workers"], r["reached"]) for r in rows if r["community"] is None}) > 1
    codes: dict[str, str] = {}
    answered: dict[tuple[str, str | None], tuple[int, int]] = {}
    for topic in sorted({r["topic"] for r in rows}):
        answer = await json_of(
            await duo.training.client.get(
                "/coverage", params={"topic": topic}, headers=duo.trainer()
            )
        )
        answered[(topic, None)] = (answer["workers"], answer["reached"])
        for area in answer["by_community"]:
            if area["community_id"] not in codes:
                place = await duo.registry.client.get(
                    f"/places/{area['community_id']}", headers=duo.tree.admin
                )
                codes[area["community_id"]] = (await json_of(place))["code"]
            code = codes[area["community_id"]]
            answered[(topic, code)] = (area["workers"], area["reached"])
    computed = {(r["topic"], r["community"]): (r["workers"], r["reached"]) for r in rows}
    assert computed == answered
