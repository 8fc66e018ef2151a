"""Organisations and things through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from typing import Any

from stdnum.cn import uscc

from registry_support import SUBDISTRICT, Registry, Tree, build_tree, created

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def code() -> str:
    """A valid, random unified social credit code of an enterprise in 320111."""
    body = "91320111" + "".join(random.choice(ALPHABET) for _ in range(9))
    return body + uscc.calc_check_digit(body)


async def register(registry: Registry, tree: Tree, **fields: Any) -> dict[str, Any]:
    """An organisation registered at the tree's building by its admin."""
    body = {
        "uscc": code(),
        "name": "滨江燃气有限公司",
        "kind": "enterprise",
        "place_id": tree.building,
        "address": "滨江路12号",
        "contact_name": "王经理",
        "contact_phone": "13812345678",
        **fields,
    }
    return await created(registry, "/organisations", body, tree.admin)


async def hazard(registry: Registry, tree: Tree, headers: Any, **fields: Any) -> dict[str, Any]:
    """A hazard point registered at the tree's unit."""
    body = {
        "kind": "hazard_point",
        "category": "消防通道占用",
        "name": "12栋2单元楼道堆物",
        "place_id": tree.unit,
        "risk_level": "medium",
        **fields,
    }
    return await created(registry, "/things", body, headers)


async def test_an_organisation_registers_at_a_building_with_its_code_compacted(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    valid = code()
    organisation = await register(registry, tree, uscc=f"{valid[:8]} {valid[8:]}".lower())
    assert organisation["uscc"] == valid
    assert organisation["scope"] == tree.grid_code
    assert organisation["place_address"] == "滨江社区12栋"
    assert organisation["contact_phone_masked"] == "138****5678"
    assert (organisation["contact_name"], organisation["contact_phone"]) == (
        "王经理", "+8613812345678",
    ), "staff see the contact they wrote"  # fmt: skip
    path = f"/organisations/{organisation['organisation_id']}"
    read = await registry.client.get(path, headers=tree.admin)
    assert read.status_code == 200
    assert read.headers["ETag"] == '"1"'
    found = await registry.client.get("/organisations", params={"uscc": valid}, headers=tree.admin)
    assert [o["organisation_id"] for o in found.json()["items"]] == [
        organisation["organisation_id"]
    ]


async def test_one_code_is_one_organisation_and_a_bad_code_names_its_field(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    first = await register(registry, tree)
    again = await registry.client.post(
        "/organisations",
        json={"uscc": first["uscc"], "name": "另一家", "kind": "enterprise",
              "place_id": tree.dwelling},
        headers=tree.admin,
    )  # fmt: skip
    assert again.status_code == 409, again.text
    assert again.json()["errors"][0]["field"] == "uscc"
    bad_check = first["uscc"][:-1] + ("0" if first["uscc"][-1] != "0" else "1")
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"uscc": bad_check}, 422, "uscc"),
        ({"uscc": "12345"}, 422, "uscc"),
        ({"contact_phone": "12345"}, 422, "contact_phone"),
        ({"place_id": tree.community}, 422, "place_id"),
        ({"place_id": "00000000-0000-0000-0000-000000000000"}, 404, "place_id"),
    ]
    for fields, status, field in cases:
        body = {"uscc": code(), "name": "某公司", "kind": "enterprise",
                "place_id": tree.building, **fields}  # fmt: skip
        response = await registry.client.post("/organisations", json=body, headers=tree.admin)
        assert response.status_code == status, (fields, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in response.json()["errors"]] == [field], response.json()


