"""Command handlers, one module per aggregate: load the streams a command needs, check the
roster, seal its free text, decide with the domain and append, in one transaction with the
inline read models. They take a :class:`~wangge.events.command.CommandRunner` and know nothing
of HTTP, so a route, the seeding and a handler test run them alike."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.command import CommandRunner
from wangge.events.db import read_only
from wangge.events.store import AppendResult


def created(result: AppendResult, prefix: str) -> uuid.UUID:
    """The id of the stream a command started (a retry's: the one its first attempt started)."""
    return uuid.UUID(result.stream_id.removeprefix(prefix))


@asynccontextmanager
async def reading(commands: CommandRunner) -> AsyncIterator[AsyncConnection]:
    """A read-only connection to the command's database, for the checks before it decides."""
    async with read_only(commands.store.engine) as conn:
        yield conn
