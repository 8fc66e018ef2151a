"""How the cases service answers other services' events (policies), each in the transaction that
records the source position, so a reaction happens once whatever crashes or is replayed:

- a ticket routed to a grid opens a complaint case, assigned to the grid's worker;
- repeated complaints at an address open a proactive case (未诉先办);
- the hotline's follow-up records on the case, and closes or reopens it with the ticket; a ticket
  returned to the hotline (退单) closes it;
- a grid worker appointed or reassigned to a grid takes over its open cases.

Another service's event has happened: what it means for a case is decided in
``domain.upstream``, which never refuses one (a reaction that raised would hold back every later
event of its partition).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import sqlalchemy as sa

from wangge.cases.consumed import hotline, registry
from wangge.cases.domain import cases, upstream
from wangge.cases.projections.cases import Cases
from wangge.cases.projections.roster import (
    Roster,
    give_up_grids,
    grid_holds,
    take_grids,
    worker_of,
)
from wangge.events import DomainEvent, RecordedEvent, default_catalogue
from wangge.events.command import Loaded, load_many, react
from wangge.events.db import insert_many
from wangge.events.projection import ApplyContext, Projection, active_tables, handles
from wangge.service.app import ServiceState
from wangge.service.times import stored

UUID = sa.Uuid(as_uuid=True)
ACTOR = "system:cases"


class _Reaction(Projection):
    reacts = True

    def __init__(self) -> None:
        super().__init__(default_catalogue)
        self._service: ServiceState | None = None

    def bind(self, service: Any) -> None:
        self._service = service

    @property
    def service(self) -> ServiceState:
        assert self._service is not None, "a reaction runs inside a started service"
        return self._service

    async def on_case(
        self,
        ctx: ApplyContext,
        cause: RecordedEvent,
        case_id: uuid.UUID,
        decide: Any,
    ) -> None:
        state = self.service
        stream = cases.stream_id(case_id)
        # a case its batch read beforehand (each once: a second cause reads it afresh)
        loaded = ctx.cases.pop(stream, None) if isinstance(ctx, _Briefing) else None
        await react(
            state.store, ctx.conn, cause, stream, cases.evolve, decide,
            projections=list(state.projections.values()), actor=ACTOR, loaded=loaded,
        )  # fmt: skip

    async def roster(self, ctx: ApplyContext) -> Mapping[str, sa.Table] | None:
        try:
            return await active_tables(ctx.conn, self.service.service_projection(Roster.name))
        except LookupError:
            return None


class FromHotline(_Reaction):
    """Tickets routed to a grid become complaint cases; repeated complaints proactive ones."""

    name = "cases_from_hotline"
    reads: ClassVar[tuple[str, ...]] = ("hotline_bridge",)
    inline_once: ClassVar[bool] = True  # it reads briefs and the roster, never the cases model
    consumers: ClassVar[int] = 3  # each ticket opens a case: round trips, side by side

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        briefs = sa.Table(
            f"cases_ticket_briefs{suffix}",
            metadata,
            sa.Column("ticket_id", UUID, primary_key=True),
            sa.Column("ticket_number", sa.String(40), nullable=False),
            sa.Column("title", sa.String(200), nullable=False),
            sa.Column("content", sa.Text, nullable=False),
            sa.Column("address", sa.String(200), nullable=False),
            sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
            sa.Column("grid_id", UUID),
        )
        return {"briefs": briefs}

    async def apply_many(
        self, ctx: ApplyContext, events: Sequence[RecordedEvent], new_streams: set[str]
    ) -> None:
        """The briefs of tickets received in this batch stay in memory until its end: their
        routing, nearly always in the same batch, reads and completes them there (one insert
        for the batch, rather than an insert, a read and an update per ticket)."""
        routed = [e.data for e in events if isinstance(e.data, hotline.TicketRoutedToGrid)]
        streams = [cases.stream_id(cases.case_for(f"ticket:{d.ticket_id}")) for d in routed]
        # the cases the batch's tickets open, read at once (nearly all still new)
        opening = await load_many(self.service.store, streams, cases.evolve, connection=ctx.conn)
        batch = _Briefing(conn=ctx.conn, tables=ctx.tables, cases=opening)
        await super().apply_many(batch, events, new_streams)
        await insert_many(ctx.conn, ctx.tables["briefs"], list(batch.briefs.values()))

    async def worker(self, ctx: ApplyContext, grid_id: uuid.UUID) -> tuple[Any, str] | None:
        """The grid's worker, as the roster knows them (once per grid and batch)."""
        known = ctx.workers if isinstance(ctx, _Briefing) else {}
        if grid_id not in known:
            roster = await self.roster(ctx)
            known[grid_id] = await worker_of(ctx.conn, roster, grid_id) if roster else None
        return known[grid_id]

    @handles(hotline.TicketReceived)
    async def on_received(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, hotline.TicketReceived)
        # cut to the columns: the hotline's event sets no lengths, and a refused row would hold
        # back every later ticket of its partition
        brief = dict(
            ticket_id=d.ticket_id, ticket_number=d.ticket_number[:40],
            title=f"{d.category_name}: {d.address}"[:200], content=d.content,
            address=d.address[:200], deadline=d.deadline, grid_id=None,
        )  # fmt: skip
        if isinstance(ctx, _Briefing):
            ctx.briefs[d.ticket_id] = brief
        else:
            await ctx.conn.execute(sa.insert(ctx.tables["briefs"]).values(**brief))

    @handles(hotline.TicketRoutedToGrid)
    async def on_routed(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, hotline.TicketRoutedToGrid)
        briefs = ctx.tables["briefs"]
        pending = ctx.briefs if isinstance(ctx, _Briefing) else {}
        row = pending.get(d.ticket_id) or (
            (await ctx.conn.execute(sa.select(briefs).where(briefs.c.ticket_id == d.ticket_id)))
            .mappings()
            .first()
        )
        brief = None
        if row is not None:
            brief = upstream.TicketBrief(
                ticket_number=row["ticket_number"], title=row["title"], content=row["content"],
                deadline=stored(row["deadline"]),
            )  # fmt: skip
        worker = await self.worker(ctx, d.grid_id)
        case_id = cases.case_for(f"ticket:{d.ticket_id}")

        def decide(case: cases.Case | None, _: int) -> list[DomainEvent]:
            return upstream.ticket_routed(
                case, case_id=case_id, ticket_id=d.ticket_id, grid_id=d.grid_id, brief=brief,
                worker=worker,
            )  # fmt: skip

        await self.on_case(ctx, event, case_id, decide)
        if d.ticket_id in pending:
            pending[d.ticket_id]["grid_id"] = d.grid_id
        else:
            await ctx.conn.execute(
                sa.update(briefs).where(briefs.c.ticket_id == d.ticket_id).values(grid_id=d.grid_id)
            )

    @handles(hotline.RepeatedComplaintsNoticed)
    async def on_repeated(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, hotline.RepeatedComplaintsNoticed)
        briefs = ctx.tables["briefs"]
        pending = ctx.briefs if isinstance(ctx, _Briefing) else {}
        grid_id = next(
            (g for t in d.ticket_ids if (g := pending.get(t, {}).get("grid_id")) is not None), None
        ) or await ctx.conn.scalar(
            sa.select(briefs.c.grid_id)
            .where(briefs.c.ticket_id.in_(d.ticket_ids), briefs.c.grid_id.is_not(None))
            .limit(1)
        )
        worker = await self.worker(ctx, grid_id) if grid_id is not None else None
        case_id = cases.case_for(f"notice:{event.envelope.id}")

        title = f"{len(d.ticket_ids)} complaints in {d.window_days} days: "
        title += f"{d.category_name}, {d.address}"

        def decide(case: cases.Case | None, _: int) -> list[DomainEvent]:
            return upstream.complaints_repeated(
                case, case_id=case_id, hotspot_id=d.hotspot_id, title=title, grid_id=grid_id,
                worker=worker,
            )  # fmt: skip

        await self.on_case(ctx, event, case_id, decide)

    @handles(hotline.TicketFollowedUp)
    async def on_followed_up(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, hotline.TicketFollowedUp)
        note = d.note or f"hotline follow-up: {d.satisfaction}, resolved: {d.resolved}"
        satisfied = d.satisfaction != "unsatisfied"

        def decide(case: cases.Case | None, _: int) -> list[DomainEvent]:
            return upstream.ticket_followed_up(case, satisfied=satisfied, note=note)

        await self.on_case(ctx, event, cases.case_for(f"ticket:{d.ticket_id}"), decide)

    @handles(hotline.TicketClosed)
    async def on_closed(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, hotline.TicketClosed)

        def decide(case: cases.Case | None, _: int) -> list[DomainEvent]:
            return upstream.ticket_closed(case)

        await self.on_case(ctx, event, cases.case_for(f"ticket:{d.ticket_id}"), decide)

    @handles(hotline.TicketReopened)
    async def on_reopened(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, hotline.TicketReopened)

        def decide(case: cases.Case | None, _: int) -> list[DomainEvent]:
            return upstream.ticket_reopened(case, reason=d.reason)

        await self.on_case(ctx, event, cases.case_for(f"ticket:{d.ticket_id}"), decide)

    @handles(hotline.TicketReturned)
    async def on_returned(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, hotline.TicketReturned)

        def decide(case: cases.Case | None, _: int) -> list[DomainEvent]:
            return upstream.ticket_returned(case, reason=d.reason)

        await self.on_case(ctx, event, cases.case_for(f"ticket:{d.ticket_id}"), decide)


