"""Escalation (上报) and referral (转办) reach someone: the case lands in the queue of the
community, the subdistrict or the department, readable by that role only, and signing for it
there is a step of its own; triage, closing and reopening around them. And an agreement's window
for judicial confirmation (司法确认): a reminder in the worker's and the mediator's inbox days
before it closes, its lapse after, a request in time recorded even late."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from wangge.cases.bootstrap import CasesCore
from wangge.cases.domain import cases as domain
from wangge.cases.jobs import sweep_once
from wangge.governance.times import local_day

from trio_support import Trio, json_of

MEDIATOR = "mediator-liu"


def _community(trio: Trio, community: str | None = None) -> Any:
    return trio.cases.as_(
        "community_staff", places=[community or trio.tree.community_code], subject="community-1"
    )


def _department(trio: Trio, name: str) -> Any:
    return trio.cases.as_(f"department:{name}", places=[], subject=f"{name}-desk")


async def _open(trio: Trio, kind: str = "hazard", title: str = "楼道堆放杂物") -> dict[str, Any]:
    body = {"kind": kind, "source": "visit", "title": title, "grid_id": trio.tree.grid}
    opened: dict[str, Any] = await json_of(
        await trio.cases.client.post("/cases", json=body, headers=trio.worker()), 201
    )
    return opened


async def _queue(trio: Trio, path: str, headers: Any) -> list[str]:
    page = await json_of(await trio.cases.client.get(f"/queues/{path}", headers=headers))
    return [item["case_id"] for item in page["items"]]


async def test_an_escalated_then_referred_case_reaches_each_queue_in_turn(trio: Trio) -> None:
    client, me, community = trio.cases.client, trio.worker(), _community(trio)
    case = await _open(trio)
    path = f"/cases/{case['case_id']}"
    await json_of(await client.post(f"{path}/accept", headers=me))
    up = await json_of(
        await client.post(
            f"{path}/escalate",
            json={"level": "community", "to": "滨江社区", "reason": "需社区协调物业"},
            headers=me,
        )
    )
    assert (up["status"], up["queue"], up["queue_accepted_at"]) == ("escalated", "community", None)
    [item] = (await json_of(await client.get("/queues/community", headers=community)))["items"]
    assert (item["case_id"], item["handover"], item["queue_reason"]) == (
        case["case_id"], "escalation", "需社区协调物业",
    )  # fmt: skip
    assert "subjects" not in item and "account" not in item
    assert case["case_id"] in [c["case_id"] for c in (await json_of(
        await client.get("/triage", headers=community)))["cases"]]  # fmt: skip
    # each queue is its own role's; another community's staff see nothing of it
    assert (await client.get("/queues/community", headers=trio.staff())).status_code == 403
    elsewhere = _community(trio, trio.tree.community_code.rsplit("-", 1)[0] + "-999")
    assert await _queue(trio, "community", elsewhere) == []
    assert (
        await client.post(f"/queues/community/{case['case_id']}/accept", headers=elsewhere)
    ).status_code == 404
    signed = await json_of(
        await client.post(f"/queues/community/{case['case_id']}/accept", headers=community)
    )
    assert signed["queue_accepted_by"] == "community-1"
    again = await json_of(
        await client.post(f"/queues/community/{case['case_id']}/accept", headers=community)
    )
    assert again["queue_accepted_at"] == signed["queue_accepted_at"]
    # the community hands the matter to the department that owns it
    bad = await client.post(
        f"{path}/refer", json={"department": "城管", "reason": "r"}, headers=community
    )
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (422, "body/department")
    referred = await json_of(
        await client.post(
            f"{path}/refer",
            json={"department": "urban_management", "reason": "占道需执法"},
            headers=community,
        )
    )
    assert (referred["queue"], referred["referred_to"]) == ("urban_management", "urban_management")
    assert await _queue(trio, "community", community) == []
    desk = _department(trio, "urban_management")
    [item] = (await json_of(await client.get("/queues/urban_management", headers=desk)))["items"]
    assert (item["handover"], item["queue_accepted_at"]) == ("referral", None)
    police = _department(trio, "police")
    assert (await client.get("/queues/urban_management", headers=police)).status_code == 403
    assert (
        await client.post(f"/queues/urban_management/{case['case_id']}/accept", headers=police)
    ).status_code == 403
    assert (
        await client.post(f"/queues/police/{case['case_id']}/accept", headers=police)
    ).status_code == 404
    assert (
        await client.post(f"/queues/urban_management/{uuid.uuid4()}/accept", headers=desk)
    ).status_code == 404
    # a department reads no case but its queue's rows
    assert (await client.get(path, headers=desk)).status_code == 403
    taken = await json_of(
        await client.post(f"/queues/urban_management/{case['case_id']}/accept", headers=desk)
    )
    assert taken["queue_accepted_by"] == "urban_management-desk"
    events = await trio.cases.app.state.service.store.read_stream(
        domain.stream_id(uuid.UUID(case["case_id"]))
    )
    kinds = [type(e.data).__name__ for e in events]
    assert kinds.count("HandoverAccepted") == 2
    # resolved, it leaves the queue; only staff above the grid close and reopen it
    await json_of(
        await client.post(
            f"{path}/resolve",
            json={"resolution": "已清理", "solved": True, "at_source": False},
            headers=me,
        )
    )
    assert await _queue(trio, "urban_management", desk) == []
    assert (await client.post(f"{path}/close", json={}, headers=me)).status_code == 403
    closed = await json_of(await client.post(f"{path}/close", json={}, headers=community))
    assert closed["status"] == "closed"
    assert (await client.post(f"{path}/close", json={}, headers=community)).status_code == 409
    reopened = await json_of(
        await client.post(f"{path}/reopen", json={"reason": "又堆上了"}, headers=community)
    )
    assert (reopened["status"], reopened["reopened"]) == ("in_progress", 1)
    assert case["case_id"] in [
        c["case_id"] for c in (await json_of(await client.get("/inbox", headers=me)))["cases"]
    ]


async def test_escalating_to_the_subdistrict_or_a_department_is_for_their_queues_only(
    trio: Trio,
) -> None:
    client, me = trio.cases.client, trio.worker()
    first, second = await _open(trio), await _open(trio, title="井盖缺失")
    for case, body in (
        (first, {"level": "subdistrict", "to": "街道综治中心", "reason": "跨社区"}),
        (second, {"level": "department", "to": "police", "reason": "涉及治安"}),
    ):
        # an assigned case may be escalated before it is taken on
        done = await json_of(
            await client.post(f"/cases/{case['case_id']}/escalate", json=body, headers=me)
        )
        assert done["status"] == "escalated"
    assert await _queue(trio, "subdistrict", trio.staff()) == [first["case_id"]]
    assert await _queue(trio, "police", _department(trio, "police")) == [second["case_id"]]
    assert (await client.get("/queues/subdistrict", headers=_community(trio))).status_code == 403
    assert (await client.get("/queues/police", headers=trio.staff())).status_code == 403
    wrong = await client.post(
        f"/cases/{first['case_id']}/escalate",
        json={"level": "department", "to": "公安", "reason": "r"},
        headers=me,
    )
    assert (wrong.status_code, wrong.json()["errors"][0]["field"]) == (422, "body/to")
    bad_name = await client.get("/queues/Police", headers=_department(trio, "police"))
    assert bad_name.status_code == 422


async def _agreed(trio: Trio, signed_on: str) -> str:
    """A dispute mediated by the worker and MEDIATOR to an agreement signed on ``signed_on``."""
    client, me = trio.cases.client, trio.worker()
    case = await _open(trio, kind="dispute", title="楼上漏水纠纷")
    path = f"/cases/{case['case_id']}"
    await json_of(await client.post(f"{path}/accept", headers=me))
    parties = [
        (await json_of(await client.post(f"{path}/parties", json=body, headers=me), 201))[
            "party_id"
        ]
        for body in (
            {"role": "applicant", "resident": "p-1101"},
            {"role": "respondent", "outside": {"name": "赵六"}},
        )
    ]
    await json_of(await client.post(f"{path}/mediators", json={"mediator": MEDIATOR}, headers=me))
    held = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    session = {"held_at": held, "place": "调解室", "attendees": parties, "mediators": [MEDIATOR],
               "summary": "同意维修", "signed_by": parties}  # fmt: skip
    await json_of(await client.post(f"{path}/sessions", json=session, headers=me), 201)
    agreement = {"signed_by": parties, "facts": "渗漏", "dispute": "维修",
                 "responsibilities": "1201", "terms": "修复", "performance": "现金",
                 "perform_by": signed_on, "signed_on": signed_on}  # fmt: skip
    await json_of(await client.post(f"{path}/agreement", json=agreement, headers=me), 201)
    return str(case["case_id"])


async def test_the_confirmation_window_reminds_the_mediator_then_lapses_unless_asked(
    trio: Trio,
) -> None:
    client, me = trio.cases.client, trio.worker()
    core = trio.cases.app.state.service.core
    assert isinstance(core, CasesCore)
    today = local_day(datetime.now(UTC))  # the subdistrict's day, as the window counts
    case_id = await _agreed(trio, str(today - timedelta(days=25)))
    path = f"/cases/{case_id}"
    assert (await json_of(await client.get("/inbox", headers=me)))["confirmations"] == []
    assert await sweep_once(core) == 1
    assert await sweep_once(core) == 0  # reminded once
    mediator = trio.worker(MEDIATOR)
    for headers in (me, mediator):
        [due] = (await json_of(await client.get("/inbox", headers=headers)))["confirmations"]
        assert (due["case_id"], due["days_left"]) == (case_id, 5)
    assert (await json_of(await client.get("/inbox", headers=trio.worker("worker-li"))))[
        "confirmations"
    ] == []
    # a week on, the window has closed unasked
    assert await sweep_once(core, datetime.now(UTC) + timedelta(days=7)) == 1
    lapsed = await json_of(await client.get(path, headers=me))
    assert lapsed["confirmation"] == "lapsed"
    assert (await json_of(await client.get("/inbox", headers=me)))["confirmations"] == []
    # the parties did ask in time; recorded late, it counts
    too_late = await client.post(
        f"{path}/agreement/confirmation",
        json={"requested_on": str(today + timedelta(days=6)), "court": "鼓楼区人民法院"},
        headers=me,
    )
    assert (too_late.status_code, too_late.json()["errors"][0]["field"]) == (422, "requested_on")
    asked = await json_of(
        await client.post(
            f"{path}/agreement/confirmation",
            json={"requested_on": str(today), "court": "鼓楼区人民法院"},
            headers=me,
        )
    )
    assert (asked["confirmation"], asked["confirmation_requested_on"]) == ("requested", str(today))
    assert await sweep_once(core, datetime.now(UTC) + timedelta(days=40)) == 0
