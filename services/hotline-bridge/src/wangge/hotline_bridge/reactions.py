"""How the hotline bridge answers the cases service: the grid worker works the ticket as a case,
so the case's acceptance accepts the ticket and its resolution replies to it (then delivered to
the hotline). Each reaction commits with the source position and is idempotent by its cause; what
a case's event means for its ticket is decided in ``domain.tickets``, which never refuses one."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import DomainEvent, RecordedEvent, default_catalogue
from wangge.events.command import react
from wangge.events.db import insert_many
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.events.sealing import KeyRing
from wangge.hotline_bridge.consumed import cases
from wangge.hotline_bridge.domain import tickets
from wangge.hotline_bridge.personal_data import CallerKeys

if TYPE_CHECKING:
    from wangge.hotline_bridge.bootstrap import HotlineCore

UUID = sa.Uuid(as_uuid=True)


class FromCases(Projection):
    """Complaint cases drive their tickets."""

    name = "hotline_from_cases"
    reacts = True
    reads: ClassVar[tuple[str, ...]] = ("cases",)

    def __init__(self, keys: CallerKeys) -> None:
        super().__init__(default_catalogue)
        self._keys = keys
        self._service: HotlineCore | None = None

    def bind(self, service: Any) -> None:
        # the core this reaction appends to, with its inline read models
        self._service = service

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        return {
            "cases": sa.Table(
                f"hotline_case_tickets{suffix}",
                metadata,
                sa.Column("case_id", UUID, primary_key=True),
                sa.Column("ticket_id", UUID, nullable=False),
            )
        }

    async def apply_many(
        self, ctx: ApplyContext, events: Sequence[RecordedEvent], new_streams: set[str]
    ) -> None:
        """A batch's opened cases are one insert, before the rest: a case's acceptance or
        resolution later in the batch finds its ticket (nothing else writes these rows)."""
        opened = [e.data for e in events if isinstance(e.data, cases.CaseOpened)]
        await insert_many(ctx.conn, ctx.tables["cases"], _tickets_of(opened))
        for event in events:
            if not isinstance(event.data, cases.CaseOpened):
                await self.apply(ctx, event)

    @handles(cases.CaseOpened)
    async def on_opened(self, ctx: ApplyContext, event: RecordedEvent[cases.CaseOpened]) -> None:
        await insert_many(ctx.conn, ctx.tables["cases"], _tickets_of([event.data]))

    @handles(cases.CaseAccepted)
    async def on_accepted(
        self, ctx: ApplyContext, event: RecordedEvent[cases.CaseAccepted]
    ) -> None:
        def decide(ticket: tickets.Ticket | None, _: int) -> list[DomainEvent]:
            return tickets.case_accepted(ticket)

        await self._on_ticket(ctx, event, event.data.case_id, decide)

    @handles(cases.CaseResolved)
    async def on_resolved(
        self, ctx: ApplyContext, event: RecordedEvent[cases.CaseResolved]
    ) -> None:
        d = event.data
        ticket_id = await self._ticket_of(ctx, d.case_id)
        if ticket_id is None:
            return  # not a ticket's case
        # the resolution becomes the reply: sealed with the ticket's key like a reply typed here
        key = await self._keys.key(ctx.conn, ticket_id)
        seal = KeyRing.sealer(key, ticket_id) if key is not None else None

        def decide(ticket: tickets.Ticket | None, version: int) -> list[DomainEvent]:
            return tickets.case_resolved(
                ticket, version=version, resolution=d.resolution, solved=d.solved,
                at_source=d.at_source, seal=seal,
            )  # fmt: skip

        await self._on_ticket(ctx, event, d.case_id, decide)

    async def _ticket_of(self, ctx: ApplyContext, case_id: Any) -> Any:
        table = ctx.tables["cases"]
        return await ctx.conn.scalar(sa.select(table.c.ticket_id).where(table.c.case_id == case_id))

    async def _on_ticket(
        self, ctx: ApplyContext, cause: RecordedEvent, case_id: Any, decide: Any
    ) -> None:
        ticket_id = await self._ticket_of(ctx, case_id)
        if ticket_id is None:
            return  # not a ticket's case
        assert self._service is not None
        await react(
            self._service.store, ctx.conn, cause, tickets.stream_id(ticket_id), tickets.evolve,
            decide, projections=self._service.projections,
            actor="system:hotline-bridge",
        )  # fmt: skip


def _tickets_of(opened: Sequence[cases.CaseOpened]) -> list[dict[str, Any]]:
    """The ticket each opened case works, for the cases that work one."""
    rows = []
    for d in opened:
        if d.ticket_id is not None:
            rows.append({"case_id": d.case_id, "ticket_id": d.ticket_id})
    return rows


async def case_of(
    conn: AsyncConnection, tables: Mapping[str, sa.Table], ticket_id: uuid.UUID
) -> uuid.UUID | None:
    """The case the cases service opened to work the ticket, once its event has arrived."""
    t = tables["cases"]
    found: uuid.UUID | None = await conn.scalar(
        sa.select(t.c.case_id).where(t.c.ticket_id == ticket_id).limit(1)
    )
    return found
