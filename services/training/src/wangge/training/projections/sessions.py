"""Sessions, their enrolments, attendance and scores, and programmes with their enrolled
workers, as rows: each worker's record, a programme's progress and a session's coverage are
queries over them (the domain's :func:`~wangge.training.domain.programmes.progress` derives
completion from the attendance and scores here)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import RecordedEvent
from wangge.events.core import ServiceCore
from wangge.events.db import insert_many
from wangge.events.projection import ApplyContext, Projection, active_tables, handles
from wangge.governance.columns import TIME as TIME_COLUMN
from wangge.governance.errors import NotFound
from wangge.governance.times import StoredTime, local_day, utc
from wangge.training.domain import programmes as p
from wangge.training.domain import sessions as s
from wangge.training.domain.sessions import ATTENDED

UUID = sa.Uuid(as_uuid=True)
TIME = TIME_COLUMN


def _session_row(d: s.TrainingSessionScheduled) -> dict[str, Any]:
    """A session's row as it is scheduled (its version aside)."""
    return {
        "session_id": d.session_id, "topic": d.topic, "programme_id": d.programme_id,
        "module_code": d.module_code,
        "instructors": [i.model_dump(mode="json") for i in d.instructors],
        "materials": [m.model_dump(mode="json") for m in d.materials],
        "starts_at": utc(d.starts_at), "ends_at": utc(d.ends_at),
        "hours": s.session_hours(d.starts_at, d.ends_at), "place": d.place,
        "capacity": d.capacity, "cancelled_reason": None,
    }  # fmt: skip


_SESSION_CHANGES: dict[type, Callable[[Any], dict[str, Any]]] = {
    s.TrainingSessionRescheduled: lambda d: {
        "starts_at": utc(d.starts_at), "ends_at": utc(d.ends_at), "place": d.place,
        "hours": s.session_hours(d.starts_at, d.ends_at),
    },
    s.TrainingSessionCancelled: lambda d: {"cancelled_reason": d.reason},
}  # fmt: skip
"""What each change of a session sets in its row."""

_ENROLMENT_STATUS: dict[type, str | None] = {
    s.WorkerEnrolled: "enrolled", s.WorkerWaitlisted: "waiting", s.EnrolmentWithdrawn: None,
}  # fmt: skip
"""An enrolment's status after each event (None: no row)."""

_WORKER_ROWS: dict[type, tuple[str, Callable[[RecordedEvent[Any]], dict[str, Any]]]] = {
    s.AttendanceRecorded: ("attendance", lambda e: {
        "session_id": e.data.session_id, "worker_id": e.data.worker_id,
        "attendance": e.data.attendance, "recorded_by": e.data.recorded_by,
        "recorded_at": utc(e.envelope.time), "note": e.data.note,
    }),
    s.AssessmentRecorded: ("scores", lambda e: {
        "session_id": e.data.session_id, "worker_id": e.data.worker_id, "score": e.data.score,
        "max_score": e.data.max_score, "recorded_at": utc(e.envelope.time),
    }),
}  # fmt: skip
"""The table of a worker's record of a session, and its row."""


def _worker_row(event: RecordedEvent) -> tuple[str, dict[str, Any] | None]:
    """The table and the new row (None: none) of an event about a worker in a session."""
    d: Any = event.data
    if type(d) in _WORKER_ROWS:
        table, row = _WORKER_ROWS[type(d)]
        return table, row(event)
    status = _ENROLMENT_STATUS[type(d)]
    if status is None:
        return "enrolments", None
    return "enrolments", {
        "session_id": d.session_id, "worker_id": d.worker_id, "status": status,
        "since": event.version,
    }  # fmt: skip


