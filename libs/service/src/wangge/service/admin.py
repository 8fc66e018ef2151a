"""``/admin/parked``: the events this service's projections parked, and retrying or skipping them.

The same operations as ``wangge-events parked``, for an operator who reaches the service but not
its database. Only the ``operator`` role may call them: they change what read models hold, and
they show which streams are stuck (never the events' data, which may hold personal data).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from wangge.events import parking
from wangge.governance.errors import NotFound
from wangge.service.auth import require
from wangge.service.deps import State

router = APIRouter(prefix="/admin/parked", tags=["operations"])
Operator = Depends(require("operator"))

RETRY_WAIT_SECONDS = 10.0
"""How long a retry request waits for the runner's outcome before answering with what it
knows (the runner checks for retries about once a second)."""


class ParkedEventRead(BaseModel):
    """A parked event: where it waits and why (never its data)."""

    projection: str
    stream_id: str
    sequence: int = Field(description="its version within the stream")
    event_id: str
    event_type: str
    source: str = Field(description="where it was read: topic/partition@offset, or the store")
    reason: str = Field(description="why it was parked: the handler's error, or that it waits")
    parked_at: datetime
    attempts: int = Field(description="how often a handler failed on it")
    retry_requested: bool


class ParkedPage(BaseModel):
    """Every parked event of the service's projections, stream by stream, in order."""

    items: list[ParkedEventRead]
    count: int


class ParkedOutcome(BaseModel):
    """What a retry or skip did: how many events it dealt with, and what is still parked."""

    projection: str
    stream_id: str | None
    handled: int
    still_parked: list[ParkedEventRead]


def _read(events: list[parking.ParkedEvent]) -> list[ParkedEventRead]:
    return [ParkedEventRead.model_validate(e.to_json()) for e in events]


def _known(state: State, projection: str) -> None:
    if projection not in state.projections:
        raise NotFound(f"the service has no projection {projection!r}", field="path/projection")


@router.get("", response_model=ParkedPage, dependencies=[Operator], summary="Parked events")
async def list_parked(
    state: State,
    projection: Annotated[str | None, Query(max_length=200)] = None,
    stream: Annotated[str | None, Query(max_length=200)] = None,
) -> ParkedPage:
    """Events a projection could not apply, and the later events of their streams."""
    found = await parking.list_parked(state.engine, projection=projection, stream_id=stream)
    return ParkedPage(items=_read(found), count=len(found))


@router.post(
    "/{projection}/retry",
    response_model=ParkedOutcome,
    dependencies=[Operator],
    summary="Apply parked events again, in order",
)
async def retry(
    state: State,
    projection: str,
    stream: Annotated[str | None, Query(max_length=200)] = None,
) -> ParkedOutcome:
    """Once a fix is deployed: the projection's runner applies each stream's parked events in
    order, exactly once; events whose handler still fails stay parked with the new error."""
    _known(state, projection)
    asked = await parking.request_retry(state.engine, projection=projection, stream_id=stream)
    left: list[parking.ParkedEvent] = []
    for _ in range(int(RETRY_WAIT_SECONDS / 0.25)):
        left = await parking.list_parked(state.engine, projection=projection, stream_id=stream)
        if not any(event.retry_requested for event in left):
            break
        await asyncio.sleep(0.25)
    handled = max(0, asked - len(left))
    return ParkedOutcome(
        projection=projection, stream_id=stream, handled=handled, still_parked=_read(left)
    )


@router.post(
    "/{projection}/skip",
    response_model=ParkedOutcome,
    dependencies=[Operator],
    summary="Mark a stream's parked events applied without applying them",
)
async def skip(
    state: State,
    projection: str,
    stream: Annotated[str, Query(max_length=200)],
) -> ParkedOutcome:
    """For an event that must never be applied: what it would have changed is lost for good, so
    prefer a fix and a retry. Frees the stream: its next events apply again."""
    _known(state, projection)
    skipped = await parking.skip(state.engine, projection=projection, stream_id=stream)
    return ParkedOutcome(projection=projection, stream_id=stream, handled=skipped, still_parked=[])
