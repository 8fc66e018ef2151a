"""The registry's merges of duplicate records reach the cases service through its events: a case,
a mediation party and a care plan naming the duplicate read as the record kept, the registry's
erasure of that record reaches them, and undoing the merge shows them as they were."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from wangge.cases.personal_data import case_keys, plan_keys
from wangge.cases.projections.residents import Residents
from wangge.events.projection import active_tables

from registry_support import register_person
from trio_support import Trio, eventually, json_of


async def _registered_and_copied(trio: Trio, name: str) -> str:
    """A resident registered in the registry, once the cases service's copy of masks has them."""
    person_id = str((await register_person(trio.registry, trio.tree, name=name))["person_id"])
    state = trio.cases.app.state.service

    async def copied() -> bool:
        async with state.engine.connect() as conn:
            try:
                t = (await active_tables(conn, state.projections[Residents.name]))["residents"]
            except LookupError:
                return False
            found = await conn.scalar(
                sa.select(t.c.person_id).where(t.c.person_id == uuid.UUID(person_id))
            )
        return found is not None

    await eventually(copied, what="the resident in the cases service's copy")
    return person_id


async def _key_lives(trio: Trio, table: sa.Table, subject: str) -> bool:
    state = trio.cases.app.state.service
    key = table.primary_key.columns[0]
    async with state.engine.connect() as conn:
        wrapped = await conn.scalar(sa.select(table.c.wrapped).where(key == uuid.UUID(subject)))
    return wrapped is not None


async def _registry_step(trio: Trio, person_id: str, step: str, body: Any = None) -> None:
    done = await trio.registry.client.post(
        f"/persons/{person_id}/{step}", json=body, headers=trio.tree.admin
    )
    assert done.status_code == 200, done.text


def _shown(
    trio: Trio, case_id: str, plan_id: str, resident: str, mask: str
) -> Callable[[], Awaitable[bool]]:
    """Whether the case, its party and the plan all show ``resident`` with ``mask``."""
    client, me = trio.cases.client, trio.worker()

    async def check() -> bool:
        case = await json_of(await client.get(f"/cases/{case_id}", headers=me))
        mediation = await json_of(await client.get(f"/cases/{case_id}/mediation", headers=me))
        plan = await json_of(await client.get(f"/care-plans/{plan_id}", headers=me))
        return (
            case["subjects"] == [resident]
            and [(p["resident"], p["name_masked"]) for p in mediation["parties"]]
            == [(resident, mask)]
            and (plan["resident"], plan["resident_masked"]) == (resident, mask)
        )

    return check


async def test_a_duplicates_case_and_plan_read_as_the_record_kept_and_its_erasure_reaches_them(
    trio: Trio,
) -> None:
    duplicate = await _registered_and_copied(trio, "张三")
    kept = await _registered_and_copied(trio, "张三丰")
    client, me = trio.cases.client, trio.worker()
    body = {"kind": "dispute", "source": "walk_in", "title": "纠纷", "grid_id": trio.tree.grid}
    case = await json_of(
        await client.post("/cases", json=body | {"subjects": [duplicate]}, headers=me), 201
    )
    case_id = str(case["case_id"])
    party = {"role": "applicant", "resident": duplicate}
    await json_of(await client.post(f"/cases/{case_id}/parties", json=party, headers=me), 201)
    plan = await json_of(
        await client.post(
            "/care-plans",
            json={"resident": duplicate, "grid_id": trio.tree.grid, "kind": "health_check",
                  "every_days": 7, "starts_on": str(datetime.now(UTC).date() - timedelta(3))},
            headers=me,
        ),
        201,
    )  # fmt: skip
    plan_id = str(plan["plan_id"])
    assert await _shown(trio, case_id, plan_id, duplicate, "张*")()

    await _registry_step(trio, duplicate, "merge", {"into_person_id": kept})
    await eventually(
        _shown(trio, case_id, plan_id, kept, "张**"), what="the duplicate read as the record kept"
    )

    erased = await trio.registry.client.request(
        "DELETE", f"/persons/{kept}/personal-data", json={"legal_ground": "purpose_achieved"},
        headers=trio.tree.admin,
    )  # fmt: skip
    assert erased.status_code == 200, erased.text

    async def followed() -> Any:
        events = await trio.cases.store.read_stream(f"resident-{kept}")
        return events[0].data if events else None

    record: Any = await eventually(followed, what="the erasure followed in the cases service")
    assert (list(map(str, record.cases)), list(map(str, record.care_plans))) == (
        [case_id], [plan_id],
    )  # fmt: skip
    assert not await _key_lives(trio, case_keys, case_id)
    assert not await _key_lives(trio, plan_keys, plan_id)
    await eventually(
        _shown(trio, case_id, plan_id, kept, "已删除"), what="the record kept shown as erased"
    )

    # undone: the duplicate, whom the registry did not erase, reads as itself again
    await _registry_step(trio, duplicate, "unmerge")
    await eventually(
        _shown(trio, case_id, plan_id, duplicate, "张*"), what="the duplicate read as itself"
    )
