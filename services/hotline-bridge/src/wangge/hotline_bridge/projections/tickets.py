"""Tickets as rows: what the ticket routes, the background jobs, Open311 and the metrics read,
with the queries they read it by.

Free texts are kept as their redacted copies, whatever the event carried (tickets taken in
before their texts were sealed carry them in full), beside the sealed blocks the views open
with the ticket's data key; the caller's erasure drops the blocks and the masks.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import RecordedEvent, default_catalogue
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.events.rows import ONE_MORE, fold_new_streams, insert_row, update_row
from wangge.events.sealing import Sealed
from wangge.governance.addresses import normalise_address
from wangge.governance.columns import TIME as TIME_COLUMN
from wangge.governance.redaction import redact
from wangge.governance.times import stored, utc
from wangge.hotline_bridge.domain.tickets import (
    REPLY_LENGTH,
    CallerErased,
    Neighbours,
    ReplyDelivered,
    ReplyDeliveryFailed,
    ReplyDeliveryRetried,
    Status,
    TicketAccepted,
    TicketAwaitingTriage,
    TicketClosed,
    TicketExtensionDecided,
    TicketExtensionRequested,
    TicketFollowedUp,
    TicketLinkedAsDuplicate,
    TicketReceived,
    TicketReminderRaised,
    TicketReopened,
    TicketReplied,
    TicketReturned,
    TicketRoutedToGrid,
    redacted,
)

CLOSED = frozenset({"closed", "returned"})
"""Statuses of tickets that are done (nothing repeats a closed ticket: it is a new one)."""
UUID = sa.Uuid(as_uuid=True)
WHEN = TIME_COLUMN


class Tickets(Projection):
    """One row per ticket."""

    name = "hotline_tickets"
    inline = True

    def __init__(self) -> None:
        super().__init__(default_catalogue)

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        tickets = sa.Table(
            f"hotline_tickets{suffix}",
            metadata,
            sa.Column("ticket_id", UUID, primary_key=True),
            sa.Column("ticket_number", sa.String(40), nullable=False, unique=True),
            sa.Column("status", sa.String(20), nullable=False, index=True),
            sa.Column("channel", sa.String(10), nullable=False),
            sa.Column("received_at", WHEN, nullable=False, index=True),
            sa.Column("category", sa.String(20), nullable=False),
            sa.Column("category_name", sa.String(100), nullable=False),
            sa.Column("kind", sa.String(20), nullable=False),
            sa.Column("urgency", sa.String(10), nullable=False),
            sa.Column("content", sa.Text, nullable=False),
            sa.Column("address", sa.String(200), nullable=False),
            sa.Column("address_key", sa.String(200), nullable=False, index=True),
            sa.Column("duplicate_of", UUID),
            sa.Column("longitude", sa.Float),
            sa.Column("latitude", sa.Float),
            sa.Column("deadline", WHEN, nullable=False, index=True),
            sa.Column("deadline_source", sa.String(10), nullable=False),
            sa.Column("caller_name_masked", sa.String(60)),
            sa.Column("caller_phone_masked", sa.String(30)),
            # sealed blocks (JSON of wangge.events.sealing.Sealed), opened with the ticket's key
            sa.Column("sealed_caller", sa.JSON, comment="name, phone and the full content"),
            sa.Column("sealed_reply", sa.JSON),
            sa.Column("sealed_returned_reason", sa.JSON),
            sa.Column("caller_erased_at", WHEN),
            sa.Column("door", sa.String(10), nullable=False, index=True),
            # routing (派单) and the grid's handling
            sa.Column("grid_id", UUID, index=True),
            sa.Column("routing_method", sa.String(10)),
            sa.Column("routing_detail", sa.String(400)),
            sa.Column("triage_reasons", sa.JSON),
            sa.Column("returned_reason", sa.String(500)),
            sa.Column("accepted_at", WHEN),
            sa.Column("extension_until", WHEN),
            sa.Column("reminder", sa.String(10)),
            # the reply and its delivery to the hotline
            sa.Column("replied_at", WHEN),
            sa.Column("reply", sa.Text),
            sa.Column("solved", sa.Boolean),
            sa.Column("at_source", sa.Boolean),
            sa.Column("delivery_id", UUID),
            sa.Column("delivery_status", sa.String(12), index=True),
            sa.Column("delivery_attempts", sa.Integer, nullable=False, default=0),
            sa.Column("next_attempt_at", WHEN, index=True),
            sa.Column("delivery_error", sa.String(500)),
            sa.Column("delivered_at", WHEN),
            # the follow-up call (回访)
            sa.Column("satisfaction", sa.String(20)),
            sa.Column("resolved", sa.Boolean),
            sa.Column("followed_up_at", WHEN),
            sa.Column("reopened", sa.Integer, nullable=False, default=0),
            sa.Column("closed_at", WHEN),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("updated_at", WHEN, nullable=False),
        )
        return {"tickets": tickets}

    @handles(TicketReceived)
    async def on_received(self, ctx: ApplyContext, event: RecordedEvent[TicketReceived]) -> None:
        data = event.data
        await insert_row(
            ctx, "tickets", dict(
                ticket_id=data.ticket_id, ticket_number=data.ticket_number, status="received",
                channel=data.channel, received_at=utc(data.received_at), category=data.category,
                category_name=data.category_name, kind=data.kind, urgency=data.urgency,
                content=redact(data.content), address=data.address,
                address_key=normalise_address(data.address),
                longitude=data.location.longitude if data.location else None,
                latitude=data.location.latitude if data.location else None,
                deadline=utc(data.deadline), deadline_source=data.deadline_source,
                caller_name_masked=data.caller_name_masked,
                caller_phone_masked=data.caller_phone_masked, door=data.door,
                sealed_caller=_json(data.caller), sealed_reply=None,
                sealed_returned_reason=None, caller_erased_at=None,
                delivery_attempts=0, reopened=0, version=event.version,
                updated_at=event.envelope.time,
            )
        )  # fmt: skip

    @handles(TicketLinkedAsDuplicate)
    async def on_linked(
        self, ctx: ApplyContext, event: RecordedEvent[TicketLinkedAsDuplicate]
    ) -> None:
        data = event.data
        await self._set(ctx, event, duplicate_of=data.duplicate_of)

    async def _set(self, ctx: ApplyContext, event: RecordedEvent, **values: object) -> None:
        key = {"ticket_id": event.data.ticket_id}  # type: ignore[attr-defined]
        values |= {"version": event.version, "updated_at": event.envelope.time}
        await update_row(ctx, "tickets", key, values)

    async def apply_many(
        self, ctx: ApplyContext, events: Sequence[RecordedEvent], new_streams: set[str]
    ) -> None:
        """Tickets that start in this batch (each intake; a rebuild) are folded in memory and
        inserted as their final rows, one statement for them all; the rest event by event."""
        await fold_new_streams(self, ctx, events, new_streams)

    @handles(TicketRoutedToGrid)
    async def on_routed(self, ctx: ApplyContext, event: RecordedEvent[TicketRoutedToGrid]) -> None:
        data = event.data
        await self._set(
            ctx, event, status=Status.ROUTED, grid_id=data.grid_id, routing_method=data.method,
            routing_detail=data.detail[:400],
        )  # fmt: skip

    @handles(TicketAwaitingTriage)
    async def on_triage(
        self, ctx: ApplyContext, event: RecordedEvent[TicketAwaitingTriage]
    ) -> None:
        data = event.data
        await self._set(ctx, event, status=Status.TRIAGE, triage_reasons=data.reasons)

    @handles(TicketReturned)
    async def on_returned(self, ctx: ApplyContext, event: RecordedEvent[TicketReturned]) -> None:
        data = event.data
        await self._set(
            ctx, event, status=Status.RETURNED, returned_reason=redacted(data.reason, 500),
            sealed_returned_reason=_json(data.sealed),
        )  # fmt: skip

    @handles(TicketAccepted)
    async def on_accepted(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        await self._set(ctx, event, status=Status.ACCEPTED, accepted_at=event.envelope.time)

    @handles(TicketExtensionRequested)
    async def on_extension(
        self, ctx: ApplyContext, event: RecordedEvent[TicketExtensionRequested]
    ) -> None:
        data = event.data
        await self._set(ctx, event, extension_until=utc(data.until))

    @handles(TicketExtensionDecided)
    async def on_extension_decided(
        self, ctx: ApplyContext, event: RecordedEvent[TicketExtensionDecided]
    ) -> None:
        data = event.data
        await self._set(
            ctx, event, extension_until=None, deadline=utc(data.deadline), reminder=None
        )

    @handles(TicketReminderRaised)
    async def on_reminder(
        self, ctx: ApplyContext, event: RecordedEvent[TicketReminderRaised]
    ) -> None:
        data = event.data
        await self._set(ctx, event, reminder=data.level)

    @handles(TicketReplied)
    async def on_replied(self, ctx: ApplyContext, event: RecordedEvent[TicketReplied]) -> None:
        data = event.data
        await self._set(
            ctx, event, status=Status.REPLIED, replied_at=event.envelope.time,
            reply=redacted(data.reply, REPLY_LENGTH), sealed_reply=_json(data.sealed),
            solved=data.solved, at_source=data.at_source, delivery_id=data.delivery_id,
            delivery_status="pending", delivery_attempts=0,
            next_attempt_at=utc(event.envelope.time), delivery_error=None, delivered_at=None,
        )  # fmt: skip

    @handles(ReplyDeliveryFailed)
    async def on_delivery_failed(
        self, ctx: ApplyContext, event: RecordedEvent[ReplyDeliveryFailed]
    ) -> None:
        data = event.data
        later = data.next_attempt_at
        await self._set(
            ctx, event, delivery_attempts=data.attempt, delivery_error=data.error,
            delivery_status="pending" if later is not None else "dead_letter",
            next_attempt_at=utc(later) if later is not None else None,
        )  # fmt: skip

    @handles(ReplyDelivered)
    async def on_delivered(self, ctx: ApplyContext, event: RecordedEvent[ReplyDelivered]) -> None:
        data = event.data
        await self._set(
            ctx, event, delivery_status="delivered", delivery_attempts=data.attempt,
            next_attempt_at=None, delivered_at=event.envelope.time,
        )  # fmt: skip

    @handles(ReplyDeliveryRetried)
    async def on_retried(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        await self._set(
            ctx, event, delivery_status="pending", delivery_attempts=0,
            next_attempt_at=utc(event.envelope.time),
        )  # fmt: skip

    @handles(TicketFollowedUp)
    async def on_followed_up(
        self, ctx: ApplyContext, event: RecordedEvent[TicketFollowedUp]
    ) -> None:
        data = event.data
        await self._set(
            ctx, event, satisfaction=data.satisfaction, resolved=data.resolved,
            followed_up_at=event.envelope.time,
        )  # fmt: skip

    @handles(TicketClosed)
    async def on_closed(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        await self._set(ctx, event, status=Status.CLOSED, closed_at=event.envelope.time)

    @handles(TicketReopened)
    async def on_reopened(self, ctx: ApplyContext, event: RecordedEvent[TicketReopened]) -> None:
        data = event.data
        await self._set(
            ctx, event, status=Status.REOPENED, deadline=utc(data.deadline), reminder=None,
            reopened=ONE_MORE,
        )  # fmt: skip

    @handles(CallerErased)
    async def on_caller_erased(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        # the blocks would not open any more; the masks go with the caller
        await self._set(
            ctx, event, caller_name_masked=None, caller_phone_masked=None, sealed_caller=None,
            sealed_reply=None, sealed_returned_reason=None, caller_erased_at=event.envelope.time,
        )  # fmt: skip


def _json(sealed: Sealed | None) -> dict[str, str] | None:
    return sealed.model_dump() if sealed is not None else None


async def neighbours_of(
    conn: AsyncConnection,
    tables: Mapping[str, sa.Table],
    wanted: Sequence[tuple[str, str, datetime]],
    *,
    duplicate_window: timedelta,
    repeat_window: timedelta,
) -> list[Neighbours]:
    """The tickets each new one (address, category, received) repeats or adds up with: of its
    category at its address, in the windows before it; for many new tickets in one query."""
    t = tables["tickets"]
    keys = [(normalise_address(address), category) for address, category, _ in wanted]
    reach = max(duplicate_window, repeat_window)
    rows = await conn.execute(
        sa.select(t.c.ticket_id, t.c.status, t.c.received_at, t.c.duplicate_of, t.c.address_key,
                  t.c.category)
        .where(
            t.c.address_key.in_(sorted({key for key, _ in keys})),
            t.c.category.in_(sorted({category for _, category in keys})),
            t.c.received_at >= utc(min(now for _, _, now in wanted) - reach),
        )
        .order_by(t.c.received_at, t.c.ticket_id)
    )  # fmt: skip
    by_place: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        by_place.setdefault((row.address_key, row.category), []).append(row)
    return [
        _near(by_place.get(key, []), now, duplicate_window, repeat_window)
        for key, (_, _, now) in zip(keys, wanted, strict=True)
    ]


def _near(
    rows: Sequence[Any], now: datetime, duplicate_window: timedelta, repeat_window: timedelta
) -> Neighbours:
    open_duplicate = None
    recent = []
    for row in rows:
        received = stored(row.received_at)
        if received < now - max(duplicate_window, repeat_window):
            continue  # in reach of another ticket of the batch, not of this one
        if received >= now - repeat_window:
            recent.append(row.ticket_id)
        if (
            open_duplicate is None
            and row.duplicate_of is None
            and row.status not in CLOSED
            and received >= now - duplicate_window
        ):
            open_duplicate = row.ticket_id
    return Neighbours(open_duplicate=open_duplicate, recent=tuple(recent))


async def ticket_row(
    conn: AsyncConnection, tables: Mapping[str, sa.Table], ticket_id: uuid.UUID
) -> dict[str, Any] | None:
    """A ticket's row (None: no such ticket)."""
    t = tables["tickets"]
    row = (await conn.execute(sa.select(t).where(t.c.ticket_id == ticket_id))).mappings().first()
    return None if row is None else dict(row)


