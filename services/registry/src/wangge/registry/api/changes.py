"""One command on one record, the way every registry route that changes a record runs it.

The record is read before the command runs, so one outside the caller's places is a 404 (see
``access``) whatever the command would have said; after it, the record is read again in a
fresh snapshot, so the caller reads their own write, with its ETag.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from fastapi import Depends, Path, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.command import CommandRunner
from wangge.registry.api.deps import Core, ReadConnection
from wangge.registry.bootstrap import RegistryCore
from wangge.service.auth import Principal, require
from wangge.service.commands import Command, set_etag


class Versioned(Protocol):
    """A record as a route answers it: its version is the ETag."""

    @property
    def version(self) -> int: ...


R = TypeVar("R", bound=Versioned)
Read = Callable[[AsyncConnection, RegistryCore, Principal, uuid.UUID], Awaitable[R]]
"""How a route reads its record for a caller: 404 if they may not see it."""


@dataclass(frozen=True)
class Change(Generic[R]):
    """A command on the record ``record_id``, by ``principal``, answered with ``read``."""

    record_id: uuid.UUID
    principal: Principal
    commands: CommandRunner
    conn: AsyncConnection
    core: RegistryCore
    response: Response
    read: Read[R]

    async def run(self, action: Callable[[], Awaitable[object]]) -> R:
        """Check the record is visible, run ``action``, answer the record as it is now."""
        await self.read(self.conn, self.core, self.principal, self.record_id)
        await action()
        return await self.answer()

    async def answer(self) -> R:
        """The record as the command left it, with its ETag."""
        return await answer(
            self.read, self.conn, self.core, self.principal, self.response, self.record_id
        )


async def answer(
    read: Read[R], conn: AsyncConnection, core: RegistryCore, principal: Principal,
    response: Response, record_id: uuid.UUID,
) -> R:  # fmt: skip
    """The record ``record_id`` as a command left it (``read`` for the caller), with its ETag."""
    await conn.rollback()  # a snapshot that sees the command's commit
    result = await read(conn, core, principal, record_id)
    set_etag(response, result.version)
    return result


def _path(name: str) -> Any:
    # a parameter under another name keeps the name and title the route's own parameter had
    return Path(alias=name, title=name.replace("_", " ").title())


def changes(read: Read[R], path: str, *roles: str) -> Any:
    """The dependency of a route changing the record named by the path parameter ``path``,
    for callers holding one of ``roles``: ``Annotated[Change[X], changes(read_x, "x_id", ...)]``.
    """
    allowed = Depends(require(*roles))
    record = _path(path)

    async def change(
        record_id: uuid.UUID = record, *, principal: Principal = allowed, command: Command,
        conn: ReadConnection, core: Core, response: Response,
    ) -> Change[R]:  # fmt: skip
        return Change(record_id, principal, command.commands, conn, core, response, read)

    return Depends(change)


def path_id(name: str) -> Any:
    """A route's other id in its path (``Annotated[uuid.UUID, path_id("x_id")]``), after the
    record: a dependency, so the API document lists it after the record's, as a parameter of
    the route's own would not be."""
    value = _path(name)

    async def other(record_id: uuid.UUID = value) -> uuid.UUID:
        return record_id

    return Depends(other)
