"""Secondments, handbooks and forums over HTTP, with the roster following the registry: on the
embedded default and on PostgreSQL with Kafka."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from wangge.governance.times import local_day

from duo_support import Duo, json_of

SECTIONS = [{"title": "入户走访", "summary": "走访频次与记录要求"}, {"title": "矛盾纠纷"}]


def _day(days: int) -> str:
    """A day counted from today in the subdistrict."""
    return (local_day(datetime.now(UTC)) + timedelta(days=days)).isoformat()


def _problem(response: httpx.Response, status: int, slug: str, field: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == f"urn:wangge:problem:{slug}"
    assert [e["field"] for e in problem["errors"]] == [field]


def _secondment(worker_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "worker_id": worker_id, "host_kind": "service_hall", "host": "街道便民服务大厅",
        "starts_on": _day(-10), "ends_on": _day(20), "mentor": "陈主任",
        "goals": ["独立办理居住证", "熟悉医保窗口"], **fields,
    }  # fmt: skip


async def test_a_secondment_is_extended_evaluated_and_then_closed_to_every_change(
    duo: Duo,
) -> None:
    zhang = await duo.appoint("worker-zhang", "张伟")
    li = await duo.appoint("worker-li", "李娜")
    client, trainer = duo.training.client, duo.trainer()
    created = await json_of(
        await client.post("/secondments", json=_secondment(zhang), headers=trainer), 201
    )
    path = f"/secondments/{created['secondment_id']}"
    assert (created["status"], created["days"], created["version"]) == ("arranged", 31, 1)
    # an "extension" to an earlier day is refused, naming the day
    shorter = await client.post(
        f"{path}/extend", json={"ends_on": _day(5), "reason": "提前结束"}, headers=trainer
    )
    _problem(shorter, 422, "invalid-training", "ends_on")
    extended = await json_of(
        await client.post(
            f"{path}/extend", json={"ends_on": _day(40), "reason": "窗口业务高峰"}, headers=trainer
        )
    )
    assert (extended["ends_on"], extended["days"], extended["version"]) == (_day(40), 51, 2)
    # the evaluation says for each goal whether it was met
    miscounted = await client.post(
        f"{path}/evaluate",
        json={"rating": "good", "goals_met": [True], "summary": "熟悉窗口业务"},
        headers=trainer,
    )
    _problem(miscounted, 422, "invalid-training", "goals_met")
    evaluated = await json_of(
        await client.post(
            f"{path}/evaluate",
            json={"rating": "good", "goals_met": [True, False], "summary": "熟悉窗口业务"},
            headers=trainer,
        )
    )
    assert evaluated["status"] == "evaluated"
    assert (evaluated["rating"], evaluated["goals_met"]) == ("good", [True, False])
    assert (evaluated["evaluated_on"], evaluated["evaluated_by"]) == (_day(0), "trainer-wang")
    # closed: nothing more is recorded on it
    for step, body in (
        ("extend", {"ends_on": _day(60), "reason": "再延期"}),
        ("evaluate", {"rating": "excellent", "goals_met": [True, True], "summary": "改评"}),
        ("cancel", {"reason": "调回网格"}),
    ):
        refused = await client.post(f"{path}/{step}", json=body, headers=trainer)
        _problem(refused, 409, "training-state", "secondment_id")
    assert (await json_of(await client.get(path, headers=trainer)))["version"] == 3
    # the worker's record shows it; another worker neither lists nor reads it
    record = await json_of(
        await client.get(f"/workers/{zhang}/record", headers=duo.worker("worker-zhang"))
    )
    assert [(s["secondment_id"], s["status"], s["rating"]) for s in record["secondments"]] == [
        (created["secondment_id"], "evaluated", "good")
    ]
    mine = await json_of(await client.get("/secondments", headers=duo.worker("worker-zhang")))
    assert [s["secondment_id"] for s in mine["secondments"]] == [created["secondment_id"]]
    theirs = await json_of(await client.get("/secondments", headers=duo.worker("worker-li")))
    assert theirs["secondments"] == []
    assert (await client.get(path, headers=duo.worker("worker-li"))).status_code == 404
    # a cancelled secondment is closed too, and the filter tells the two apart
    other = await json_of(
        await client.post("/secondments", json=_secondment(li, host_kind="department",
                                                           host="街道司法所"), headers=trainer),
        201,
    )  # fmt: skip
    await json_of(
        await client.post(
            f"/secondments/{other['secondment_id']}/cancel", json={"reason": "网格人手不足"},
            headers=trainer,
        )
    )  # fmt: skip
    cancelled = await json_of(
        await client.get("/secondments", params={"status": "cancelled"}, headers=trainer)
    )
    assert [(s["worker_id"], s["cancelled_reason"]) for s in cancelled["secondments"]] == [
        (li, "网格人手不足")
    ]
    of_li = await json_of(await client.get("/secondments", params={"worker_id": li},
                                           headers=trainer))  # fmt: skip
    assert [s["status"] for s in of_li["secondments"]] == ["cancelled"]


async def test_a_new_edition_asks_every_worker_again_and_outstanding_names_who_owes_it(
    duo: Duo,
) -> None:
    zhang = await duo.appoint("worker-zhang", "张伟")
    li = await duo.appoint("worker-li", "李娜")
    client, trainer = duo.training.client, duo.trainer()
    handbook = await json_of(
        await client.post(
            "/handbooks", json={"title": "全科网格一本通", "sections": SECTIONS}, headers=trainer
        ),
        201,
    )
    path = f"/handbooks/{handbook['handbook_id']}"
    assert (handbook["edition"], handbook["workers"], handbook["acknowledged"]) == (1, 2, 0)
    assert [s["title"] for s in handbook["sections"]] == ["入户走访", "矛盾纠纷"]
    # a worker acknowledges for themselves only
    for_another = await client.post(
        f"{path}/acknowledgements", json={"worker_id": zhang}, headers=duo.worker("worker-li")
    )
    assert for_another.status_code == 403
    acknowledged = await json_of(
        await client.post(
            f"{path}/acknowledgements", json={"worker_id": zhang},
            headers=duo.worker("worker-zhang"),
        )
    )  # fmt: skip
    assert (acknowledged["edition"], acknowledged["acknowledged_on"]) == (1, _day(0))
    owing = await json_of(await client.get(f"{path}/outstanding", headers=trainer))
    assert [(w["worker_id"], w["acknowledged_edition"]) for w in owing["workers"]] == [(li, None)]
    listed = await json_of(await client.get("/handbooks", headers=trainer))
    assert [(b["edition"], b["workers"], b["acknowledged"]) for b in listed["handbooks"]] == [
        (1, 2, 1)
    ]
    # a grid worker sees only themselves among those who owe it
    seen_by_zhang = await json_of(
        await client.get(f"{path}/outstanding", headers=duo.worker("worker-zhang"))
    )
    assert seen_by_zhang["workers"] == []
    # the second edition: both owe it again; naming the edition already out is refused
    revised = [*SECTIONS, {"title": "应急处置"}]
    second = await json_of(
        await client.post(
            f"{path}/editions",
            json={"edition": 2, "title": "全科网格一本通 2027 版", "sections": revised},
            headers=trainer,
        ),
        201,
    )
    assert (second["edition"], second["acknowledged"], len(second["sections"])) == (2, 0, 3)
    assert [e["edition"] for e in second["editions"]] == [1, 2]
    stale = await client.post(
        f"{path}/editions", json={"edition": 2, "title": "另一版", "sections": SECTIONS},
        headers=trainer,
    )  # fmt: skip
    _problem(stale, 422, "invalid-training", "edition")
    owing = await json_of(await client.get(f"{path}/outstanding", headers=trainer))
    assert owing["edition"] == 2
    assert sorted((w["worker_id"], w["acknowledged_edition"]) for w in owing["workers"]) == sorted(
        [(zhang, 1), (li, None)]
    )
    record = await json_of(await client.get(f"/workers/{zhang}/record", headers=trainer))
    assert [
        (b["current_edition"], b["acknowledged_edition"], b["owes"]) for b in record["handbooks"]
    ] == [(2, 1, True)]
    # the replaced edition is no longer the one to acknowledge
    old = await client.post(
        f"{path}/acknowledgements", json={"worker_id": zhang, "edition": 1}, headers=trainer
    )
    _problem(old, 409, "training-state", "edition")
    await json_of(
        await client.post(f"{path}/acknowledgements", json={"worker_id": zhang}, headers=trainer)
    )
    record = await json_of(await client.get(f"/workers/{zhang}/record", headers=trainer))
    assert [(b["acknowledged_edition"], b["owes"]) for b in record["handbooks"]] == [(2, False)]
    owing = await json_of(await client.get(f"{path}/outstanding", headers=trainer))
    assert [w["worker_id"] for w in owing["workers"]] == [li]


async def test_a_forums_suggestions_are_adopted_into_the_service_list_or_declined_with_a_reason(
    duo: Duo,
) -> None:
    zhang = await duo.appoint("worker-zhang", "张伟")
    li = await duo.appoint("worker-li", "李娜")
    client, trainer = duo.training.client, duo.trainer()
    held_at = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0).isoformat()
    body = {"topic": "网格服务清单怎么改", "held_at": held_at, "place": "社区议事厅",
            "participants": [zhang, li], "guests": ["居民代表老周"]}  # fmt: skip
    forum = await json_of(await client.post("/forums", json=body, headers=trainer), 201)
    path = f"/forums/{forum['forum_id']}"
    assert (forum["participants"], forum["suggestions"]) == ([zhang, li], [])
    adopted = await json_of(
        await client.post(
            f"{path}/suggestions", json={"text": "为高龄老人代办补贴申领", "by_worker": zhang},
            headers=trainer,
        ),
        201,
    )  # fmt: skip
    declined = await json_of(
        await client.post(f"{path}/suggestions", json={"text": "网格员24小时值班"},
                          headers=trainer),
        201,
    )  # fmt: skip
    assert (adopted["outcome"], declined["by_worker"]) == (None, None)
    done = await json_of(
        await client.post(
            f"{path}/suggestions/{adopted['suggestion_id']}/follow-up",
            json={"outcome": "adopted", "service_list_item": "高龄补贴代办"}, headers=trainer,
        )
    )  # fmt: skip
    assert (done["outcome"], done["service_list_item"]) == ("adopted", "高龄补贴代办")
    assert (done["followed_up_on"], done["followed_up_by"]) == (_day(0), "trainer-wang")
    decline = f"{path}/suggestions/{declined['suggestion_id']}/follow-up"
    reasonless = await client.post(decline, json={"outcome": "declined"}, headers=trainer)
    _problem(reasonless, 422, "invalid-training", "note")
    await json_of(
        await client.post(
            decline, json={"outcome": "declined", "note": "夜间人手不足"}, headers=trainer
        )
    )
    again = await client.post(
        f"{path}/suggestions/{adopted['suggestion_id']}/follow-up",
        json={"outcome": "answered", "note": "已答复"}, headers=trainer,
    )  # fmt: skip
    _problem(again, 409, "training-state", "suggestion_id")
    detail = await json_of(await client.get(path, headers=duo.worker("worker-li")))
    assert [(s["text"], s["outcome"]) for s in detail["suggestions"]] == [
        ("为高龄老人代办补贴申领", "adopted"),
        ("网格员24小时值班", "declined"),
    ]
    assert (detail["suggestions_made"], detail["suggestions_open"]) == (2, 0)
    in_list = await json_of(
        await client.get("/forums/suggestions", params={"outcome": "adopted"}, headers=trainer)
    )
    assert [
        (s["service_list_item"], s["topic"], s["by_worker"]) for s in in_list["suggestions"]
    ] == [("高龄补贴代办", "网格服务清单怎么改", zhang)]
    refusals = await json_of(
        await client.get("/forums/suggestions", params={"outcome": "declined"}, headers=trainer)
    )
    assert [s["note"] for s in refusals["suggestions"]] == ["夜间人手不足"]
    # a suggestion comes from a participant; a forum is recorded once held, by its participants
    stranger = await duo.appoint("worker-wu", "吴强")
    outsider = await client.post(
        f"{path}/suggestions", json={"text": "增设夜间窗口", "by_worker": stranger},
        headers=trainer,
    )  # fmt: skip
    _problem(outsider, 422, "invalid-training", "by_worker")
    ahead = {**body, "held_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()}
    _problem(
        await client.post("/forums", json=ahead, headers=trainer), 422, "invalid-training",
        "held_at",
    )  # fmt: skip
    listed = await json_of(await client.get("/forums", headers=trainer))
    assert [f["forum_id"] for f in listed["forums"]] == [forum["forum_id"]]


async def test_only_managers_arrange_and_only_workers_on_the_roster_take_part(duo: Duo) -> None:
    zhang = await duo.appoint("worker-zhang", "张伟")
    client, trainer = duo.training.client, duo.trainer()
    by_worker = await client.post(
        "/secondments", json=_secondment(zhang), headers=duo.worker("worker-zhang")
    )
    assert by_worker.status_code == 403
    by_staff = await client.post(
        "/secondments", json=_secondment(zhang), headers=duo.staff(duo.tree.community_code)
    )
    assert by_staff.status_code == 403
    stranger = "00000000-0000-4000-8000-000000000001"
    unknown = await client.post("/secondments", json=_secondment(stranger), headers=trainer)
    _problem(unknown, 422, "unknown-worker", "worker_id")
    held_at = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    forum = {"topic": "t", "held_at": held_at, "place": "p", "participants": [zhang, stranger]}
    _problem(
        await client.post("/forums", json=forum, headers=trainer), 422, "unknown-worker",
        "participants",
    )  # fmt: skip
    handbook = await json_of(
        await client.post("/handbooks", json={"title": "网格记事簿", "sections": SECTIONS},
                          headers=trainer),
        201,
    )  # fmt: skip
    _problem(
        await client.post(
            f"/handbooks/{handbook['handbook_id']}/acknowledgements",
            json={"worker_id": stranger}, headers=trainer,
        ),
        422, "unknown-worker", "worker_id",
    )  # fmt: skip
    # nothing was recorded for the refused commands
    assert (await json_of(await client.get("/secondments", headers=trainer)))["secondments"] == []
    assert (await json_of(await client.get("/forums", headers=trainer)))["forums"] == []
    assert handbook["published_on"] == _day(0)
