"""Command handlers, one module per aggregate: load the streams a command needs, check the
roster, seal its free text, decide with the domain and append, in one transaction with the
inline read models. They take a :class:`~wangge.events.command.CommandRunner` and know nothing
of HTTP, so a route, the seeding and a handler test run them alike."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import DomainEvent
from wangge.events.command import CommandRunner
from wangge.events.db import read_only


async def start(
    commands: CommandRunner, cmd: BaseModel, stream_id: str, events: Sequence[DomainEvent]
) -> uuid.UUID:
    """Start the stream ``stream_id`` (``kind-<uuid>``) with the events decided; the id of the
    stream started (a retry's: the one its first attempt started)."""
    result = await commands.create(cmd, stream_id, lambda: events)
    return uuid.UUID(result.stream_id.partition("-")[2])


@asynccontextmanager
async def reading(commands: CommandRunner) -> AsyncIterator[AsyncConnection]:
    """A read-only connection to the command's database, for the checks before it decides."""
    async with read_only(commands.store.engine) as conn:
        yield conn
