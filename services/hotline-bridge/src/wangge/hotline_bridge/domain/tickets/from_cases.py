"""What the cases service's facts mean for a ticket.

The grid works a routed ticket as a case in the cases service. Its events have happened: these
decisions answer any status the ticket may be in by then (staff may have accepted, replied to or
returned it here meanwhile) with nothing rather than a refusal, which would hold back every later
event of the reaction's partition.
"""

from __future__ import annotations

from wangge.events import DomainEvent
from wangge.events.sealed import Seal
from wangge.hotline_bridge.domain.tickets.grid_work import accept, reply
from wangge.hotline_bridge.domain.tickets.lifecycle import Status, Ticket, evolve
from wangge.hotline_bridge.domain.tickets.texts import REPLY_LENGTH


def case_accepted(ticket: Ticket | None) -> list[DomainEvent]:
    """The ticket's case was taken on: the ticket is accepted (签收) if it still waits for that;
    one accepted here already, returned or further on stays as it is."""
    if ticket is None or ticket.status != Status.ROUTED:
        return []
    return accept(ticket)


def case_resolved(
    ticket: Ticket | None,
    *,
    version: int,
    resolution: str,
    solved: bool,
    at_source: bool,
    seal: Seal | None = None,
) -> list[DomainEvent]:
    """The ticket's case was resolved: its resolution is the ticket's reply (办结), after the
    acceptance the case skipped if it did. A ticket owing no reply (replied here already,
    returned, closed) gets none; a resolution longer than the hotline takes is cut."""
    if ticket is None:
        return []
    events: list[DomainEvent] = []
    if ticket.status == Status.ROUTED:  # resolved without a separate acceptance
        events = accept(ticket)
        version += 1
        ticket = evolve(ticket, events[0], version)
    if ticket.status not in (Status.ACCEPTED, Status.REOPENED):
        return events
    text = resolution[:REPLY_LENGTH]
    return [
        *events,
        *reply(ticket, text=text, solved=solved, at_source=at_source, version=version, seal=seal),
    ]
