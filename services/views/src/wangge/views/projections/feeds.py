"""The department feeds (部门数据推送): every fact the catalogue gives a department, as entries in
the order they were written, and the query that pages through one department's entries.

Each fact is written once, at the next position of the generation, with one row for each
department the catalogue entitles to it. What an entry says is decided by the event it came
from and earlier events of the same stream only (a person's, a care plan's, a case's, a ticket's,
a thing's), which Kafka keeps in order whatever the topics' interleaving: so a rebuild writes the
same entries, though possibly at other positions (the order across streams is the order of
arrival), which is why a cursor names its generation. The one fact that needs time to pass, a
missed care visit, is decided by the views' own clock (``DayClosed``, the topic
``wangge.views.events``) from what the plan's stream had recorded by the time the day was
closed: see ``on_day_closed``. Two things are looked up when a page is
read instead, so they need no order either: where the entry lies (grid and community codes, from
the roster: a ticket's grid may arrive before the registry's place) and whether its person was
erased (the registry's, the cases service's or a care plan's erasure, in any order): an erased
person's masked name is shown as erased in every entry, also one written before.

A batch is applied in memory (``projections.batching``): the rows its events read are read
first, one query per table, every change is made to the batch's copy, positions are numbered
in the batch's order from the counter read once, and each table is written once at its end, so
the rows are those applying the events one by one leaves (the test keeps a one-by-one twin).
This is ADR 0004's fast path: ``WANGGE_FAST_PATHS=no-folding`` applies one event at a time.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, ClassVar

import sqlalchemy as sa

from wangge.events import RecordedEvent
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.events.tuning import UNHURRIED_LINGER_SECONDS
from wangge.governance.columns import TIME as TIME_COLUMN
from wangge.governance.times import stored
from wangge.views.consumed import cases as c
from wangge.views.consumed import hotline as h
from wangge.views.consumed import registry as r
from wangge.views.domain.catalogue import DepartmentCatalogue
from wangge.views.domain.clock import DayClosed
from wangge.views.domain.feeds import (
    FLOATING,
    Fact,
    judged_on,
    missed_at_close,
    next_judged,
    period_end,
    settled_at_close,
)
from wangge.views.projections.batching import (
    Batch,
    add_row,
    apply_batched,
    batching,
    change_row,
    read_rows,
    row_of,
)

UUID = sa.Uuid(as_uuid=True)
HAZARD = "hazard_point"
MAX_LIMIT = 1000


class Feeds(Projection):
    """Every department's feed, and what the facts need from earlier events of their streams."""

    name = "views_feeds"
    reads: ClassVar[tuple[str, ...]] = ("registry", "cases", "hotline_bridge", "views")
    linger_seconds: ClassVar[float | None] = UNHURRIED_LINGER_SECONDS

    def __init__(self, departments: DepartmentCatalogue) -> None:
        super().__init__()
        self.departments = departments

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        p = "views_feeds_"
        return {
            "entries": sa.Table(
                f"{p}entries{suffix}", metadata,
                sa.Column("department", sa.String(40), primary_key=True),
                sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
                sa.Column("fact", sa.String(40), nullable=False),
                sa.Column("event_id", sa.String(36), nullable=False),
                sa.Column("person", sa.String(100)),
                sa.Column("name_masked", sa.String(60)),
                sa.Column("subject", sa.String(100)),
                sa.Column("place_id", UUID),
                sa.Column("detail", sa.String(100)),
                sa.Column("on", sa.Date),
                sa.Column("until", sa.Date),
                sa.Column("recorded_at", TIME_COLUMN, nullable=False),
            ),
            # A new catalogue must rebuild the feeds from the first event: its digest names a
            # column here, so the runner sees tables of another shape and starts a generation.
            "state": sa.Table(
                f"{p}state{suffix}", metadata,
                sa.Column("key", sa.String(20), primary_key=True),
                sa.Column("next_position", sa.BigInteger, nullable=False),
                sa.Column(f"catalogue_{self.departments.digest[:12]}", sa.Boolean),
            ),
            "people": sa.Table(
                f"{p}people{suffix}", metadata,
                sa.Column("person", sa.String(100), primary_key=True),
                sa.Column("name_masked", sa.String(60)),
                sa.Column("dwelling_id", UUID),
                sa.Column("residence_status", sa.String(20)),
            ),
            "plans": sa.Table(
                f"{p}care_plans{suffix}", metadata,
                sa.Column("plan_id", UUID, primary_key=True),
                sa.Column("person", sa.String(100), nullable=False),
                sa.Column("name_masked", sa.String(60), nullable=False),
                sa.Column("grid_id", UUID, nullable=False),
                sa.Column("kind", sa.String(30), nullable=False),
                sa.Column("every_days", sa.Integer, nullable=False),
                sa.Column("starts_on", sa.Date, nullable=False),
                sa.Column("ended_on", sa.Date),
                # when the end and each visit (day -> first recorded) were recorded: a close
                # judges by what the plan's log held when the day was closed
                sa.Column("ended_at", TIME_COLUMN),
                sa.Column("visits", sa.JSON, nullable=False),
                sa.Column("missed", sa.JSON, nullable=False),
                # the last day of the first period no close has judged yet; a close looks only
                # at plans with one over (a weekly plan once a week), never at settled ones
                sa.Column("next_judged", sa.Date, nullable=False, index=True),
                sa.Column("settled", sa.Boolean, nullable=False),
            ),
            "cases": sa.Table(
                f"{p}cases{suffix}", metadata,
                sa.Column("case_id", UUID, primary_key=True),
                sa.Column("grid_id", UUID),
            ),
            "tickets": sa.Table(
                f"{p}tickets{suffix}", metadata,
                sa.Column("ticket_id", UUID, primary_key=True),
                sa.Column("category", sa.String(20), nullable=False),
                sa.Column("received_on", sa.Date, nullable=False),
                sa.Column("deadline_on", sa.Date, nullable=False),
                sa.Column("grid_id", UUID),
            ),
            "hazards": sa.Table(
                f"{p}hazards{suffix}", metadata,
                sa.Column("thing_id", UUID, primary_key=True),
                sa.Column("place_id", UUID, nullable=False),
            ),
            "erased": sa.Table(
                f"{p}erased{suffix}", metadata,
                sa.Column("subject", sa.String(100), primary_key=True),
                sa.Column("erased_at", TIME_COLUMN, nullable=False),
            ),
        }  # fmt: skip

    async def apply_many(
        self, ctx: ApplyContext, events: Sequence[RecordedEvent], new_streams: set[str]
    ) -> None:
        """The batch folded in memory and written once per table (see the module); one event
        at a time with folding switched off."""
        if not batching():
            await super().apply_many(ctx, events, new_streams)
            return
        closes = [judged_on(e.data.day) for e in events if isinstance(e.data, DayClosed)]
        memo = {_JUDGED_BY: max(closes)} if closes else {}
        await apply_batched(
            self, ctx, events, new_streams, reads=_reads, memo=memo, streams_own=_STREAMS_OWN
        )

    # -- writing a fact ---------------------------------------------------------------------

    async def _emit(
        self, ctx: ApplyContext, event: RecordedEvent, fact: Fact, **columns: Any
    ) -> None:
        """Write ``fact`` to every entitled department's feed at the generation's next position
        (the state row's update holds a lock, so a second writer waits and numbers after)."""
        departments = self.departments.recipients(fact)
        if not departments:
            return
        position = await _next_position(ctx)
        rows = [
            {"department": d, "position": position, "fact": fact.kind,
             "event_id": str(event.envelope.id), "recorded_at": event.envelope.time,
             "person": None, "name_masked": None, "subject": None, "place_id": None,
             "detail": None, "on": None, "until": None, **columns}
            for d in departments
        ]  # fmt: skip
        if isinstance(ctx, Batch):
            for row in rows:
                await add_row(ctx, "entries", row)
        else:
            await ctx.conn.execute(sa.insert(ctx.tables["entries"]), rows)

    async def _erase(self, ctx: ApplyContext, event: RecordedEvent, *subjects: str) -> None:
        erased = ctx.tables["erased"]
        if isinstance(ctx, Batch):
            for s in dict.fromkeys(subjects):
                if await row_of(ctx, "erased", (s,)) is None:
                    await add_row(ctx, "erased", {"subject": s, "erased_at": event.envelope.time})
            return
        known = set(
            await ctx.conn.scalars(
                sa.select(erased.c.subject).where(erased.c.subject.in_(subjects))
            )
        )
        fresh = [
            {"subject": s, "erased_at": event.envelope.time}
            for s in dict.fromkeys(subjects)
            if s not in known
        ]
        if fresh:
            await ctx.conn.execute(sa.insert(erased), fresh)

    # -- people (the registry: one stream per person) --------------------------------------------

    async def _person(self, ctx: ApplyContext, person_id: uuid.UUID) -> Any:
        return _record(await row_of(ctx, "people", (str(person_id),)))

    async def _set_person(self, ctx: ApplyContext, person_id: uuid.UUID, **values: Any) -> None:
        key = (str(person_id),)
        if await row_of(ctx, "people", key) is None:
            blank = dict.fromkeys(c.name for c in ctx.tables["people"].columns)
            await add_row(ctx, "people", {**blank, "person": key[0], **values})
        else:
            await change_row(ctx, "people", key, values)

    async def _emit_person(
        self, ctx: ApplyContext, event: RecordedEvent, fact: Fact, person_id: uuid.UUID,
        **columns: Any,
    ) -> None:  # fmt: skip
        person = await self._person(ctx, person_id)
        await self._emit(
            ctx, event, fact, person=str(person_id),
            name_masked=person.name_masked if person is not None else None,
            place_id=person.dwelling_id if person is not None else None,
            **columns,
        )  # fmt: skip

    @handles(r.PersonRegistered)
    async def on_registered(
        self, ctx: ApplyContext, event: RecordedEvent[r.PersonRegistered]
    ) -> None:
        d = event.data
        await self._set_person(
            ctx, d.person_id, name_masked=d.name_masked, residence_status=d.residence_status
        )

    @handles(r.PersonDetailsCorrected)
    async def on_corrected(
        self, ctx: ApplyContext, event: RecordedEvent[r.PersonDetailsCorrected]
    ) -> None:
        await self._set_person(ctx, event.data.person_id, name_masked=event.data.name_masked)

    @handles(r.PersonMovedIn)
    async def on_moved_in(self, ctx: ApplyContext, event: RecordedEvent[r.PersonMovedIn]) -> None:
        d = event.data
        await self._set_person(ctx, d.person_id, dwelling_id=d.dwelling_id)
        person = await self._person(ctx, d.person_id)
        if person.residence_status == FLOATING:
            await self._emit_person(ctx, event, Fact("floating_moved_in"), d.person_id, on=d.on)

    @handles(r.PersonMovedOut)
    async def on_moved_out(self, ctx: ApplyContext, event: RecordedEvent[r.PersonMovedOut]) -> None:
        d = event.data
        person = await self._person(ctx, d.person_id)
        if person is not None and person.residence_status == FLOATING:
            await self._emit(
                ctx, event, Fact("floating_moved_out"), person=str(d.person_id),
                name_masked=person.name_masked, place_id=d.dwelling_id or person.dwelling_id,
                on=d.on,
            )  # fmt: skip
        await self._set_person(ctx, d.person_id, dwelling_id=None, residence_status="moved_out")

    @handles(r.PersonResidenceStatusChanged)
    async def on_status(
        self, ctx: ApplyContext, event: RecordedEvent[r.PersonResidenceStatusChanged]
    ) -> None:
        d = event.data
        person = await self._person(ctx, d.person_id)
        before = person.residence_status if person is not None else None
        await self._set_person(ctx, d.person_id, residence_status=d.residence_status)
        if (before == FLOATING) != (d.residence_status == FLOATING):
            kind = "became_floating" if d.residence_status == FLOATING else "ceased_floating"
            await self._emit_person(
                ctx, event, Fact(kind), d.person_id, on=d.on, detail=d.residence_status
            )

    @handles(r.PersonTagged)
    async def on_tagged(self, ctx: ApplyContext, event: RecordedEvent[r.PersonTagged]) -> None:
        d = event.data
        await self._emit_person(
            ctx, event, Fact("person_tagged", tag=d.tag), d.person_id, detail=d.tag,
            on=d.valid_from, until=d.valid_until,
        )  # fmt: skip

    @handles(r.PersonUntagged)
    async def on_untagged(self, ctx: ApplyContext, event: RecordedEvent[r.PersonUntagged]) -> None:
        d = event.data
        await self._emit_person(
            ctx, event, Fact("person_untagged", tag=d.tag), d.person_id, detail=d.tag, on=d.on
        )

    @handles(r.PersonalDataErased)
    async def on_erased(
        self, ctx: ApplyContext, event: RecordedEvent[r.PersonalDataErased]
    ) -> None:
        d = event.data
        await self._erase(ctx, event, str(d.person_id))
        await self._emit_person(
            ctx, event, Fact("personal_data_erased"), d.person_id, on=event.envelope.time.date()
        )

    @handles(c.ResidentDataErased)
    async def on_resident_erased(
        self, ctx: ApplyContext, event: RecordedEvent[c.ResidentDataErased]
    ) -> None:
        d = event.data
        await self._erase(ctx, event, str(d.person_id), *(str(p) for p in d.care_plans))

    # -- care plans (the cases service: one stream per plan) -------------------------------------

    @handles(c.CarePlanStarted)
    async def on_plan_started(
        self, ctx: ApplyContext, event: RecordedEvent[c.CarePlanStarted]
    ) -> None:
        d = event.data
        await add_row(ctx, "plans", {
            "plan_id": d.plan_id, "person": d.resident, "name_masked": d.resident_masked,
            "grid_id": d.grid_id, "kind": d.kind, "every_days": d.every_days,
            "starts_on": d.starts_on, "ended_on": None, "ended_at": None, "visits": {},
            "missed": [], "next_judged": period_end(d.starts_on, d.every_days), "settled": False,
        })  # fmt: skip
        plan = await self._plan(ctx, d.plan_id)
        await self._emit_plan(ctx, event, plan, "care_plan_started", on=d.starts_on)

    @handles(c.CareVisitRecorded)
    async def on_care_visit(
        self, ctx: ApplyContext, event: RecordedEvent[c.CareVisitRecorded]
    ) -> None:
        d = event.data
        plan = await self._plan(ctx, d.plan_id)
        if plan is None:
            return
        day = d.visited_on.isoformat()
        if day not in plan.visits:  # a second visit on a day counts from the first's recording
            visits = {**plan.visits, day: event.envelope.time.astimezone(UTC).isoformat()}
            await self._set_plan(ctx, d.plan_id, visits=dict(sorted(visits.items())))

    @handles(c.CarePlanEnded)
    async def on_plan_ended(self, ctx: ApplyContext, event: RecordedEvent[c.CarePlanEnded]) -> None:
        d = event.data
        if await self._plan(ctx, d.plan_id) is None:
            return
        await self._set_plan(ctx, d.plan_id, ended_on=d.ended_on, ended_at=event.envelope.time)
        plan = await self._plan(ctx, d.plan_id)
        await self._emit_plan(ctx, event, plan, "care_plan_ended", on=d.ended_on)

    @handles(c.CarePlanDataErased)
    async def on_plan_erased(
        self, ctx: ApplyContext, event: RecordedEvent[c.CarePlanDataErased]
    ) -> None:
        await self._erase(ctx, event, str(event.data.plan_id))

    async def _plan(self, ctx: ApplyContext, plan_id: uuid.UUID) -> Any:
        return _record(await row_of(ctx, "plans", (plan_id,)))

    async def _set_plan(self, ctx: ApplyContext, plan_id: uuid.UUID, **values: Any) -> None:
        await change_row(ctx, "plans", (plan_id,), values)

    async def _emit_plan(
        self, ctx: ApplyContext, event: RecordedEvent, plan: Any, kind: str, **columns: Any
    ) -> None:
        await self._emit(
            ctx, event, Fact(kind, care_kind=plan.kind), person=plan.person,
            name_masked=plan.name_masked, subject=str(plan.plan_id), place_id=plan.grid_id,
            detail=plan.kind, **columns,
        )  # fmt: skip

    @handles(DayClosed)
    async def on_day_closed(self, ctx: ApplyContext, event: RecordedEvent[DayClosed]) -> None:
        """Report the care periods missed once the day is over (the only place misses are
        reported; the plan's own events only record): every plan not settled with a period the
        close can newly judge, by the kernel's rule less the grace, from what its stream had
        recorded when the day was closed (visits, its end, an erasure recorded later are left
        out, as they were unknown then). Each period is written once, by the first close that
        finds it missed; a visit recorded later leaves the entry: it was missed when written."""
        closed, closed_at = event.data.day, event.envelope.time.astimezone(UTC)
        due = await _due_plans(ctx, judged_on(closed))
        if not due:
            return
        gone = await _erased_by(
            ctx, {s for plan in due for s in (str(plan.plan_id), plan.person)}, closed_at
        )
        for plan in due:
            if str(plan.plan_id) in gone or plan.person in gone:
                # erased: it reports nothing more (a later close will not look at it again)
                await self._set_plan(ctx, plan.plan_id, settled=True)
                continue
            known = plan.ended_at is not None and stored(plan.ended_at) <= closed_at
            ended_on = plan.ended_on if known else None
            visits = frozenset(
                date.fromisoformat(day)
                for day, at in plan.visits.items()
                if datetime.fromisoformat(at) <= closed_at
            )
            reported = set(plan.missed)
            fresh = [
                start
                for start in missed_at_close(
                    plan.starts_on, plan.every_days, visits, closed, ended_on
                )
                if start.isoformat() not in reported
            ]
            await self._set_plan(
                ctx, plan.plan_id, missed=sorted(reported | {s.isoformat() for s in fresh}),
                next_judged=next_judged(plan.starts_on, plan.every_days, closed),
                settled=settled_at_close(ended_on, closed),
            )  # fmt: skip
            for start in fresh:
                await self._emit_plan(
                    ctx, event, plan, "care_visit_missed", on=start,
                    until=period_end(start, plan.every_days),
                )  # fmt: skip

    # -- mediation agreements (the cases service: one stream per case) ------------------------

    @handles(c.CaseOpened)
    async def on_case_opened(self, ctx: ApplyContext, event: RecordedEvent[c.CaseOpened]) -> None:
        d = event.data
        await add_row(ctx, "cases", {"case_id": d.case_id, "grid_id": d.grid_id})

    @handles(c.MediationAgreementSigned)
    async def on_agreement(
        self, ctx: ApplyContext, event: RecordedEvent[c.MediationAgreementSigned]
    ) -> None:
        d = event.data
        case = await row_of(ctx, "cases", (d.case_id,))
        grid_id = case["grid_id"] if case is not None else None
        await self._emit(
            ctx, event, Fact("mediation_agreement_signed"), subject=str(d.case_id),
            place_id=grid_id, detail=str(d.agreement_id), on=d.signed_on,
            until=d.confirmation_deadline,
        )  # fmt: skip

    # -- hazard points (the registry: one stream per thing) -----------------------------------

    @handles(r.ThingRegistered)
    async def on_thing(self, ctx: ApplyContext, event: RecordedEvent[r.ThingRegistered]) -> None:
        d = event.data
        if d.kind != HAZARD:
            return
        await add_row(ctx, "hazards", {"thing_id": d.thing_id, "place_id": d.place_id})
        await self._emit(
            ctx, event, Fact("hazard_registered"), subject=str(d.thing_id), place_id=d.place_id,
            detail=d.risk_level, on=event.envelope.time.date(),
        )  # fmt: skip

    async def _hazard_fact(
        self, ctx: ApplyContext, event: RecordedEvent, thing_id: uuid.UUID, kind: str,
        **columns: Any,
    ) -> None:  # fmt: skip
        hazard = await row_of(ctx, "hazards", (thing_id,))
        place_id = hazard["place_id"] if hazard is not None else None
        if place_id is not None:  # a key facility, not a hazard point
            await self._emit(
                ctx, event, Fact(kind), subject=str(thing_id), place_id=place_id, **columns
            )

    @handles(r.ThingInspected)
    async def on_inspected(self, ctx: ApplyContext, event: RecordedEvent[r.ThingInspected]) -> None:
        d = event.data
        await self._hazard_fact(
            ctx, event, d.thing_id, "hazard_inspected", detail=d.risk_level, on=d.on
        )

    @handles(r.HazardResolved)
    async def on_resolved(self, ctx: ApplyContext, event: RecordedEvent[r.HazardResolved]) -> None:
        await self._hazard_fact(
            ctx, event, event.data.thing_id, "hazard_resolved", on=event.data.on
        )

    @handles(r.ThingRemoved)
    async def on_removed(self, ctx: ApplyContext, event: RecordedEvent[r.ThingRemoved]) -> None:
        await self._hazard_fact(ctx, event, event.data.thing_id, "hazard_removed", on=event.data.on)

    # -- 12345 tickets (the hotline bridge: one stream per ticket) -----------------------------

    @handles(h.TicketReceived)
    async def on_ticket(self, ctx: ApplyContext, event: RecordedEvent[h.TicketReceived]) -> None:
        d = event.data
        await add_row(ctx, "tickets", {
            "ticket_id": d.ticket_id, "category": d.category,
            "received_on": d.received_at.date(), "deadline_on": d.deadline.date(),
            "grid_id": None,
        })  # fmt: skip

    async def _ticket(self, ctx: ApplyContext, ticket_id: uuid.UUID) -> Any:
        return _record(await row_of(ctx, "tickets", (ticket_id,)))

    @handles(h.TicketRoutedToGrid)
    async def on_routed(
        self, ctx: ApplyContext, event: RecordedEvent[h.TicketRoutedToGrid]
    ) -> None:
        d = event.data
        ticket = await self._ticket(ctx, d.ticket_id)
        if ticket is None:
            return
        await change_row(ctx, "tickets", (d.ticket_id,), {"grid_id": d.grid_id})
        await self._emit(
            ctx, event, Fact("ticket_routed", category=ticket.category), subject=str(d.ticket_id),
            place_id=d.grid_id, detail=ticket.category, on=ticket.received_on,
            until=ticket.deadline_on,
        )  # fmt: skip

    @handles(h.TicketReplied)
    async def on_replied(self, ctx: ApplyContext, event: RecordedEvent[h.TicketReplied]) -> None:
        ticket = await self._ticket(ctx, event.data.ticket_id)
        if ticket is None:
            return
        await self._emit(
            ctx, event, Fact("ticket_replied", category=ticket.category),
            subject=str(ticket.ticket_id), place_id=ticket.grid_id, detail=ticket.category,
            on=event.envelope.time.date(),
        )  # fmt: skip


