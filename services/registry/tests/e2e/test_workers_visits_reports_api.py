"""Grid workers, door-to-door visits with needs, and the per-grid reports, through the API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from registry_support import (
    Registry,
    Tree,
    add_place,
    build_tree,
    created,
    register_household,
    register_person,
    second_grid,
)


async def _appoint(registry: Registry, tree: Tree, account: str) -> dict[str, Any]:
    community = registry.as_("community_staff", places=[tree.community_code])
    body = {"account": account, "name": "刘网格", "work_phone": "13800001111",
            "grid_ids": [tree.grid], "on": "2026-01-01"}  # fmt: skip
    return await created(registry, "/workers", body, community)


async def test_a_worker_is_appointed_reassigned_and_leaves(registry: Registry) -> None:
    tree = await build_tree(registry)
    worker = await _appoint(registry, tree, "worker-liu")
    assert [g["code"] for g in worker["grids"]] == [tree.grid_code]
    assert worker["work_phone"] == "+8613800001111"
    second = await add_place(registry, tree, tree.community, kind="grid", name="第2网格",
                             code=f"{tree.community_code}-002")  # fmt: skip
    community = registry.as_("community_staff", places=[tree.community_code])
    moved = await registry.client.put(
        f"/workers/{worker['worker_id']}/grids",
        json={"grid_ids": [second], "on": "2026-06-01"},
        headers=community,
    )
    assert [g["code"] for g in moved.json()["grids"]] == [f"{tree.community_code}-002"]
    by_grid = await registry.client.get(
        "/workers", params={"grid_id": tree.grid}, headers=community
    )
    assert by_grid.json()["total"] == 0
    as_worker = registry.as_("grid_worker", places=[tree.grid_code])
    refused = await registry.client.post(
        f"/workers/{worker['worker_id']}/leave", json={"on": "2026-07-01", "reason": "调岗"},
        headers=as_worker,
    )  # fmt: skip
    assert refused.status_code == 403
    left = await registry.client.post(
        f"/workers/{worker['worker_id']}/leave", json={"on": "2026-07-01", "reason": "调岗"},
        headers=community,
    )  # fmt: skip
    assert left.status_code == 404  # no grid left in the community's places: gone from view
    found = await registry.client.get(f"/workers/{worker['worker_id']}", headers=tree.admin)
    assert found.json()["left_on"] == "2026-07-01"


async def test_a_visit_records_documents_people_and_needs(registry: Registry) -> None:
    tree = await build_tree(registry)
    old = await register_person(registry, tree, name="吴奶奶")
    worker = registry.as_("grid_worker", places=[tree.grid_code], subject="worker-wu")
    visited_at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    recorded = await registry.client.post(
        "/visits",
        json={"dwelling_id": tree.dwelling, "visited_at": visited_at,
              "documents_checked": ["household_register", "id_card"],
              "persons_confirmed": [old["person_id"]],
              "needs": [{"category": "medical", "description": "每周量血压",
                         "person_id": old["person_id"]}]},
        headers=worker,
    )  # fmt: skip
    assert recorded.status_code == 201, recorded.text
    visit = recorded.json()
    assert visit["worker_account"] == "worker-wu"
    assert visit["documents"] == ["household_register", "id_card"]
    assert [n["category"] for n in visit["needs"]] == ["medical"]
    needs = await registry.client.get("/needs", params={"category": "medical"}, headers=worker)
    assert [n["description"] for n in needs.json()["items"]] == ["每周量血压"]
    events = await registry.store.read_stream(f"visit-{visit['visit_id']}")
    assert [e.envelope.type for e in events] == [
        "wangge.registry.VisitRecorded", "wangge.registry.NeedNoted",
    ]  # fmt: skip
    future = await registry.client.post(
        "/visits",
        json={"dwelling_id": tree.dwelling,
              "visited_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()},
        headers=worker,
    )  # fmt: skip
    assert future.status_code == 422
    assert future.json()["errors"][0]["field"] == "visited_at"
    stranger = await registry.client.post(
        "/visits",
        json={"dwelling_id": tree.dwelling, "visited_at": visited_at,
              "persons_confirmed": ["00000000-0000-0000-0000-000000000001"]},
        headers=worker,
    )  # fmt: skip
    assert stranger.status_code == 422
    assert stranger.json()["errors"][0]["field"] == "persons_confirmed/0"


async def test_the_grid_roll_up_and_visit_coverage_count_what_the_register_holds(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    head = await register_person(registry, tree)
    floating = await register_person(registry, tree, residence_status="floating",
                                     hukou_type="non_local")  # fmt: skip
    await register_person(registry, tree, residence_status="lodging")
    await registry.client.post(
        f"/persons/{floating['person_id']}/tags",
        json={"tag": "subsistence_allowance", "source": "民政", "valid_from": "2025-01-01"},
        headers=tree.admin,
    )
    await register_household(registry, tree, head["person_id"], number="H-1")
    roll_up = await registry.client.get("/reports/grids", headers=tree.admin)
    (grid,) = roll_up.json()
    assert grid["code"] == tree.grid_code
    assert (grid["households"], grid["residents"], grid["floating"], grid["lodging"]) == (
        1, 1, 1, 1,
    )  # fmt: skip
    assert grid["tags"] == {"subsistence_allowance": 1}
    before = await registry.client.get("/reports/visit-coverage", headers=tree.admin)
    assert before.json()["grids"][0]["share"] == 0.0
    await registry.client.post(
        "/visits",
        json={"dwelling_id": tree.dwelling,
              "visited_at": (datetime.now(UTC) - timedelta(days=2)).isoformat()},
        headers=tree.admin,
    )  # fmt: skip
    after = await registry.client.get(
        "/reports/visit-coverage", params={"days": 7}, headers=tree.admin
    )
    assert after.json()["grids"][0] == {
        "grid_id": tree.grid, "code": tree.grid_code, "households": 1, "visited": 1, "share": 1.0,
    }  # fmt: skip
    department = registry.as_("department:civil_affairs", places=["320111001"])
    assert (await registry.client.get("/reports/grids", headers=department)).status_code == 200
    other = registry.as_("grid_worker", places=[f"{tree.community_code}-002"])
    assert (await registry.client.get("/reports/grids", headers=other)).json() == []


async def test_a_visit_naming_a_household_outside_the_callers_grids_is_answered_as_a_missing_one(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    head = await register_person(registry, tree)
    household = await register_household(registry, tree, head["person_id"], number="H-9")
    grid_code, dwelling = await second_grid(registry, tree)
    worker = registry.as_("grid_worker", places=[grid_code])
    visited_at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()

    async def visit(household_id: str) -> Any:
        return await registry.client.post(
            "/visits",
            json={"dwelling_id": dwelling, "household_id": household_id,
                  "visited_at": visited_at},
            headers=worker,
        )  # fmt: skip

    hid, nobody = household["household_id"], str(uuid.uuid4())
    elsewhere, missing = await visit(hid), await visit(nobody)
    assert elsewhere.status_code == missing.status_code == 404, elsewhere.text
    assert elsewhere.text.replace(hid, nobody) == missing.text
    assert elsewhere.json()["errors"][0]["field"] == "household_id"
    # staff who see the household are told why it does not fit the visit
    community = registry.as_("community_staff", places=[tree.community_code])
    told = await registry.client.post(
        "/visits",
        json={"dwelling_id": dwelling, "household_id": hid, "visited_at": visited_at},
        headers=community,
    )
    assert told.status_code == 422, told.text
