"""How the cases service answers other services' events (policies), each in the transaction that
records the source position, so a reaction happens once whatever crashes or is replayed:

- a ticket routed to a grid opens a complaint case, assigned to the grid's worker;
- repeated complaints at an address open a proactive case (未诉先办);
- the hotline's follow-up records on the case, and closes or reopens it with the ticket; a ticket
  returned to the hotline (退单) closes it;
- a grid worker appointed or reassigned to a grid takes over its open cases;
- a resident's erasure in the registry shreds the keys of their care plans and the text keys of
  their cases (``domain.erasure``), also of those naming a record merged into them, whichever
  of the merge and the erasure arrives first.

A case a ticket opens and the take-over of a grid's open cases read the same record of who holds
each grid (the take-over's), and each locks the grid first until its transaction ends (one
writer at a time does it on SQLite): the opening sees the appointment, or the take-over sees the
case. With the roster as the opening's source instead, an appointment the take-over applied
before the case was opened and the roster after it left the case with nobody for good.

Another service's event has happened: what it means for a case is decided in
``domain.upstream``, which never refuses one (a reaction that raised would hold back every later
event of its partition).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, assert_never

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.cases.consumed import hotline, registry
from wangge.cases.domain import appointments, cases, erasure, upstream
from wangge.cases.personal_data import KeyRings, shred
from wangge.cases.projections import care as care_model
from wangge.cases.projections import cases as cases_model
from wangge.cases.projections.care import CarePlans
from wangge.cases.projections.cases import Cases
from wangge.cases.projections.residents import (
    merges_table,
    record_merge,
    survivors,
    undo_merge,
)
from wangge.cases.projections.roster import (
    Roster,
    give_up_grids,
    grid_holds,
    holds_with_accounts,
    take_grids,
    worker_of,
)
from wangge.events import DomainEvent, RecordedEvent, default_catalogue, tuning
from wangge.events.command import Loaded, Starts, load, load_many, react
from wangge.events.db import insert_many, lock_keys
from wangge.events.projection import ApplyContext, Projection, active_tables, handles
from wangge.governance.columns import TIME as TIME_COLUMN
from wangge.governance.redaction import redact
from wangge.governance.times import stored

if TYPE_CHECKING:
    from wangge.cases.bootstrap import CasesCore

UUID = sa.Uuid(as_uuid=True)
ACTOR = "system:cases"

_LaterWord = (
    hotline.TicketFollowedUp | hotline.TicketClosed | hotline.TicketReopened
    | hotline.TicketReturned
)  # fmt: skip
"""The hotline's word on a ticket once it was routed: each lands on the case it opened."""


async def lock_grids(
    conn: AsyncConnection, grid_ids: Collection[uuid.UUID], *, shared: bool
) -> None:
    """Lock grids until the transaction ends (PostgreSQL; SQLite has one writer at a time).

    The take-over of a grid's open cases locks it exclusively before it records the appointment
    and looks for the cases; the opening of a case locks it shared (openings do not wait for
    each other) before it reads the grid's worker. So the two never see each other's work half:
    whichever commits second sees what the first did. Each takes all its grids at once, in one
    order, so two batches cannot each hold a grid the other waits for.
    """
    await lock_keys(conn, [f"cases grid|{grid_id}" for grid_id in grid_ids], shared=shared)


class _Reaction(Projection):
    reacts = True

    def __init__(self) -> None:
        super().__init__(default_catalogue)
        self._service: CasesCore | None = None

    def bind(self, service: Any) -> None:
        self._service = service

    @property
    def service(self) -> CasesCore:
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
        # a case its batch read beforehand (each once: a second cause reads it afresh), and the
        # cases it opens, appended together
        briefing = ctx if isinstance(ctx, _Briefing) else None
        loaded = briefing.cases.pop(stream, None) if briefing else None
        await react(
            state.store, ctx.conn, cause, stream, cases.evolve, decide,
            projections=state.projections, actor=ACTOR, loaded=loaded,
            inline_once=ctx.inline_once, starts=briefing.starts if briefing else None,
        )  # fmt: skip

    async def roster(self, ctx: ApplyContext) -> Mapping[str, sa.Table] | None:
        return await self.tables_of(ctx, Roster.name)

    async def tables_of(self, ctx: ApplyContext, name: str) -> Mapping[str, sa.Table] | None:
        """Another of the service's projections' tables (None before it first started)."""
        try:
            return await active_tables(ctx.conn, self.service.projection(name))
        except LookupError:
            return None


