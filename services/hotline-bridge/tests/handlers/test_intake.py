"""Taking tickets in below HTTP: routed in the intake's transaction, with the tickets read model
written in it too; a push repeated is answered with the first ticket and records nothing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from core_support import Bridge, append, intake
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import DomainEvent
from wangge.hotline_bridge.consumed.registry import GridBoundaryDrawn
from wangge.hotline_bridge.domain.routing import RoutingMethod
from wangge.hotline_bridge.domain.tickets import (
    Location,
    TicketAwaitingTriage,
    TicketNumberReused,
    TicketRoutedToGrid,
    stream_id,
)
from wangge.hotline_bridge.handlers.intake import NewTicket, take_in
from wangge.hotline_bridge.projections.tickets import ticket_row


async def test_a_pushed_ticket_is_routed_and_in_the_read_model_within_its_transaction(
    bridge: Bridge,
) -> None:
    seen: dict[str, Any] = {}

    async def view(conn: AsyncConnection, ticket_id: uuid.UUID, new: NewTicket | None) -> uuid.UUID:
        # the intake's own connection, before its commit: the inline read model is written,
        # the data key kept
        assert new is not None
        seen["row"] = new.row
        seen["read"] = await ticket_row(conn, await bridge.core.tickets(conn), ticket_id)
        seen["key"] = new.key
        seen["kept"] = await bridge.core.keyring.key(conn, ticket_id)
        return ticket_id

    core = bridge.core
    ticket_id, recorded = await take_in(
        bridge.commands(), intake(), keyring=core.keyring, catalogue=core.catalogue,
        settings=core.settings, queue=core.intakes, view=view,
    )  # fmt: skip
    assert recorded
    assert seen["row"] is not None and seen["read"] is not None
    assert seen["key"] == seen["kept"] and seen["key"] is not None
    for row in (seen["row"], seen["read"]):
        assert (row["status"], row["grid_id"], row["routing_method"]) == (
            "routed", bridge.grid_id, "building",
        )  # fmt: skip
    events = await core.store.read_stream(stream_id(ticket_id))
    assert [e.envelope.type.rsplit(".", 1)[1] for e in events] == [
        "TicketReceived",
        "TicketRoutedToGrid",
    ]
    assert {e.envelope.actor for e in events} == {"hotline-12345"}


@pytest.mark.parametrize("queue", [True, False], ids=["group-commit", "alone"])
async def test_the_same_push_again_answers_with_the_first_ticket_and_records_nothing(
    bridge: Bridge, queue: bool
) -> None:
    pushed = intake()
    first, recorded = await bridge.push(pushed, queue=queue)
    assert recorded
    before = await bridge.core.store.read_stream(stream_id(first))
    again, recorded = await bridge.push(pushed, queue=queue)
    assert (again, recorded) == (first, False)
    assert await bridge.core.store.read_stream(stream_id(first)) == before
    with pytest.raises(TicketNumberReused):
        await bridge.push(intake(pushed.ticket_number, fingerprint="another push"), queue=queue)


async def test_pushes_arriving_together_are_each_recorded_once(bridge: Bridge) -> None:
    pushes = [intake(address=f"沿江街道滨江社区12栋{n}单元101") for n in range(1, 7)]
    answers = await asyncio.gather(*(bridge.push(p) for p in [*pushes, *pushes]))
    firsts, seconds = answers[: len(pushes)], answers[len(pushes) :]
    assert [ticket for ticket, _ in firsts] == [ticket for ticket, _ in seconds]
    assert sum(recorded for _, recorded in answers) == len(pushes)
    for ticket_id, _ in firsts:
        events = await bridge.core.store.read_stream(stream_id(ticket_id))
        assert len(events) == 2  # received and routed, once


async def test_a_point_in_a_boundary_drawn_after_the_grids_registration_routes_there(
    bridge: Bridge,
) -> None:
    # addresses no rule matches (two: the same one twice would be a duplicate), so that only
    # the caller's point can route the tickets
    point = Location(longitude=118.625, latitude=32.065)
    before, _ = await bridge.push(intake(address="沿江街道江边步道", location=point))
    ring = [[118.62, 32.06], [118.63, 32.06], [118.63, 32.07], [118.62, 32.07], [118.62, 32.06]]
    drawn = GridBoundaryDrawn(
        place_id=bridge.grid_id, boundary={"type": "Polygon", "coordinates": [ring]}
    )
    await append(bridge.registry, f"place-{bridge.grid_id}", [drawn])
    assert await bridge.upstream() == 1

    after, _ = await bridge.push(intake(address="沿江街道江边步道北段", location=point))

    [waiting] = [e for e in await events(bridge, before) if isinstance(e, TicketAwaitingTriage)]
    assert "the caller's point is inside no grid" in waiting.reasons
    [routed] = [e for e in await events(bridge, after) if isinstance(e, TicketRoutedToGrid)]
    assert (routed.grid_id, routed.method) == (bridge.grid_id, RoutingMethod.LOCATION)


async def events(bridge: Bridge, ticket_id: uuid.UUID) -> list[DomainEvent]:
    return [e.data for e in await bridge.core.store.read_stream(stream_id(ticket_id))]
