"""Masks are the cases service's, never the client's: a resident's is the one the registry
published, an outside party's is made from their name, which is sealed with their own key; a
"masked" field a client sends is ignored."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from wangge.cases.projections.residents import UNKNOWN_RESIDENT, Residents
from wangge.events.projection import active_tables

from registry_support import register_person
from trio_support import Trio, eventually, json_of

CLIENT_TEXT = "王测试"
"""What an attacker writes where a mask used to be taken from the request."""


async def open_dispute(trio: Trio) -> str:
    case = await json_of(
        await trio.cases.client.post(
            "/cases",
            json={"kind": "dispute", "source": "walk_in", "title": "噪声纠纷",
                  "grid_id": trio.tree.grid},
            headers=trio.worker(),
        ),
        201,
    )  # fmt: skip
    return str(case["case_id"])


async def join(trio: Trio, case_id: str, **party: Any) -> Any:
    """A party joined to the case by the grid's worker, as the service answers it."""
    response = await trio.cases.client.post(
        f"/cases/{case_id}/parties", json=party, headers=trio.worker()
    )
    return await json_of(response, 201)


async def registered_and_copied(trio: Trio) -> dict[str, Any]:
    """A resident registered in the registry, once the cases service's copy has them."""
    person = await register_person(trio.registry, trio.tree, name="张三")
    state = trio.cases.app.state.service

    async def copied() -> bool:
        async with state.engine.connect() as conn:
            try:
                t = (await active_tables(conn, state.projections[Residents.name]))["residents"]
            except LookupError:
                return False
            found = await conn.scalar(
                sa.select(t.c.name_masked).where(t.c.person_id == uuid.UUID(person["person_id"]))
            )
        return found is not None

    await eventually(copied, what="the resident in the cases service's copy")
    return person


async def clear_part(trio: Trio, stream: str) -> str:
    """The events of a stream as they are published, sealed blocks included (opaque)."""
    events = await trio.cases.store.read_stream(stream)
    return " ".join(e.data.model_dump_json() for e in events)


async def test_a_resident_party_is_shown_with_the_registrys_mask_not_the_clients(
    trio: Trio,
) -> None:
    person = await registered_and_copied(trio)
    assert person["name_masked"] == "张*"
    case_id = await open_dispute(trio)
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
    case_id = await open_dispute(trio)
    party = await join(
        trio, case_id, role="applicant", resident=str(uuid.uuid4()),
        resident_name_masked=CLIENT_TEXT,
    )  # fmt: skip
    assert party["name_masked"] == UNKNOWN_RESIDENT
    assert CLIENT_TEXT not in await clear_part(trio, f"case-{case_id}")


async def test_an_outside_partys_name_is_sealed_with_their_own_key_and_masked_by_the_service(
    trio: Trio,
) -> None:
    case_id = await open_dispute(trio)
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
    person = await registered_and_copied(trio)
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
