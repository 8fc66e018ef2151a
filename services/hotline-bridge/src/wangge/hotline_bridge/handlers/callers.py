"""The erasure of callers (crypto-shredding): each ticket's ``CallerErased`` and its data key
destroyed in the same transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from wangge.events.command import CommandRunner, load_many
from wangge.events.errors import ConcurrencyConflict
from wangge.events.retry import when_overtaken
from wangge.governance.erasure import ErasureGround
from wangge.governance.errors import NotFound
from wangge.hotline_bridge.domain import tickets
from wangge.hotline_bridge.personal_data import CallerKeys

ERASE_ATTEMPTS = 3
"""Erasures run again when a step on one of their tickets came first (a 409 after that)."""


async def erase_callers(
    commands: CommandRunner,
    keys: CallerKeys,
    ticket_ids: Sequence[uuid.UUID],
    ground: ErasureGround,
) -> list[uuid.UUID]:
    """Erase the callers of tickets, all in one transaction. Returns the tickets erased now;
    one erased before is left as it is, and an unknown one is a 404 with nothing erased."""
    streams = {tickets.stream_id(t): t for t in dict.fromkeys(ticket_ids)}
    if not streams:
        return []

    async def once() -> list[uuid.UUID]:
        async with commands.unit() as unit:
            loaded = await load_many(
                commands.store, list(streams), tickets.evolve, connection=unit.conn
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
