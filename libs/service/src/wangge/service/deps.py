"""Dependencies every service's routes use (``Annotated`` aliases, as FastAPI recommends)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from wangge.events.store import EventStore
from wangge.service.app import ServiceState


def service_state(request: Request) -> ServiceState:
    """The running service's resources."""
    state: ServiceState = request.app.state.service
    return state


def event_store(state: Annotated[ServiceState, Depends(service_state)]) -> EventStore:
    """The service's event store."""
    return state.store


State = Annotated[ServiceState, Depends(service_state)]
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
