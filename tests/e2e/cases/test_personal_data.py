"""Personal data in the cases service: free text sealed with the case's or plan's key beside its
redacted clear copy, erasure of outside parties and of care plans' data (crypto-shredding, with
an event naming the legal ground), and a retried party that answers the first."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from wangge.cases.personal_data import case_keys, party_keys, plan_keys

from trio_support import Trio, json_of

PHONE = "13812345678"
FOREIGN = "+86 139 1234 5678"
"""The same kind of number written as a caller gives it from abroad."""
ERASURE = {"legal_ground": "consent_withdrawn"}


def community(trio: Trio) -> Any:
    """Community staff of the tree's community: they may erase in their places."""
    return trio.cases.as_("community_staff", places=[trio.tree.community_code], subject="staff")


async def open_dispute(trio: Trio, description: str = "") -> dict[str, Any]:
    case: dict[str, Any] = await json_of(
        await trio.cases.client.post(
            "/cases",
            json={"kind": "dispute", "source": "walk_in", "title": "漏水纠纷",
                  "description": description, "grid_id": trio.tree.grid},
            headers=trio.worker(),
        ),
        201,
    )  # fmt: skip
    return case


async def raw_rows(trio: Trio, stream: str) -> str:
    """The event rows of a stream as the database holds them (data and metadata, as text)."""
    state = trio.cases.app.state.service
    events = state.store.tables.events
    async with state.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(sa.cast(events.c.data, sa.Text), sa.cast(events.c.metadata, sa.Text)).where(
                events.c.stream_id == stream
            )
        )
        return " ".join(f"{data} {metadata}" for data, metadata in rows)


async def wrapped(trio: Trio, table: sa.Table, subject: str) -> tuple[bool, bool]:
    """Whether a subject's key row exists, and whether it still holds a key."""
    state = trio.cases.app.state.service
    key = table.primary_key.columns[0]
    async with state.engine.connect() as conn:
        row = (
            await conn.execute(sa.select(table.c.wrapped).where(key == uuid.UUID(subject)))
        ).first()
    return row is not None, row is not None and row.wrapped is not None


async def test_a_phone_number_in_a_cases_description_leaves_no_trace_in_its_event_rows(
    trio: Trio,
) -> None:
    description = f"楼上漏水 联系王先生 {PHONE} 或其妻 {FOREIGN}"
    case = await open_dispute(trio, description)
    assert case["description"] == description  # staff who may see the case read it in full
    raw = await raw_rows(trio, f"case-{case['case_id']}")
    assert raw  # the rows were read
    for trace in (PHONE, FOREIGN, "+8613912345678", "13912345678", "139 1234 5678"):
        assert trace not in raw, trace
    assert "138****5678" in raw  # the redacted clear copy, for work lists
    inbox = await json_of(await trio.cases.client.get("/inbox", headers=trio.worker()))
    [listed] = [c for c in inbox["cases"] if c["case_id"] == case["case_id"]]
    assert PHONE not in listed["description"] and "138****5678" in listed["description"]


async def test_a_retried_party_answers_the_first_party_and_joins_once(trio: Trio) -> None:
    case = await open_dispute(trio)
    path = f"/cases/{case['case_id']}/parties"
    body = {"role": "respondent", "outside": {"name": "赵六", "phone": PHONE}}
    headers = {**trio.worker(), "Idempotency-Key": f"party-{uuid.uuid4()}"}
    first = await json_of(await trio.cases.client.post(path, json=body, headers=headers), 201)
    again = await json_of(await trio.cases.client.post(path, json=body, headers=headers), 201)
    assert again == first
    mediation = await json_of(
        await trio.cases.client.get(f"/cases/{case['case_id']}/mediation", headers=trio.worker())
    )
    assert [p["party_id"] for p in mediation["parties"]] == [first["party_id"]]
    other = await trio.cases.client.post(path, json=body | {"role": "applicant"}, headers=headers)
    assert other.status_code == 422  # the key with another body
    long = await trio.cases.client.post(
        path, json={"role": "applicant", "resident": "p" * 101}, headers=trio.worker()
    )
    assert (long.status_code, long.json()["errors"][0]["field"]) == (422, "body/resident")


