"""The routing rules and a ticket's life, as pure decisions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from wangge.events import DomainEvent
from wangge.hotline_bridge.domain import tickets
from wangge.hotline_bridge.domain.catalogue import TicketKind
from wangge.hotline_bridge.domain.routing import (
    Candidate,
    Match,
    RoutingMethod,
    from_community,
    fuzzy_building,
    other_subdistrict,
)
from wangge.hotline_bridge.domain.tickets import Satisfaction, Status, WrongStatus

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
GRID_A, GRID_B = uuid.uuid4(), uuid.uuid4()


def building(key: str, grid: uuid.UUID = GRID_A) -> Candidate:
    return Candidate(uuid.uuid4(), grid, key)


def test_the_address_is_read_from_its_longest_community_name_on() -> None:
    key = "南京市建邺区沿江街道江心洲社区3栋"
    assert from_community(key, ["江心社区", "江心洲社区"]) == "江心洲社区3栋"
    assert from_community(key, ["滨江社区"]) is None


def test_fuzzy_matching_never_guesses_a_building_number() -> None:
    buildings = [building("滨江社区1栋"), building("滨江社区11栋", GRID_B)]
    found = fuzzy_building("滨江小区11栋", buildings, cutoff=70, margin=10)
    assert isinstance(found, Match)
    assert (found.grid_id, found.method) == (GRID_B, RoutingMethod.FUZZY)
    assert fuzzy_building("滨江小区111栋", buildings, cutoff=70, margin=10) == (
        "no building 111栋 in the subdistrict"
    )


def test_two_estates_matching_equally_well_go_to_triage() -> None:
    buildings = [building("滨江社区1栋"), building("滨河社区1栋", GRID_B)]
    found = fuzzy_building("滨小区1栋", buildings, cutoff=30, margin=10)
    assert found == "building 1栋 of more than one estate matches the address as well"


def test_another_subdistrict_is_recognised_behind_city_and_district() -> None:
    assert other_subdistrict("南京市建邺区兴隆街道奥体大街1号", ["沿江街道"]) == "兴隆街道"
    assert other_subdistrict("南京市建邺区沿江街道滨江社区", ["沿江街道"]) is None


def received(deadline: datetime = NOW + timedelta(days=13)) -> tickets.Ticket:
    return tickets.Ticket(uuid.uuid4(), "GD1", "f", TicketKind.COMPLAINT, "0301", NOW, deadline)


def run(ticket: tickets.Ticket, events: list[DomainEvent]) -> tickets.Ticket:
    for event in events:
        ticket = tickets.evolve(ticket, event, 0)
    return ticket


def handled(ticket: tickets.Ticket) -> tickets.Ticket:
    ticket = run(ticket, tickets.route(ticket, Match(RoutingMethod.DWELLING, GRID_A, None, "d")))
    return run(ticket, tickets.accept(ticket))


def test_a_returned_ticket_cannot_be_accepted_and_an_accepted_one_cannot_be_returned() -> None:
    ticket = received()
    back = run(ticket, tickets.give_back(ticket, "not ours", by="staff"))
    with pytest.raises(WrongStatus):
        tickets.accept(back)
    with pytest.raises(WrongStatus):
        tickets.give_back(handled(received()), "too late", by="staff")


def test_an_extension_is_asked_before_the_deadline_and_approval_moves_it() -> None:
    ticket = handled(received())
    later = ticket.deadline + timedelta(days=5)
    with pytest.raises(tickets.InvalidTicket):
        tickets.request_extension(ticket, until=later, reason="parts", now=ticket.deadline)
    ticket = run(ticket, tickets.request_extension(ticket, until=later, reason="parts", now=NOW))
    with pytest.raises(WrongStatus):
        tickets.request_extension(ticket, until=later, reason="again", now=NOW)
    ticket = run(ticket, tickets.decide_extension(ticket, approved=True, deadline=None, note=None))
    assert (ticket.deadline, ticket.extension_until) == (later, None)


def replied_and_followed_up(
    ticket: tickets.Ticket, satisfaction: Satisfaction, *, redo: datetime, version: int
) -> tickets.Ticket:
    ticket = run(
        ticket, tickets.reply(ticket, text="done", solved=True, at_source=True, version=version)
    )
    return run(
        ticket,
        tickets.follow_up(
            ticket, satisfaction=satisfaction, resolved=True, note=None, redo_deadline=redo
        ),
    )


def test_an_unsatisfied_follow_up_reopens_and_a_satisfied_one_closes() -> None:
    redo = NOW + timedelta(days=3)
    ticket = handled(received())
    ticket = replied_and_followed_up(ticket, Satisfaction.UNSATISFIED, redo=redo, version=3)
    assert (ticket.status, ticket.deadline) == (Status.REOPENED, redo)
    ticket = replied_and_followed_up(ticket, Satisfaction.BASICALLY_SATISFIED, redo=redo, version=6)
    assert ticket.status == Status.CLOSED


def test_reminders_come_once_per_level_and_a_new_deadline_rearms_them() -> None:
    ticket = handled(received(deadline=NOW + timedelta(hours=2)))
    soon = tickets.remind(ticket, now=NOW, due_soon=timedelta(hours=4))
    assert [e.level for e in soon] == ["due_soon"]  # type: ignore[attr-defined]
    ticket = run(ticket, soon)
    assert tickets.remind(ticket, now=NOW, due_soon=timedelta(hours=4)) == []
    late = tickets.remind(ticket, now=NOW + timedelta(hours=3), due_soon=timedelta(hours=4))
    assert [e.level for e in late] == ["overdue"]  # type: ignore[attr-defined]


def test_a_delivery_is_acknowledged_once_and_a_dead_letter_waits_for_staff() -> None:
    ticket = handled(received())
    ticket = run(ticket, tickets.reply(ticket, text="done", solved=True, at_source=True, version=3))
    with pytest.raises(WrongStatus):
        tickets.retry_delivery(ticket)
    ticket = run(
        ticket, tickets.delivery_failed(ticket, attempt=1, error="503", next_attempt_at=None)
    )
    assert ticket.dead_letter
    ticket = run(ticket, tickets.retry_delivery(ticket))
    ticket = run(ticket, tickets.delivered(ticket, attempt=2))
    assert ticket.delivered
    assert tickets.delivered(ticket, attempt=3) == []
