"""A need noted on a door-to-door visit in the registry is a suggested case here, until opened."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from trio_support import WORKER, Trio, eventually, json_of


async def test_a_need_noted_on_a_visit_becomes_a_case_once(trio: Trio) -> None:
    visit = await trio.registry.client.post(
        "/visits",
        json={
            "dwelling_id": trio.tree.dwelling,
            "visited_at": datetime.now(UTC).isoformat(),
            "needs": [{"category": "psychological", "description": "独居老人情绪低落"}],
        },
        headers=trio.tree.admin,
    )
    assert visit.status_code == 201, visit.text
    me, client = trio.worker(), trio.cases.client

    async def suggested() -> Any:
        page = await json_of(await client.get("/suggestions", headers=me))
        return page["items"][0] if page["items"] else None

    need = await eventually(suggested, what="the need as a suggestion")
    assert (need["kind"], need["assistance"], need["grid_id"]) == (
        "assistance", "counselling", trio.tree.grid,
    )  # fmt: skip
    case = await json_of(await client.post(f"/suggestions/{need['need_id']}/case", headers=me), 201)
    assert (case["kind"], case["source"], case["account"]) == ("assistance", "visit", WORKER)
    assert case["need_id"] == need["need_id"]
    again = await client.post(f"/suggestions/{need['need_id']}/case", headers=me)
    assert (again.status_code, again.json()["case_id"]) == (200, case["case_id"])
    assert (await json_of(await client.get("/suggestions", headers=me)))["items"] == []
