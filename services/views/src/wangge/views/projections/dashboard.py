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

Each event's effect is data (``dashboard_changes.Change``), made with SQL for an event alone and
folded in memory for a batch: a rebuild writes each table a few times per batch, not a few
statements per event.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any, ClassVar

import sqlalchemy as sa

from wangge.events import DomainEvent, IntegrationEvent, RecordedEvent, tuning
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.governance.columns import TIME as TIME_COLUMN
from wangge.governance.times import local_day, utc
from wangge.views.consumed import cases as c
from wangge.views.consumed import hotline as h
from wangge.views.consumed import registry as r
from wangge.views.consumed import training as t
from wangge.views.domain.figures import ATTENDED, session_hours
from wangge.views.projections.dashboard_changes import (
    Batch,
    Change,
    OpenSpan,
    Reside,
    Update,
    Upsert,
    execute,
)

UUID = sa.Uuid(as_uuid=True)
WHEN = TIME_COLUMN
HAZARD_POINT = "hazard_point"


def _table(metadata: sa.MetaData, name: str, suffix: str, *parts: Any) -> sa.Table:
    return sa.Table(f"views_dashboard_{name}{suffix}", metadata, *parts)


def _index(name: str, suffix: str, *columns: str) -> sa.Index:
    return sa.Index(f"ix_views_dashboard_{name}{suffix}", *columns)


Changes = Callable[[RecordedEvent[Any]], list[Change]]
_CHANGES: dict[type[DomainEvent], Changes] = {}
"""What each event type does to the rows."""


def _of(*models: type[IntegrationEvent]) -> Callable[[Changes], Changes]:
    def mark(fn: Changes) -> Changes:
        for model in models:
            _CHANGES[model] = fn
        return fn

    return mark


def _ticket(ticket_id: uuid.UUID, **values: Any) -> list[Change]:
    return [Update("tickets", {"ticket_id": ticket_id}, values)]


# -- tickets (the hotline bridge's tickets read model: the same event sets each fact) ----------


@_of(h.TicketReceived)
def _received(event: RecordedEvent[h.TicketReceived]) -> list[Change]:
    d = event.data
    return [
        Upsert("tickets", {"ticket_id": d.ticket_id}, {
            "kind": d.kind, "received_at": utc(d.received_at), "deadline": utc(d.deadline),
        }),
    ]  # fmt: skip


@_of(h.TicketRoutedToGrid)
def _routed(event: RecordedEvent[h.TicketRoutedToGrid]) -> list[Change]:
    return _ticket(event.data.ticket_id, grid_id=event.data.grid_id)


@_of(h.TicketAccepted)
def _accepted(event: RecordedEvent[h.TicketAccepted]) -> list[Change]:
    return _ticket(event.data.ticket_id, accepted_at=utc(event.envelope.time))


@_of(h.TicketExtensionDecided, h.TicketReopened)
def _new_deadline(
    event: RecordedEvent[h.TicketExtensionDecided | h.TicketReopened],
) -> list[Change]:
    return _ticket(event.data.ticket_id, deadline=utc(event.data.deadline))


@_of(h.TicketReplied)
def _replied(event: RecordedEvent[h.TicketReplied]) -> list[Change]:
    d = event.data
    return _ticket(
        d.ticket_id, replied_at=utc(event.envelope.time), solved=d.solved, at_source=d.at_source
    )


@_of(h.TicketFollowedUp)
def _followed_up(event: RecordedEvent[h.TicketFollowedUp]) -> list[Change]:
    d = event.data
    return _ticket(d.ticket_id, satisfaction=d.satisfaction, resolved=d.resolved)


# -- cases ---------------------------------------------------------------------------------------


@_of(c.CaseOpened)
def _case_opened(event: RecordedEvent[c.CaseOpened]) -> list[Change]:
    d = event.data
    opened = utc(event.envelope.time)
    return [
        Upsert("cases", {"case_id": d.case_id}, {
            "grid_id": d.grid_id, "kind": d.kind, "opened_at": opened,
            "deadline": utc(d.deadline) if d.deadline is not None else None,
        }),
        OpenSpan(d.case_id, event.version, opened),
    ]  # fmt: skip


@_of(c.CaseReopened)
def _case_reopened(event: RecordedEvent[c.CaseReopened]) -> list[Change]:
    return [OpenSpan(event.data.case_id, event.version, utc(event.envelope.time))]


