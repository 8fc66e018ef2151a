"""Running a command on a case or a care plan through the service kit's command context
(``wangge.service.commands``): 404 for a missing stream, ``If-Match``, ``Idempotency-Key``, one
transaction with the inline read models."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from pydantic import BaseModel

from wangge.events import DomainEvent
from wangge.events.command import Evolve, UnitOfWork
from wangge.service.commands import NO_BODY, CommandContext

S = TypeVar("S")
Also = Callable[[UnitOfWork], Awaitable[None]]


async def change(
    command: CommandContext,
    stream: str,
    evolve: Evolve[S],
    decide: Callable[[S], Sequence[DomainEvent]],
    *,
    what: str,
    body: BaseModel = NO_BODY,
    also: Also | None = None,
) -> None:
    """Decide on an existing stream (404 naming ``<what>_id`` when there is none) and append."""
    loaded = await command.load(stream, evolve, field=f"{what}_id")
    await command.change(body, loaded, decide, also)


async def create(
    command: CommandContext,
    stream: str,
    events: Sequence[DomainEvent],
    *,
    body: BaseModel = NO_BODY,
    also: Also | None = None,
) -> uuid.UUID:
    """Start a new stream (a case, a plan); returns its id, which for a retried request
    (the same ``Idempotency-Key``) is the first request's."""
    result = await command.create(body, stream, lambda: events, also)
    return uuid.UUID(result.stream_id.split("-", 1)[1])


def new_id() -> uuid.UUID:
    """A fresh id for a case, plan, party, session or agreement."""
    return uuid.uuid4()