# -- the rows a batch reads ----------------------------------------------------------------------


class _Record(dict[str, Any]):
    """A row as a handler reads it: its columns as attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _record(row: Mapping[str, Any] | None) -> _Record | None:
    return _Record(row) if row is not None else None


_PEOPLE_EVENTS = (
    r.PersonRegistered, r.PersonDetailsCorrected, r.PersonMovedIn, r.PersonMovedOut,
    r.PersonResidenceStatusChanged, r.PersonTagged, r.PersonUntagged, r.PersonalDataErased,
)  # fmt: skip


_STREAMS_OWN = frozenset({"people"})
"""A person's row is written only by that person's events (``_PEOPLE_EVENTS``), one stream."""


def _reads(event: RecordedEvent) -> Iterable[tuple[str, tuple[Any, ...]]]:
    """The rows from before a batch the event's handler reads (a close's plans are its own).
    Asked of every event of a rebuild: a person's events, most of them, answer first."""
    d = event.data
    if isinstance(d, _PEOPLE_EVENTS):
        yield "people", (str(d.person_id),)
        if isinstance(d, r.PersonalDataErased):
            yield "erased", (str(d.person_id),)
    elif isinstance(d, c.ResidentDataErased):
        yield "erased", (str(d.person_id),)
        for plan in d.care_plans:
            yield "erased", (str(plan),)
    elif isinstance(d, c.CarePlanDataErased):
        yield "erased", (str(d.plan_id),)
    elif isinstance(d, (c.CareVisitRecorded, c.CarePlanEnded)):
        yield "plans", (d.plan_id,)
    elif isinstance(d, c.MediationAgreementSigned):
        yield "cases", (d.case_id,)
    elif isinstance(d, (r.ThingInspected, r.HazardResolved, r.ThingRemoved)):
        yield "hazards", (d.thing_id,)
    elif isinstance(d, (h.TicketRoutedToGrid, h.TicketReplied)):
        yield "tickets", (d.ticket_id,)


