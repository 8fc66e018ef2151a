"""Routing against the registry's real place events, and a ticket's handling after it."""

from __future__ import annotations

import asyncio
import uuid

import sqlalchemy as sa

from wangge.events import tuning
from wangge.events.projection import active_tables
from wangge.hotline_bridge.domain.tickets import stream_id

from hotline_support import push, ticket
from pair_support import Pair, hotline_message, hotline_says, routed


async def test_a_registered_dwelling_routes_to_its_grid(pair: Pair) -> None:
    view = await routed(pair, "江苏省南京市建邺区沿江街道滨江社区12幢2单元1201室")
    assert view["status"] == "routed"
    assert (view["grid_id"], view["routing_method"]) == (pair.tree.grid, "dwelling")


async def test_an_unknown_door_of_a_known_building_routes_by_the_building(pair: Pair) -> None:
    view = await routed(pair, "沿江街道滨江社区12号楼东侧垃圾堆放点")
    assert (view["grid_id"], view["routing_method"]) == (pair.tree.grid, "building")


async def test_an_estate_named_loosely_routes_by_fuzzy_match_never_by_a_wrong_number(
    pair: Pair,
) -> None:
    view = await routed(pair, "南京市建邺区滨江小区12栋3单元")
    assert (view["grid_id"], view["routing_method"]) == (pair.tree.grid, "fuzzy")
    assert view["routing_detail"].startswith("building 滨江社区12栋")
    other = await routed(pair, "南京市建邺区滨江小区112栋", location=None)
    assert other["status"] == "triage"
    assert "no building 112栋 in the subdistrict" in other["triage_reasons"]


async def test_a_point_inside_a_drawn_grid_routes_there(pair: Pair) -> None:
    view = await routed(pair, "沿江街道江边步道", location={"longitude": 118.73, "latitude": 32.04})
    assert (view["grid_id"], view["routing_method"]) == (pair.second_grid, "location")


async def test_a_point_in_a_boundary_the_registry_drew_after_registration_routes_there(
    pair: Pair,
) -> None:
    point = {"longitude": 118.61, "latitude": 32.07}
    outside = await routed(pair, "沿江街道江边步道", location=point)
    assert outside["status"] == "returned"  # in no grid's boundary yet: not the subdistrict's
    ring = [[118.60, 32.06], [118.62, 32.06], [118.62, 32.08], [118.60, 32.08], [118.60, 32.06]]
    drawn = await pair.registry.client.put(
        f"/places/{pair.tree.grid}/boundary",
        json={"boundary": {"type": "Polygon", "coordinates": [ring]}},
        headers=pair.tree.admin,
    )
    assert drawn.status_code == 200, drawn.text
    await _drawn(pair, pair.tree.grid)
    view = await routed(pair, "沿江街道江边步道北段", location=point)
    assert (view["grid_id"], view["routing_method"]) == (pair.tree.grid, "location")


async def _drawn(pair: Pair, grid_id: str) -> None:
    """Wait until the hotline's grid map holds a boundary of the grid (on Kafka, a while)."""
    state = pair.hotline.app.state.service
    for _ in range(400):
        async with state.engine.connect() as conn:
            tables = await active_tables(conn, state.projections["hotline_grid_map"])
            boundaries = tables["boundaries"]
            if await conn.scalar(
                sa.select(boundaries.c.grid_id).where(boundaries.c.grid_id == uuid.UUID(grid_id))
            ):
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the boundary of grid {grid_id} never reached the grid map")