class Sessions(Projection):
    """One row per session, per enrolment, per worker's attendance and score; one per
    programme and per worker enrolled in one."""

    name = "training_sessions"
    inline = True

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        sessions = sa.Table(
            f"training_sessions{suffix}",
            metadata,
            sa.Column("session_id", UUID, primary_key=True),
            sa.Column("topic", sa.String(200), nullable=False, index=True),
            sa.Column("programme_id", UUID, index=True),
            sa.Column("module_code", sa.String(40)),
            sa.Column("instructors", sa.JSON, nullable=False),
            sa.Column("materials", sa.JSON, nullable=False),
            sa.Column("starts_at", TIME, nullable=False, index=True),
            sa.Column("ends_at", TIME, nullable=False),
            sa.Column("hours", sa.Float, nullable=False),
            sa.Column("place", sa.String(200), nullable=False),
            sa.Column("capacity", sa.Integer, nullable=False),
            sa.Column("cancelled_reason", sa.String(500)),
            sa.Column("version", sa.Integer, nullable=False),
        )
        enrolments = sa.Table(
            f"training_enrolments{suffix}",
            metadata,
            sa.Column("session_id", UUID, primary_key=True),
            sa.Column("worker_id", UUID, primary_key=True),
            sa.Column("status", sa.String(10), nullable=False),  # enrolled, waiting
            sa.Column("since", sa.Integer, nullable=False),  # the event's version: line order
        )
        attendance = sa.Table(
            f"training_attendance{suffix}",
            metadata,
            sa.Column("session_id", UUID, primary_key=True),
            sa.Column("worker_id", UUID, primary_key=True, index=True),
            sa.Column("attendance", sa.String(10), nullable=False),
            sa.Column("recorded_by", sa.String(200), nullable=False),
            sa.Column("recorded_at", TIME, nullable=False),
            sa.Column("note", sa.String(500), nullable=False),
        )
        scores = sa.Table(
            f"training_scores{suffix}",
            metadata,
            sa.Column("session_id", UUID, primary_key=True),
            sa.Column("worker_id", UUID, primary_key=True, index=True),
            sa.Column("score", sa.Float, nullable=False),
            sa.Column("max_score", sa.Float, nullable=False),
            sa.Column("recorded_at", TIME, nullable=False),
        )
        programmes = sa.Table(
            f"training_programmes{suffix}",
            metadata,
            sa.Column("programme_id", UUID, primary_key=True),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("description", sa.Text, nullable=False),
            sa.Column("modules", sa.JSON, nullable=False),
            sa.Column("ordered", sa.Boolean, nullable=False),
            sa.Column("period_days", sa.Integer),
        )
        members = sa.Table(
            f"training_programme_workers{suffix}",
            metadata,
            sa.Column("programme_id", UUID, primary_key=True),
            sa.Column("worker_id", UUID, primary_key=True, index=True),
            sa.Column("enrolled_on", sa.Date, nullable=False),
            sa.Column("left_on", sa.Date),
            sa.Column("left_reason", sa.String(500)),
        )
        return {
            "sessions": sessions, "enrolments": enrolments, "attendance": attendance,
            "scores": scores, "programmes": programmes, "members": members,
        }  # fmt: skip

    async def apply_many(
        self, ctx: ApplyContext, events: Sequence[RecordedEvent], new_streams: set[str]
    ) -> None:
        """Sessions that start in this batch (a rebuild, a seeded year) are folded in memory and
        written once per table; the rest event by event. Either way the rows are the same."""

        def folds(event: RecordedEvent) -> bool:
            return event.stream_id in new_streams and event.stream_id.startswith("session-")

        fresh = [e for e in events if folds(e)]
        if not fresh:
            await super().apply_many(ctx, events, new_streams)
            return
        folded = _Fold()
        for event in fresh:
            folded.apply(event)
        for name, rows in folded.rows().items():
            await insert_many(ctx.conn, ctx.tables[name], rows)
        for event in events:
            if not folds(event):
                await self.apply(ctx, event)

    @handles(s.TrainingSessionScheduled)
    async def on_scheduled(
        self, ctx: ApplyContext, event: RecordedEvent[s.TrainingSessionScheduled]
    ) -> None:
        row = _session_row(event.data) | {"version": event.version}
        await ctx.conn.execute(sa.insert(ctx.tables["sessions"]).values(**row))

    async def _session(self, ctx: ApplyContext, event: RecordedEvent, **values: Any) -> None:
        t = ctx.tables["sessions"]
        await ctx.conn.execute(
            sa.update(t)
            .where(t.c.session_id == event.data.session_id)  # type: ignore[attr-defined]
            .values(version=event.version, **values)
        )

    @handles(*_SESSION_CHANGES)
    async def on_changed(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        await self._session(ctx, event, **_SESSION_CHANGES[type(event.data)](event.data))

    @handles(s.MaterialAttached)
    async def on_material(
        self, ctx: ApplyContext, event: RecordedEvent[s.MaterialAttached]
    ) -> None:
        d = event.data
        t = ctx.tables["sessions"]
        materials = await ctx.conn.scalar(
            sa.select(t.c.materials).where(t.c.session_id == d.session_id)
        )
        added = [*(materials or []), d.material.model_dump(mode="json")]
        await self._session(ctx, event, materials=added)

    @handles(*_ENROLMENT_STATUS, *_WORKER_ROWS)
    async def on_worker(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        """A worker's row of a session (a place, an attendance, a score), replaced by a newer
        record (a correction) or gone (a withdrawal)."""
        d: Any = event.data
        table, row = _worker_row(event)
        t = ctx.tables[table]
        key = (t.c.session_id == d.session_id) & (t.c.worker_id == d.worker_id)
        await ctx.conn.execute(sa.delete(t).where(key))
        if row is not None:
            await ctx.conn.execute(sa.insert(t).values(**row))
        await self._session(ctx, event)

    @handles(p.ProgrammeDefined)
    async def on_programme(
        self, ctx: ApplyContext, event: RecordedEvent[p.ProgrammeDefined]
    ) -> None:
        d = event.data
        await ctx.conn.execute(
            sa.insert(ctx.tables["programmes"]).values(
                programme_id=d.programme_id, name=d.name, description=d.description,
                modules=[m.model_dump(mode="json") for m in d.modules], ordered=d.ordered,
                period_days=d.period_days,
            )
        )  # fmt: skip

    @handles(p.WorkerEnrolledInProgramme)
    async def on_member(
        self, ctx: ApplyContext, event: RecordedEvent[p.WorkerEnrolledInProgramme]
    ) -> None:
        d = event.data
        t = ctx.tables["members"]
        await ctx.conn.execute(
            sa.delete(t).where(
                (t.c.programme_id == d.programme_id) & (t.c.worker_id == d.worker_id)
            )
        )
        await ctx.conn.execute(
            sa.insert(t).values(
                programme_id=d.programme_id, worker_id=d.worker_id, enrolled_on=d.on
            )
        )

    @handles(p.WorkerLeftProgramme)
    async def on_left(self, ctx: ApplyContext, event: RecordedEvent[p.WorkerLeftProgramme]) -> None:
        d = event.data
        t = ctx.tables["members"]
        await ctx.conn.execute(
            sa.update(t)
            .where((t.c.programme_id == d.programme_id) & (t.c.worker_id == d.worker_id))
            .values(left_on=d.on, left_reason=d.reason)
        )


class _Fold:
    """New sessions' rows, as their handlers one event at a time would leave them."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[Any, dict[str, Any]]] = {
            name: {} for name in ("sessions", "enrolments", "attendance", "scores")
        }

    def apply(self, event: RecordedEvent) -> None:
        d: Any = event.data
        if isinstance(d, s.TrainingSessionScheduled):
            self.tables["sessions"][d.session_id] = _session_row(d)
        session = self.tables["sessions"][d.session_id]
        session["version"] = event.version
        if type(d) in _SESSION_CHANGES:
            session |= _SESSION_CHANGES[type(d)](d)
        elif isinstance(d, s.MaterialAttached):
            session["materials"] = [*session["materials"], d.material.model_dump(mode="json")]
        elif type(d) in _ENROLMENT_STATUS or type(d) in _WORKER_ROWS:
            table, row = _worker_row(event)
            key = (d.session_id, d.worker_id)
            if row is None:
                self.tables[table].pop(key, None)
            else:
                self.tables[table][key] = row

    def rows(self) -> dict[str, list[dict[str, Any]]]:
        return {name: list(rows.values()) for name, rows in self.tables.items()}


# -- queries ------------------------------------------------------------------------------------

Tables = Mapping[str, sa.Table]


async def sessions_tables(conn: AsyncConnection, core: ServiceCore) -> Tables:
    """The active generation's tables of the sessions and programmes read model."""
    return await active_tables(conn, core.projection(Sessions.name))


class Seat(BaseModel):
    worker_id: uuid.UUID
    status: str = Field(description="enrolled, or waiting (in line: the order of the list)")


class Roll(BaseModel):
    worker_id: uuid.UUID
    attendance: s.Attendance
    note: str
    score: float | None
    max_score: float | None


class SessionRead(BaseModel):
    session_id: uuid.UUID
    topic: str
    programme_id: uuid.UUID | None
    module_code: str | None
    instructors: list[s.Instructor]
    materials: list[s.Material]
    starts_at: StoredTime
    ends_at: StoredTime
    hours: float
    place: str
    capacity: int
    cancelled_reason: str | None
    enrolled: int
    waiting: int
    version: int


class SessionDetail(SessionRead):
    seats: list[Seat]
    roll: list[Roll]


async def _counts(
    conn: AsyncConnection, tables: Tables, ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    e = tables["enrolments"]
    rows = await conn.execute(
        sa.select(e.c.session_id, e.c.status, sa.func.count())
        .where(e.c.session_id.in_(ids))
        .group_by(e.c.session_id, e.c.status)
    )
    counts: dict[uuid.UUID, dict[str, int]] = {}
    for session_id, state, n in rows:
        counts.setdefault(session_id, {})[state] = n
    return counts


def _session_read(row: Any, counts: dict[str, int]) -> SessionRead:
    return SessionRead(
        **{
            k: getattr(row, k) for k in SessionRead.model_fields if k not in ("enrolled", "waiting")
        },
        enrolled=counts.get("enrolled", 0),
        waiting=counts.get("waiting", 0),
    )


async def session_detail(
    conn: AsyncConnection, tables: Tables, session_id: uuid.UUID
) -> SessionDetail:
    """A session with its seats (enrolled, then in line) and its whole roll (404 if none)."""
    t, e, a, sc = (tables[k] for k in ("sessions", "enrolments", "attendance", "scores"))
    row = (await conn.execute(sa.select(t).where(t.c.session_id == session_id))).first()
    if row is None:
        raise NotFound(f"no session {session_id}", field="session_id")
    seats = (
        await conn.execute(
            sa.select(e.c.worker_id, e.c.status)
            .where(e.c.session_id == session_id)
            .order_by(e.c.status, e.c.since)
        )
    ).all()
    roll = (
        await conn.execute(
            sa.select(a.c.worker_id, a.c.attendance, a.c.note, sc.c.score, sc.c.max_score)
            .outerjoin(sc, (sc.c.session_id == a.c.session_id) & (sc.c.worker_id == a.c.worker_id))
            .where(a.c.session_id == session_id)
            .order_by(a.c.worker_id)
        )
    ).all()
    counts = (await _counts(conn, tables, [session_id])).get(session_id, {})
    return SessionDetail(
        **_session_read(row, counts).model_dump(),
        seats=[Seat(worker_id=r.worker_id, status=r.status) for r in seats],
        roll=[Roll.model_validate(r, from_attributes=True) for r in roll],
    )


async def sessions_in_order(
    conn: AsyncConnection,
    tables: Tables,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    topic: str | None = None,
    programme_id: uuid.UUID | None = None,
    limit: int,
) -> list[SessionRead]:
    """Sessions in time order: starting in ``[since, until)``, of a topic, of a programme."""
    t = tables["sessions"]
    query = sa.select(t).order_by(t.c.starts_at).limit(limit)
    if since is not None:
        query = query.where(t.c.starts_at >= utc(since))
    if until is not None:
        query = query.where(t.c.starts_at < utc(until))
    if topic is not None:
        query = query.where(t.c.topic == topic)
    if programme_id is not None:
        query = query.where(t.c.programme_id == programme_id)
    rows = (await conn.execute(query)).all()
    counts = await _counts(conn, tables, [r.session_id for r in rows])
    return [_session_read(r, counts.get(r.session_id, {})) for r in rows]


class Attended(BaseModel):
    session_id: uuid.UUID
    topic: str
    starts_at: StoredTime
    hours: float = Field(description="credited: the session's hours when present or late")
    attendance: s.Attendance
    score: float | None
    max_score: float | None


class TopicHours(BaseModel):
    topic: str
    hours: float
    sessions: int


async def attended(conn: AsyncConnection, tables: Tables, worker_id: uuid.UUID) -> list[Attended]:
    """Every session a worker's attendance was recorded for, in time order, with their score."""
    t, a, sc = tables["sessions"], tables["attendance"], tables["scores"]
    rows = (
        await conn.execute(
            sa.select(
                t.c.session_id, t.c.topic, t.c.starts_at, t.c.hours, a.c.attendance,
                sc.c.score, sc.c.max_score,
            )
            .join(t, t.c.session_id == a.c.session_id)
            .outerjoin(sc, (sc.c.session_id == a.c.session_id) & (sc.c.worker_id == a.c.worker_id))
            .where(a.c.worker_id == worker_id)
            .order_by(t.c.starts_at)
        )
    ).all()  # fmt: skip
    return [
        Attended(
            session_id=r.session_id, topic=r.topic, starts_at=r.starts_at,
            hours=r.hours if r.attendance in ATTENDED else 0.0,
            attendance=r.attendance, score=r.score, max_score=r.max_score,
        )
        for r in rows
    ]  # fmt: skip


def hours_by_topic(sessions: list[Attended]) -> list[TopicHours]:
    """The hours credited per topic, by topic."""
    by_topic: dict[str, list[Attended]] = defaultdict(list)
    for x in sessions:
        if x.hours:
            by_topic[x.topic].append(x)
    return [
        TopicHours(topic=t, hours=sum(x.hours for x in xs), sessions=len(xs))
        for t, xs in sorted(by_topic.items())
    ]


async def reached(
    conn: AsyncConnection,
    tables: Tables,
    *,
    session_id: uuid.UUID | None = None,
    topic: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[set[uuid.UUID], date | None]:
    """The workers who attended (present or late) the sessions chosen (not cancelled), and the
    day of the last of them (None when none was chosen)."""
    t, a = tables["sessions"], tables["attendance"]
    query = sa.select(t.c.session_id, t.c.starts_at).where(t.c.cancelled_reason.is_(None))
    if session_id is not None:
        query = query.where(t.c.session_id == session_id)
    if topic is not None:
        query = query.where(t.c.topic == topic)
    if since is not None:
        query = query.where(t.c.starts_at >= utc(since))
    if until is not None:
        query = query.where(t.c.starts_at < utc(until))
    chosen = (await conn.execute(query)).all()
    workers: set[uuid.UUID] = set()
    if chosen:
        workers = set(
            await conn.scalars(
                sa.select(a.c.worker_id).where(
                    a.c.session_id.in_([r.session_id for r in chosen]),
                    a.c.attendance.in_([str(x) for x in ATTENDED]),
                )
            )
        )
    return workers, max((local_day(r.starts_at) for r in chosen), default=None)


class ProgrammeRead(BaseModel):
    programme_id: uuid.UUID
    name: str
    description: str
    modules: list[p.Module]
    ordered: bool
    period_days: int | None
    workers: int = Field(description="workers enrolled and not withdrawn")


async def programme(
    conn: AsyncConnection, tables: Tables, programme_id: uuid.UUID
) -> ProgrammeRead:
    """A programme with how many workers follow it (404 if none)."""
    t, m = tables["programmes"], tables["members"]
    row = (await conn.execute(sa.select(t).where(t.c.programme_id == programme_id))).first()
    if row is None:
        raise NotFound(f"no programme {programme_id}", field="programme_id")
    workers = await conn.scalar(
        sa.select(sa.func.count()).where(m.c.programme_id == programme_id, m.c.left_on.is_(None))
    )
    return ProgrammeRead(
        **{k: getattr(row, k) for k in ProgrammeRead.model_fields if k != "workers"},
        workers=workers or 0,
    )


async def programmes_by_name(conn: AsyncConnection, tables: Tables) -> list[ProgrammeRead]:
    """Every programme, by name."""
    t = tables["programmes"]
    ids = (await conn.scalars(sa.select(t.c.programme_id).order_by(t.c.name))).all()
    return [await programme(conn, tables, i) for i in ids]


class ModuleRead(BaseModel):
    code: str
    title: str
    hours_required: float
    hours_done: float
    pass_score: float | None
    best_score: float | None
    completed_on: date | None


class ProgrammeProgress(BaseModel):
    programme_id: uuid.UUID
    name: str
    worker_id: uuid.UUID
    enrolled_on: date
    left_on: date | None
    completed_on: date | None
    modules: list[ModuleRead]
    missing: list[str]
    """The codes of the modules still to complete."""


async def progress_of(
    conn: AsyncConnection,
    tables: Tables,
    *,
    programme_id: uuid.UUID | None = None,
    worker_id: uuid.UUID | None = None,
) -> list[ProgrammeProgress]:
    """The progress of every enrolment of a programme, or of a worker, or both: derived by
    :func:`wangge.training.domain.programmes.progress` from the attendance and scores
    (completion is never stored, so a corrected attendance corrects it)."""
    m, t = tables["members"], tables["programmes"]
    query = sa.select(m, t.c.name, t.c.modules, t.c.ordered, t.c.period_days).join(
        t, t.c.programme_id == m.c.programme_id
    )
    if programme_id is not None:
        query = query.where(m.c.programme_id == programme_id)
    if worker_id is not None:
        query = query.where(m.c.worker_id == worker_id)
    members = (await conn.execute(query.order_by(m.c.enrolled_on, m.c.worker_id))).all()
    if not members:
        return []
    credits = await _credits(
        conn, tables, {r.programme_id for r in members}, {r.worker_id for r in members}
    )
    out = []
    for row in members:
        modules = [p.Module.model_validate(x) for x in row.modules]
        made = p.progress(
            modules, ordered=row.ordered, period_days=row.period_days,
            enrolled_on=row.enrolled_on,
            credits=credits.get((row.programme_id, row.worker_id), []),
        )  # fmt: skip
        out.append(
            ProgrammeProgress(
                programme_id=row.programme_id, name=row.name, worker_id=row.worker_id,
                enrolled_on=row.enrolled_on, left_on=row.left_on,
                completed_on=made.completed_on,
                modules=[ModuleRead(**vars(x)) for x in made.modules],
                missing=[x.code for x in made.missing],
            )
        )  # fmt: skip
    return out


async def _credits(
    conn: AsyncConnection,
    tables: Tables,
    programme_ids: set[uuid.UUID],
    worker_ids: set[uuid.UUID],
) -> dict[tuple[uuid.UUID, uuid.UUID], list[p.Credit]]:
    t, a, sc = tables["sessions"], tables["attendance"], tables["scores"]
    rows = await conn.execute(
        sa.select(
            t.c.programme_id, t.c.module_code, t.c.starts_at, t.c.hours, a.c.worker_id,
            sc.c.score, sc.c.max_score,
        )
        .join(a, a.c.session_id == t.c.session_id)
        .outerjoin(sc, (sc.c.session_id == a.c.session_id) & (sc.c.worker_id == a.c.worker_id))
        .where(
            t.c.programme_id.in_(programme_ids), a.c.worker_id.in_(worker_ids),
            a.c.attendance.in_([str(x) for x in ATTENDED]), t.c.cancelled_reason.is_(None),
        )
    )  # fmt: skip
    credits: dict[tuple[uuid.UUID, uuid.UUID], list[p.Credit]] = {}
    for r in rows:
        percent = None if r.score is None else 100 * r.score / r.max_score
        credits.setdefault((r.programme_id, r.worker_id), []).append(
            p.Credit(r.module_code, local_day(r.starts_at), r.hours, percent)
        )
    return credits
