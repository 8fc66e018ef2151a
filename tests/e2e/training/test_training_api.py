"""The training service over HTTP, with the roster following the registry: on the embedded
default and on PostgreSQL with Kafka."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from wangge.governance.times import local_day

from duo_support import Duo, json_of

LAWYER = {"name": "李律师", "kind": "outside", "organisation": "江苏某律师事务所"}


def _when(days: float, hours: float = 2) -> dict[str, str]:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)
    return {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=hours)).isoformat()}


async def _session(duo: Duo, days: float, **fields: Any) -> dict[str, Any]:
    body = {"topic": "防范非法集资", "instructors": [LAWYER], "place": "街道会议室", "capacity": 30,
            **_when(days), **fields}  # fmt: skip
    created: dict[str, Any] = await json_of(
        await duo.training.client.post("/sessions", json=body, headers=duo.trainer()), 201
    )
    return created


async def test_a_worker_appointed_in_the_registry_joins_the_roster_and_keeps_a_record_on_leaving(
    duo: Duo,
) -> None:
    zhang = await duo.appoint("worker-zhang", "张伟")
    held = await _session(duo, -1)
    await json_of(
        await duo.training.client.put(
            f"/sessions/{held['session_id']}/attendance/{zhang}",
            json={"attendance": "present"}, headers=duo.trainer(),
        )
    )  # fmt: skip
    left = await duo.registry.client.post(
        f"/workers/{zhang}/leave", json={"on": "2026-11-01", "reason": "调任"},
        headers=duo.tree.admin,
    )  # fmt: skip
    assert left.status_code == 200, left.text
    row = await duo.on_roster(zhang, left=True)
    assert row["left_on"] == "2026-11-01"
    record = await json_of(
        await duo.training.client.get(f"/workers/{zhang}/record", headers=duo.trainer())
    )
    assert (record["hours"], record["hours_by_topic"][0]["topic"]) == (2.0, "防范非法集资")
    # community staff of the worker's old community still read it; another community's do not
    mine = duo.staff(duo.tree.community_code)
    assert (await duo.training.client.get(f"/workers/{zhang}/record", headers=mine)).is_success
    other = duo.staff("320111001-002")
    refused = await duo.training.client.get(f"/workers/{zhang}/record", headers=other)
    assert refused.status_code == 404


async def test_a_full_session_puts_workers_in_line_and_a_withdrawal_gives_the_first_the_place(
    duo: Duo,
) -> None:
    a = await duo.appoint("worker-a", "王一")
    b = await duo.appoint("worker-b", "王二")
    c = await duo.appoint("worker-c", "王三")
    session = await _session(duo, 7, capacity=1)
    path, client = f"/sessions/{session['session_id']}", duo.training.client
    for worker, account in ((a, "worker-a"), (b, "worker-b"), (c, "worker-c")):
        await json_of(
            await client.post(
                f"{path}/enrolments", json={"worker_id": worker}, headers=duo.worker(account)
            )
        )
    seats = (await json_of(await client.get(path, headers=duo.trainer())))["seats"]
    assert seats == [
        {"worker_id": a, "status": "enrolled"},
        {"worker_id": b, "status": "waiting"},
        {"worker_id": c, "status": "waiting"},
    ]
    # a worker enrols only themselves
    other = await client.post(
        f"{path}/enrolments", json={"worker_id": a}, headers=duo.worker("worker-b")
    )
    assert other.status_code == 403
    withdrawn = await json_of(
        await client.delete(f"{path}/enrolments/{a}", headers=duo.worker("worker-a"))
    )
    assert withdrawn["seats"] == [
        {"worker_id": b, "status": "enrolled"},
        {"worker_id": c, "status": "waiting"},
    ]
    assert (withdrawn["enrolled"], withdrawn["waiting"]) == (1, 1)


async def test_programme_completion_is_derived_from_attendance_and_scores_and_follows_corrections(
    duo: Duo,
) -> None:
    zhang = await duo.appoint("worker-zhang", "张伟")
    li = await duo.appoint("worker-li", "李娜", duo.second_grid)
    client, trainer = duo.training.client, duo.trainer()
    programme = await json_of(
        await client.post(
            "/programmes",
            json={"name": "6+1+3 轮训", "ordered": True, "period_days": 365, "modules": [
                {"code": "law", "title": "法律法规", "hours": 4},
                {"code": "mediation", "title": "矛盾调解", "hours": 2, "pass_score": 60},
            ]},
            headers=trainer,
        ),
        201,
    )  # fmt: skip
    pid = programme["programme_id"]
    enrolled_on = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    for worker in (zhang, li):
        await json_of(
            await client.post(
                f"/programmes/{pid}/workers", json={"worker_id": worker, "on": enrolled_on},
                headers=trainer,
            )
        )  # fmt: skip
    law = [await _session(duo, d, programme_id=pid, module_code="law") for d in (-20, -15)]
    exam = await _session(duo, -10, programme_id=pid, module_code="mediation")
    for s in law:
        await json_of(
            await client.put(
                f"/sessions/{s['session_id']}/attendance/{zhang}", json={"attendance": "late"},
                headers=trainer,
            )
        )  # fmt: skip
    exam_path = f"/sessions/{exam['session_id']}"
    await json_of(
        await client.put(
            f"{exam_path}/attendance/{zhang}", json={"attendance": "present"}, headers=trainer
        )
    )
    await json_of(
        await client.put(f"{exam_path}/assessments/{zhang}", json={"score": 55}, headers=trainer)
    )
    record = await json_of(await client.get(f"/workers/{zhang}/record", headers=trainer))
    assert record["missing_modules"] == [f"{pid}/mediation"]
    assert record["programmes"][0]["completed_on"] is None
    # the score is corrected: the programme is complete, on the day of the exam
    await json_of(
        await client.put(f"{exam_path}/assessments/{zhang}", json={"score": 80}, headers=trainer)
    )
    record = await json_of(await client.get(f"/workers/{zhang}/record", headers=duo.worker(
        "worker-zhang")))  # fmt: skip
    assert record["missing_modules"] == []
    assert record["completed_modules"] == [f"{pid}/law", f"{pid}/mediation"]
    exam_day = local_day(datetime.fromisoformat(exam["starts_at"]))
    assert record["programmes"][0]["completed_on"] == exam_day.isoformat()
    standing = await json_of(await client.get(f"/programmes/{pid}/progress", headers=trainer))
    assert standing["completed"] == 1
    assert {w["worker_id"]: w["missing"] for w in standing["workers"]} == {
        zhang: [],
        li: ["law", "mediation"],
    }
    # "1 of 2 workers attended the exam": in all and per community
    cover = await json_of(
        await client.get("/coverage", params={"session_id": exam["session_id"]}, headers=trainer)
    )
    assert (cover["reached"], cover["workers"]) == (1, 2)
    assert sorted((c["community"], c["reached"], c["workers"]) for c in cover["by_community"]) == [
        ("江心社区", 0, 1),
        ("滨江社区", 1, 1),
    ]
    # a worker reads only their own record; a worker does not record attendance
    assert (
        await client.get(f"/workers/{li}/record", headers=duo.worker("worker-zhang"))
    ).status_code == 404
    assert (
        await client.put(
            f"{exam_path}/attendance/{li}", json={"attendance": "present"},
            headers=duo.worker("worker-li", "320111001-002-001"),
        )
    ).status_code == 403  # fmt: skip


async def test_bad_input_is_a_problem_naming_the_field_and_records_nothing(duo: Duo) -> None:
    client, trainer = duo.training.client, duo.trainer()
    backwards = {**_when(3), "ends_at": _when(2)["starts_at"]}
    response = await client.post(
        "/sessions",
        json={"topic": "t", "instructors": [LAWYER], "place": "p", "capacity": 5, **backwards},
        headers=trainer,
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "ends_at"
    nameless = {"name": "某专家", "kind": "outside"}
    response = await client.post(
        "/sessions",
        json={"topic": "t", "instructors": [nameless], "place": "p", "capacity": 5, **_when(3)},
        headers=trainer,
    )
    assert response.json()["errors"][0]["field"] == "instructors"
    session = await _session(duo, 3)
    stranger = "00000000-0000-4000-8000-000000000001"
    response = await client.post(
        f"/sessions/{session['session_id']}/enrolments", json={"worker_id": stranger},
        headers=trainer,
    )  # fmt: skip
    assert response.status_code == 422
    assert response.json()["type"] == "urn:wangge:problem:unknown-worker"
    listed = await json_of(await client.get("/sessions", headers=trainer))
    assert [s["session_id"] for s in listed["sessions"]] == [session["session_id"]]