async def test_tickets_arriving_together_route_each_by_its_own_rule(pair: Pair) -> None:
    # taken in one transaction (the first alone, the rest together): the batch's one lookup of
    # exact matches and one of neighbours must give each ticket what it gets alone
    addresses = [
        ("沿江街道江边步道", {"longitude": 118.73, "latitude": 32.04}),
        ("江苏省南京市建邺区沿江街道滨江社区12幢2单元1201室", None),
        ("沿江街道滨江社区12号楼东侧垃圾堆放点", None),
        ("南京市建邺区滨江小区12栋3单元", None),
        ("南京市建邺区兴隆街道奥体大街1号", None),
        ("沿江街道附近的路口", None),
    ]
    results = await asyncio.gather(
        *(push(pair.hotline, ticket(address=a, location=loc)) for a, loc in addresses)
    )
    grouped = pair.hotline.app.state.service.core.intakes.grouped
    # with group commit switched off (its slow twin, ADR 0002) each went alone: the same answers
    assert grouped >= 2 if tuning.FAST_PATHS.group_commit else grouped == 0
    views = [r.json() for r in results]
    assert [(v["status"], v["routing_method"]) for v in views] == [
        ("routed", "location"), ("routed", "dwelling"), ("routed", "building"),
        ("routed", "fuzzy"), ("returned", None), ("triage", None),
    ]  # fmt: skip
    assert [v["grid_id"] for v in views[:4]] == [pair.second_grid, *[pair.tree.grid] * 3]


async def test_another_subdistrict_is_returned_with_the_reason(pair: Pair) -> None:
    view = await routed(pair, "南京市建邺区兴隆街道奥体大街1号", location=None)
    assert view["status"] == "returned"
    assert view["returned_reason"] == "the address is in 兴隆街道"


async def test_triage_holds_what_no_rule_matched_until_staff_route_it(pair: Pair) -> None:
    view = await routed(pair, "沿江街道附近的路口", location=None)
    assert view["status"] == "triage"
    assert view["triage_reasons"] == [
        "the address names none of the subdistrict's communities",
        "the address names no building number",
        "the ticket gives no location",
    ]
    staff = pair.hotline.as_("subdistrict_admin", places=["320111001"])
    queue = await pair.hotline.client.get("/triage", headers=staff)
    assert [t["ticket_id"] for t in queue.json()["items"]] == [view["ticket_id"]]
    wrong = await pair.hotline.client.post(
        f"/tickets/{view['ticket_id']}/route", json={"grid_id": str(uuid.uuid4())}, headers=staff
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "grid_id"
    done = await pair.hotline.client.post(
        f"/tickets/{view['ticket_id']}/route", json={"grid_id": pair.tree.grid}, headers=staff
    )
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["routing_method"]) == ("routed", "manual")
    assert (await pair.hotline.client.get("/triage", headers=staff)).json()["items"] == []


async def test_the_grid_accepts_extends_replies_and_the_follow_up_closes_or_reopens(
    pair: Pair,
) -> None:
    view = await routed(pair, "沿江街道滨江社区12栋2单元1201")
    ticket, number = view["ticket_id"], view["ticket_number"]
    client = pair.hotline.client
    worker = pair.hotline.as_("grid_worker", places=[pair.tree.grid_code])
    outsider = pair.hotline.as_("grid_worker", places=[f"{pair.tree.community_code}-002"])
    assert (await client.post(f"/tickets/{ticket}/accept", headers=outsider)).status_code == 404
    accepted = await client.post(f"/tickets/{ticket}/accept", headers=worker)
    assert accepted.json()["status"] == "accepted", accepted.text
    again = await client.post(f"/tickets/{ticket}/accept", headers=worker)
    assert (again.status_code, again.json()["errors"][0]["field"]) == (409, "status")

    until = "2027-01-15T09:00:00+08:00"
    asked = await client.post(
        f"/tickets/{ticket}/extension",
        json={"until": until, "reason": "待物业维修"},
        headers=worker,
    )
    assert asked.json()["extension_until"] == "2027-01-15T01:00:00Z", asked.text
    decided = await hotline_says(
        pair.hotline, "/tickets/extension-decisions", {"ticket_number": number, "approved": True}
    )
    assert (decided.json()["deadline"], decided.json()["extension_until"]) == (
        "2027-01-15T01:00:00Z", None,
    )  # fmt: skip

    replied = await client.post(
        f"/tickets/{ticket}/reply", json={"reply": "已协调物业清理", "solved": True}, headers=worker
    )
    assert replied.json()["status"] == "replied", replied.text
    assert replied.json()["delivery_status"] == "pending"
    unhappy = await hotline_says(
        pair.hotline, "/tickets/follow-ups",
        {"ticket_number": number, "satisfaction": "unsatisfied", "resolved": False},
    )  # fmt: skip
    assert (unhappy.json()["status"], unhappy.json()["reopened"]) == ("reopened", 1)
    await client.post(
        f"/tickets/{ticket}/reply", json={"reply": "已再次处理", "solved": True}, headers=worker
    )
    happy = await hotline_says(
        pair.hotline, "/tickets/follow-ups",
        {"ticket_number": number, "satisfaction": "satisfied", "resolved": True},
    )  # fmt: skip
    assert happy.json()["status"] == "closed"
    assert (happy.json()["satisfaction"], happy.json()["resolved"]) == ("satisfied", True)
    late = await hotline_says(
        pair.hotline, "/tickets/follow-ups",
        {"ticket_number": number, "satisfaction": "satisfied", "resolved": True, "note": "再访"},
    )  # fmt: skip
    assert late.status_code == 409  # another follow-up of a closed ticket


