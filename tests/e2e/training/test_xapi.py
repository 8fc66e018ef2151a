"""The training record as xAPI 1.0.3 statements: stated, voided on correction, filtered, paged."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from duo_support import Duo, json_of

ADL = "http://adlnet.gov/expapi/verbs/"
LAWYER = {"name": "李律师", "kind": "outside", "organisation": "江苏某律师事务所"}


async def _held_session(duo: Duo, days_ago: int, **fields: Any) -> str:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days_ago)
    body = {"topic": "防范非法集资", "instructors": [LAWYER], "place": "街道会议室", "capacity": 30,
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat(),
            **fields}  # fmt: skip
    created = await json_of(
        await duo.training.client.post("/sessions", json=body, headers=duo.trainer()), 201
    )
    session_id: str = created["session_id"]
    return session_id


async def _statements(duo: Duo, **params: Any) -> Any:
    headers = {**duo.trainer(), "X-Experience-API-Version": "1.0.3"}
    response = await duo.training.client.get("/xapi/statements", params=params, headers=headers)
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    return response


def _agent(duo: Duo, worker_id: str) -> str:
    home = duo.training.settings.xapi_home_page
    return json.dumps({"objectType": "Agent", "account": {"homePage": home, "name": worker_id}})


async def test_attendance_is_stated_and_a_correction_voids_the_first_statement(duo: Duo) -> None:
    zhang = await duo.appoint("worker-zhang", "张伟")
    session = await _held_session(duo, 1)
    path, trainer = f"/sessions/{session}/attendance/{zhang}", duo.trainer()
    await json_of(
        await duo.training.client.put(path, json={"attendance": "present"}, headers=trainer)
    )
    [first] = (await json_of(await _statements(duo, agent=_agent(duo, zhang))))["statements"]
    assert first["verb"]["id"] == ADL + "attended"
    assert first["object"]["id"] == f"urn:wangge:training:session:{session}"
    assert first["actor"]["account"]["name"] == zhang
    assert first["result"]["duration"] == "PT2H0M"
    await json_of(
        await duo.training.client.put(path, json={"attendance": "absent"}, headers=trainer)
    )
    listed = (await json_of(await _statements(duo, agent=_agent(duo, zhang))))["statements"]
    assert [s["verb"]["id"] for s in listed] == [
        "urn:wangge:xapi:verb:absent",
        ADL + "voided",
    ]
    assert listed[1]["object"] == {"objectType": "StatementRef", "id": first["id"]}
    # the voided statement is no longer in lists, and is fetched as voided only
    assert (await _statements(duo, statementId=first["id"])).status_code == 404
    voided = await json_of(await _statements(duo, voidedStatementId=first["id"]))
    assert voided["id"] == first["id"]


async def test_completion_is_stated_when_derived_and_voided_when_a_correction_undoes_it(
    duo: Duo,
) -> None:
    zhang = await duo.appoint("worker-zhang", "张伟")
    client, trainer = duo.training.client, duo.trainer()
    programme = await json_of(
        await client.post(
            "/programmes",
            json={"name": "专题轮训", "modules": [{"code": "law", "title": "法律", "hours": 2}]},
            headers=trainer,
        ),
        201,
    )
    pid = programme["programme_id"]
    on = (datetime.now(UTC) - timedelta(days=10)).date().isoformat()
    await json_of(
        await client.post(
            f"/programmes/{pid}/workers", json={"worker_id": zhang, "on": on}, headers=trainer
        )
    )
    session = await _held_session(duo, 2, programme_id=pid, module_code="law")
    path = f"/sessions/{session}/attendance/{zhang}"
    await json_of(await client.put(path, json={"attendance": "late"}, headers=trainer))
    completed = (await json_of(await _statements(duo, verb=ADL + "completed")))["statements"]
    assert sorted(s["object"]["id"] for s in completed) == [
        f"urn:wangge:training:programme:{pid}",
        f"urn:wangge:training:programme:{pid}:module:law",
    ]
    await json_of(await client.put(path, json={"attendance": "excused"}, headers=trainer))
    assert (await json_of(await _statements(duo, verb=ADL + "completed")))["statements"] == []
    voids = (await json_of(await _statements(duo, verb=ADL + "voided")))["statements"]
    assert {v["object"]["id"] for v in voids} >= {s["id"] for s in completed}


async def test_lists_filter_and_page_and_bad_requests_are_400(duo: Duo) -> None:
    workers = [await duo.appoint(f"worker-{n}", f"网格员{n}") for n in range(3)]
    session = await _held_session(duo, 1)
    for worker in workers:
        await json_of(
            await duo.training.client.put(
                f"/sessions/{session}/attendance/{worker}", json={"attendance": "present"},
                headers=duo.trainer(),
            )
        )  # fmt: skip
    page = await json_of(
        await _statements(duo, limit=2, activity=f"urn:wangge:training:session:{session}")
    )
    assert len(page["statements"]) == 2 and page["more"]
    rest = await json_of(
        await duo.training.client.get(
            page["more"], headers={**duo.trainer(), "X-Experience-API-Version": "1.0.3"}
        )
    )
    assert rest["more"] == ""
    names = {s["actor"]["account"]["name"] for s in page["statements"] + rest["statements"]}
    assert names == set(workers)
    assert (await _statements(duo, agent="not json")).status_code == 400
    headers = {**duo.trainer(), "X-Experience-API-Version": "2.0.0"}
    assert (await duo.training.client.get("/xapi/statements", headers=headers)).status_code == 400
    worker = duo.worker("worker-0")
    assert (await duo.training.client.get("/xapi/statements", headers=worker)).status_code == 403
    analyst = duo.training.as_("analyst", places=["320111001"])
    # the specification's header is required of every request to an LRS but /about
    assert (await duo.training.client.get("/xapi/statements", headers=analyst)).status_code == 400
    analyst |= {"X-Experience-API-Version": "1.0.3"}
    assert (await duo.training.client.get("/xapi/statements", headers=analyst)).is_success
