"""The grid dashboard's facts (网格看板): one row per ticket, case (and each span it stood
open), care plan and care visit, resident period, tag period, hazard point, and the grid
workers' training (sessions, attendance, scores, programmes, enrolments), each with the dates
the figures need. The figures are queries over them for any month
(``projections/dashboard_queries.py``, rules in ``domain/figures.py``), so the as-of month and
the 24-month series come from the same rows.

Rows hold ids, never places derived from another stream: a ticket or case keeps the grid its
own event names, a resident period its dwelling, a hazard its place, and a query places them
through the roster. So a ticket's grid arriving before the registry's place (over Kafka the
topics interleave in any order) changes no row. Keys are ids and stream versions, never a
sequence or the clock, so a rebuild leaves the rows an increment did.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any, ClassVar

import sqlalchemy as sa

from wangge.events import RecordedEvent
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.governance.times import local_day, utc
from wangge.views.consumed import cases as c
from wangge.views.consumed import hotline as h
from wangge.views.consumed import registry as r
from wangge.views.consumed import training as t
from wangge.views.domain.figures import ATTENDED, session_hours

UUID = sa.Uuid(as_uuid=True)
WHEN = sa.DateTime(timezone=True)
HAZARD_POINT = "hazard_point"


def _table(metadata: sa.MetaData, name: str, suffix: str, *parts: Any) -> sa.Table:
    return sa.Table(f"views_dashboard_{name}{suffix}", metadata, *parts)


def _index(name: str, suffix: str, *columns: str) -> sa.Index:
    return sa.Index(f"ix_views_dashboard_{name}{suffix}", *columns)


class Dashboard(Projection):
    """The facts every dashboard figure is computed from."""

    name = "views_dashboard"
    reads: ClassVar[tuple[str, ...]] = ("registry", "cases", "hotline_bridge", "training")

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        s = suffix
        return {
            "tickets": _table(
                metadata, "tickets", s,
                sa.Column("ticket_id", UUID, primary_key=True),
                sa.Column("grid_id", UUID),
                sa.Column("kind", sa.String(20), nullable=False),
                sa.Column("received_at", WHEN, nullable=False),
                sa.Column("deadline", WHEN, nullable=False),
                sa.Column("accepted_at", WHEN),
                sa.Column("replied_at", WHEN),
                sa.Column("solved", sa.Boolean),
                sa.Column("at_source", sa.Boolean),
                sa.Column("satisfaction", sa.String(20)),
                sa.Column("resolved", sa.Boolean),
                _index("tickets_grid", s, "grid_id", "received_at"),
            ),
            "cases": _table(
                metadata, "cases", s,
                sa.Column("case_id", UUID, primary_key=True),
                sa.Column("grid_id", UUID, index=True),
                sa.Column("kind", sa.String(20), nullable=False),
                sa.Column("opened_at", WHEN, nullable=False),
                sa.Column("deadline", WHEN),
            ),
            # each span a case stood open: from its opening (or a reopening) to its resolution
            # or closing; keyed by the version of the event that opened it
            "case_spans": _table(
                metadata, "case_spans", s,
                sa.Column("case_id", UUID, primary_key=True),
                sa.Column("version", sa.Integer, primary_key=True),
                sa.Column("opened_at", WHEN, nullable=False),
                sa.Column("closed_at", WHEN),
            ),
            "care_plans": _table(
                metadata, "care_plans", s,
                sa.Column("plan_id", UUID, primary_key=True),
                sa.Column("grid_id", UUID, nullable=False, index=True),
                sa.Column("starts_on", sa.Date, nullable=False),
                sa.Column("every_days", sa.Integer, nullable=False),
                sa.Column("ended_on", sa.Date),
            ),
            "care_visits": _table(
                metadata, "care_visits", s,
                sa.Column("visit_id", UUID, primary_key=True),
                sa.Column("plan_id", UUID, nullable=False, index=True),
                sa.Column("visited_on", sa.Date, nullable=False),
            ),
            # a person's residence from ``since`` to the day before ``until`` (None: still):
            # ``dwelling_id`` where they live (None once moved out, as the hotline counts),
            # ``placed_at`` the dwelling they live in or last left (where a move out counts)
            "residents": _table(
                metadata, "residents", s,
                sa.Column("person_id", UUID, primary_key=True),
                sa.Column("version", sa.Integer, primary_key=True),
                sa.Column("since", sa.Date, nullable=False),
                sa.Column("until", sa.Date),
                sa.Column("status", sa.String(20), nullable=False),
                sa.Column("dwelling_id", UUID),
                sa.Column("placed_at", UUID),
                sa.Column("current", sa.Boolean, nullable=False),
                _index("residents_placed", s, "placed_at", "since"),
                _index("residents_dwelling", s, "dwelling_id", "current"),
            ),
            "tags": _table(
                metadata, "tags", s,
                sa.Column("person_id", UUID, primary_key=True),
                sa.Column("version", sa.Integer, primary_key=True),
                sa.Column("tag", sa.String(60), nullable=False),
                sa.Column("valid_from", sa.Date, nullable=False),
                sa.Column("valid_until", sa.Date),
                sa.Column("ended_on", sa.Date),
            ),
            "hazards": _table(
                metadata, "hazards", s,
                sa.Column("thing_id", UUID, primary_key=True),
                sa.Column("place_id", UUID, nullable=False, index=True),
                sa.Column("registered_on", sa.Date, nullable=False),
                sa.Column("risk_level", sa.String(10)),
                sa.Column("closed_on", sa.Date),
            ),
            "sessions": _table(
                metadata, "sessions", s,
                sa.Column("session_id", UUID, primary_key=True),
                sa.Column("programme_id", UUID),
                sa.Column("module_code", sa.String(40)),
                sa.Column("starts_at", WHEN, nullable=False),
                sa.Column("hours", sa.Float, nullable=False),
                sa.Column("cancelled", sa.Boolean, nullable=False),
            ),
            "attendance": _table(
                metadata, "attendance", s,
                sa.Column("session_id", UUID, primary_key=True),
                sa.Column("worker_id", UUID, primary_key=True, index=True),
                sa.Column("attended", sa.Boolean, nullable=False),
            ),
            "scores": _table(
                metadata, "scores", s,
                sa.Column("session_id", UUID, primary_key=True),
                sa.Column("worker_id", UUID, primary_key=True, index=True),
                sa.Column("score", sa.Float, nullable=False),
                sa.Column("max_score", sa.Float, nullable=False),
            ),
            "programmes": _table(
                metadata, "programmes", s,
                sa.Column("programme_id", UUID, primary_key=True),
                sa.Column("modules", sa.JSON, nullable=False),
                sa.Column("ordered", sa.Boolean, nullable=False),
                sa.Column("period_days", sa.Integer),
            ),
            "members": _table(
                metadata, "members", s,
                sa.Column("programme_id", UUID, primary_key=True),
                sa.Column("worker_id", UUID, primary_key=True, index=True),
                sa.Column("enrolled_on", sa.Date, nullable=False),
                sa.Column("left_on", sa.Date),
            ),
        }  # fmt: skip

    # -- tickets (the hotline bridge's tickets read model: the same event sets each fact) ----

    @handles(h.TicketReceived)
    async def on_received(self, ctx: ApplyContext, event: RecordedEvent[h.TicketReceived]) -> None:
        d = event.data
        await _upsert(
            ctx, "tickets", {"ticket_id": d.ticket_id},
            kind=d.kind, received_at=utc(d.received_at), deadline=utc(d.deadline),
        )  # fmt: skip

    @handles(h.TicketRoutedToGrid)
    async def on_routed(
        self, ctx: ApplyContext, event: RecordedEvent[h.TicketRoutedToGrid]
    ) -> None:
        await _ticket(ctx, event.data.ticket_id, grid_id=event.data.grid_id)

    @handles(h.TicketAccepted)
    async def on_accepted(self, ctx: ApplyContext, event: RecordedEvent[h.TicketAccepted]) -> None:
        await _ticket(ctx, event.data.ticket_id, accepted_at=utc(event.envelope.time))

    @handles(h.TicketExtensionDecided)
    async def on_extension(
        self, ctx: ApplyContext, event: RecordedEvent[h.TicketExtensionDecided]
    ) -> None:
        await _ticket(ctx, event.data.ticket_id, deadline=utc(event.data.deadline))

    @handles(h.TicketReopened)
    async def on_reopened(self, ctx: ApplyContext, event: RecordedEvent[h.TicketReopened]) -> None:
        await _ticket(ctx, event.data.ticket_id, deadline=utc(event.data.deadline))

    @handles(h.TicketReplied)
    async def on_replied(self, ctx: ApplyContext, event: RecordedEvent[h.TicketReplied]) -> None:
        d = event.data
        await _ticket(
            ctx, d.ticket_id, replied_at=utc(event.envelope.time), solved=d.solved,
            at_source=d.at_source,
        )  # fmt: skip

    @handles(h.TicketFollowedUp)
    async def on_followed_up(
        self, ctx: ApplyContext, event: RecordedEvent[h.TicketFollowedUp]
    ) -> None:
        d = event.data
        await _ticket(ctx, d.ticket_id, satisfaction=d.satisfaction, resolved=d.resolved)

    # -- cases ---------------------------------------------------------------------------------

    @handles(c.CaseOpened)
    async def on_case_opened(self, ctx: ApplyContext, event: RecordedEvent[c.CaseOpened]) -> None:
        d = event.data
        opened = utc(event.envelope.time)
        await _upsert(
            ctx, "cases", {"case_id": d.case_id}, grid_id=d.grid_id, kind=d.kind,
            opened_at=opened, deadline=utc(d.deadline) if d.deadline is not None else None,
        )  # fmt: skip
        await _open_span(ctx, d.case_id, event.version, opened)

    @handles(c.CaseReopened)
    async def on_case_reopened(
        self, ctx: ApplyContext, event: RecordedEvent[c.CaseReopened]
    ) -> None:
        await _open_span(ctx, event.data.case_id, event.version, utc(event.envelope.time))

    @handles(c.CaseResolved, c.CaseClosed)
    async def on_case_done(
        self, ctx: ApplyContext, event: RecordedEvent[c.CaseResolved | c.CaseClosed]
    ) -> None:
        spans = ctx.tables["case_spans"]
        await ctx.conn.execute(
            sa.update(spans)
            .where(spans.c.case_id == event.data.case_id, spans.c.closed_at.is_(None))
            .values(closed_at=utc(event.envelope.time))
        )

    # -- care plans ----------------------------------------------------------------------------

    @handles(c.CarePlanStarted)
    async def on_plan(self, ctx: ApplyContext, event: RecordedEvent[c.CarePlanStarted]) -> None:
        d = event.data
        await _upsert(
            ctx, "care_plans", {"plan_id": d.plan_id}, grid_id=d.grid_id, starts_on=d.starts_on,
            every_days=d.every_days, ended_on=None,
        )  # fmt: skip

    @handles(c.CareVisitRecorded)
    async def on_visit(self, ctx: ApplyContext, event: RecordedEvent[c.CareVisitRecorded]) -> None:
        d = event.data
        await _upsert(
            ctx, "care_visits", {"visit_id": d.visit_id}, plan_id=d.plan_id,
            visited_on=d.visited_on,
        )  # fmt: skip

    @handles(c.CarePlanEnded)
    async def on_plan_ended(self, ctx: ApplyContext, event: RecordedEvent[c.CarePlanEnded]) -> None:
        plans = ctx.tables["care_plans"]
        await ctx.conn.execute(
            sa.update(plans)
            .where(plans.c.plan_id == event.data.plan_id)
            .values(ended_on=event.data.ended_on)
        )

    # -- residents (the registry's person fold: persons.evolve) --------------------------------

    @handles(r.PersonRegistered)
    async def on_person(self, ctx: ApplyContext, event: RecordedEvent[r.PersonRegistered]) -> None:
        d = event.data
        await _reside(ctx, event, d.person_id, local_day(event.envelope.time),
                      status=d.residence_status)  # fmt: skip

    @handles(r.PersonResidenceStatusChanged)
    async def on_status(
        self, ctx: ApplyContext, event: RecordedEvent[r.PersonResidenceStatusChanged]
    ) -> None:
        d = event.data
        await _reside(ctx, event, d.person_id, d.on, status=d.residence_status)

    @handles(r.PersonMovedIn)
    async def on_moved_in(self, ctx: ApplyContext, event: RecordedEvent[r.PersonMovedIn]) -> None:
        d = event.data
        await _reside(ctx, event, d.person_id, d.on, moved_in=d.dwelling_id)

    @handles(r.PersonMovedOut)
    async def on_moved_out(self, ctx: ApplyContext, event: RecordedEvent[r.PersonMovedOut]) -> None:
        d = event.data
        await _reside(ctx, event, d.person_id, d.on, status="moved_out", left=d.dwelling_id)

    @handles(r.PersonTagged)
    async def on_tagged(self, ctx: ApplyContext, event: RecordedEvent[r.PersonTagged]) -> None:
        d = event.data
        await _end_tag(ctx, d.person_id, d.tag, d.valid_from)  # tagged again: the new validity
        await _upsert(
            ctx, "tags", {"person_id": d.person_id, "version": event.version}, tag=d.tag,
            valid_from=d.valid_from, valid_until=d.valid_until, ended_on=None,
        )  # fmt: skip

    @handles(r.PersonUntagged)
    async def on_untagged(self, ctx: ApplyContext, event: RecordedEvent[r.PersonUntagged]) -> None:
        d = event.data
        await _end_tag(ctx, d.person_id, d.tag, d.on)

    # -- hazard points (registry things) -------------------------------------------------------

    @handles(r.ThingRegistered)
    async def on_thing(self, ctx: ApplyContext, event: RecordedEvent[r.ThingRegistered]) -> None:
        d = event.data
        if d.kind != HAZARD_POINT:
            return  # a key facility is no hazard
        await _upsert(
            ctx, "hazards", {"thing_id": d.thing_id}, place_id=d.place_id,
            registered_on=local_day(event.envelope.time), risk_level=d.risk_level,
            closed_on=None,
        )  # fmt: skip

    @handles(r.ThingInspected)
    async def on_inspected(self, ctx: ApplyContext, event: RecordedEvent[r.ThingInspected]) -> None:
        d = event.data
        if d.risk_level is not None:
            hazards = ctx.tables["hazards"]
            await ctx.conn.execute(
                sa.update(hazards)
                .where(hazards.c.thing_id == d.thing_id)
                .values(risk_level=d.risk_level)
            )

    @handles(r.HazardResolved, r.ThingRemoved)
    async def on_hazard_closed(
        self, ctx: ApplyContext, event: RecordedEvent[r.HazardResolved | r.ThingRemoved]
    ) -> None:
        d = event.data
        hazards = ctx.tables["hazards"]
        await ctx.conn.execute(
            sa.update(hazards)
            .where(hazards.c.thing_id == d.thing_id, hazards.c.closed_on.is_(None))
            .values(closed_on=d.on)
        )

    # -- training ------------------------------------------------------------------------------

    @handles(t.TrainingSessionScheduled)
    async def on_session(
        self, ctx: ApplyContext, event: RecordedEvent[t.TrainingSessionScheduled]
    ) -> None:
        d = event.data
        await _upsert(
            ctx, "sessions", {"session_id": d.session_id}, programme_id=d.programme_id,
            module_code=d.module_code, starts_at=utc(d.starts_at),
            hours=session_hours(d.starts_at, d.ends_at), cancelled=False,
        )  # fmt: skip

    @handles(t.TrainingSessionRescheduled)
    async def on_rescheduled(
        self, ctx: ApplyContext, event: RecordedEvent[t.TrainingSessionRescheduled]
    ) -> None:
        d = event.data
        await _set(
            ctx, "sessions", {"session_id": d.session_id}, starts_at=utc(d.starts_at),
            hours=session_hours(d.starts_at, d.ends_at),
        )  # fmt: skip

    @handles(t.TrainingSessionCancelled)
    async def on_cancelled(
        self, ctx: ApplyContext, event: RecordedEvent[t.TrainingSessionCancelled]
    ) -> None:
        await _set(ctx, "sessions", {"session_id": event.data.session_id}, cancelled=True)

    @handles(t.AttendanceRecorded)
    async def on_attendance(
        self, ctx: ApplyContext, event: RecordedEvent[t.AttendanceRecorded]
    ) -> None:
        d = event.data
        await _upsert(
            ctx, "attendance", {"session_id": d.session_id, "worker_id": d.worker_id},
            attended=d.attendance in ATTENDED,
        )  # fmt: skip

    @handles(t.AssessmentRecorded)
    async def on_assessed(
        self, ctx: ApplyContext, event: RecordedEvent[t.AssessmentRecorded]
    ) -> None:
        d = event.data
        await _upsert(
            ctx, "scores", {"session_id": d.session_id, "worker_id": d.worker_id},
            score=d.score, max_score=d.max_score,
        )  # fmt: skip

    @handles(t.ProgrammeDefined)
    async def on_programme(
        self, ctx: ApplyContext, event: RecordedEvent[t.ProgrammeDefined]
    ) -> None:
        d = event.data
        await _upsert(
            ctx, "programmes", {"programme_id": d.programme_id}, modules=d.modules,
            ordered=d.ordered, period_days=d.period_days,
        )  # fmt: skip

    @handles(t.WorkerEnrolledInProgramme)
    async def on_enrolled(
        self, ctx: ApplyContext, event: RecordedEvent[t.WorkerEnrolledInProgramme]
    ) -> None:
        d = event.data
        await _upsert(
            ctx, "members", {"programme_id": d.programme_id, "worker_id": d.worker_id},
            enrolled_on=d.on, left_on=None,
        )  # fmt: skip

    @handles(t.WorkerLeftProgramme)
    async def on_left(self, ctx: ApplyContext, event: RecordedEvent[t.WorkerLeftProgramme]) -> None:
        d = event.data
        await _set(
            ctx, "members", {"programme_id": d.programme_id, "worker_id": d.worker_id},
            left_on=d.on,
        )  # fmt: skip


async def _upsert(ctx: ApplyContext, table: str, key: Mapping[str, Any], **values: Any) -> None:
    """A row keyed by ``key`` with ``values`` (an event delivered twice writes it again)."""
    t = ctx.tables[table]
    await ctx.conn.execute(sa.delete(t).where(*(t.c[k] == v for k, v in key.items())))
    await ctx.conn.execute(sa.insert(t).values(**key, **values))


async def _set(ctx: ApplyContext, table: str, key: Mapping[str, Any], **values: Any) -> None:
    t = ctx.tables[table]
    await ctx.conn.execute(
        sa.update(t).where(*(t.c[k] == v for k, v in key.items())).values(**values)
    )


async def _ticket(ctx: ApplyContext, ticket_id: uuid.UUID, **values: Any) -> None:
    await _set(ctx, "tickets", {"ticket_id": ticket_id}, **values)


async def _open_span(ctx: ApplyContext, case_id: uuid.UUID, version: int, at: Any) -> None:
    spans = ctx.tables["case_spans"]
    still = await ctx.conn.scalar(
        sa.select(sa.func.count())
        .select_from(spans)
        .where(spans.c.case_id == case_id, spans.c.closed_at.is_(None))
    )
    if not still:  # a case already open is not opened again
        await _upsert(ctx, "case_spans", {"case_id": case_id, "version": version}, opened_at=at,
                      closed_at=None)  # fmt: skip


async def _end_tag(ctx: ApplyContext, person_id: uuid.UUID, tag: str, on: date) -> None:
    tags = ctx.tables["tags"]
    await ctx.conn.execute(
        sa.update(tags)
        .where(tags.c.person_id == person_id, tags.c.tag == tag, tags.c.ended_on.is_(None))
        .values(ended_on=on)
    )


async def _reside(
    ctx: ApplyContext,
    event: RecordedEvent[Any],
    person_id: uuid.UUID,
    since: date,
    *,
    status: str | None = None,
    moved_in: uuid.UUID | None = None,
    left: uuid.UUID | None = None,
) -> None:
    """A person's new residence period from ``since``, the one before ending there: a move in
    makes a moved-out person a resident again; a move out leaves no dwelling (the registry's
    fold)."""
    residents = ctx.tables["residents"]
    mine = (residents.c.person_id == person_id,)
    now = (await ctx.conn.execute(sa.select(residents).where(*mine, residents.c.current))).first()
    dwelling = now.dwelling_id if now is not None else None
    placed = now.placed_at if now is not None else None
    was = now.status if now is not None else "resident"
    if moved_in is not None:
        dwelling = placed = moved_in
        was = "resident" if was == "moved_out" else was
    if status == "moved_out":
        placed = left if left is not None else placed
        dwelling = None
    await ctx.conn.execute(
        sa.update(residents).where(*mine, residents.c.current).values(until=since, current=False)
    )
    await _upsert(
        ctx, "residents", {"person_id": person_id, "version": event.version}, since=since,
        until=None, status=status or was, dwelling_id=dwelling, placed_at=placed, current=True,
    )  # fmt: skip