async def test_the_hotlines_answers_sent_again_get_the_first_answer(pair: Pair) -> None:
    """A signed extension decision or follow-up sent again as it was (its acknowledgement was
    lost) is the same answer: recorded once, answered as the first time, never a 409."""
    view = await routed(pair, "沿江街道滨江社区12栋2单元1201")
    ticket, number = view["ticket_id"], view["ticket_number"]
    client, hotline = pair.hotline.client, pair.hotline
    worker = hotline.as_("grid_worker", places=[pair.tree.grid_code])
    await client.post(f"/tickets/{ticket}/accept", headers=worker)
    asked = {"until": "2027-01-15T09:00:00+08:00", "reason": "待物业维修"}
    await client.post(f"/tickets/{ticket}/extension", json=asked, headers=worker)
    raw, headers = hotline_message(hotline, {"ticket_number": number, "approved": True})
    first = await client.post("/tickets/extension-decisions", content=raw, headers=headers)
    again = await client.post("/tickets/extension-decisions", content=raw, headers=headers)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json()["deadline"] == first.json()["deadline"] == "2027-01-15T01:00:00Z"

    done = {"reply": "已处理", "solved": True}
    await client.post(f"/tickets/{ticket}/reply", json=done, headers=worker)
    rating = {"ticket_number": number, "satisfaction": "unsatisfied", "resolved": False}
    raw, headers = hotline_message(hotline, rating)
    first = await client.post("/tickets/follow-ups", content=raw, headers=headers)
    again = await client.post("/tickets/follow-ups", content=raw, headers=headers)
    assert first.status_code == again.status_code == 200, again.text
    assert first.json()["reopened"] == again.json()["reopened"] == 1  # reopened once, not twice
    events = await hotline.store.read_stream(stream_id(uuid.UUID(ticket)))
    names = [type(e.data).__name__ for e in events]
    assert names.count("TicketExtensionDecided") == names.count("TicketFollowedUp") == 1, names


async def test_an_unsigned_follow_up_is_refused(pair: Pair) -> None:
    refused = await pair.hotline.client.post(
        "/tickets/follow-ups",
        json={"ticket_number": "GD1", "satisfaction": "satisfied", "resolved": True},
        headers=pair.hotline.as_("hotline_system"),
    )
    assert refused.status_code == 401


async def test_a_staff_step_retried_with_its_idempotency_key_answers_as_the_first(
    pair: Pair,
) -> None:
    view = await routed(pair, "沿江街道滨江社区12栋2单元1201")
    worker = {
        **pair.hotline.as_("grid_worker", places=[pair.tree.grid_code]),
        "Idempotency-Key": "accept-once",
    }
    path = f"/tickets/{view['ticket_id']}/accept"
    first = await pair.hotline.client.post(path, headers=worker)
    retried = await pair.hotline.client.post(path, headers=worker)
    assert (first.status_code, retried.status_code) == (200, 200), retried.text
    assert retried.json()["status"] == "accepted"
    stale = await pair.hotline.client.post(
        f"/tickets/{view['ticket_id']}/return", json={"reason": "x"},
        headers={**worker, "Idempotency-Key": "other", "If-Match": '"1"'},
    )  # fmt: skip
    assert stale.status_code == 409