@_of(c.CaseResolved, c.CaseClosed)
def _case_done(event: RecordedEvent[c.CaseResolved | c.CaseClosed]) -> list[Change]:
    where = {"case_id": event.data.case_id, "closed_at": None}
    return [Update("case_spans", where, {"closed_at": utc(event.envelope.time)})]


# -- care plans ----------------------------------------------------------------------------------


@_of(c.CarePlanStarted)
def _plan(event: RecordedEvent[c.CarePlanStarted]) -> list[Change]:
    d = event.data
    return [
        Upsert("care_plans", {"plan_id": d.plan_id}, {
            "grid_id": d.grid_id, "starts_on": d.starts_on, "every_days": d.every_days,
            "ended_on": None,
        }),
    ]  # fmt: skip


@_of(c.CareVisitRecorded)
def _visit(event: RecordedEvent[c.CareVisitRecorded]) -> list[Change]:
    d = event.data
    values = {"plan_id": d.plan_id, "visited_on": d.visited_on}
    return [Upsert("care_visits", {"visit_id": d.visit_id}, values)]


@_of(c.CarePlanEnded)
def _plan_ended(event: RecordedEvent[c.CarePlanEnded]) -> list[Change]:
    d = event.data
    return [Update("care_plans", {"plan_id": d.plan_id}, {"ended_on": d.ended_on})]


# -- residents (the registry's person fold: persons.evolve) ------------------------------------


@_of(r.PersonRegistered)
def _person(event: RecordedEvent[r.PersonRegistered]) -> list[Change]:
    d = event.data
    since = local_day(event.envelope.time)
    return [Reside(d.person_id, event.version, since, status=d.residence_status)]


@_of(r.PersonResidenceStatusChanged)
def _status(event: RecordedEvent[r.PersonResidenceStatusChanged]) -> list[Change]:
    d = event.data
    return [Reside(d.person_id, event.version, d.on, status=d.residence_status)]


@_of(r.PersonMovedIn)
def _moved_in(event: RecordedEvent[r.PersonMovedIn]) -> list[Change]:
    d = event.data
    return [Reside(d.person_id, event.version, d.on, moved_in=d.dwelling_id)]


@_of(r.PersonMovedOut)
def _moved_out(event: RecordedEvent[r.PersonMovedOut]) -> list[Change]:
    d = event.data
    return [Reside(d.person_id, event.version, d.on, status="moved_out", left=d.dwelling_id)]


@_of(r.PersonMerged, r.PersonMergeUndone)
def _merged(event: RecordedEvent[r.PersonMerged | r.PersonMergeUndone]) -> list[Change]:
    """A record merged into another is the same human: its periods leave the residents
    counted on every day (as the hotline bridge counts them), until the merge is undone."""
    merged = isinstance(event.data, r.PersonMerged)
    return [Update("residents", {"person_id": event.data.person_id}, {"merged": merged})]


def _end_tag(person_id: uuid.UUID, tag: str, on: date) -> Change:
    where = {"person_id": person_id, "tag": tag, "ended_on": None}
    return Update("tags", where, {"ended_on": on})


@_of(r.PersonTagged)
def _tagged(event: RecordedEvent[r.PersonTagged]) -> list[Change]:
    d = event.data
    return [
        _end_tag(d.person_id, d.tag, d.valid_from),  # tagged again: the new validity
        Upsert("tags", {"person_id": d.person_id, "version": event.version}, {
            "tag": d.tag, "valid_from": d.valid_from, "valid_until": d.valid_until,
            "ended_on": None,
        }),
    ]  # fmt: skip


@_of(r.PersonUntagged)
def _untagged(event: RecordedEvent[r.PersonUntagged]) -> list[Change]:
    d = event.data
    return [_end_tag(d.person_id, d.tag, d.on)]


# -- hazard points (registry things) -----------------------------------------------------------


@_of(r.ThingRegistered)
def _thing(event: RecordedEvent[r.ThingRegistered]) -> list[Change]:
    d = event.data
    if d.kind != HAZARD_POINT:
        return []  # a key facility is no hazard
    return [
        Upsert("hazards", {"thing_id": d.thing_id}, {
            "place_id": d.place_id, "registered_on": local_day(event.envelope.time),
            "risk_level": d.risk_level, "closed_on": None,
        }),
    ]  # fmt: skip


@_of(r.ThingInspected)
def _inspected(event: RecordedEvent[r.ThingInspected]) -> list[Change]:
    d = event.data
    if d.risk_level is None:
        return []
    return [Update("hazards", {"thing_id": d.thing_id}, {"risk_level": d.risk_level})]


