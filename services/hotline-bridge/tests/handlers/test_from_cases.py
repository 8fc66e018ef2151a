"""The reaction to the cases service, below HTTP: a complaint case taken on and resolved in the
cases service's event table accepts its ticket and replies to it, once, whatever the replays."""

from __future__ import annotations

import uuid

from core_support import Bridge, append, intake

from wangge.hotline_bridge.consumed.cases import CaseAccepted, CaseOpened, CaseResolved
from wangge.hotline_bridge.domain.tickets import TicketReplied, stream_id
from wangge.hotline_bridge.projections.tickets import ticket_row


async def test_a_case_taken_on_and_resolved_accepts_and_replies_to_its_ticket(
    bridge: Bridge,
) -> None:
    ticket_id, _ = await bridge.push(intake())
    case_id = uuid.uuid4()
    stream = f"case-{case_id}"
    await append(bridge.cases, stream, [CaseOpened(case_id=case_id, ticket_id=ticket_id)])
    await append(bridge.cases, stream, [CaseAccepted(case_id=case_id)])
    await bridge.upstream()
    async with bridge.core.store.engine.connect() as conn:
        row = await ticket_row(conn, await bridge.core.tickets(conn), ticket_id)
    assert row is not None and row["status"] == "accepted"

    resolved = CaseResolved(case_id=case_id, resolution="已调解 商户承诺十点后停业", solved=True,
                            at_source=True)  # fmt: skip
    await append(bridge.cases, stream, [resolved])
    await bridge.upstream()
    await bridge.upstream()  # nothing new: nothing again
    events = await bridge.core.store.read_stream(stream_id(ticket_id))
    replies = [e.data for e in events if isinstance(e.data, TicketReplied)]
    assert len(replies) == 1 and replies[0].solved
    assert {e.envelope.actor for e in events[2:]} == {"system:hotline-bridge"}
    async with bridge.core.store.engine.connect() as conn:
        row = await ticket_row(conn, await bridge.core.tickets(conn), ticket_id)
        key = await bridge.core.keyring.key(conn, ticket_id)
    assert row is not None and (row["status"], row["delivery_status"]) == ("replied", "pending")
    assert key is not None and row["sealed_reply"] is not None  # sealed as a reply typed here


async def test_a_case_of_no_ticket_changes_no_ticket(bridge: Bridge) -> None:
    case_id = uuid.uuid4()
    await append(bridge.cases, f"case-{case_id}", [CaseOpened(case_id=case_id)])
    await append(bridge.cases, f"case-{case_id}", [CaseAccepted(case_id=case_id)])
    assert await bridge.upstream() == 2
