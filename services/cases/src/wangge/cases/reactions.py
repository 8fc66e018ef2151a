"""How the cases service answers other services' events (policies), each in the transaction that
records the source position, so a reaction happens once whatever crashes or is replayed:

- a ticket routed to a grid opens a complaint case, assigned to the grid's worker;
- repeated complaints at an address open a proactive case (未诉先办);
- the hotline's follow-up records on the case, and closes or reopens it with the ticket;
- a grid worker appointed or reassigned to a grid takes over its open cases.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import sqlalchemy as sa

from wangge.cases.consumed import hotline, registry
from wangge.cases.domain import cases
from wangge.cases.projections.cases import Cases
from wangge.cases.projections.roster import Roster, worker_of
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
        brief = dict(
            ticket_id=d.ticket_id, ticket_number=d.ticket_number,
            title=f"{d.category_name}: {d.address}"[:200], content=d.content,
            address=d.address, deadline=d.deadline, grid_id=None,
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
        brief = pending.get(d.ticket_id) or dict(
            (await ctx.conn.execute(sa.select(briefs).where(briefs.c.ticket_id == d.ticket_id)))
            .mappings()
            .one()
        )
        worker = await self.worker(ctx, d.grid_id)
        case_id = cases.case_for(f"ticket:{d.ticket_id}")

        def decide(case: cases.Case | None, _: int) -> list[DomainEvent]:
            if case is not None:
                return []  # a ticket opens one case, however often it is routed
            opened = cases.open_case(
                case_id=case_id, kind=cases.CaseKind.COMPLAINT, source=cases.Source.HOTLINE,
                title=f"{brief['ticket_number']} {brief['title']}"[:200],
                description=brief["content"], grid_id=d.grid_id, ticket_id=d.ticket_id,
                deadline=stored(brief["deadline"]),
                now=min(datetime.now(UTC), stored(brief["deadline"])),
            )  # fmt: skip
            return cases.with_worker(opened, worker)

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

        def decide(case: cases.Case | None, _: int) -> list[DomainEvent]:
            if case is not None:
                return []
            opened = cases.open_case(
                case_id=case_id, kind=cases.CaseKind.PROACTIVE, source=cases.Source.PROACTIVE,
                title=f"{len(d.ticket_ids)} complaints in {d.window_days} days: "
                f"{d.category_name}, {d.address}"[:200],
                description="repeated complaints of one kind at one address: deal with the "
                "cause before the next call (未诉先办)",
                grid_id=grid_id, hotspot_id=d.hotspot_id, now=datetime.now(UTC),
            )  # fmt: skip
            return cases.with_worker(opened, worker)

        await self.on_case(ctx, event, case_id, decide)

    @handles(hotline.TicketFollowedUp)
    async def on_followed_up(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, hotline.TicketFollowedUp)
        note = d.note or f"hotline follow-up: {d.satisfaction}, resolved: {d.resolved}"

        def decide(case: cases.Case | None, _: int) -> list[DomainEvent]:
            if case is None or case.status not in (cases.Status.RESOLVED, cases.Status.CLOSED):
                return []
            satisfied = d.satisfaction != "unsatisfied"
            return cases.follow_up(case, satisfied=satisfied, note=note[:2000])

        await self.on_case(ctx, event, cases.case_for(f"ticket:{d.ticket_id}"), decide)

    @handles(hotline.TicketClosed)
    async def on_closed(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, hotline.TicketClosed)

        def decide(case: cases.Case | None, _: int) -> list[DomainEvent]:
            if case is None or case.status != cases.Status.RESOLVED:
                return []
            return cases.close(case, "the hotline closed the ticket")

        await self.on_case(ctx, event, cases.case_for(f"ticket:{d.ticket_id}"), decide)

    @handles(hotline.TicketReopened)
    async def on_reopened(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, hotline.TicketReopened)

        def decide(case: cases.Case | None, _: int) -> list[DomainEvent]:
            if case is None or case.status not in (cases.Status.RESOLVED, cases.Status.CLOSED):
                return []
            return cases.reopen(case, f"the hotline sent the ticket back: {d.reason}"[:1000])

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
    """A worker appointed or reassigned to grids takes over the grids' open cases."""

    name = "cases_from_registry"
    reads: ClassVar[tuple[str, ...]] = ("registry",)

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        accounts = sa.Table(
            f"cases_worker_accounts{suffix}",
            metadata,
            sa.Column("worker_id", UUID, primary_key=True),
            sa.Column("account", sa.String(200), nullable=False),
        )
        return {"accounts": accounts}

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
        if account is not None:
            await self._take_over(ctx, event, d.worker_id, account, d.grid_ids)

    async def _take_over(
        self,
        ctx: ApplyContext,
        cause: RecordedEvent,
        worker_id: uuid.UUID,
        account: str,
        grid_ids: list[uuid.UUID],
    ) -> None:
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