async def in_triage(conn: AsyncConnection, tables: Mapping[str, sa.Table]) -> list[dict[str, Any]]:
    """The rows of the tickets waiting for a grid, oldest first."""
    t = tables["tickets"]
    rows = await conn.execute(
        sa.select(t).where(t.c.status == Status.TRIAGE).order_by(t.c.received_at)
    )
    return [dict(row) for row in rows.mappings()]


async def grids_of(
    conn: AsyncConnection, tables: Mapping[str, sa.Table], ticket_ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID | None]]:
    """The grid of each known ticket among ``ticket_ids`` (None: no grid took it)."""
    t = tables["tickets"]
    rows = await conn.execute(
        sa.select(t.c.ticket_id, t.c.grid_id).where(t.c.ticket_id.in_(ticket_ids))
    )
    return [(row.ticket_id, row.grid_id) for row in rows]


async def through_door(
    conn: AsyncConnection,
    tables: Mapping[str, sa.Table],
    door: str,
    *,
    numbers: Sequence[str] = (),
    received: tuple[datetime, datetime] | None = None,
    categories: Sequence[str] = (),
    status_in: Collection[str] | None = None,
    status_not_in: Collection[str] | None = None,
    offset: int = 0,
    limit: int,
) -> list[Any]:
    """The rows of the tickets that came in through ``door``, newest first: those numbered
    ``numbers``, or else those ``received`` in the window (from, to); of ``categories`` and
    statuses when given."""
    t = tables["tickets"]
    query = sa.select(t).where(t.c.door == door)
    if numbers:
        query = query.where(t.c.ticket_number.in_(numbers))
    elif received is not None:
        query = query.where(t.c.received_at >= received[0], t.c.received_at <= received[1])
    if categories:
        query = query.where(t.c.category.in_(categories))
    if status_in is not None:
        query = query.where(t.c.status.in_(status_in))
    if status_not_in is not None:
        query = query.where(t.c.status.not_in(status_not_in))
    query = query.order_by(t.c.received_at.desc(), t.c.ticket_number)
    return list((await conn.execute(query.offset(offset).limit(limit))).all())


