"""A resident erased in the registry is erased in the cases service too, only through the
registry's event: the keys of their care plans and the text keys of the cases they are a party
to or concerned by are destroyed, they are shown as erased, and what was shredded is recorded."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from wangge.cases.personal_data import case_keys, plan_keys
from wangge.cases.projections.residents import Residents
from wangge.events.projection import active_tables

from registry_support import register_person
from trio_support import Trio, eventually, json_of

PHONE = "13812345678"


async def copied(trio: Trio, person_id: str, mask: str | None = None) -> bool:
    """Whether the cases service's copy of the registry's masks has the person (with ``mask``)."""
    state = trio.cases.app.state.service
    async with state.engine.connect() as conn:
        try:
            t = (await active_tables(conn, state.projections[Residents.name]))["residents"]
        except LookupError:
            return False
        found = await conn.scalar(
            sa.select(t.c.name_masked).where(t.c.person_id == uuid.UUID(person_id))
        )
    return found is not None and mask in (None, found)


async def key_lives(trio: Trio, table: sa.Table, subject: str) -> bool:
    state = trio.cases.app.state.service
    key = table.primary_key.columns[0]
    async with state.engine.connect() as conn:
        wrapped = await conn.scalar(sa.select(table.c.wrapped).where(key == uuid.UUID(subject)))
    return wrapped is not None


async def open_case(trio: Trio, **fields: Any) -> str:
    body = {"kind": "dispute", "source": "walk_in", "title": "纠纷", "grid_id": trio.tree.grid}
    case = await json_of(
        await trio.cases.client.post("/cases", json=body | fields, headers=trio.worker()), 201
    )
    return str(case["case_id"])


async def test_a_registry_erasure_shreds_the_residents_plans_and_cases_here(trio: Trio) -> None:
    person = (await register_person(trio.registry, trio.tree, name="李四"))["person_id"]
    await eventually(lambda: copied(trio, person), what="the resident in the cases' copy")
    client, me = trio.cases.client, trio.worker()
    party_case = await open_case(trio, description=f"李四 {PHONE} 与邻居争执")
    await json_of(
        await client.post(
            f"/cases/{party_case}/parties",
            json={"role": "applicant", "resident": person.upper()},  # one id, however written
            headers=me,
        ),
        201,
    )
    subject_case = await open_case(trio, kind="hazard", description="门口堆物", subjects=[person])
    other_case = await open_case(trio, description="别人的事")
    plan = await json_of(
        await client.post(
            "/care-plans",
            json={"resident": person, "grid_id": trio.tree.grid, "kind": "health_check",
                  "every_days": 7, "starts_on": str(datetime.now(UTC).date() - timedelta(3))},
            headers=me,
        ),
        201,
    )  # fmt: skip
    plan_path = f"/care-plans/{plan['plan_id']}"
    await json_of(
        await client.post(
            f"{plan_path}/visits",
            json={"visited_on": str(datetime.now(UTC).date()), "measurements": {"systolic": 150}},
            headers=me,
        ),
        201,
    )
    assert plan["resident_masked"] == "李*"

    erased = await trio.registry.client.request(
        "DELETE",
        f"/persons/{person}/personal-data",
        json={"legal_ground": "purpose_achieved"},
        headers=trio.tree.admin,
    )
    assert erased.status_code == 200, erased.text

    async def followed() -> Any:
        events = await trio.cases.store.read_stream(f"resident-{person}")
        return events[0].data if events else None

    record: Any = await eventually(followed, what="the erasure followed in the cases service")
    assert record.legal_ground == "purpose_achieved"
    assert sorted(map(str, record.cases)) == sorted([party_case, subject_case])
    assert list(map(str, record.care_plans)) == [plan["plan_id"]]
    assert not await key_lives(trio, plan_keys, plan["plan_id"])
    assert not await key_lives(trio, case_keys, party_case)
    assert not await key_lives(trio, case_keys, subject_case)
    assert await key_lives(trio, case_keys, other_case)

    read = await json_of(await client.get(plan_path, headers=me))
    assert read["resident_masked"] == "已删除"
    measured = await json_of(await client.get(f"{plan_path}/measurements", headers=me))
    assert [m["measurements"] for m in measured] == [None]
    mediation = await json_of(await client.get(f"/cases/{party_case}/mediation", headers=me))
    assert [p["name_masked"] for p in mediation["parties"]] == ["已删除"]
    case = await json_of(await client.get(f"/cases/{party_case}", headers=me))
    assert case["description"] == "李四 138****5678 与邻居争执"  # the redacted copy stays
    # the copy of the registry's masks follows the registry at its own pace
    await eventually(lambda: copied(trio, person, "已删除"), what="the copy forgetting the mask")
    late = await json_of(
        await client.post(
            f"/cases/{other_case}/parties",
            json={"role": "respondent", "resident": person},
            headers=me,
        ),
        201,
    )
    assert late["name_masked"] == "已删除"
