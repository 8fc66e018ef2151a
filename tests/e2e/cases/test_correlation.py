"""One matter (一件事), one correlation id, across the services and through people's steps: a
12345 push, the case it becomes, the worker's acceptance, mediation and resolution, the reply
and its delivery, an unsatisfied 回访 that reopens the ticket and the case, the second
resolution and the satisfied 回访 that closes both. Each event's causation id names the event
that caused it when another service's event did (a reaction), and that event is in the matter."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from wangge.events import RecordedEvent

from hotline_support import push, ticket
from pair_support import hotline_says
from receiver_support import FAST, Receiver
from trio_support import Trio, eventually, json_of


async def _ticket(trio: Trio, ticket_id: str) -> Any:
    admin = trio.hotline.as_("subdistrict_admin", places=["320111001"])
    return (await trio.hotline.client.get(f"/tickets/{ticket_id}", headers=admin)).json()


async def _delivered(trio: Trio, ticket_id: str, replies: int) -> None:
    async def check() -> bool:
        events = await trio.hotline.store.read_stream(f"ticket-{ticket_id}")
        kinds = [type(e.data).__name__ for e in events]
        view = await _ticket(trio, ticket_id)
        return kinds.count("TicketReplied") == replies and view["delivery_status"] == "delivered"

    await eventually(check, what=f"reply {replies} delivered")


def _types(events: list[RecordedEvent]) -> list[str]:
    return [type(e.data).__name__ for e in events]


@pytest.mark.hotline(**FAST)
async def test_every_step_of_a_pushed_ticket_s_matter_carries_its_correlation_id(
    trio: Trio, receiver: Receiver
) -> None:
    receiver.secret = trio.hotline.settings.signing_secret()
    pushed = await json_of(
        await push(
            trio.hotline, ticket(address="沿江街道滨江社区12栋2单元1201", content="噪声扰民")
        ),
        201,
    )
    me, client = trio.worker(), trio.cases.client

    async def in_inbox() -> Any:
        inbox = await json_of(await client.get("/inbox", headers=me))
        return next((c for c in inbox["cases"] if c["ticket_id"] == pushed["ticket_id"]), None)

    case = await eventually(in_inbox, what="the case in the worker's inbox")
    path = f"/cases/{case['case_id']}"
    await json_of(await client.post(f"{path}/accept", headers=me))
    await json_of(await client.post(f"{path}/progress", json={"note": "已上门"}, headers=me))
    await json_of(await client.post(f"{path}/mediators", json={"mediator": "刘调解"}, headers=me))
    party = await json_of(
        await client.post(
            f"{path}/parties", json={"role": "applicant", "resident": "p-1201"}, headers=me
        ),
        201,
    )
    session = {
        "held_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(), "place": "社区调解室",
        "attendees": [party["party_id"]], "mediators": ["刘调解"], "summary": "陈述意见",
        "signed_by": [party["party_id"]],
    }  # fmt: skip
    await json_of(await client.post(f"{path}/sessions", json=session, headers=me), 201)
    resolution = {"resolution": "已协调施工时间", "solved": True}
    await json_of(await client.post(f"{path}/resolve", json=resolution, headers=me))
    await _delivered(trio, pushed["ticket_id"], 1)

    number = pushed["ticket_number"]
    unhappy = {"ticket_number": number, "satisfaction": "unsatisfied", "resolved": False}
    reopened = await hotline_says(trio.hotline, "/tickets/follow-ups", unhappy)
    assert reopened.status_code == 200, reopened.text

    async def case_reopened() -> bool:
        read = await json_of(await client.get(path, headers=me))
        return bool(read["status"] not in ("resolved", "closed"))

    await eventually(case_reopened, what="the case reopened by the 回访")
    await json_of(await client.post(f"{path}/resolve", json=resolution, headers=me))
    await _delivered(trio, pushed["ticket_id"], 2)
    happy = {"ticket_number": number, "satisfaction": "satisfied", "resolved": True}
    assert (await hotline_says(trio.hotline, "/tickets/follow-ups", happy)).status_code == 200

    async def case_closed() -> list[RecordedEvent] | None:
        events = await trio.cases.store.read_stream(f"case-{case['case_id']}")
        return events if "CaseClosed" in _types(events) else None

    case_events = await eventually(case_closed, what="the case closed by the 回访")
    ticket_events = await trio.hotline.store.read_stream(f"ticket-{pushed['ticket_id']}")
    matter = ticket_events[0].envelope.correlationid
    assert matter is not None
    every = [*ticket_events, *case_events]
    off = [(e.stream_id, _types([e])) for e in every if e.envelope.correlationid != matter]
    assert not off, f"events outside the matter {matter}: {off}"

    ids = {str(e.envelope.id) for e in every}
    # each reaction names its cause, an event of the matter
    caused = [e for e in every if e.envelope.actor in ("system:cases", "system:hotline-bridge")]
    reactions = [e for e in caused if e.envelope.causationid is not None]
    assert reactions, "no reaction recorded its cause"
    assert {e.envelope.causationid for e in reactions} <= ids
    assert case_events[0].envelope.causationid in {
        str(e.envelope.id) for e in ticket_events if type(e.data).__name__ == "TicketRoutedToGrid"
    }
    replies = [e for e in ticket_events if type(e.data).__name__ == "TicketReplied"]
    resolved = {str(e.envelope.id) for e in case_events if type(e.data).__name__ == "CaseResolved"}
    assert len(replies) == 2 and {e.envelope.causationid for e in replies} == resolved
    assert "CaseReopened" in _types(case_events)
    assert uuid.UUID(matter)  # a new matter's id is a UUID (the ticket came with none)
