"""The cases service's facts on tickets, as pure decisions: given a ticket's status, when its
case is accepted or resolved, then the ticket's events (never a refusal: the case moved on)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from wangge.hotline_bridge.domain import tickets
from wangge.hotline_bridge.domain.catalogue import TicketKind
from wangge.hotline_bridge.domain.tickets import Status

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def ticket(status: Status) -> tickets.Ticket:
    return tickets.Ticket(
        ticket_id=uuid.uuid4(), ticket_number="2026112700123", push_fingerprint="f",
        kind=TicketKind.COMPLAINT, category="0101", received_at=NOW,
        deadline=NOW + timedelta(hours=2), status=status, grid_id=uuid.uuid4(),
    )  # fmt: skip


def resolved(t: tickets.Ticket | None, resolution: str = "已修复路灯") -> list[type]:
    events = tickets.case_resolved(t, version=3, resolution=resolution, solved=True, at_source=True)
    return [type(e) for e in events]


def test_a_case_resolved_before_its_ticket_was_accepted_accepts_and_replies() -> None:
    assert resolved(ticket(Status.ROUTED)) == [tickets.TicketAccepted, tickets.TicketReplied]
    assert resolved(ticket(Status.REOPENED)) == [tickets.TicketReplied]


@pytest.mark.parametrize("status", [Status.REPLIED, Status.CLOSED, Status.RETURNED])
def test_a_case_resolved_when_its_ticket_owes_no_reply_changes_nothing(status: Status) -> None:
    # replied through this service already, closed, or given back to the hotline (退单)
    assert resolved(ticket(status)) == []


def test_a_resolution_longer_than_the_hotline_takes_is_cut_not_refused() -> None:
    events = tickets.case_resolved(
        ticket(Status.ACCEPTED), version=4, resolution="长" * 5000, solved=True, at_source=False
    )
    reply = events[0]
    assert isinstance(reply, tickets.TicketReplied)
    assert len(reply.reply) == tickets.REPLY_LENGTH


@pytest.mark.parametrize("status", list(Status))
def test_no_fact_of_a_case_is_refused_whatever_the_ticket_status(status: Status) -> None:
    accepted = tickets.case_accepted(ticket(status))
    assert [type(e) for e in accepted] == (
        [tickets.TicketAccepted] if status == Status.ROUTED else []
    )
    resolved(ticket(status))  # raises nothing
    assert tickets.case_accepted(None) == []
    assert resolved(None) == []
