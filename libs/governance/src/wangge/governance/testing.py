"""Test helpers for the copies services keep of the registry (its roster, its place tree)."""

from __future__ import annotations

import uuid
from datetime import datetime

from wangge.events import IntegrationEvent, RecordedEvent
from wangge.events.catalogue import dataschema_for
from wangge.events.envelope import Envelope


def from_registry(
    data: IntegrationEvent, stream: str, *, at: datetime, version: int = 1
) -> RecordedEvent:
    """A registry event as a copy reads it off the registry's ``stream`` (its ``version``th
    event there), so that a test can feed a copy without a registry."""
    envelope = Envelope(
        id=uuid.uuid4(), source="/wangge/registry", type=data.event_type, subject=stream,
        time=at, dataschema=dataschema_for(data.event_type, 1), sequence=version,
    )  # fmt: skip
    return RecordedEvent(envelope=envelope, data=data)