@_of(r.HazardResolved, r.ThingRemoved)
def _hazard_closed(event: RecordedEvent[r.HazardResolved | r.ThingRemoved]) -> list[Change]:
    d = event.data
    return [Update("hazards", {"thing_id": d.thing_id, "closed_on": None}, {"closed_on": d.on})]


# -- training ------------------------------------------------------------------------------------


@_of(t.TrainingSessionScheduled)
def _session(event: RecordedEvent[t.TrainingSessionScheduled]) -> list[Change]:
    d = event.data
    return [
        Upsert("sessions", {"session_id": d.session_id}, {
            "programme_id": d.programme_id, "module_code": d.module_code,
            "starts_at": utc(d.starts_at), "hours": session_hours(d.starts_at, d.ends_at),
            "cancelled": False,
        }),
    ]  # fmt: skip


@_of(t.TrainingSessionRescheduled)
def _rescheduled(event: RecordedEvent[t.TrainingSessionRescheduled]) -> list[Change]:
    d = event.data
    values = {"starts_at": utc(d.starts_at), "hours": session_hours(d.starts_at, d.ends_at)}
    return [Update("sessions", {"session_id": d.session_id}, values)]


@_of(t.TrainingSessionCancelled)
def _cancelled(event: RecordedEvent[t.TrainingSessionCancelled]) -> list[Change]:
    return [Update("sessions", {"session_id": event.data.session_id}, {"cancelled": True})]


@_of(t.AttendanceRecorded)
def _attendance(event: RecordedEvent[t.AttendanceRecorded]) -> list[Change]:
    d = event.data
    key = {"session_id": d.session_id, "worker_id": d.worker_id}
    return [Upsert("attendance", key, {"attended": d.attendance in ATTENDED})]


@_of(t.AssessmentRecorded)
def _assessed(event: RecordedEvent[t.AssessmentRecorded]) -> list[Change]:
    d = event.data
    key = {"session_id": d.session_id, "worker_id": d.worker_id}
    return [Upsert("scores", key, {"score": d.score, "max_score": d.max_score})]


@_of(t.ProgrammeDefined)
def _programme(event: RecordedEvent[t.ProgrammeDefined]) -> list[Change]:
    d = event.data
    return [
        Upsert("programmes", {"programme_id": d.programme_id}, {
            "modules": d.modules, "ordered": d.ordered, "period_days": d.period_days,
        }),
    ]  # fmt: skip


@_of(t.WorkerEnrolledInProgramme)
def _enrolled(event: RecordedEvent[t.WorkerEnrolledInProgramme]) -> list[Change]:
    d = event.data
    key = {"programme_id": d.programme_id, "worker_id": d.worker_id}
    return [Upsert("members", key, {"enrolled_on": d.on, "left_on": None})]


@_of(t.WorkerLeftProgramme)
def _left(event: RecordedEvent[t.WorkerLeftProgramme]) -> list[Change]:
    d = event.data
    key = {"programme_id": d.programme_id, "worker_id": d.worker_id}
    return [Update("members", key, {"left_on": d.on})]


class Dashboard(Projection):
    """The facts every dashboard figure is computed from."""

    name = "views_dashboard"
    sources_apart: ClassVar[bool] = True  # each service's events, its own tables
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
            # ``placed_at`` the dwelling they live in or last left (where a move out counts);
            # ``merged``: the person's record is merged into another (the same human), so the
            # residents counted leave it out on every day. (The column made the runner
            # rebuild the dashboard once, which marks the merges recorded before it.)
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
                sa.Column("merged", sa.Boolean, nullable=False),
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

    async def apply_many(
        self, ctx: ApplyContext, events: Sequence[RecordedEvent], new_streams: set[str]
    ) -> None:
        """The batch's changes folded in memory and written once per table
        (``dashboard_changes.Batch``): the rows one-by-one application leaves, in a few
        statements. It is the folding fast path of ADR 0004 taken further (every stream's rows,
        not only new streams'), so ``WANGGE_FAST_PATHS=no-folding`` turns it off with the rest,
        and each event is then applied alone, with SQL."""
        if not tuning.FAST_PATHS.folding:
            await super().apply_many(ctx, events, new_streams)
            return
        await Batch(ctx.tables).apply(ctx.conn, [c for e in events for c in changes_of(e)])

    @handles(*_CHANGES)
    async def on_event(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        """An event alone: its changes made one by one with SQL."""
        await execute(ctx, changes_of(event))


def changes_of(event: RecordedEvent) -> list[Change]:
    """What ``event`` does to the dashboard's rows."""
    return _CHANGES[type(event.data)](event)