async def _next_position(ctx: ApplyContext) -> int:
    """The generation's next position. Its counter row's update holds a lock, so a second
    writer waits and numbers after; a batch takes the lock when it first numbers an entry,
    counts on in its copy of the row and writes the row at its end."""
    state = ctx.tables["state"]
    if not isinstance(ctx, Batch):
        position = await ctx.conn.scalar(
            sa.update(state).where(state.c.key == "feeds")
            .values(next_position=state.c.next_position + 1)
            .returning(state.c.next_position)
        )  # fmt: skip
        if position is None:
            position = 1
            await ctx.conn.execute(sa.insert(state).values(key="feeds", next_position=1))
        return int(position)
    rows, key = ctx.rows.setdefault("state", {}), ("feeds",)
    row = rows.get(key)
    if row is None:
        found = (
            await ctx.conn.execute(
                sa.update(state).where(state.c.key == "feeds")
                .values(next_position=state.c.next_position).returning(*state.c)
            )
        ).mappings().first()  # fmt: skip
        if found is None:
            rows[key] = {**dict.fromkeys(c.name for c in state.columns), "key": "feeds",
                         "next_position": 1}  # fmt: skip
            return 1
        row = rows[key] = dict(found)
        ctx.gone.setdefault("state", set()).add(key)
    row["next_position"] += 1
    return int(row["next_position"])


