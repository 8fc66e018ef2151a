"""The lineage of a matter (一件事): every step of a 12345 ticket, the case it became, its
mediation, the reply, the 回访 rating and any reopening, across services, joined by the
envelopes' correlation and causation ids.

One row per event, keyed by its event id, holding only ids, the event's type, when it was
recorded, who acted (as a kind: a service, a person, the hotline; never who) and its cause: no
personal data and no free text. A step's matter is its correlation id (or, for an event that
carried none, its own id, as a reaction reckons it). Steps are never joined on arrival: a case
opened from a need noted on a visit, or a case whose opening lost its ticket's id, is joined to
the need's or ticket's matter at query time through the ids the events name, so the rows do not
depend on which service's events arrived first, and a rebuild leaves the rows an increment did.
The order is the query's too (:func:`in_order`).

A batch's rows are held in memory and inserted at once (``projections.batching``): a row is
never changed, only written again by an event applied again, and the previous step a hotline
step is compared with is found among the batch's rows before the database's.
"""

from __future__ import annotations

import heapq
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import RecordedEvent
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.events.tuning import UNHURRIED_LINGER_SECONDS
from wangge.governance.columns import TIME as TIME_COLUMN
from wangge.governance.times import stored
from wangge.views.consumed import cases as c
from wangge.views.consumed import hotline as h
from wangge.views.consumed import registry as r
from wangge.views.projections.batching import (
    Batch,
    apply_batched,
    batching,
    replace_row,
    starts_here,
)

UUID = sa.Uuid(as_uuid=True)

_SERVICES = {"hotline_bridge": "hotline-bridge"}

HOTLINE_SAYS: frozenset[str] = frozenset(
    {"TicketReceived", "TicketFollowedUp", "TicketExtensionDecided"}
)
"""What only the hotline platform's signed messages record: the push, the 回访 rating and the
decision on an extension (the events recorded with them in one command are the hotline's too)."""

_TICKET_EVENTS = (
    h.TicketReceived, h.TicketRoutedToGrid, h.TicketAwaitingTriage, h.TicketLinkedAsDuplicate,
    h.TicketAccepted, h.TicketReturned, h.TicketExtensionRequested, h.TicketExtensionDecided,
    h.TicketReminderRaised, h.TicketReplied, h.ReplyDelivered, h.ReplyDeliveryFailed,
    h.ReplyDeliveryRetried, h.TicketFollowedUp, h.TicketReopened, h.TicketClosed,
)  # fmt: skip
_CASE_EVENTS = (
    c.CaseOpened, c.CaseAssigned, c.CaseAccepted, c.CaseProgressNoted, c.CaseEscalated,
    c.CaseReferred, c.CaseResolved, c.CaseClosed, c.CaseReopened, c.CaseFollowedUp,
    c.MediatorAppointed, c.MediationPartyJoined, c.MediationSessionHeld,
    c.MediationAgreementSigned, c.AgreementFollowedUp, c.PartyErased,
)  # fmt: skip


def actor_kind(actor: str | None) -> str | None:
    """Who acted, as a kind and never as who: ``system`` (a service on its own: a reaction, a
    job), ``open311`` (a GeoReport client), ``person`` (a signed-in caller); None: unrecorded."""
    if actor is None:
        return None
    if actor.startswith("system:"):
        return "system"
    if actor.startswith("open311:"):
        return "open311"
    return "person"


def matter_of(event: RecordedEvent[Any]) -> str:
    """The matter an event is a step of: its correlation id, or its own id when it carried
    none (as a reaction to it would reckon it)."""
    return event.envelope.correlationid or str(event.envelope.id)


