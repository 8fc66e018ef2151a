"""Dependencies every service's routes use (``Annotated`` aliases, as FastAPI recommends)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.core import ServiceCore
from wangge.events.db import read_only
from wangge.events.store import EventStore
from wangge.service.app import ServiceState


async def service_state(request: Request) -> ServiceState:
    """The running service's resources (a coroutine: FastAPI runs a plain function dependency
    in its thread pool, a hop every request would pay)."""
    state: ServiceState = request.app.state.service
    return state


async def event_store(state: Annotated[ServiceState, Depends(service_state)]) -> EventStore:
    """The service's event store."""
    return state.store


State = Annotated[ServiceState, Depends(service_state)]


async def read_connection(state: State) -> AsyncIterator[AsyncConnection]:
    """One connection for a query's reads (a read-only transaction that never blocks a writer)."""
    async with read_only(state.engine) as conn:
        yield conn


ReadConnection = Annotated[AsyncConnection, Depends(read_connection)]
Store = Annotated[EventStore, Depends(event_store)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Makes a command safe to retry: a repeat returns the first result, "
        "and writes nothing again.",
    ),
]


C = TypeVar("C", bound=ServiceCore)


def core_of(kind: type[C]) -> Callable[[ServiceState], Awaitable[C]]:
    """A dependency giving a route its service's core, typed: what the handlers need (key rings,
    catalogues, queues) as fields, never looked up on ``request.app.state``."""

    async def core(state: State) -> C:
        if not isinstance(state.core, kind):
            raise TypeError(f"the service's core is a {type(state.core).__name__}, not {kind}")
        return state.core

    return core
