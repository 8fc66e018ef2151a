"""The hotline bridge's read models and its reaction on PostgreSQL, with every fast path on and
with their slow twins (group commit, folding, COPY, batch appends): a burst of pushes taken in
together leaves each ticket routed once, with the same rows as pushes taken in one by one, and a
case resolved in the cases service's table replies to its ticket once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from core_support import Bridge, append, bridge_on, intake

from wangge.hotline_bridge.config import HotlineSettings
from wangge.hotline_bridge.consumed.cases import CaseAccepted, CaseOpened, CaseResolved
from wangge.hotline_bridge.domain.tickets import Intake, TicketReplied, stream_id
from wangge.hotline_bridge.projections.tickets import ticket_row
from wangge.service.testing import backend_settings

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("fast_and_slow")]

BURST = 24
OWN = frozenset(
    {
        "ticket_id",
        "ticket_number",
        "received_at",
        "deadline",
        "updated_at",
        "address",
        "address_key",
    }
)
"""What differs between any two of these tickets; every other column must be the same whichever
way the ticket was taken in."""


def _push(n: int) -> Intake:
    # a dwelling of its own each, in the grid's building: no ticket repeats another
    return intake(address=f"沿江街道滨江社区12栋2单元{1001 + n}")


@pytest.fixture
async def pg_bridge(tmp_path: Path, database_url: str) -> AsyncIterator[Bridge]:
    settings = backend_settings(HotlineSettings, "postgres", tmp_path, database_url, "hoti")
    async with bridge_on(settings) as made:
        yield made


async def _rows(bridge: Bridge, ticket_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    async with bridge.core.store.engine.connect() as conn:
        tables = await bridge.core.tickets(conn)
        rows = [await ticket_row(conn, tables, t) for t in ticket_ids]
    assert all(row is not None for row in rows)
    return [
        {k: v for k, v in row.items() if k not in OWN and not k.startswith("sealed_")}
        for row in rows
        if row is not None
    ]


async def test_a_burst_taken_in_together_leaves_the_rows_of_pushes_taken_in_alone(
    pg_bridge: Bridge,
) -> None:
    together = await asyncio.gather(*(pg_bridge.push(_push(n)) for n in range(BURST)))
    alone = [await pg_bridge.push(_push(BURST + n), queue=False) for n in range(BURST)]
    assert all(recorded for _, recorded in [*together, *alone])
    rows_together = await _rows(pg_bridge, [t for t, _ in together])
    rows_alone = await _rows(pg_bridge, [t for t, _ in alone])
    assert rows_together == rows_alone
    assert {row["status"] for row in rows_together} == {"routed"}
    for ticket_id, _ in together:
        events = await pg_bridge.core.store.read_stream(stream_id(ticket_id))
        assert [e.version for e in events] == [1, 2]


async def test_a_case_resolved_upstream_replies_to_its_ticket_once(pg_bridge: Bridge) -> None:
    ticket_id, _ = await pg_bridge.push(intake())
    case_id = uuid.uuid4()
    stream = f"case-{case_id}"
    await append(pg_bridge.cases, stream, [CaseOpened(case_id=case_id, ticket_id=ticket_id)])
    await append(pg_bridge.cases, stream, [CaseAccepted(case_id=case_id)])
    resolved = CaseResolved(case_id=case_id, resolution="已解决", solved=True, at_source=True)
    await append(pg_bridge.cases, stream, [resolved])
    await pg_bridge.upstream()
    await pg_bridge.upstream()  # nothing new: nothing again
    events = await pg_bridge.core.store.read_stream(stream_id(ticket_id))
    assert len([e for e in events if isinstance(e.data, TicketReplied)]) == 1
    async with pg_bridge.core.store.engine.connect() as conn:
        row = await ticket_row(conn, await pg_bridge.core.tickets(conn), ticket_id)
    assert row is not None and row["status"] == "replied"


async def test_pushes_at_one_address_taken_in_alone_at_once_link_as_repeats(
    pg_bridge: Bridge,
) -> None:
    # as two server processes take them in: neither sees the other's uncommitted ticket unless
    # the second waits for the first (the address's lock), so the repeat would go unlinked
    pushed = await asyncio.gather(*(pg_bridge.push(intake(), queue=False) for _ in range(4)))
    async with pg_bridge.core.store.engine.connect() as conn:
        tables = await pg_bridge.core.tickets(conn)
        found = [await ticket_row(conn, tables, ticket_id) for ticket_id, _ in pushed]
    rows = [row for row in found if row is not None]
    assert len(rows) == len(pushed)
    firsts = [row for row in rows if row["duplicate_of"] is None]
    assert len(firsts) == 1
    repeats = {row["duplicate_of"] for row in rows if row is not firsts[0]}
    assert repeats == {firsts[0]["ticket_id"]}