class Matters(Projection):
    """Every step of every matter, by its correlation id."""

    name = "views_matters"
    reads: ClassVar[tuple[str, ...]] = ("registry", "cases", "hotline_bridge")
    linger_seconds: ClassVar[float | None] = UNHURRIED_LINGER_SECONDS

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        steps = sa.Table(
            f"views_matters_steps{suffix}",
            metadata,
            sa.Column("event_id", UUID, primary_key=True),
            # the envelope bounds none of these ids: whatever an upstream recorded is applied
            sa.Column("correlation_id", sa.Text, nullable=False),
            sa.Column("causation_id", sa.Text),
            sa.Column("at", TIME_COLUMN, nullable=False),
            sa.Column("service", sa.String(40), nullable=False),
            sa.Column("type", sa.String(80), nullable=False),
            sa.Column("stream_id", sa.Text, nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("actor_kind", sa.String(20)),
            sa.Column("ticket_id", UUID),
            sa.Column("case_id", UUID),
            sa.Column("need_id", UUID),
            sa.Column("grid_id", UUID),
            sa.Column("place_id", UUID),
            # ids hashed on PostgreSQL: looked up by equality only, and a B-tree refuses an
            # entry over about 2.7 kB, which would park the stream on an overlong id
            sa.Index(
                f"ix_views_matters_steps_correlation{suffix}",
                "correlation_id",
                postgresql_using="hash",
            ),
            sa.Index(f"ix_views_matters_steps_ticket{suffix}", "ticket_id"),
            sa.Index(f"ix_views_matters_steps_case{suffix}", "case_id"),
            sa.Index(f"ix_views_matters_steps_need{suffix}", "need_id"),
            sa.Index(
                f"ix_views_matters_steps_stream{suffix}", "stream_id", postgresql_using="hash"
            ),
        )
        return {"steps": steps}

    async def apply_many(
        self, ctx: ApplyContext, events: Sequence[RecordedEvent], new_streams: set[str]
    ) -> None:
        """The batch's steps held in memory and inserted at once (``projections.batching``),
        unless folding is switched off: then event by event, with the same rows."""
        if not batching():
            await super().apply_many(ctx, events, new_streams)
            return
        await apply_batched(self, ctx, events, new_streams)

    async def _step(
        self, ctx: ApplyContext, event: RecordedEvent[Any], service: str, **ids: Any
    ) -> None:
        steps = ctx.tables["steps"]
        kind = actor_kind(event.envelope.actor)
        name = type(event.data).__name__
        # the hotline's own messages, and what its push recorded with them (one append: one
        # time, one actor) are the hotline's, whoever its account is
        if (
            service == "hotline_bridge"
            and kind == "person"
            and (name in HOTLINE_SAYS or await _same_append_as_hotline(ctx, steps, event))
        ):
            kind = "hotline"
        row = dict(
            event_id=event.envelope.id, correlation_id=matter_of(event),
            causation_id=event.envelope.causationid, at=event.envelope.time,
            service=_SERVICES.get(service, service), type=name, stream_id=event.stream_id,
            version=event.version, actor_kind=kind, **ids,
        )  # fmt: skip
        # a redelivered event (at least once) leaves the row it left
        await replace_row(ctx, "steps", row, fresh=starts_here(ctx, event))
        if isinstance(ctx, Batch):
            ctx.memo[event.stream_id, event.version] = row

    @handles(*_TICKET_EVENTS)
    async def on_ticket(self, ctx: ApplyContext, event: RecordedEvent[Any]) -> None:
        d = event.data
        grid = getattr(d, "grid_id", None)
        place = d.place_id if isinstance(d, h.TicketRoutedToGrid) else None
        await self._step(
            ctx, event, "hotline_bridge", ticket_id=d.ticket_id, grid_id=grid, place_id=place
        )

    @handles(h.RepeatedComplaintsNoticed)
    async def on_repeated(
        self, ctx: ApplyContext, event: RecordedEvent[h.RepeatedComplaintsNoticed]
    ) -> None:
        await self._step(ctx, event, "hotline_bridge")

    @handles(*_CASE_EVENTS)
    async def on_case(self, ctx: ApplyContext, event: RecordedEvent[Any]) -> None:
        d = event.data
        ids: dict[str, Any] = {"case_id": d.case_id}
        if isinstance(d, c.CaseOpened):
            ids.update(ticket_id=d.ticket_id, need_id=d.need_id, grid_id=d.grid_id)
        await self._step(ctx, event, "cases", **ids)

    @handles(r.NeedNoted)
    async def on_need(self, ctx: ApplyContext, event: RecordedEvent[r.NeedNoted]) -> None:
        d = event.data
        await self._step(ctx, event, "registry", need_id=d.need_id, place_id=d.dwelling_id)


async def _same_append_as_hotline(
    ctx: ApplyContext, steps: sa.Table, event: RecordedEvent[Any]
) -> bool:
    """Whether the stream's previous event was the hotline's, recorded in the same append."""
    if isinstance(ctx, Batch):
        previous = ctx.memo.get((event.stream_id, event.version - 1))
        if previous is not None:
            return bool(
                previous["at"] == event.envelope.time and previous["actor_kind"] == "hotline"
            )
        if starts_here(ctx, event):
            return False  # its previous event, if any, was in the batch and made no row
    kind = await ctx.conn.scalar(
        sa.select(steps.c.actor_kind).where(
            steps.c.stream_id == event.stream_id,
            steps.c.version == event.version - 1,
            steps.c.at == event.envelope.time,
        )
    )
    return kind == "hotline"


# -- the matter's steps, in order ------------------------------------------------------------


class Step(NamedTuple):
    """One step of a matter, as its row keeps it."""

    event_id: uuid.UUID
    correlation_id: str
    causation_id: str | None
    at: datetime
    service: str
    type: str
    stream_id: str
    version: int
    actor_kind: str | None
    ticket_id: uuid.UUID | None
    case_id: uuid.UUID | None
    need_id: uuid.UUID | None
    grid_id: uuid.UUID | None
    place_id: uuid.UUID | None


def in_order(steps: Iterable[Step]) -> list[Step]:
    """A matter's steps by the time each was recorded; steps recorded at one instant with a
    cause before its effect (the event its causation id names, and an earlier event of the same
    stream), then by event id. Deterministic: the same rows always give the same order."""
    by_time: dict[datetime, list[Step]] = defaultdict(list)
    for step in steps:
        by_time[step.at].append(step)
    out: list[Step] = []
    for at in sorted(by_time):
        out.extend(_causes_first(by_time[at]))
    return out


def _causes_first(tied: Sequence[Step]) -> list[Step]:
    # Kahn's topological sort, the smallest event id first among the steps ready; a cycle (ids
    # made up by a faulty producer) falls back to event id order for what is left
    ids = {str(s.event_id): s for s in tied}
    before: dict[uuid.UUID, set[uuid.UUID]] = {s.event_id: set() for s in tied}
    for s in tied:
        cause = ids.get(s.causation_id or "")
        if cause is not None and cause.event_id != s.event_id:
            before[s.event_id].add(cause.event_id)
        for other in tied:
            if other.stream_id == s.stream_id and other.version < s.version:
                before[s.event_id].add(other.event_id)
    after: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for effect, causes in before.items():
        for cause_id in causes:
            after[cause_id].append(effect)
    waiting = {k: len(v) for k, v in before.items()}
    ready = [k for k, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    by_id = {s.event_id: s for s in tied}
    out: list[Step] = []
    while ready:
        step_id = heapq.heappop(ready)
        out.append(by_id[step_id])
        for effect in after[step_id]:
            waiting[effect] -= 1
            if waiting[effect] == 0:
                heapq.heappush(ready, effect)
    if len(out) < len(tied):
        done = {s.event_id for s in out}
        out.extend(sorted((s for s in tied if s.event_id not in done), key=lambda s: s.event_id))
    return out


# -- queries ---------------------------------------------------------------------------------


class Lineage(NamedTuple):
    """A matter: its correlation id, and its steps in order."""

    correlation_id: str
    steps: list[Step]


def _step(row: Any) -> Step:
    values = dict(row._mapping)
    values["at"] = stored(values["at"])
    return Step(**values)


async def _with(
    conn: AsyncConnection, steps: sa.Table, column: sa.ColumnElement[Any], values: Collection[Any]
) -> list[Step]:
    if not values:
        return []
    rows = await conn.execute(sa.select(steps).where(column.in_(list(values))))
    return [_step(row) for row in rows]


async def lineage(
    conn: AsyncConnection, tables: Mapping[str, sa.Table], correlation_id: str
) -> Lineage | None:
    """The matter a correlation id names, with the matters it grew into or out of: a case a
    need on a visit suggested is the need's matter (its opening names the need), a ticket's
    case whose correlation was lost is the ticket's (its opening names the ticket). The matter's
    id is that of the step that started it (the ticket's receipt, the need); None: no such
    matter."""
    steps = tables["steps"]
    found: dict[uuid.UUID, Step] = {}
    matters = {correlation_id}
    seen: set[str] = set()
    # a few hops at most: a matter, the need or ticket its case names, that one's other cases
    for _ in range(4):
        new = matters - seen
        if not new:
            break
        seen |= new
        for s in await _with(conn, steps, steps.c.correlation_id, new):
            found[s.event_id] = s
        tickets = {s.ticket_id for s in found.values() if s.ticket_id is not None}
        needs = {s.need_id for s in found.values() if s.need_id is not None}
        for column, ids in ((steps.c.ticket_id, tickets), (steps.c.need_id, needs)):
            for s in await _with(conn, steps, column, ids):
                if s.type in ("TicketReceived", "NeedNoted", "CaseOpened"):
                    matters.add(s.correlation_id)
    if not found:
        return None
    ordered = in_order(found.values())
    roots = [s for s in ordered if s.type in ("TicketReceived", "NeedNoted")]
    return Lineage((roots[0] if roots else ordered[0]).correlation_id, ordered)


async def matter_of_ticket(
    conn: AsyncConnection, tables: Mapping[str, sa.Table], ticket_id: uuid.UUID
) -> str | None:
    """The correlation id of the matter a ticket's first recorded step is in."""
    return await _first_matter(conn, tables["steps"], tables["steps"].c.ticket_id, ticket_id)


async def matter_of_case(
    conn: AsyncConnection, tables: Mapping[str, sa.Table], case_id: uuid.UUID
) -> str | None:
    """The correlation id of the matter a case's first recorded step is in."""
    return await _first_matter(conn, tables["steps"], tables["steps"].c.case_id, case_id)


async def _first_matter(
    conn: AsyncConnection, steps: sa.Table, column: sa.ColumnElement[Any], value: uuid.UUID
) -> str | None:
    first: str | None = await conn.scalar(
        sa.select(steps.c.correlation_id)
        .where(column == value)
        .order_by(steps.c.at, steps.c.version, steps.c.event_id)
        .limit(1)
    )
    return first


DECIDES_ROUTING = (
    "TicketAwaitingTriage", "TicketRoutedToGrid", "TicketLinkedAsDuplicate", "TicketReturned",
    "TicketClosed",
)  # fmt: skip
"""The ticket's steps that say where it stands: the last of them tells whether it waits."""


class Waiting(NamedTuple):
    """A ticket waiting in triage (no grid found for it): since when, and its matter."""

    ticket_id: uuid.UUID
    since: datetime
    correlation_id: str


async def in_triage(conn: AsyncConnection, tables: Mapping[str, sa.Table]) -> list[Waiting]:
    """The tickets whose last routing step is \"awaiting triage\", longest waiting first (a
    ticket's steps are its stream's events: their versions order them)."""
    steps = tables["steps"]
    last = sa.func.row_number().over(
        partition_by=steps.c.ticket_id, order_by=steps.c.version.desc()
    )
    decisive = (
        sa.select(steps.c.ticket_id, steps.c.type, steps.c.at, steps.c.correlation_id,
                  last.label("n"))
        .where(steps.c.ticket_id.is_not(None), steps.c.type.in_(DECIDES_ROUTING))
        .subquery()
    )  # fmt: skip
    rows = await conn.execute(
        sa.select(decisive.c.ticket_id, decisive.c.at, decisive.c.correlation_id)
        .where(decisive.c.n == 1, decisive.c.type == "TicketAwaitingTriage")
        .order_by(decisive.c.at, decisive.c.ticket_id)
    )
    return [Waiting(r.ticket_id, stored(r.at), r.correlation_id) for r in rows]
