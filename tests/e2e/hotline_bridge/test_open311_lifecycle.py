"""An Open311 request follows its ticket's life: ``open`` while the grid works it, ``closed``
once the hotline's follow-up call closes the ticket."""

from __future__ import annotations

from typing import Any

from wangge.hotline_bridge.domain.tickets import ticket_id

from pair_support import Pair, hotline_says

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def _status(pair: Pair, request_id: str) -> Any:
    [one] = (await pair.hotline.client.get(f"/open311/v2/requests/{request_id}.json")).json()
    return one["status"]


async def test_a_request_is_open_until_its_ticket_closes(pair: Pair) -> None:
    client = pair.hotline.client
    key = next(iter(pair.hotline.settings.open311_clients()))
    posted = await client.post(
        "/open311/v2/requests.json",
        data={"api_key": key, "service_code": "0301", "description": "夜间施工噪声扰民",
              "address_string": "沿江街道滨江社区12栋2单元1201"},
        headers=FORM,
    )  # fmt: skip
    assert posted.status_code == 200, posted.text
    request_id = posted.json()[0]["service_request_id"]
    ticket = ticket_id(request_id)  # the request's number is its ticket's
    admin = pair.hotline.as_("subdistrict_admin", places=["320111001"])
    view = (await client.get(f"/tickets/{ticket}", headers=admin)).json()
    assert view["status"] == "routed", view  # the registry's dwelling routed it
    worker = pair.hotline.as_("grid_worker", places=[pair.tree.grid_code])
    await client.post(f"/tickets/{ticket}/accept", headers=worker)
    done = {"reply": "已协调停工", "solved": True}
    await client.post(f"/tickets/{ticket}/reply", json=done, headers=worker)
    assert await _status(pair, request_id) == "open"  # replied, not yet rated
    rated = await hotline_says(
        pair.hotline, "/tickets/follow-ups",
        {"ticket_number": view["ticket_number"], "satisfaction": "satisfied", "resolved": True},
    )  # fmt: skip
    assert rated.json()["status"] == "closed", rated.text
    assert await _status(pair, request_id) == "closed"
    closed = await client.get("/open311/v2/requests.json", params={"status": "closed"})
    assert [r["service_request_id"] for r in closed.json()] == [request_id]
    still_open = await client.get("/open311/v2/requests.json", params={"status": "open"})
    assert still_open.json() == []
