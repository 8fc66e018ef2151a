"""Running a command on a case or a care plan: load, let the domain decide, append (one
transaction, with the inline read models)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from wangge.events import DomainEvent, Metadata
from wangge.events.command import Evolve, load, unit_of_work
from wangge.events.store import NO_STREAM
from wangge.service.app import ServiceState
from wangge.service.errors import NotFound

S = TypeVar("S")


async def act(
    state: ServiceState,
    stream: str,
    evolve: Evolve[S],
    decide: Callable[[S], Sequence[DomainEvent]],
    *,
    metadata: Metadata,
    what: str,
    then: Callable[[Any], Any] | None = None,
) -> S:
    """Run one step on an existing stream (404 when there is none); returns the state before.

    ``then`` runs inside the transaction after the append (a key to keep beside the events).
    """
    loaded = await load(state.store, stream, evolve)
    if loaded.state is None:
        raise NotFound(f"no {what} {stream.split('-', 1)[1]}", field=f"{what}_id")
    events = list(decide(loaded.state))
    if events:
        async with unit_of_work(
            state.store, projections=list(state.projections.values()), metadata=metadata
        ) as unit:
            await unit.append(
                stream, events, expected_version=loaded.version, history=loaded.events
            )
            if then is not None:
                await then(unit.conn)
    return loaded.state


async def start(
    state: ServiceState,
    stream: str,
    events: Sequence[DomainEvent],
    *,
    metadata: Metadata,
    then: Callable[[Any], Any] | None = None,
) -> None:
    """Start a new stream (a case, a plan)."""
    async with unit_of_work(
        state.store, projections=list(state.projections.values()), metadata=metadata
    ) as unit:
        await unit.append(stream, events, expected_version=NO_STREAM)
        if then is not None:
            await then(unit.conn)


def new_id() -> uuid.UUID:
    """A fresh id for a case, plan, party, session or agreement."""
    return uuid.uuid4()
