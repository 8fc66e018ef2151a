"""A ticket's steps after intake: load it, let the domain decide, append (one transaction)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from wangge.events import DomainEvent, Metadata
from wangge.events.command import check_expected, load, unit_of_work
from wangge.hotline_bridge.domain import tickets
from wangge.service.app import ServiceState
from wangge.service.errors import NotFound

Decision = Callable[[tickets.Ticket, int], Sequence[DomainEvent]]
"""What a step decides from the ticket and its version (nothing: the step changes nothing)."""


async def act(
    state: ServiceState,
    ticket_id: uuid.UUID,
    decide: Decision,
    *,
    metadata: Metadata,
    expected_version: int | None = None,
) -> tickets.Ticket:
    """Run one step on a ticket; returns its state before the step.

    The append expects the version loaded, so two steps racing on one ticket (a reply and a
    return, say) cannot both pass the same check: the second is a 409 and sees the first.
    """
    stream = tickets.stream_id(ticket_id)
    loaded = await load(state.store, stream, tickets.evolve)
    if loaded.state is None:
        raise NotFound(f"no ticket {ticket_id}", field="ticket_id")
    check_expected(loaded, expected_version)
    events = list(decide(loaded.state, loaded.version))
    if events:
        async with unit_of_work(
            state.store, projections=list(state.projections.values()), metadata=metadata
        ) as unit:
            await unit.append(
                stream, events, expected_version=loaded.version, history=loaded.events
            )
    return loaded.state