_JUDGED_BY = "feeds: the batch's last close judges periods ending before"
_STORED_DUE = "feeds: the stored plans due by then"


async def _due_plans(ctx: ApplyContext, judged: date) -> list[_Record]:
    """The plans not settled with a period ending before ``judged``, by start and id: one query,
    and in a batch its copies of the plans it changed or started in place of the stored rows."""
    plans = ctx.tables["plans"]
    if not isinstance(ctx, Batch):
        found = await ctx.conn.execute(
            sa.select(plans)
            .where(plans.c.settled.is_(False), plans.c.next_judged < judged)
            .order_by(plans.c.starts_on, plans.c.plan_id)
        )
        return [_Record(row) for row in found.mappings()]
    # a batch writes nothing before its end, so the stored plans are the same for each of its
    # closes: read once, for the batch's last close (a rebuild's batch closes a few dozen days)
    bound, stored_rows = ctx.memo.get(_STORED_DUE, (None, []))
    if bound is None or bound < judged:
        bound = max(judged, ctx.memo.get(_JUDGED_BY, judged))
        found = await ctx.conn.execute(
            sa.select(plans).where(plans.c.settled.is_(False), plans.c.next_judged < bound)
        )
        stored_rows = [dict(row) for row in found.mappings()]
        ctx.memo[_STORED_DUE] = (bound, stored_rows)
    held_rows = ctx.rows.get("plans", {})
    before = ctx.before.setdefault("plans", {})
    candidates: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    for values in stored_rows:
        key = (values["plan_id"],)
        before.setdefault(key, values)
        if key not in held_rows:
            candidates[key] = values
    candidates.update(held_rows)
    due = [
        _Record(row) for row in candidates.values()
        if not row["settled"] and row["next_judged"] < judged
    ]  # fmt: skip
    return sorted(due, key=lambda row: (row.starts_on, row.plan_id))


async def _erased_by(ctx: ApplyContext, subjects: set[str], closed_at: datetime) -> set[str]:
    """Which of ``subjects`` (plans, people) were erased by ``closed_at``."""
    if isinstance(ctx, Batch):
        await read_rows(ctx, "erased", [(s,) for s in subjects])
        gone = set()
        for subject in subjects:
            row = await row_of(ctx, "erased", (subject,))
            if row is not None and stored(row["erased_at"]) <= closed_at:
                gone.add(subject)
        return gone
    erased, ordered = ctx.tables["erased"], sorted(subjects)
    gone = set()
    for start in range(0, len(ordered), 500):
        gone |= set(
            await ctx.conn.scalars(
                sa.select(erased.c.subject).where(
                    erased.c.subject.in_(ordered[start : start + 500]),
                    erased.c.erased_at <= closed_at,
                )
            )
        )
    return gone
