"""A ticket's steps after intake: load it, let the domain decide, append (one transaction);
and the erasure of callers, which destroys their tickets' data keys in the same transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from wangge.events import DomainEvent, Metadata
from wangge.events.command import check_expected, load, load_many, unit_of_work
from wangge.events.db import read_only
from wangge.events.errors import ConcurrencyConflict
from wangge.events.retry import when_overtaken
from wangge.events.sealing import KeyRing, Seal
from wangge.governance.erasure import ErasureGround
from wangge.governance.errors import NotFound
from wangge.hotline_bridge.domain import tickets
from wangge.service.app import ServiceState

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


async def sealer(state: ServiceState, keys: KeyRing, ticket_id: uuid.UUID) -> Seal | None:
    """What seals a step's free texts with the ticket's data key (None once the caller was
    erased: a new text is then kept as its redacted copy alone)."""
    async with read_only(state.engine) as conn:
        key = await keys.key(conn, ticket_id)
    return KeyRing.sealer(key, ticket_id) if key is not None else None


ERASE_ATTEMPTS = 3
"""Erasures run again when a step on one of their tickets came first (a 409 after that)."""


async def erase_callers(
    state: ServiceState,
    keys: KeyRing,
    ticket_ids: Sequence[uuid.UUID],
    ground: ErasureGround,
    *,
    metadata: Metadata,
) -> list[uuid.UUID]:
    """Erase the callers of tickets (crypto-shredding), all in one transaction: each ticket's
    ``CallerErased`` and its data key destroyed with it. Returns the tickets erased now; one
    erased before is left as it is, and an unknown one is a 404 with nothing erased."""
    streams = {tickets.stream_id(t): t for t in dict.fromkeys(ticket_ids)}
    if not streams:
        return []

    async def once() -> list[uuid.UUID]:
        async with unit_of_work(
            state.store, projections=list(state.projections.values()), metadata=metadata
        ) as unit:
            loaded = await load_many(
                state.store, list(streams), tickets.evolve, connection=unit.conn
            )
            erased = []
            for stream, ticket_id in streams.items():
                ticket = loaded[stream]
                if ticket.state is None:
                    raise NotFound(f"no ticket {ticket_id}", field="ticket_id")
                events = tickets.erase_caller(ticket.state, ground)
                if events:
                    await unit.append(
                        stream, events, expected_version=ticket.version, history=ticket.events
                    )
                    erased.append(ticket_id)
            for ticket_id in erased:  # the key store after the appends (see unit_of_work)
                await keys.destroy(unit.conn, ticket_id)
            return erased

    for attempt in range(1, ERASE_ATTEMPTS + 1):
        try:
            return await when_overtaken(once)
        except ConcurrencyConflict:
            if attempt == ERASE_ATTEMPTS:
                raise
    raise AssertionError("unreachable")
