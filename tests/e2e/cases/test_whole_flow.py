"""The flagship flow, across the three services and only through their events: a signed 12345
push -> the case appears in the right worker's inbox -> mediation sessions and an agreement ->
the case is resolved -> the reply reaches the hotline despite failures -> the follow-up rating
arrives -> the ticket and the case close, and the grid's monthly figures show it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from wangge.hotline_bridge.domain.metrics import CST

from hotline_support import push, ticket
from pair_support import hotline_says
from receiver_support import FAST, Receiver
from registry_support import register_person
from trio_support import WORKER, Trio, eventually, json_of


async def _grid_month(trio: Trio) -> Any:
    """This month's figures of the tree's grid, as the subdistrict reads them."""
    month = datetime.now(CST).strftime("%Y-%m")
    admin = trio.hotline.as_("subdistrict_admin", places=["320111001"])
    page = await json_of(await trio.hotline.client.get(f"/rates?month={month}", headers=admin))
    return next(a for a in page["areas"] if a["area_id"] == trio.tree.grid)


async def _ticket(trio: Trio, ticket_id: str) -> Any:
    admin = trio.hotline.as_("subdistrict_admin", places=["320111001"])
    return (await trio.hotline.client.get(f"/tickets/{ticket_id}", headers=admin)).json()


@pytest.mark.hotline(**FAST)
async def test_a_pushed_complaint_is_mediated_resolved_replied_and_rated(
    trio: Trio, receiver: Receiver
) -> None:
    receiver.secret = trio.hotline.settings.signing_secret()
    await register_person(trio.registry, trio.tree)  # moves into the grid's dwelling

    async def counted() -> Any:
        figures = await _grid_month(trio)
        return figures if figures["residents"] == 1 else None

    before = await eventually(counted, what="the resident counted in the grid")
    assert (before["tickets"], before["satisfaction_rate"]) == (0, None)
    pushed = await json_of(
        await push(
            trio.hotline,
            ticket(
                address="沿江街道滨江社区12栋2单元1201",
                content="楼上 1301 装修噪声 与邻居多次争执",
                received_at=datetime.now(CST).isoformat(),  # this month's figures change
            ),
        ),
        201,
    )
    assert (pushed["status"], pushed["grid_id"]) == ("routed", trio.tree.grid)
    me, client = trio.worker(), trio.cases.client

    async def in_inbox() -> Any:
        inbox = await json_of(await client.get("/inbox", headers=me))
        return next((c for c in inbox["cases"] if c["ticket_id"] == pushed["ticket_id"]), None)

    case = await eventually(in_inbox, what="the case in the worker's inbox")
    assert (case["kind"], case["source"], case["account"]) == ("complaint", "hotline", WORKER)
    # the ticket's deadline (+08:00 in the event) is the same instant in the case, on SQLite too
    at = datetime.fromisoformat
    assert at(case["deadline"]) == at(pushed["deadline"]), (case["deadline"], pushed["deadline"])
    path = f"/cases/{case['case_id']}"

    await json_of(await client.post(f"{path}/accept", headers=me))

    async def ticket_accepted() -> bool:
        return bool((await _ticket(trio, pushed["ticket_id"]))["status"] == "accepted")

    await eventually(ticket_accepted, what="the ticket accepted with its case")

    parties = []
    for body in (
        {"role": "applicant", "resident": "p-1201"},
        {"role": "respondent", "outside": {"name": "陈七", "phone": "13700001111"}},
    ):
        party = await json_of(await client.post(f"{path}/parties", json=body, headers=me), 201)
        parties.append(party["party_id"])
    await json_of(await client.post(f"{path}/mediators", json={"mediator": "刘调解"}, headers=me))
    for hours in (30, 2):
        held = (datetime.now(UTC) - timedelta(hours=hours)).isoformat()
        session = {
            "held_at": held, "place": "社区调解室", "attendees": parties, "mediators": ["刘调解"],
            "summary": "双方陈述意见", "signed_by": parties,
        }  # fmt: skip
        await json_of(await client.post(f"{path}/sessions", json=session, headers=me), 201)
    today = datetime.now(UTC).date()
    agreement = {
        "signed_by": parties, "facts": "1301 夜间装修", "dispute": "噪声扰民",
        "responsibilities": "1301 调整施工时间", "terms": "每日 8 时至 18 时施工",
        "performance": "物业监督", "perform_by": str(today + timedelta(days=30)),
        "signed_on": str(today),
    }  # fmt: skip
    await json_of(await client.post(f"{path}/agreement", json=agreement, headers=me), 201)
    resolved = await json_of(
        await client.post(
            f"{path}/resolve",
            json={"resolution": "经调解双方达成协议 施工时间已调整", "solved": True},
            headers=me,
        )
    )
    assert resolved["status"] == "resolved"

    async def delivered() -> Any:
        view = await _ticket(trio, pushed["ticket_id"])
        return view if view["delivery_status"] == "delivered" else None

    view = await eventually(delivered, what="the reply delivered to the hotline")
    assert view["status"] == "replied"
    [kept] = receiver.kept.values()
    assert (kept["ticket_number"], kept["reply"]) == (
        pushed["ticket_number"], "经调解双方达成协议 施工时间已调整",
    )  # fmt: skip

    rated = await hotline_says(
        trio.hotline, "/tickets/follow-ups",
        {"ticket_number": pushed["ticket_number"], "satisfaction": "satisfied", "resolved": True},
    )  # fmt: skip
    assert rated.json()["status"] == "closed", rated.text

    async def case_closed() -> bool:
        read = await json_of(await client.get(path, headers=me))
        return bool(read["status"] == "closed" and read["satisfied"] is True)

    await eventually(case_closed, what="the case closed by the follow-up")

    after = await _grid_month(trio)
    assert (after["tickets"], after["complaints"], after["complaint_rate"]) == (1, 1, 1000.0)
    assert after["satisfaction_rate"] == after["resolution_rate"] == 1.0
    assert after["on_time_rate"] == after["solved_at_source_rate"] == after["response_rate"] == 1.0
