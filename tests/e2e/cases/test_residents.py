"""Residents in the cases service are the registry's.

Masks are the service's, never the client's: a resident's is the one the registry published, an
outside party's is made from their name, which is sealed with their own key; a "masked" field a
client sends is ignored. A resident erased in the registry is erased here too, only through the
registry's event: the keys of their care plans and the text keys of the cases they are a party to
or concerned by are destroyed, they are shown as erased, and what was shredded is recorded."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from wangge.cases.personal_data import case_keys, plan_keys
from wangge.cases.projections.residents import UNKNOWN_RESIDENT, Residents
from wangge.events.projection import active_tables

from registry_support import register_person
from trio_support import Trio, eventually, json_of

CLIENT_TEXT = "王测试"
"""What an attacker writes where a mask used to be taken from the request."""
PHONE = "13812345678"


async def open_case(trio: Trio, **fields: Any) -> str:
    body = {"kind": "dispute", "source": "walk_in", "title": "纠纷", "grid_id": trio.tree.grid}
    case = await json_of(
        await trio.cases.client.post("/cases", json=body | fields, headers=trio.worker()), 201
    )
    return str(case["case_id"])


async def join(trio: Trio, case_id: str, **party: Any) -> Any:
    """A party joined to the case by the grid's worker, as the service answers it."""
    response = await trio.cases.client.post(
        f"/cases/{case_id}/parties", json=party, headers=trio.worker()
    )
    return await json_of(response, 201)


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


async def registered_and_copied(trio: Trio, name: str) -> dict[str, Any]:
    """A resident registered in the registry, once the cases service's copy has them."""
    person = await register_person(trio.registry, trio.tree, name=name)
    await eventually(
        lambda: copied(trio, person["person_id"]), what="the resident in the cases service's copy"
    )
    return person


async def clear_part(trio: Trio, stream: str) -> str:
    """The events of a stream as they are published, sealed blocks included (opaque)."""
    events = await trio.cases.store.read_stream(stream)
    return " ".join(e.data.model_dump_json() for e in events)


async def key_lives(trio: Trio, table: sa.Table, subject: str) -> bool:
    state = trio.cases.app.state.service
    key = table.primary_key.columns[0]
    async with state.engine.connect() as conn:
        wrapped = await conn.scalar(sa.select(table.c.wrapped).where(key == uuid.UUID(subject)))
    return wrapped is not None


async def test_a_resident_party_is_shown_with_the_registrys_mask_not_the_clients(
    trio: Trio,
) -> None:
    person = await registered_and_copied(trio, "张三")
    assert person["name_masked"] == "张*"
    case_id = await open_case(trio)
    party = await join(
        trio, case_id, role="applicant", resident=person["person_id"],
        resident_name_masked=CLIENT_TEXT,
    )  # fmt: skip
    assert party["name_masked"] == "张*"
    published = await clear_part(trio, f"case-{case_id}")
    assert CLIENT_TEXT not in published and '"name_masked":"张*"' in published
    mediation = await json_of(
        await trio.cases.client.get(f"/cases/{case_id}/mediation", headers=trio.worker())
    )
    assert [p["name_masked"] for p in mediation["parties"]] == ["张*"]


async def test_a_resident_the_service_does_not_know_is_shown_neutrally_not_as_the_client_wrote(
    trio: Trio,
) -> None:
    case_id = await open_case(trio)
    party = await join(
        trio, case_id, role="applicant", resident=str(uuid.uuid4()),
        resident_name_masked=CLIENT_TEXT,
    )  # fmt: skip
    assert party["name_masked"] == UNKNOWN_RESIDENT
    assert CLIENT_TEXT not in await clear_part(trio, f"case-{case_id}")


async def test_an_outside_partys_name_is_sealed_with_their_own_key_and_masked_by_the_service(
    trio: Trio,
) -> None:
    case_id = await open_case(trio)
    party = await join(
        trio, case_id, role="respondent", resident_name_masked="张**",
        outside={"name": CLIENT_TEXT, "phone": "13912345678"},
    )  # fmt: skip
    assert party["name_masked"] == "王**"
    events = await trio.cases.store.read_stream(f"case-{case_id}")
    joined = events[-1].data
    assert joined.name_masked == "王**"  # type: ignore[attr-defined]
    assert joined.outside.key == party["party_id"]  # type: ignore[attr-defined]
    published = await clear_part(trio, f"case-{case_id}")
    assert CLIENT_TEXT not in published and "13912345678" not in published


async def test_a_care_plan_shows_its_resident_with_the_registrys_mask_not_the_clients(
    trio: Trio,
) -> None:
    person = await registered_and_copied(trio, "张三")
    plan = await json_of(
        await trio.cases.client.post(
            "/care-plans",
            json={"resident": person["person_id"], "resident_name_masked": CLIENT_TEXT,
                  "grid_id": trio.tree.grid, "kind": "companionship", "every_days": 7,
                  "starts_on": str(datetime.now(UTC).date() - timedelta(days=15))},
            headers=trio.worker(),
        ),
        201,
    )  # fmt: skip
    assert plan["resident_masked"] == "张*"
    published = await clear_part(trio, f"careplan-{plan['plan_id']}")
    assert CLIENT_TEXT not in published and '"resident_masked":"张*"' in published
    inbox = await json_of(await trio.cases.client.get("/inbox", headers=trio.worker()))
    assert [v["resident_masked"] for v in inbox["visits"]] == ["张*"]


async def test_a_registry_erasure_shreds_the_residents_plans_and_cases_here(trio: Trio) -> None:
    person = (await registered_and_copied(trio, "李四"))["person_id"]
    client, me = trio.cases.client, trio.worker()
    party_case = await open_case(trio, description=f"李四 {PHONE} 与邻居争执")
    # one id, however written
    await join(trio, party_case, role="applicant", resident=person.upper())
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
    late = await join(trio, other_case, role="respondent", resident=person)
    assert late["name_masked"] == "已删除"
