"""The change history of any record, read from its stream (every event, oldest first)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from wangge.events import DomainEvent
from wangge.events.store import EventStore


class Change(BaseModel):
    """One event of a record's stream."""

    version: int
    type: str = Field(description="the event type, e.g. wangge.registry.PlaceRenamed")
    recorded_at: datetime = Field(description="when the register learnt it")
    actor: str | None = Field(description="who caused it (the token's subject)")
    data: dict[str, Any]


class HistoryPage(BaseModel):
    """A record's changes."""

    stream_id: str
    changes: list[Change]


Shown = Callable[[DomainEvent], dict[str, Any]]


def _plain(event: DomainEvent) -> dict[str, Any]:
    return event.model_dump(mode="json", exclude_none=True)


async def stream_history(store: EventStore, stream_id: str, *, show: Shown = _plain) -> HistoryPage:
    """A stream's events as changes; ``show`` decides what of each event the caller sees."""
    events = await store.read_stream(stream_id)
    return HistoryPage(
        stream_id=stream_id,
        changes=[
            Change(
                version=e.version,
                type=e.envelope.type,
                recorded_at=e.envelope.time,
                actor=e.envelope.actor,
                data=show(e.data),
            )
            for e in events
        ],
    )
