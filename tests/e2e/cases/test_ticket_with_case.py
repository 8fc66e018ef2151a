"""A ticket the cases service works as a case is answered through the case only: the grid's
steps on the ticket itself are refused (they left the case open in the worker's inbox for
ever), while the case's acceptance and resolution accept and answer the ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wangge.hotline_bridge.domain.metrics import CST

from hotline_support import push, ticket
from trio_support import Trio, eventually, json_of


async def test_the_grids_steps_on_a_ticket_worked_as_a_case_are_refused(trio: Trio) -> None:
    pushed = await json_of(
        await push(trio.hotline, ticket(address="沿江街道滨江社区12栋2单元1201",
                                        received_at=datetime.now(CST).isoformat())),
        201,
    )  # fmt: skip
    ticket_id, me = pushed["ticket_id"], trio.worker()

    async def in_inbox() -> Any:
        inbox = await json_of(await trio.cases.client.get("/inbox", headers=me))
        return next((c for c in inbox["cases"] if c["ticket_id"] == ticket_id), None)

    case = await eventually(in_inbox, what="the case in the worker's inbox")
    await json_of(await trio.cases.client.post(f"/cases/{case['case_id']}/accept", headers=me))
    admin = trio.hotline.as_("subdistrict_admin", places=["320111001"])

    async def accepted() -> bool:
        view = await trio.hotline.client.get(f"/tickets/{ticket_id}", headers=admin)
        return bool(view.json()["status"] == "accepted")

    await eventually(accepted, what="the ticket accepted by its case")
    grid = trio.hotline.as_("grid_worker", places=[trio.tree.grid_code])
    for path, body in (
        ("reply", {"reply": "已处理", "solved": True}),
        ("extension", {"until": "2027-01-15T09:00:00+08:00", "reason": "待维修"}),
    ):
        refused = await trio.hotline.client.post(
            f"/tickets/{ticket_id}/{path}", json=body, headers=grid
        )
        assert refused.status_code == 409, refused.text
        problem = refused.json()
        assert problem["type"] == "urn:wangge:problem:ticket-has-case", problem
        assert case["case_id"] in problem["detail"]
    view = await trio.hotline.client.get(f"/tickets/{ticket_id}", headers=admin)
    assert view.json()["status"] == "accepted"  # nothing recorded by the refused steps