async def test_a_grid_worker_of_another_grid_sees_no_organisation_or_thing(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    organisation = await register(registry, tree)
    thing = await hazard(registry, tree, tree.admin)
    other = registry.as_("grid_worker", places=[f"{tree.community_code}-002"])
    for path in (
        f"/organisations/{organisation['organisation_id']}",
        f"/organisations/{organisation['organisation_id']}/history",
        f"/things/{thing['thing_id']}",
    ):
        assert (await registry.client.get(path, headers=other)).status_code == 404, path
    assert (await registry.client.get("/organisations", headers=other)).json()["total"] == 0
    assert (await registry.client.get("/things", headers=other)).json()["total"] == 0
    elsewhere = await registry.client.post(
        "/organisations",
        json={"uscc": code(), "name": "某店", "kind": "individual_business",
              "place_id": tree.building},
        headers=other,
    )  # fmt: skip
    assert elsewhere.status_code == 404
    assert elsewhere.json()["errors"][0]["field"] == "place_id"
    changed = await registry.client.patch(
        f"/organisations/{organisation['organisation_id']}", json={"name": "x"}, headers=other
    )
    assert changed.status_code == 404
    own = registry.as_("grid_worker", places=[tree.grid_code])
    added = await hazard(
        registry, tree, own, responsible_organisation_id=organisation["organisation_id"]
    )
    assert added["responsible_organisation_id"] == organisation["organisation_id"]


async def test_a_department_reads_the_contact_phone_masked_and_writes_nothing(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    organisation = await register(registry, tree, contact_phone="025 8888 1234")
    path = f"/organisations/{organisation['organisation_id']}"
    emergency = registry.as_("department:emergency", places=[SUBDISTRICT])
    read = await registry.client.get(path, headers=emergency)
    assert read.status_code == 200, read.text
    assert read.json()["contact_phone_masked"] == "025****1234"
    assert (read.json()["contact_name_masked"], read.json()["contact_name"]) == ("王**", None)
    assert "88881234" not in read.text and "王经理" not in read.text
    history = await registry.client.get(f"{path}/history", headers=emergency)
    assert history.status_code == 200
    registered = history.json()["changes"][0]["data"]
    assert (registered["contact_phone_masked"], registered["contact"]) == (
        "025****1234", "(sealed)",
    )  # fmt: skip
    assert "88881234" not in history.text and "王经理" not in history.text
    thing = await hazard(registry, tree, tree.admin)
    assert (
        await registry.client.get(f"/things/{thing['thing_id']}", headers=emergency)
    ).status_code == 200
    refused = await registry.client.patch(path, json={"name": "x"}, headers=emergency)
    assert refused.status_code == 403
    inspected = await registry.client.post(
        f"/things/{thing['thing_id']}/inspections",
        json={"on": "2026-03-02", "finding": "x"},
        headers=emergency,
    )
    assert inspected.status_code == 403


async def test_details_change_with_if_match_and_a_closed_organisation_stays_closed(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    organisation = await register(registry, tree)
    path = f"/organisations/{organisation['organisation_id']}"
    changed = await registry.client.patch(
        path, json={"name": "滨江燃气股份有限公司", "contact_phone": None},
        headers={**tree.admin, "If-Match": '"1"'},
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert changed.headers["ETag"] == '"2"'
    body = changed.json()
    assert (body["name"], body["contact_phone_masked"], body["contact_name"]) == (
        "滨江燃气股份有限公司", None, "王经理",
    )  # fmt: skip
    stale = await registry.client.patch(
        path, json={"name": "x"}, headers={**tree.admin, "If-Match": '"1"'}
    )
    assert stale.status_code == 409
    moved = await registry.client.post(
        f"{path}/move", json={"place_id": tree.dwelling}, headers=tree.admin
    )
    assert moved.json()["place_address"] == "滨江社区12栋2单元1201"
    closed = await registry.client.post(
        f"{path}/close", json={"on": "2026-03-01", "reason": "注销"}, headers=tree.admin
    )
    assert closed.json()["closed_on"] == "2026-03-01"
    refused = await registry.client.patch(path, json={"name": "y"}, headers=tree.admin)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "organisation_id"
    listed = await registry.client.get(
        "/organisations", params={"closed": "true"}, headers=tree.admin
    )
    assert [o["organisation_id"] for o in listed.json()["items"]] == [
        organisation["organisation_id"]
    ]
    history = await registry.client.get(f"{path}/history", headers=tree.admin)
    assert [c["type"].rsplit(".", 1)[1] for c in history.json()["changes"]] == [
        "OrganisationRegistered", "OrganisationDetailsChanged", "OrganisationMoved",
        "OrganisationClosed",
    ]  # fmt: skip


async def test_a_hazard_point_is_inspected_then_resolved_and_listed_by_status_in_scope(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    worker = registry.as_("grid_worker", places=[tree.grid_code])
    blocked = await hazard(registry, tree, worker)
    wiring = await hazard(
        registry, tree, worker, category="飞线充电", name="12栋飞线", place_id=tree.building
    )
    station = await hazard(
        registry, tree, worker, kind="key_facility", category="加油站", name="滨江加油站",
        place_id=tree.grid, risk_level=None,
    )  # fmt: skip
    path = f"/things/{blocked['thing_id']}"
    inspected = await registry.client.post(
        f"{path}/inspections",
        json={"on": "2026-03-02", "finding": "杂物增多", "risk_level": "high"},
        headers={**worker, "If-Match": '"1"'},
    )
    assert inspected.status_code == 200, inspected.text
    assert inspected.headers["ETag"] == '"2"'
    body = inspected.json()
    assert (body["risk_level"], body["last_inspected_on"]) == ("high", "2026-03-02")
    assert [i["finding"] for i in body["inspections"]] == ["杂物增多"]
    resolved = await registry.client.post(
        f"{path}/resolve", json={"on": "2026-03-05", "how": "已清理"}, headers=worker
    )
    assert resolved.json()["status"] == "resolved"
    again = await registry.client.post(
        f"{path}/inspections", json={"on": "2026-03-06", "finding": "复查"}, headers=worker
    )
    assert again.status_code == 422
    not_a_hazard = await registry.client.post(
        f"/things/{station['thing_id']}/resolve", json={"on": "2026-03-05", "how": "x"},
        headers=worker,
    )  # fmt: skip
    assert not_a_hazard.status_code == 422
    open_hazards = await registry.client.get(
        "/things", params={"kind": "hazard_point", "status": "open"}, headers=worker
    )
    assert [t["thing_id"] for t in open_hazards.json()["items"]] == [wiring["thing_id"]]
    done = await registry.client.get("/things", params={"status": "resolved"}, headers=worker)
    assert [t["thing_id"] for t in done.json()["items"]] == [blocked["thing_id"]]
    stations = await registry.client.get(
        "/things", params={"category": "加油站", "size": 1}, headers=worker
    )
    assert (stations.json()["total"], stations.json()["size"]) == (1, 1)
    elsewhere = registry.as_("grid_worker", places=[f"{tree.community_code}-002"])
    hidden = await registry.client.get("/things", params={"status": "open"}, headers=elsewhere)
    assert hidden.json()["items"] == []
    removed = await registry.client.post(
        f"/things/{station['thing_id']}/remove", json={"on": "2026-04-01", "reason": "拆除"},
        headers=worker,
    )  # fmt: skip
    assert removed.json()["status"] == "removed"
    history = await registry.client.get(f"{path}/history", headers=worker)
    assert [c["type"].rsplit(".", 1)[1] for c in history.json()["changes"]] == [
        "ThingRegistered", "ThingInspected", "HazardResolved",
    ]  # fmt: skip
    assert history.json()["changes"][2]["data"]["how"] == "已清理"


async def test_a_thing_names_the_field_at_fault(registry: Registry) -> None:
    tree = await build_tree(registry)
    missing = "00000000-0000-0000-0000-000000000000"
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"kind": "key_facility", "risk_level": "low"}, 422, "risk_level"),
        ({"place_id": tree.community}, 422, "place_id"),
        ({"place_id": missing}, 404, "place_id"),
        ({"responsible_organisation_id": missing}, 404, "responsible_organisation_id"),
        ({"risk_level": "extreme"}, 422, "body/risk_level"),
    ]
    for fields, status, field in cases:
        body = {"kind": "hazard_point", "category": "飞线充电", "name": "飞线",
                "place_id": tree.building, **fields}  # fmt: skip
        response = await registry.client.post("/things", json=body, headers=tree.admin)
        assert response.status_code == status, (fields, response.text)
        assert field in [e["field"] for e in response.json()["errors"]], response.json()
