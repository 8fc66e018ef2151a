"""Callers' phone numbers, as keyed hashes: how an erasure by phone finds a caller's tickets.

A row per ticket whose caller gave a phone, holding the HMAC of the number (never the number).
It is filled from the sealed caller blocks, opened with each ticket's data key: at intake, in
the intake's transaction (the key is kept before the inline read models apply), and for the
tickets taken in before this read model existed by its first build from the log, when the
service first starts with it. A caller's erasure deletes the row with the key, and a rebuild
cannot bring it back: the block no longer opens.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import RecordedEvent, default_catalogue
from wangge.events.db import insert_many
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.hotline_bridge.domain.tickets import CallerErased, TicketReceived
from wangge.hotline_bridge.personal_data import CallerKeys, opened

UUID = sa.Uuid(as_uuid=True)


class CallerPhones(Projection):
    """The keyed hash of each ticket's caller's phone."""

    name = "hotline_caller_phones"
    inline = True

    def __init__(self, keys: CallerKeys) -> None:
        super().__init__(default_catalogue)
        self._keys = keys

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        return {
            "phones": sa.Table(
                f"hotline_caller_phones{suffix}",
                metadata,
                sa.Column("ticket_id", UUID, primary_key=True),
                sa.Column("phone_hash", sa.String(64), nullable=False, index=True),
            )
        }

    async def apply_many(
        self, ctx: ApplyContext, events: Sequence[RecordedEvent], new_streams: set[str]
    ) -> None:
        """A batch's tickets are opened with one read of their keys and written in one insert;
        an erasure in the same batch (a rebuild) finds its key gone and its row unwritten."""
        received = [e.data for e in events if isinstance(e.data, TicketReceived)]
        await self._received(ctx, [d for d in received if d.caller is not None])
        for event in events:
            if isinstance(event.data, CallerErased):
                await self._erased(ctx, event.data)

    @handles(TicketReceived)
    async def on_received(self, ctx: ApplyContext, event: RecordedEvent[TicketReceived]) -> None:
        if event.data.caller is not None:
            await self._received(ctx, [event.data])

    async def _received(self, ctx: ApplyContext, received: Sequence[TicketReceived]) -> None:
        if not received:
            return
        keys = await self._keys.keys(ctx.conn, [d.ticket_id for d in received])
        rows = []
        for data in received:
            phone = opened(keys.get(data.ticket_id), data.caller, "phone")
            if phone is not None:
                rows.append(
                    {"ticket_id": data.ticket_id, "phone_hash": self._keys.phone_hash(phone)}
                )
        await insert_many(ctx.conn, ctx.tables["phones"], rows)

    @handles(CallerErased)
    async def on_erased(self, ctx: ApplyContext, event: RecordedEvent[CallerErased]) -> None:
        await self._erased(ctx, event.data)

    async def _erased(self, ctx: ApplyContext, data: CallerErased) -> None:
        phones = ctx.tables["phones"]
        await ctx.conn.execute(sa.delete(phones).where(phones.c.ticket_id == data.ticket_id))


async def tickets_of_phone(
    conn: AsyncConnection, tables: Mapping[str, sa.Table], phone_hash: str
) -> list[uuid.UUID]:
    """The tickets called in from the number of this keyed hash, in id order."""
    t = tables["phones"]
    return sorted(await conn.scalars(sa.select(t.c.ticket_id).where(t.c.phone_hash == phone_hash)))
