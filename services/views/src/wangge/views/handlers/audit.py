"""Recording a read of a department's feed (the audit event), before the page is sent."""

from __future__ import annotations

from datetime import UTC, datetime

from wangge.events.command import CommandRunner
from wangge.events.retry import when_overtaken
from wangge.views.domain import audit


async def record_read(
    commands: CommandRunner,
    *,
    department: str,
    cursor_from: str | None,
    cursor_to: str,
    entries: int,
    etag_matched: bool,
    now: datetime | None = None,
) -> None:
    """Append the read to its reader's stream of the day, at whatever version the stream holds:
    a read never conflicts with another (two reads racing for a version on PostgreSQL run
    again, younger)."""
    reader = commands.actor
    day = (now or datetime.now(UTC)).astimezone(UTC).date()
    event = audit.FeedRead(
        department=department, reader=reader, on=day, cursor_from=cursor_from,
        cursor_to=cursor_to, entries=entries, etag_matched=etag_matched,
    )  # fmt: skip

    async def append() -> None:
        async with commands.unit() as unit:
            await unit.append(
                audit.stream_id(department, reader, day), [event], expected_version=None
            )

    await when_overtaken(append)


async def record_export(commands: CommandRunner, export: audit.DatasetExported) -> None:
    """Append an export to a stream of its own (a new id: it never conflicts); a retry with its
    idempotency key answers as the first without a second record."""
    async with commands.unit() as unit:
        await unit.append(audit.export_stream(export.export_id), [export], expected_version=0)