async def due_replies(
    conn: AsyncConnection, tables: Mapping[str, sa.Table], now: datetime, limit: int
) -> list[Any]:
    """The rows of the replies whose next delivery attempt is due, the longest waiting first."""
    t = tables["tickets"]
    rows = await conn.execute(
        sa.select(t)
        .where(t.c.delivery_status == "pending", t.c.next_attempt_at <= now)
        .order_by(t.c.next_attempt_at)
        .limit(limit)
    )
    return list(rows.all())


async def to_remind(
    conn: AsyncConnection,
    tables: Mapping[str, sa.Table],
    statuses: Collection[str],
    *,
    now: datetime,
    due_soon: timedelta,
) -> list[uuid.UUID]:
    """Tickets in ``statuses`` due within ``due_soon`` and not reminded yet, or overdue and
    reminded only that they were due soon."""
    t = tables["tickets"]
    rows = await conn.execute(
        sa.select(t.c.ticket_id).where(
            t.c.status.in_(statuses),
            t.c.deadline <= now + due_soon,
            sa.or_(
                t.c.reminder.is_(None),
                sa.and_(t.c.reminder == "due_soon", t.c.deadline <= now),
            ),
        )
    )
    return list(rows.scalars().all())


async def triage_places(conn: AsyncConnection, tables: Mapping[str, sa.Table]) -> list[Any]:
    """Where each ticket in triage is (its address and point), to route it again."""
    t = tables["tickets"]
    rows = await conn.execute(
        sa.select(t.c.ticket_id, t.c.address, t.c.longitude, t.c.latitude).where(
            t.c.status == Status.TRIAGE
        )
    )
    return list(rows.all())
