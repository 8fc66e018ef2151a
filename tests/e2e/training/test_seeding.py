"""The seeded year (make run): appended once for the roster's workers, whatever restarts."""

from __future__ import annotations

import uuid

from wangge.training import seeding

from duo_support import Duo, json_of


async def test_a_seeded_year_is_appended_once_and_reads_as_records(duo: Duo) -> None:
    workers = sorted([uuid.UUID(await duo.appoint(f"worker-{n}", f"网格员{n}")) for n in range(3)])
    state = duo.training.app.state.service
    assert await seeding._settled_roster(state) == workers
    since = await seeding._first_appointed(state)
    assert str(since) == "2026-01-01"
    await seeding._append_year(state, workers, since=since)
    await seeding._append_year(state, workers, since=since)  # a restart: nothing again
    trainer = duo.trainer()
    sessions = await json_of(await duo.training.client.get("/sessions", headers=trainer))
    assert len(sessions["sessions"]) == 24
    record = await json_of(
        await duo.training.client.get(f"/workers/{workers[0]}/record", headers=trainer)
    )
    assert record["hours"] > 0 and record["programmes"][0]["name"] == "6+1+3 轮训"
    # every session falls after the appointments: coverage counts the workers
    first = sessions["sessions"][0]
    assert first["starts_at"] >= "2026-01-01"
    cover = await json_of(
        await duo.training.client.get(
            "/coverage", params={"session_id": first["session_id"]}, headers=trainer
        )
    )
    assert cover["workers"] == 3 and 0 < cover["reached"] <= 3
