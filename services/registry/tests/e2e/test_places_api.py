"""The place tree through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from registry_support import Registry, build_tree, created


async def test_an_admin_builds_the_tree_and_reads_each_level_back(registry: Registry) -> None:
    tree = await build_tree(registry)
    dwelling = await registry.client.get(f"/places/{tree.dwelling}", headers=tree.admin)
    assert dwelling.status_code == 200
    body = dwelling.json()
    assert body["kind"] == "dwelling"
    assert body["scope"] == tree.grid_code
    assert body["address"] == "滨江社区12栋2单元1201"
    assert body["usage"] == "rented"
    assert dwelling.headers["ETag"] == '"1"'
    children = await registry.client.get(
        "/places", params={"parent_id": tree.community}, headers=tree.admin
    )
    assert [p["code"] for p in children.json()["items"]] == [tree.grid_code]


async def test_an_address_written_another_way_finds_the_dwelling(registry: Registry) -> None:
    tree = await build_tree(registry)
    found = await registry.client.get(
        "/places", params={"address": "\uff11\uff12幢2单元1201室"}, headers=tree.admin
    )
    assert [p["place_id"] for p in found.json()["items"]] == [tree.dwelling]


async def test_a_grid_worker_keeps_dwellings_of_their_own_grid_only(registry: Registry) -> None:
    tree = await build_tree(registry)
    worker = registry.as_("grid_worker", places=[tree.grid_code])
    added = await registry.client.post(
        "/places",
        json={"kind": "dwelling", "name": "1202", "number": "1202", "parent_id": tree.unit,
              "usage": "vacant"},
        headers=worker,
    )  # fmt: skip
    assert added.status_code == 201, added.text
    assert added.headers["Location"] == f"/places/{added.json()['place_id']}"
    other = registry.as_("grid_worker", places=[f"{tree.community_code}-002"])
    hidden = await registry.client.get(f"/places/{tree.dwelling}", headers=other)
    assert hidden.status_code == 404
    grid = await registry.client.post(
        "/places",
        json={"kind": "grid", "name": "第9网格", "code": f"{tree.community_code}-009",
              "parent_id": tree.community},
        headers=worker,
    )  # fmt: skip
    assert grid.status_code == 403
    assert grid.json()["errors"] == [{"field": "kind", "message": grid.json()["detail"]}]


async def test_a_rename_needs_the_current_version_and_keeps_the_old_name(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    path = f"/places/{tree.community}"
    renamed = await registry.client.patch(
        path, json={"name": "江滨社区"}, headers={**tree.admin, "If-Match": '"1"'}
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.headers["ETag"] == '"2"'
    stale = await registry.client.patch(
        path, json={"name": "沿江社区"}, headers={**tree.admin, "If-Match": '"1"'}
    )
    assert stale.status_code == 409
    assert stale.json()["actual_version"] == 2
    dwelling = await registry.client.get(f"/places/{tree.dwelling}", headers=tree.admin)
    assert dwelling.json()["address"] == "江滨社区12栋2单元1201"
    history = await registry.client.get(f"{path}/history", headers=tree.admin)
    names = [c["data"].get("name") for c in history.json()["changes"]]
    assert names == ["滨江社区", "江滨社区"]


async def test_a_retried_registration_returns_the_first_place(registry: Registry) -> None:
    tree = await build_tree(registry)
    body = {"kind": "building", "name": "15栋", "number": "15栋", "parent_id": tree.grid}
    headers = {**tree.admin, "Idempotency-Key": "visit-42-building"}
    first = await registry.client.post("/places", json=body, headers=headers)
    again = await registry.client.post("/places", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["place_id"] == first.json()["place_id"]
    other = await registry.client.post("/places", json={**body, "number": "16栋"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "header/Idempotency-Key"
    listed = await registry.client.get(
        "/places", params={"parent_id": tree.grid, "kind": "building"}, headers=tree.admin
    )
    assert sorted(p["number"] for p in listed.json()["items"]) == ["12栋", "15栋"]


async def test_regridding_moves_the_buildings_dwellings_and_keeps_the_old_grid_on_record(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    second = await _post(registry, tree.admin, kind="grid", name="第2网格",
                         code=f"{tree.community_code}-002", parent_id=tree.community)  # fmt: skip
    before = datetime.now(UTC).date() - timedelta(days=1)
    moved = await registry.client.post(
        f"/places/{tree.building}/regrid", json={"to_grid_id": second["place_id"]},
        headers=tree.admin,
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    dwelling = (await registry.client.get(f"/places/{tree.dwelling}", headers=tree.admin)).json()
    assert dwelling["scope"] == f"{tree.community_code}-002"
    assert dwelling["grid_id"] == second["place_id"]
    old_worker = registry.as_("grid_worker", places=[tree.grid_code])
    gone = await registry.client.get(f"/places/{tree.dwelling}", headers=old_worker)
    assert gone.status_code == 404
    today = datetime.now(UTC).date()
    on_today = await registry.client.get(
        f"/places/{tree.dwelling}/grid", params={"on": today.isoformat()}, headers=tree.admin
    )
    assert on_today.json()["grid_id"] == second["place_id"]
    yesterday = await registry.client.get(
        f"/places/{tree.dwelling}/grid", params={"on": before.isoformat()}, headers=tree.admin
    )
    assert yesterday.json()["grid_id"] is None  # registered today: in no grid before


async def test_bad_places_are_problems_naming_the_field(registry: Registry) -> None:
    tree = await build_tree(registry)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"kind": "grid", "name": "x", "code": "320111001-003", "parent_id": tree.community},
         422, "code"),
        ({"kind": "grid", "name": "x", "code": "320111002-001-001", "parent_id": tree.community},
         422, "code"),
        ({"kind": "grid", "name": "x", "code": tree.grid_code, "parent_id": tree.community},
         409, "code"),
        ({"kind": "dwelling", "name": "x", "number": "1", "parent_id": tree.grid,
          "usage": "vacant"}, 422, "parent_id"),
        ({"kind": "dwelling", "name": "x", "number": "1", "parent_id": tree.unit}, 422, "usage"),
        ({"kind": "castle", "name": "x"}, 422, "body/kind"),
        ({"kind": "building", "name": "x", "number": "1",
          "parent_id": "00000000-0000-0000-0000-000000000000"}, 404, "parent_id"),
    ]  # fmt: skip
    for body, status, field in cases:
        response = await registry.client.post("/places", json=body, headers=tree.admin)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert field in [e["field"] for e in response.json()["errors"]], response.json()


async def test_a_grid_boundary_is_geojson(registry: Registry) -> None:
    tree = await build_tree(registry)
    ring = [[118.70, 32.00], [118.71, 32.00], [118.71, 32.01], [118.70, 32.00]]
    drawn = await _post(registry, tree.admin, kind="grid", name="第3网格",
                        code=f"{tree.community_code}-003", parent_id=tree.community,
                        boundary={"type": "Polygon", "coordinates": [ring]})  # fmt: skip
    assert drawn["kind"] == "grid"
    broken = await registry.client.post(
        "/places",
        json={"kind": "grid", "name": "第4网格", "code": f"{tree.community_code}-004",
              "parent_id": tree.community,
              "boundary": {"type": "Polygon", "coordinates": [ring[:2]]}},
        headers=tree.admin,
    )  # fmt: skip
    assert broken.status_code == 422
    assert broken.json()["errors"][0]["field"].startswith("body/boundary")


def _square(west: float = 118.62, south: float = 32.06) -> dict[str, Any]:
    ring = [[west, south], [west + 0.01, south], [west + 0.01, south + 0.01],
            [west, south + 0.01], [west, south]]  # fmt: skip
    return {"type": "Polygon", "coordinates": [ring]}


async def test_a_grid_registered_without_a_boundary_has_one_drawn_later(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    path = f"/places/{tree.grid}/boundary"
    staff = registry.as_("community_staff", places=[tree.community_code])
    drawn = await registry.client.put(path, json={"boundary": _square()}, headers=staff)
    assert drawn.status_code == 200, drawn.text
    assert (drawn.json()["place_id"], drawn.headers["ETag"]) == (tree.grid, '"2"')
    same = await registry.client.put(path, json={"boundary": _square()}, headers=staff)
    assert same.headers["ETag"] == '"2"'  # the same boundary again records nothing
    keyed = {**tree.admin, "Idempotency-Key": "gis-import-7"}
    redrawn = await registry.client.put(
        path, json={"boundary": _square(west=118.63)}, headers=keyed
    )
    retried = await registry.client.put(
        path, json={"boundary": _square(west=118.63)}, headers=keyed
    )
    assert redrawn.headers["ETag"] == retried.headers["ETag"] == '"3"'
    history = await registry.client.get(f"/places/{tree.grid}/history", headers=tree.admin)
    changes = history.json()["changes"]
    kinds = [c["type"].rsplit(".", 1)[1] for c in changes]
    assert kinds == ["PlaceRegistered", "GridBoundaryDrawn", "GridBoundaryDrawn"]
    assert changes[-1]["data"]["boundary"]["coordinates"] == _square(west=118.63)["coordinates"]


async def test_a_boundary_is_drawn_only_on_a_grid_the_caller_keeps(registry: Registry) -> None:
    tree = await build_tree(registry)
    body = {"boundary": _square()}
    dwelling = await registry.client.put(
        f"/places/{tree.dwelling}/boundary", json=body, headers=tree.admin
    )
    assert dwelling.status_code == 422
    assert dwelling.json()["errors"][0]["field"] == "boundary"
    nowhere = await registry.client.put(
        "/places/00000000-0000-0000-0000-000000000000/boundary", json=body, headers=tree.admin
    )
    assert nowhere.status_code == 404
    worker = registry.as_("grid_worker", places=[tree.grid_code])
    refused = await registry.client.put(f"/places/{tree.grid}/boundary", json=body, headers=worker)
    assert refused.status_code == 403
    elsewhere = registry.as_("community_staff", places=[f"{tree.grid_code[:9]}-002"])
    hidden = await registry.client.put(
        f"/places/{tree.grid}/boundary", json=body, headers=elsewhere
    )
    assert hidden.status_code == 404


async def test_a_boundary_outside_wgs_84_is_a_problem_naming_the_boundary(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    swapped = _square(west=32.06, south=118.62)
    drawn = await registry.client.put(
        f"/places/{tree.grid}/boundary", json={"boundary": swapped}, headers=tree.admin
    )
    registered = await registry.client.post(
        "/places",
        json={"kind": "grid", "name": "第5网格", "code": f"{tree.community_code}-005",
              "parent_id": tree.community, "boundary": swapped},
        headers=tree.admin,
    )  # fmt: skip
    for refused in (drawn, registered):
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        [error] = refused.json()["errors"]
        assert error["field"] == "boundary"
        assert "ring 1, point 1 (32.06, 118.62) is outside WGS 84" in error["message"]
    unchanged = await registry.client.get(f"/places/{tree.grid}", headers=tree.admin)
    assert unchanged.headers["ETag"] == '"1"'
    broken = await registry.client.put(
        f"/places/{tree.grid}/boundary",
        json={"boundary": {"type": "Polygon", "coordinates": [[[118.62, 32.06]]]}},
        headers=tree.admin,
    )
    assert broken.status_code == 422
    assert broken.json()["errors"][0]["field"].startswith("body/boundary")


async def _post(registry: Registry, headers: Any, **body: Any) -> dict[str, Any]:
    return await created(registry, "/places", body, headers)
