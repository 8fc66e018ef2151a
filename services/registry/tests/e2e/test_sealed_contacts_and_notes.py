"""Contact persons and visit notes as personal data, through the API on SQLite and PostgreSQL:
sealed under keys of their own, masked or redacted in clear, shown as written only to the
staff who may, and erased (a contact on request, a visit's note with a household member)."""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

import sqlalchemy as sa
from stdnum.cn import uscc

from wangge.events import Metadata
from wangge.events.command import unit_of_work
from wangge.events.store import NO_STREAM
from wangge.registry.domain.organisations import (
    OrganisationKind,
    OrganisationRegistered,
    legacy_contact_id,
)
from wangge.registry.personal_data import contact_keys, visit_keys

from registry_support import (
    SUBDISTRICT,
    Registry,
    Tree,
    build_tree,
    created,
    register_household,
    register_person,
    second_grid,
)

ERASE = {"legal_ground": "consent_withdrawn"}


def code() -> str:
    """A valid, random unified social credit code of an enterprise in 320111."""
    body = "91320111" + "".join(random.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in "x" * 9)
    return body + uscc.calc_check_digit(body)


async def stored_text(registry: Registry) -> str:
    """Every event row as stored, and again with its JSON read back (SQLite escapes non-ASCII
    characters, which would hide a clear name from a search of the stored bytes alone)."""
    async with registry.store.engine.connect() as conn:
        rows = await conn.execute(
            sa.text("SELECT stream_id, CAST(metadata AS TEXT), CAST(data AS TEXT) FROM events")
        )
        texts = []
        for stream, metadata, data in rows:
            texts += [stream, metadata, data]
            texts += [json.dumps(json.loads(t), ensure_ascii=False) for t in (metadata, data)]
    return "\n".join(texts)


async def wrapped(registry: Registry, table: sa.Table, subject: str) -> bytes | None:
    """A subject's wrapped data key (None once erased)."""
    async with registry.store.engine.connect() as conn:
        key: bytes | None = await conn.scalar(
            sa.select(table.c.wrapped).where(table.primary_key.columns[0] == uuid.UUID(subject))
        )
    return key


async def organisation(registry: Registry, tree: Tree, **fields: Any) -> dict[str, Any]:
    body = {"uscc": code(), "name": "滨江五金店", "kind": "individual_business",
            "place_id": tree.building, **fields}  # fmt: skip
    return await created(registry, "/organisations", body, tree.admin)


