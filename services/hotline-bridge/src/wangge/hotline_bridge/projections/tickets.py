"""Tickets as rows: what the ticket routes and, later, the inbox and the metrics read."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import sqlalchemy as sa

from wangge.events import RecordedEvent, default_catalogue
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.hotline_bridge.domain.tickets import TicketReceived

UUID = sa.Uuid(as_uuid=True)
WHEN = sa.DateTime(timezone=True)


def utc(moment: datetime) -> datetime:
    """A time as stored: in UTC (SQLite keeps no offset, so every row holds UTC)."""
    return moment.astimezone(UTC)


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
            sa.Column("longitude", sa.Float),
            sa.Column("latitude", sa.Float),
            sa.Column("deadline", WHEN, nullable=False, index=True),
            sa.Column("deadline_source", sa.String(10), nullable=False),
            sa.Column("caller_name_masked", sa.String(60)),
            sa.Column("caller_phone_masked", sa.String(30)),
            sa.Column("door", sa.String(10), nullable=False, index=True),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("updated_at", WHEN, nullable=False),
        )
        return {"tickets": tickets}

    @handles(TicketReceived)
    async def on_received(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        data = event.data
        assert isinstance(data, TicketReceived)
        await ctx.conn.execute(
            sa.insert(ctx.tables["tickets"]).values(
                ticket_id=data.ticket_id, ticket_number=data.ticket_number, status="received",
                channel=data.channel, received_at=utc(data.received_at), category=data.category,
                category_name=data.category_name, kind=data.kind, urgency=data.urgency,
                content=data.content, address=data.address,
                longitude=data.location.longitude if data.location else None,
                latitude=data.location.latitude if data.location else None,
                deadline=utc(data.deadline), deadline_source=data.deadline_source,
                caller_name_masked=data.caller_name_masked,
                caller_phone_masked=data.caller_phone_masked, door=data.door,
                version=event.version,
                updated_at=event.envelope.time,
            )
        )  # fmt: skip