class FromHotline(_Reaction):
    """Tickets routed to a grid become complaint cases; repeated complaints proactive ones."""

    name = "cases_from_hotline"
    reads: ClassVar[tuple[str, ...]] = ("hotline_bridge",)
    # it reads briefs and who holds the grids, never the cases model
    inline_once: ClassVar[bool] = True
    consumers: ClassVar[int] = 3  # each ticket opens a case: round trips, side by side
    partitions_apart: ClassVar[bool] = True  # a ticket's reaction reads and writes its own case

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        briefs = sa.Table(
            f"cases_ticket_briefs{suffix}",
            metadata,
            sa.Column("ticket_id", UUID, primary_key=True),
            sa.Column("ticket_number", sa.String(40), nullable=False),
            sa.Column("title", sa.String(200), nullable=False),
            sa.Column("content", sa.Text, nullable=False),
            sa.Column("address", sa.String(200), nullable=False),
            sa.Column("deadline", TIME_COLUMN, nullable=False),
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
        starts = None
        if tuning.FAST_PATHS.reaction_batches:
            starts = Starts(self.service.store, ctx.conn, self.service.projections, ctx.inline_once)
        batch = _Briefing(
            conn=ctx.conn, tables=ctx.tables, inline_once=ctx.inline_once, cases=opening,
            starts=starts,
        )  # fmt: skip
        # the workers of the grids the tickets go to: locked and read together, before any case
        # is touched (a take-over waiting for one of them may hold a case this batch appends to)
        await self.read_workers(batch, [d.grid_id for d in routed])
        await super().apply_many(batch, events, new_streams)
        if starts is not None:
            await starts.append()
        await insert_many(ctx.conn, ctx.tables["briefs"], list(batch.briefs.values()))

    async def worker(self, ctx: ApplyContext, grid_id: uuid.UUID) -> appointments.Worker | None:
        """The grid's worker, the grid locked against a take-over until the transaction ends
        (once per grid and batch)."""
        briefing = (
            ctx if isinstance(ctx, _Briefing) else _Briefing(conn=ctx.conn, tables=ctx.tables)
        )
        # a grid not read with the batch's routings (repeated complaints') is locked now; if a
        # take-over holding it waits for a case this batch appended to, PostgreSQL ends the
        # deadlock and the runner applies the batch again one event at a time
        await self.read_workers(briefing, [grid_id])
        return briefing.workers[grid_id]

    async def read_workers(self, ctx: _Briefing, grid_ids: Collection[uuid.UUID]) -> None:
        """Lock the grids the batch has not read yet, and read their workers into it, from the
        take-over's record of who holds each grid (the roster's answer for a grid that record
        never decided about: ``appointments.responsible``)."""
        new = sorted(set(grid_ids) - ctx.workers.keys())
        if not new:
            return
        await lock_grids(ctx.conn, new, shared=True)
        record = await self.tables_of(ctx, FromRegistry.name)
        held = {}  # before the take-over first started, it decided about no grid
        if record is not None:
            held = await holds_with_accounts(ctx.conn, record["holds"], record["accounts"], new)
        roster = await self.roster(ctx) if any(g not in held for g in new) else None
        for grid_id in new:
            hold, account = held.get(grid_id, (None, None))
            known = None
            if hold is None and roster is not None:
                known = await worker_of(ctx.conn, roster, grid_id)
            ctx.workers[grid_id] = appointments.responsible(hold, account=account, roster=known)

    @handles(hotline.TicketReceived)
    async def on_received(
        self, ctx: ApplyContext, event: RecordedEvent[hotline.TicketReceived]
    ) -> None:
        d = event.data
        # cut to the columns: the hotline's event sets no lengths, and a refused row would hold
        # back every later ticket of its partition; its texts kept only as redacted copies (an
        # old ticket's content is clear text, a new one's the hotline's redacted copy)
        brief = dict(
            ticket_id=d.ticket_id, ticket_number=d.ticket_number[:40],
            title=redact(f"{d.category_name}: {d.address}")[:200], content=redact(d.content),
            address=redact(d.address)[:200], deadline=d.deadline, grid_id=None,
        )  # fmt: skip
        if isinstance(ctx, _Briefing):
            ctx.briefs[d.ticket_id] = brief
        else:
            await ctx.conn.execute(sa.insert(ctx.tables["briefs"]).values(**brief))

    @handles(hotline.TicketRoutedToGrid)
    async def on_routed(
        self, ctx: ApplyContext, event: RecordedEvent[hotline.TicketRoutedToGrid]
    ) -> None:
        d = event.data
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
    async def on_repeated(
        self, ctx: ApplyContext, event: RecordedEvent[hotline.RepeatedComplaintsNoticed]
    ) -> None:
        d = event.data
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

    @handles(
        hotline.TicketFollowedUp, hotline.TicketClosed, hotline.TicketReopened,
        hotline.TicketReturned,
    )  # fmt: skip
    async def on_ticket(self, ctx: ApplyContext, event: RecordedEvent[_LaterWord]) -> None:
        """What the hotline did with a ticket after it was routed, on the case it opened."""
        d = event.data

        def decide(case: cases.Case | None, _: int) -> list[DomainEvent]:
            match d:
                case hotline.TicketFollowedUp():
                    note = d.note or f"hotline follow-up: {d.satisfaction}, resolved: {d.resolved}"
                    satisfied = d.satisfaction != "unsatisfied"
                    return upstream.ticket_followed_up(case, satisfied=satisfied, note=note)
                case hotline.TicketClosed():
                    return upstream.ticket_closed(case)
                case hotline.TicketReopened():
                    return upstream.ticket_reopened(case, reason=d.reason)
                case hotline.TicketReturned():
                    return upstream.ticket_returned(case, reason=d.reason)
                case _:
                    assert_never(d)

        await self.on_case(ctx, event, cases.case_for(f"ticket:{d.ticket_id}"), decide)


@dataclass(frozen=True)
class _Briefing(ApplyContext):
    """A batch's new briefs, by ticket id, inserted at its end, and the grids' workers."""

    briefs: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    workers: dict[uuid.UUID, appointments.Worker | None] = field(default_factory=dict)
    """Each grid's worker, read once per grid (a batch's tickets share a few); the grid stays
    locked against a take-over until the batch commits, so it stays true for the batch."""
    cases: dict[str, Loaded[cases.Case]] = field(default_factory=dict)
    """The cases the batch's tickets open, read together before the first reaction."""
    starts: Starts | None = None
    """The cases the batch opens, appended together before it ends."""


class FromRegistry(_Reaction):
    """A worker appointed or reassigned to grids takes over the grids' open cases, unless the
    registry gave a grid to someone else later (workers' streams arrive in any order): its own
    record of who holds each grid says so, as the roster's does. A case a ticket opens takes its
    worker from this record too (see the module's docstring)."""

    name = "cases_from_registry"
    reads: ClassVar[tuple[str, ...]] = ("registry",)

    def __init__(self) -> None:
        super().__init__()
        self._keyrings: KeyRings | None = None

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        accounts = sa.Table(
            f"cases_worker_accounts{suffix}",
            metadata,
            sa.Column("worker_id", UUID, primary_key=True),
            sa.Column("account", sa.String(200), nullable=False),
        )
        holds = grid_holds(f"cases_grid_holds{suffix}", metadata)
        merges = merges_table(f"cases_erasure_merges{suffix}", metadata)
        return {"accounts": accounts, "holds": holds, "merges": merges}

    async def apply_many(
        self, ctx: ApplyContext, events: Sequence[RecordedEvent], new_streams: set[str]
    ) -> None:
        """The grids the batch's appointments name are locked first, all at once, so that no
        case opens in one of them between the take-over's look for open cases and its commit
        (the case's worker is read from the holds this batch is writing)."""
        named: set[uuid.UUID] = set()
        for event in events:
            if isinstance(event.data, registry.GridWorkerAppointed | registry.GridWorkerReassigned):
                named.update(event.data.grid_ids)
        await lock_grids(ctx.conn, named, shared=False)
        await super().apply_many(ctx, events, new_streams)

    @handles(registry.GridWorkerAppointed)
    async def on_appointed(
        self, ctx: ApplyContext, event: RecordedEvent[registry.GridWorkerAppointed]
    ) -> None:
        d = event.data
        await self._take_over(ctx, event, d.worker_id, d.account, d.grid_ids)
        accounts = ctx.tables["accounts"]
        await ctx.conn.execute(sa.delete(accounts).where(accounts.c.worker_id == d.worker_id))
        await ctx.conn.execute(sa.insert(accounts).values(worker_id=d.worker_id, account=d.account))

    @handles(registry.GridWorkerReassigned)
    async def on_reassigned(
        self, ctx: ApplyContext, event: RecordedEvent[registry.GridWorkerReassigned]
    ) -> None:
        d = event.data
        accounts = ctx.tables["accounts"]
        account = await ctx.conn.scalar(
            sa.select(accounts.c.account).where(accounts.c.worker_id == d.worker_id)
        )
        await self._take_over(ctx, event, d.worker_id, account, d.grid_ids)

    @handles(registry.PersonalDataErased)
    async def on_erased(
        self, ctx: ApplyContext, event: RecordedEvent[registry.PersonalDataErased]
    ) -> None:
        """A resident erased in the registry: the keys of their care plans and the text keys of
        the cases they, or a record merged into them, are a party to or concerned by are
        destroyed, and the erasure recorded (``domain.erasure``). A fact: whatever this service
        holds, it never refuses it."""
        d = event.data
        plan_ids, case_ids = await self._of_resident(ctx, str(d.person_id))
        keys = self.keyrings()
        await shred(ctx.conn, keys.plans, plan_ids)
        await shred(ctx.conn, keys.cases, case_ids)

        def decide(followed: erasure.Followed | None, _: int) -> list[DomainEvent]:
            return erasure.follow(
                followed, person_id=d.person_id, legal_ground=d.legal_ground,
                care_plans=plan_ids, cases=case_ids,
            )  # fmt: skip

        state = self.service
        await react(
            state.store, ctx.conn, event, erasure.stream_id(d.person_id), erasure.evolve, decide,
            projections=state.projections, actor=ACTOR,
            inline_once=ctx.inline_once,
        )  # fmt: skip

    @handles(registry.PersonMerged)
    async def on_merged(
        self, ctx: ApplyContext, event: RecordedEvent[registry.PersonMerged]
    ) -> None:
        """A duplicate merged into a resident: a later erasure of the resident reaches the
        duplicate's rows; one this service followed already reaches them now (the merge came
        first in the registry, which erases no record merged into, but the two persons' streams
        may arrive here in either order)."""
        d = event.data
        merges = ctx.tables["merges"]
        await record_merge(ctx.conn, merges, d)
        into = str(d.into_person_id)
        kept = uuid.UUID((await survivors(ctx.conn, merges, [into])).get(into, into))
        state = self.service
        stream = erasure.stream_id(kept)
        followed = await load(state.store, stream, erasure.evolve, connection=ctx.conn)
        if not followed.state:
            return
        plan_ids, case_ids = await self._of_resident(ctx, str(d.person_id))
        keys = self.keyrings()
        await shred(ctx.conn, keys.plans, plan_ids)
        await shred(ctx.conn, keys.cases, case_ids)

        def decide(done: erasure.Followed | None, _: int) -> list[DomainEvent]:
            return erasure.reach_merged(done, person_id=kept, care_plans=plan_ids, cases=case_ids)

        await react(
            state.store, ctx.conn, event, stream, erasure.evolve, decide,
            projections=state.projections, actor=ACTOR, loaded=followed,
            inline_once=ctx.inline_once,
        )  # fmt: skip

    @handles(registry.PersonMergeUndone)
    async def on_unmerged(
        self, ctx: ApplyContext, event: RecordedEvent[registry.PersonMergeUndone]
    ) -> None:
        """The duplicate stands on its own: a later erasure of the resident no longer reaches
        it (keys destroyed meanwhile stay destroyed)."""
        await undo_merge(ctx.conn, ctx.tables["merges"], event.data)

    async def _of_resident(
        self, ctx: ApplyContext, resident: str
    ) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
        """The care plans and cases naming the resident or a record merged into them."""
        merges = ctx.tables["merges"]
        plan_ids: list[uuid.UUID] = []
        care = await self.tables_of(ctx, CarePlans.name)
        if care is not None:
            plan_ids = await care_model.of_resident(ctx.conn, care, resident, merges=merges)
        case_ids: set[uuid.UUID] = set()
        model = await self.tables_of(ctx, Cases.name)
        if model is not None:
            case_ids = await cases_model.of_resident(ctx.conn, model, resident, merges=merges)
        return sorted(plan_ids), sorted(case_ids)

    def keyrings(self) -> KeyRings:
        """The service's key rings."""
        return self.service.keyrings

    @handles(registry.GridWorkerLeft)
    async def on_left(
        self, ctx: ApplyContext, event: RecordedEvent[registry.GridWorkerLeft]
    ) -> None:
        """The worker's grids are given up (their cases stay theirs until a new worker comes),
        so an older appointment of another worker arriving later does not take them."""
        d = event.data
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
        model = await active_tables(ctx.conn, self.service.projection(Cases.name))
        open_cases = await cases_model.to_take_over(ctx.conn, model, grid_ids, account)
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