async def test_a_contact_is_sealed_unmasked_only_for_staff_and_erased_once_by_an_admin(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    made = await organisation(
        registry, tree, contact_name="欧阳振华", contact_phone="139 1234 0007"
    )
    path = f"/organisations/{made['organisation_id']}"
    first = made["contact_id"]
    assert (made["contact_name"], made["contact_phone"]) == ("欧阳振华", "+8613912340007")
    worker = registry.as_("grid_worker", places=[tree.grid_code])
    health = registry.as_("department:health", places=[SUBDISTRICT])
    read = (await registry.client.get(path, headers=worker)).json()
    assert (read["contact_name"], read["contact_phone"]) == ("欧阳振华", "+8613912340007")
    masked = (await registry.client.get(path, headers=health)).json()
    assert (masked["contact_name_masked"], masked["contact_phone_masked"]) == (
        "欧***", "139****0007",
    )  # fmt: skip
    assert (masked["contact_name"], masked["contact_phone"]) == (None, None)
    listed = (await registry.client.get("/organisations", headers=tree.admin)).json()["items"]
    assert [(o["contact_name"], o["contact_name_masked"]) for o in listed] == [(None, "欧***")]
    # a new phone for the same person keeps their key; another name is another person
    phone = await registry.client.patch(
        path, json={"contact_phone": "025-8765-4321"}, headers=tree.admin
    )
    assert (phone.json()["contact_id"], phone.json()["contact_phone"]) == (first, "+862587654321")
    other = await registry.client.patch(path, json={"contact_name": "司马光"}, headers=tree.admin)
    second = other.json()["contact_id"]
    assert second != first and other.json()["contact_phone"] == "+862587654321"

    community = registry.as_("community_staff", places=[tree.community_code])
    refused = await registry.client.request(
        "DELETE", f"{path}/contacts/{second}", json=ERASE, headers=community
    )
    assert refused.status_code == 403
    elsewhere = registry.as_("subdistrict_admin", places=["320111002"])
    hidden = await registry.client.request(
        "DELETE", f"{path}/contacts/{second}", json=ERASE, headers=elsewhere
    )
    assert hidden.status_code == 404
    erased = await registry.client.request(
        "DELETE", f"{path}/contacts/{second}", json=ERASE, headers=tree.admin
    )
    assert erased.status_code == 200, erased.text
    body = erased.json()
    assert (body["contact_erased"], body["contact_name"], body["contact_phone"]) == (
        True, None, None,
    )  # fmt: skip
    assert body["contact_name_masked"] == "司**"
    again = await registry.client.request(
        "DELETE", f"{path}/contacts/{second}", json=ERASE, headers=tree.admin
    )
    assert again.status_code == 200 and again.headers["ETag"] == erased.headers["ETag"]
    former = await registry.client.request(
        "DELETE", f"{path}/contacts/{first}", json=ERASE, headers=tree.admin
    )
    assert former.status_code == 200
    unknown = await registry.client.request(
        "DELETE", f"{path}/contacts/{uuid.uuid4()}", json=ERASE, headers=tree.admin
    )
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["field"] == "contact_id"
    bad = await registry.client.request(
        "DELETE", f"{path}/contacts/{first}", json={"legal_ground": "bored"}, headers=tree.admin
    )
    assert bad.status_code == 422
    assert await wrapped(registry, contact_keys, first) is None
    assert await wrapped(registry, contact_keys, second) is None
    history = await registry.client.get(f"{path}/history", headers=tree.admin)
    kinds = [c["type"].rsplit(".", 1)[1] for c in history.json()["changes"]]
    assert kinds.count("OrganisationContactErased") == 2
    assert history.json()["changes"][-1]["data"]["legal_ground"] == "consent_withdrawn"

    stored = await stored_text(registry)
    for secret in ("欧阳振华", "司马光", "13912340007", "+8613912340007", "87654321"):
        assert secret not in stored, secret


async def test_a_contact_written_in_clear_before_sealing_is_read_and_erased_from_reads(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    organisation_id = uuid.uuid4()
    old = OrganisationRegistered(
        organisation_id=organisation_id, uscc=code(), name="老字号", place_id=tree.building,
        kind=OrganisationKind.INDIVIDUAL_BUSINESS, contact_name="诸葛亮",
        contact_phone="+8613600001234",
    )  # fmt: skip
    state = registry.app.state.service
    async with unit_of_work(
        state.store, projections=list(state.projections.values()), metadata=Metadata(actor="old")
    ) as unit:
        await unit.append(f"organisation-{organisation_id}", [old], expected_version=NO_STREAM)
    path = f"/organisations/{organisation_id}"
    read = (await registry.client.get(path, headers=tree.admin)).json()
    contact_id = str(legacy_contact_id(organisation_id))
    assert (read["contact_id"], read["contact_name"], read["contact_phone"]) == (
        contact_id, "诸葛亮", "+8613600001234",
    )  # fmt: skip
    assert read["contact_name_masked"] == "诸**"
    health = registry.as_("department:health", places=[SUBDISTRICT])
    assert "诸葛亮" not in (await registry.client.get(path, headers=health)).text
    assert "诸葛亮" not in (await registry.client.get(f"{path}/history", headers=health)).text
    erased = await registry.client.request(
        "DELETE", f"{path}/contacts/{contact_id}", json=ERASE, headers=tree.admin
    )
    assert erased.status_code == 200, erased.text
    assert (erased.json()["contact_name"], erased.json()["contact_erased"]) == (None, True)
    for reader in (tree.admin, health):
        shown = await registry.client.get(path, headers=reader)
        history = await registry.client.get(f"{path}/history", headers=reader)
        assert "诸葛亮" not in shown.text + history.text
        assert "00001234" not in shown.text + history.text


async def test_visit_notes_are_sealed_redacted_in_lists_and_shredded_with_a_member(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    head = await register_person(registry, tree, name="尉迟恭")
    household = await register_household(registry, tree, head["person_id"])
    worker = registry.as_("grid_worker", places=[tree.grid_code], subject="worker-1")
    note = "尉迟恭独居, 女儿电话 137 0000 1111"
    need = "每周量血压, 联系 +86 137-0000-2222"
    recorded = await registry.client.post(
        "/visits",
        json={"dwelling_id": tree.dwelling, "household_id": household["household_id"],
              "visited_at": "2026-03-01T09:00:00+08:00", "note": note,
              "needs": [{"category": "medical", "description": need,
                         "person_id": head["person_id"]}]},
        headers=worker,
    )  # fmt: skip
    assert recorded.status_code == 201, recorded.text
    visit = recorded.json()
    assert (visit["note"], visit["note_redacted"]) == (note, False)
    assert [(n["description"], n["description_redacted"]) for n in visit["needs"]] == [
        (need, False)
    ]
    # another grid's visit, about nobody erased below, keeps its note
    _, elsewhere = await second_grid(registry, tree)
    kept = await registry.client.post(
        "/visits",
        json={"dwelling_id": elsewhere, "visited_at": "2026-03-01T10:00:00+08:00",
              "note": "楼道灯坏了, 物业 13700003333"},
        headers=tree.admin,
    )  # fmt: skip
    assert kept.status_code == 201, kept.text

    listed = await registry.client.get("/visits", params={"dwelling_id": tree.dwelling},
                                       headers=worker)  # fmt: skip
    [item] = listed.json()["items"]
    assert (item["note"], item["note_redacted"]) == ("尉迟恭独居, 女儿电话 137****1111", True)
    needs = (await registry.client.get("/needs", headers=worker)).json()["items"]
    assert [n["description"] for n in needs] == ["每周量血压, 联系 137****2222"]
    one = (await registry.client.get(f"/visits/{visit['visit_id']}", headers=worker)).json()
    assert (one["note"], one["needs"][0]["description"]) == (note, need)
    stored = await stored_text(registry)
    for secret in ("13700001111", "137 0000 1111", "+8613700002222", "137-0000-2222",
                   "00001111", "00002222", "13700003333"):  # fmt: skip
        assert secret not in stored, secret

    erased = await registry.client.request(
        "DELETE", f"/persons/{head['person_id']}/personal-data", json=ERASE, headers=tree.admin
    )
    assert erased.status_code == 200, erased.text
    assert await wrapped(registry, visit_keys, visit["visit_id"]) is None
    after = (await registry.client.get(f"/visits/{visit['visit_id']}", headers=tree.admin)).json()
    assert (after["note"], after["note_redacted"]) == ("尉迟恭独居, 女儿电话 137****1111", True)
    assert after["needs"][0]["description"] == "每周量血压, 联系 137****2222"
    other = (await registry.client.get(f"/visits/{kept.json()['visit_id']}",
                                       headers=tree.admin)).json()  # fmt: skip
    assert (other["note"], other["note_redacted"]) == ("楼道灯坏了, 物业 13700003333", False)
