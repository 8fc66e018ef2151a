"""Households, members and moves through the API, and what the register knew when."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from registry_support import Registry, Tree, build_tree, register_household, register_person


async def _household(registry: Registry, tree: Tree, head: str, **body: Any) -> dict[str, Any]:
    fields = {"number": "320111001000123", "on": "2010-05-01", **body}
    return await register_household(registry, tree, head, **fields)


async def test_the_household_card_lists_members_with_their_relationship(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    head = await register_person(registry, tree, name="陈建国")
    wife = await register_person(registry, tree, name="林美华")
    card = await _household(registry, tree, head["person_id"])
    assert [(m["person_id"], m["relationship"]) for m in card["members"]] == [
        (head["person_id"], "head")
    ]
    joined = await registry.client.post(
        f"/households/{card['household_id']}/members",
        json={"person_id": wife["person_id"], "relationship": "spouse", "on": "2012-10-01"},
        headers=tree.admin,
    )
    assert joined.status_code == 200, joined.text
    members = joined.json()["members"]
    assert [(m["name_masked"], m["relationship"]) for m in members] == [
        ("陈**", "head"), ("林**", "spouse"),
    ]  # fmt: skip
    assert joined.json()["address"] == "滨江社区12栋2单元1201"
    in_2011 = await registry.client.get(
        f"/households/{card['household_id']}", params={"as_of": "2011-01-01"}, headers=tree.admin
    )
    assert [m["relationship"] for m in in_2011.json()["members"]] == ["head"]
    duplicate = await registry.client.post(
        "/households",
        json={"number": "320111001000123", "type": "family", "dwelling_id": tree.dwelling,
              "head_person_id": wife["person_id"], "on": "2010-05-01"},
        headers=tree.admin,
    )  # fmt: skip
    assert duplicate.status_code == 409  # she is in a household already


async def test_a_move_out_ends_membership_and_the_past_stays_answerable(registry: Registry) -> None:
    tree = await build_tree(registry)
    head = await register_person(registry, tree, name="黄大明")
    son = await register_person(registry, tree, name="黄小明")
    card = await _household(registry, tree, head["person_id"])
    hid = card["household_id"]
    await registry.client.post(
        f"/households/{hid}/members",
        json={"person_id": son["person_id"], "relationship": "child", "on": "2010-05-01"},
        headers=tree.admin,
    )
    before_we_learnt = datetime.now(UTC).isoformat()
    await asyncio.sleep(0.01)
    worker = registry.as_("grid_worker", places=[tree.grid_code])
    moved = await registry.client.post(
        f"/persons/{son['person_id']}/move-out",
        json={"on": "2026-03-01", "whereabouts": "广东省深圳市南山区"}, headers=worker,
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    assert moved.json()["residence_status"] == "moved_out"
    assert moved.json()["household_id"] is None
    assert moved.json()["scope"] == tree.grid_code  # still found where they last lived
    now = await registry.client.get(f"/households/{hid}", headers=worker)
    assert [m["person_id"] for m in now.json()["members"]] == [head["person_id"]]
    in_2025 = await registry.client.get(
        f"/households/{hid}", params={"as_of": "2025-12-31"}, headers=worker
    )
    assert len(in_2025.json()["members"]) == 2
    # on 1 April the son had left; but before the visit recorded it, the register did not know
    as_known = await registry.client.get(
        f"/households/{hid}", params={"as_of": "2026-04-01", "known_at": before_we_learnt},
        headers=worker,
    )  # fmt: skip
    assert len(as_known.json()["members"]) == 2
    opened = await registry.client.get(
        f"/persons/{son['person_id']}/personal-data", params={"purpose": "去向核实"},
        headers=worker,
    )  # fmt: skip
    assert opened.json()["whereabouts"] == "广东省深圳市南山区"
    history = await registry.client.get(f"/persons/{son['person_id']}/history", headers=worker)
    moved_out = history.json()["changes"][-1]
    assert moved_out["type"] == "wangge.registry.PersonMovedOut"
    assert moved_out["data"]["whereabouts"] == "(sealed)"


async def test_the_head_changes_among_members_only(registry: Registry) -> None:
    tree = await build_tree(registry)
    head = await register_person(registry, tree)
    daughter = await register_person(registry, tree)
    stranger = await register_person(registry, tree)
    card = await _household(registry, tree, head["person_id"])
    hid = card["household_id"]
    await registry.client.post(
        f"/households/{hid}/members",
        json={"person_id": daughter["person_id"], "relationship": "child", "on": "2010-05-01"},
        headers=tree.admin,
    )
    refused = await registry.client.post(
        f"/households/{hid}/head",
        json={"person_id": stranger["person_id"], "former_head_relationship": "parent",
              "on": "2026-01-01"},
        headers=tree.admin,
    )  # fmt: skip
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "person_id"
    changed = await registry.client.post(
        f"/households/{hid}/head",
        json={"person_id": daughter["person_id"], "former_head_relationship": "parent",
              "on": "2026-01-01"},
        headers={**tree.admin, "If-Match": '"3"'},
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    roles = {m["person_id"]: m["relationship"] for m in changed.json()["members"]}
    assert roles == {daughter["person_id"]: "head", head["person_id"]: "parent"}
    earlier = await registry.client.get(
        f"/households/{hid}", params={"as_of": "2025-12-31"}, headers=tree.admin
    )
    roles = {m["person_id"]: m["relationship"] for m in earlier.json()["members"]}
    assert roles == {head["person_id"]: "head", daughter["person_id"]: "child"}
    leave = await registry.client.post(
        f"/households/{hid}/members/{daughter['person_id']}/leave",
        json={"on": "2026-02-01", "reason": "外嫁"}, headers=tree.admin,
    )  # fmt: skip
    assert leave.status_code == 422  # the head leaves after someone else takes over


async def test_the_residents_of_a_dwelling_on_a_date(registry: Registry) -> None:
    tree = await build_tree(registry)
    early = await register_person(registry, tree, moved_in_on="2015-03-01")
    late = await register_person(registry, tree, moved_in_on="2024-09-01")
    path = f"/places/{tree.dwelling}/residents"
    in_2020 = await registry.client.get(path, params={"as_of": "2020-01-01"}, headers=tree.admin)
    assert [r["person_id"] for r in in_2020.json()["residents"]] == [early["person_id"]]
    await registry.client.post(
        f"/persons/{early['person_id']}/move-out", json={"on": "2025-05-01"}, headers=tree.admin
    )
    now = await registry.client.get(path, headers=tree.admin)
    assert [r["person_id"] for r in now.json()["residents"]] == [late["person_id"]]
    then = await registry.client.get(path, params={"as_of": "2025-01-01"}, headers=tree.admin)
    assert len(then.json()["residents"]) == 2
    outside = registry.as_("grid_worker", places=[f"{tree.community_code}-002"])
    assert (await registry.client.get(path, headers=outside)).status_code == 404


async def test_a_person_joins_one_household_even_when_two_joins_race(registry: Registry) -> None:
    tree = await build_tree(registry)
    first = await _household(registry, tree, (await register_person(registry, tree))["person_id"])
    second = await _household(
        registry, tree, (await register_person(registry, tree))["person_id"], number="H-2"
    )
    child = (await register_person(registry, tree))["person_id"]

    async def join(household: dict[str, Any]) -> int:
        response = await registry.client.post(
            f"/households/{household['household_id']}/members",
            json={"person_id": child, "relationship": "child", "on": "2020-01-01"},
            headers=tree.admin,
        )
        return response.status_code

    statuses = await asyncio.gather(join(first), join(second))
    assert sorted(statuses) == [200, 409]
    person = await registry.client.get(f"/persons/{child}", headers=tree.admin)
    assert person.json()["household_id"] in (first["household_id"], second["household_id"])


async def test_a_registration_sent_again_with_its_key_gets_its_first_answer(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    head = await register_person(registry, tree, name="郑一")
    body = {"number": "320111001000777", "type": "family", "dwelling_id": tree.dwelling,
            "head_person_id": head["person_id"], "on": "2015-03-01"}  # fmt: skip
    # the first answer lost on the way (a killed process, a dropped connection): sent again
    headers = {**tree.admin, "Idempotency-Key": "household-777"}
    first = await registry.client.post("/households", json=body, headers=headers)
    again = await registry.client.post("/households", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json()["household_id"] == first.json()["household_id"]
    # without the key it is a second registration of a head who has a household
    other = await registry.client.post(
        "/households", json={**body, "number": "320111001000778"}, headers=tree.admin
    )
    assert other.status_code == 409
    assert other.json()["errors"][0]["field"] == "person_id"
