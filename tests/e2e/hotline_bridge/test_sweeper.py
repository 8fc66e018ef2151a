"""The sweep: reminders (催办) before and after a deadline, once each; triage tickets routed once
the registry's places arrive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wangge.hotline_bridge.jobs import Sweeper

from pair_support import Pair, routed


async def test_a_ticket_near_its_deadline_is_reminded_then_overdue_once_each(pair: Pair) -> None:
    now = datetime.now(UTC)
    view = await routed(
        pair, "沿江街道滨江社区12栋2单元1201",
        received_at=(now - timedelta(hours=1)).isoformat(),
        deadline=(now + timedelta(hours=1)).isoformat(),
    )  # fmt: skip
    sweeper = Sweeper(pair.hotline.app.state.service)
    admin = pair.hotline.as_("subdistrict_admin", places=["320111001"])

    async def reminder() -> str | None:
        ticket = await pair.hotline.client.get(f"/tickets/{view['ticket_id']}", headers=admin)
        value: str | None = ticket.json()["reminder"]
        return value

    assert await sweeper.sweep(now) >= 1
    assert await reminder() == "due_soon"
    assert await sweeper.sweep(now) == 0
    assert await sweeper.sweep(now + timedelta(hours=2)) >= 1
    assert await reminder() == "overdue"
    assert await sweeper.sweep(now + timedelta(hours=3)) == 0


async def test_a_triage_ticket_is_routed_once_its_building_is_registered(pair: Pair) -> None:
    view = await routed(pair, "沿江街道滨江社区15栋楼道堆物", location=None)
    assert view["status"] == "triage"
    building = await pair.registry.client.post(
        "/places",
        json={"kind": "building", "name": "15栋", "number": "15栋", "parent_id": pair.tree.grid},
        headers=pair.tree.admin,
    )
    assert building.status_code == 201, building.text
    await pair.mapped(building.json()["place_id"])
    await Sweeper(pair.hotline.app.state.service).sweep()
    admin = pair.hotline.as_("subdistrict_admin", places=["320111001"])
    ticket = (await pair.hotline.client.get(f"/tickets/{view['ticket_id']}", headers=admin)).json()
    assert (ticket["status"], ticket["routing_method"]) == ("routed", "building")
    assert ticket["grid_id"] == pair.tree.grid
