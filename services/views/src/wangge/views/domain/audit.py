"""The audit of what leaves the system through its read side: every read of a department's feed
and every export of the event log for analysis is a fact of the views service's own, published on
its topic like any other service's events, so who learned what about whom stays answerable
(PIPL art. 23's transfers to other handlers).

A read is recorded on the stream of its department, reader and day (``feedreads-<uuid>``, the
uuid derived from the three): a department's systems poll often, so neither one stream for all
reads nor one per department would do; a stream per reader and day stays short and is written by
one reader at a time, and is appended to at whatever version it holds.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import Field

from wangge.events import DomainEvent, default_catalogue

SERVICE = "views"
_STREAMS = uuid.UUID("6b1d7f5e-3c0a-4f3e-9a53-0f6f2b9f1e21")


def stream_id(department: str, reader: str, day: date) -> str:
    """The stream a read by ``reader`` of ``department``'s feed on ``day`` is recorded on."""
    return f"feedreads-{uuid.uuid5(_STREAMS, f'{department}/{reader}/{day.isoformat()}')}"


@default_catalogue.event(SERVICE)
class FeedRead(DomainEvent):
    """Someone read a page of a department's feed (a 304 included: the envelope's actor is the
    reader, as here)."""

    department: str = Field(description="whose feed: civil_affairs, justice, police...")
    reader: str = Field(description="the reader's account (the token's subject)")
    on: date = Field(description="the day of the read (UTC), which names its stream")
    cursor_from: str | None = Field(description="the after cursor sent; none: from the start")
    cursor_to: str = Field(description="the cursor the page handed out")
    entries: int = Field(ge=0, description="entries sent in the body (0 for a 304)")
    etag_matched: bool = Field(description="If-None-Match matched: answered 304, no body")


def export_stream(export_id: uuid.UUID) -> str:
    """The stream an export of the event log is recorded on."""
    return f"export-{export_id}"


@default_catalogue.event(SERVICE)
class DatasetExported(DomainEvent):
    """Someone exported the event log for analysis (``wangge replay export``): which topics,
    which span, and whether what left was pseudonymised, under which policy and key. Recorded
    before the export starts; the envelope's actor is the exporter, as ``reader`` is."""

    export_id: uuid.UUID
    reader: str = Field(description="the exporter's account (the token's subject)")
    topics: list[str] = Field(min_length=1, max_length=50)
    from_time: datetime | None = Field(default=None, description="the export's first moment")
    until_time: datetime | None = Field(default=None, description="its end (not included)")
    as_of: date | None = Field(default=None, description="read models as they stood that day")
    format: Literal["parquet", "jsonl"]
    policy: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the policy file")
    key: str = Field(pattern=r"^[0-9a-f]{16}$", description="the export key's id")
    pseudonymised: bool = Field(
        description="every identifier keyed-hashed or left out (false: an admin's export in clear)"
    )