@dataclass(frozen=True)
class _Briefing(ApplyContext):
    """A batch's new briefs, by ticket id, inserted at its end, and the grids' workers."""

    briefs: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    workers: dict[uuid.UUID, tuple[Any, str] | None] = field(default_factory=dict)
    """Each grid's worker: the roster, read once per grid (a batch's tickets share a few)."""
    cases: dict[str, Loaded[cases.Case]] = field(default_factory=dict)
    """The cases the batch's tickets open, read together before the first reaction."""


class FromRegistry(_Reaction):
    """A worker appointed or reassigned to grids takes over the grids' open cases, unless the
    registry gave a grid to someone else later (workers' streams arrive in any order): its own
    record of who holds each grid says so, as the roster's does."""

    name = "cases_from_registry"
    reads: ClassVar[tuple[str, ...]] = ("registry",)

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        accounts = sa.Table(
            f"cases_worker_accounts{suffix}",
            metadata,
            sa.Column("worker_id", UUID, primary_key=True),
            sa.Column("account", sa.String(200), nullable=False),
        )
        holds = grid_holds(f"cases_grid_holds{suffix}", metadata)
        return {"accounts": accounts, "holds": holds}

    @handles(registry.GridWorkerAppointed)
    async def on_appointed(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, registry.GridWorkerAppointed)
        await self._take_over(ctx, event, d.worker_id, d.account, d.grid_ids)
        accounts = ctx.tables["accounts"]
        await ctx.conn.execute(sa.delete(accounts).where(accounts.c.worker_id == d.worker_id))
        await ctx.conn.execute(sa.insert(accounts).values(worker_id=d.worker_id, account=d.account))

    @handles(registry.GridWorkerReassigned)
    async def on_reassigned(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, registry.GridWorkerReassigned)
        accounts = ctx.tables["accounts"]
        account = await ctx.conn.scalar(
            sa.select(accounts.c.account).where(accounts.c.worker_id == d.worker_id)
        )
        await self._take_over(ctx, event, d.worker_id, account, d.grid_ids)

    @handles(registry.GridWorkerLeft)
    async def on_left(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        """The worker's grids are given up (their cases stay theirs until a new worker comes),
        so an older appointment of another worker arriving later does not take them."""
        d = event.data
        assert isinstance(d, registry.GridWorkerLeft)
        await give_up_grids(ctx.conn, ctx.tables["holds"], d.worker_id, event.envelope.time)

    async def _take_over(
        self,
        ctx: ApplyContext,
        cause: RecordedEvent,
        worker_id: uuid.UUID,
        account: str | None,
        grid_ids: list[uuid.UUID],
    ) -> None:
        at = cause.envelope.time
        grid_ids = await take_grids(ctx.conn, ctx.tables["holds"], worker_id, grid_ids, at)
        if account is None or not grid_ids:
            # every grid went to a newer appointment, or the appointment (with the worker's
            # account) was never seen here (a history cut short): nobody to hand cases to
            return
        # one reaction appends to many cases: each case's append is idempotent by the cause
        c = (await active_tables(ctx.conn, self.service.service_projection(Cases.name)))["cases"]
        open_cases = (
            (
                await ctx.conn.execute(
                    sa.select(c.c.case_id).where(
                        c.c.grid_id.in_(grid_ids),
                        c.c.status.in_([s.value for s in cases.OPEN]),
                        sa.or_(c.c.account.is_(None), c.c.account != account),
                    )
                )
            )
            .scalars()
            .all()
        )
        for case_id in open_cases:

            def decide(
                case: cases.Case | None, _: int, case_id: uuid.UUID = case_id
            ) -> list[DomainEvent]:
                if case is None:
                    return []
                return cases.assign(
                    case, worker_id=worker_id, account=account,
                    reason="the grid changed hands",
                )  # fmt: skip

            await self.on_case(ctx, cause, case_id, decide)