async def test_an_outside_party_is_erased_with_the_cases_text_and_only_the_copies_stay(
    trio: Trio,
) -> None:
    case = await open_dispute(trio, f"赵六 {PHONE} 家漏水")
    case_id, client = case["case_id"], trio.cases.client
    party = await json_of(
        await client.post(
            f"/cases/{case_id}/parties",
            json={"role": "respondent", "outside": {"name": "赵六", "phone": PHONE}},
            headers=trio.worker(),
        ),
        201,
    )
    path = f"/cases/{case_id}/parties/{party['party_id']}/personal-data"
    refused = await client.request("DELETE", path, json=ERASURE, headers=trio.worker())
    assert refused.status_code == 403  # a grid worker may not erase
    erased = await json_of(
        await client.request("DELETE", path, json=ERASURE, headers=community(trio))
    )
    assert erased["name_masked"] == "已删除"
    assert await wrapped(trio, party_keys, party["party_id"]) == (True, False)
    assert await wrapped(trio, case_keys, case_id) == (True, False)
    read = await json_of(await client.get(f"/cases/{case_id}", headers=trio.worker()))
    assert read["description"] == "赵六 138****5678 家漏水"  # the redacted copy, names and all
    again = await client.request("DELETE", path, json=ERASURE, headers=community(trio))
    assert (again.status_code, again.json()) == (200, erased)
    events = await trio.cases.store.read_stream(f"case-{case_id}")
    assert [e.envelope.type for e in events].count("wangge.cases.PartyErased") == 1
    recorded = events[-1]
    assert recorded.data.legal_ground == "consent_withdrawn"  # type: ignore[attr-defined]
    assert recorded.envelope.actor == "staff"
    # notes written after the erasure are kept only as their redacted copies
    await json_of(await client.post(f"/cases/{case_id}/accept", headers=trio.worker()))
    noted = await client.post(
        f"/cases/{case_id}/progress", json={"note": f"再联系 {PHONE}"}, headers=trio.worker()
    )
    assert noted.status_code == 200, noted.text
    assert PHONE not in await raw_rows(trio, f"case-{case_id}")


async def test_a_resident_party_is_erased_in_the_registry_not_here(trio: Trio) -> None:
    case = await open_dispute(trio)
    party = await json_of(
        await trio.cases.client.post(
            f"/cases/{case['case_id']}/parties",
            json={"role": "applicant", "resident": str(uuid.uuid4())},
            headers=trio.worker(),
        ),
        201,
    )
    refused = await trio.cases.client.request(
        "DELETE",
        f"/cases/{case['case_id']}/parties/{party['party_id']}/personal-data",
        json=ERASURE,
        headers=community(trio),
    )
    assert (refused.status_code, refused.json()["errors"][0]["field"]) == (409, "party_id")


async def test_a_care_plans_data_is_erased_and_no_measurement_is_taken_after(trio: Trio) -> None:
    client, me = trio.cases.client, trio.worker()
    today = datetime.now(UTC).date()
    plan = await json_of(
        await client.post(
            "/care-plans",
            json={"resident": str(uuid.uuid4()), "grid_id": trio.tree.grid,
                  "kind": "health_check", "every_days": 7,
                  "starts_on": str(today - timedelta(days=3)), "note": f"女儿 {PHONE}"},
            headers=me,
        ),
        201,
    )  # fmt: skip
    path = f"/care-plans/{plan['plan_id']}"
    visited = await json_of(
        await client.post(
            f"{path}/visits",
            json={"visited_on": str(today), "note": f"血压偏高 已告知 {PHONE}",
                  "measurements": {"systolic": 150, "diastolic": 95}},
            headers=me,
        ),
        201,
    )  # fmt: skip
    assert visited["visits"][0]["note"] == f"血压偏高 已告知 {PHONE}"
    assert PHONE not in await raw_rows(trio, f"careplan-{plan['plan_id']}")
    refused = await client.request("DELETE", f"{path}/personal-data", json=ERASURE, headers=me)
    assert refused.status_code == 403
    erased = await json_of(
        await client.request(
            "DELETE", f"{path}/personal-data", json=ERASURE, headers=community(trio)
        )
    )
    assert erased["visits"][0]["note"] == "血压偏高 已告知 138****5678"
    assert await wrapped(trio, plan_keys, plan["plan_id"]) == (True, False)
    measured = await json_of(await client.get(f"{path}/measurements", headers=me))
    assert [m["measurements"] for m in measured] == [None]
    again = await client.request(
        "DELETE", f"{path}/personal-data", json=ERASURE, headers=community(trio)
    )
    assert again.status_code == 200
    events = await trio.cases.store.read_stream(f"careplan-{plan['plan_id']}")
    assert [e.envelope.type for e in events].count("wangge.cases.CarePlanDataErased") == 1
    more = await client.post(
        f"{path}/visits",
        json={"visited_on": str(today), "measurements": {"systolic": 140}},
        headers=me,
    )
    assert (more.status_code, more.json()["errors"][0]["field"]) == (409, "measurements")
    unmeasured = await client.post(
        f"{path}/visits", json={"visited_on": str(today), "note": "陪聊"}, headers=me
    )
    assert unmeasured.status_code == 201, unmeasured.text
