"""Sessions, their enrolments, attendance and scores, and programmes with their enrolled
workers, as rows: each worker's record, a programme's progress and a session's coverage are
queries over them (the domain's :func:`~wangge.training.domain.programmes.progress` derives
completion from the attendance and scores here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from wangge.events import RecordedEvent, default_catalogue
from wangge.events.db import insert_many
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.governance.times import utc
from wangge.training.domain import programmes as p
from wangge.training.domain import sessions as s

UUID = sa.Uuid(as_uuid=True)
TIME = sa.DateTime(timezone=True)


class Sessions(Projection):
    """One row per session, per enrolment, per worker's attendance and score; one per
    programme and per worker enrolled in one."""

    name = "training_sessions"
    inline = True

    def __init__(self) -> None:
        super().__init__(default_catalogue)

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
        d = event.data
        await ctx.conn.execute(
            sa.insert(ctx.tables["sessions"]).values(
                session_id=d.session_id, topic=d.topic, programme_id=d.programme_id,
                module_code=d.module_code,
                instructors=[i.model_dump(mode="json") for i in d.instructors],
                materials=[m.model_dump(mode="json") for m in d.materials],
                starts_at=utc(d.starts_at), ends_at=utc(d.ends_at),
                hours=s.session_hours(d.starts_at, d.ends_at), place=d.place,
                capacity=d.capacity, version=event.version,
            )
        )  # fmt: skip

    async def _session(self, ctx: ApplyContext, event: RecordedEvent, **values: Any) -> None:
        t = ctx.tables["sessions"]
        await ctx.conn.execute(
            sa.update(t)
            .where(t.c.session_id == event.data.session_id)  # type: ignore[attr-defined]
            .values(version=event.version, **values)
        )

    @handles(s.TrainingSessionRescheduled)
    async def on_rescheduled(
        self, ctx: ApplyContext, event: RecordedEvent[s.TrainingSessionRescheduled]
    ) -> None:
        d = event.data
        await self._session(
            ctx, event, starts_at=utc(d.starts_at), ends_at=utc(d.ends_at), place=d.place,
            hours=s.session_hours(d.starts_at, d.ends_at),
        )  # fmt: skip

    @handles(s.TrainingSessionCancelled)
    async def on_cancelled(
        self, ctx: ApplyContext, event: RecordedEvent[s.TrainingSessionCancelled]
    ) -> None:
        d = event.data
        await self._session(ctx, event, cancelled_reason=d.reason)

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

    async def _enrolment(self, ctx: ApplyContext, event: RecordedEvent, status: str | None) -> None:
        d = event.data
        t = ctx.tables["enrolments"]
        key = (t.c.session_id == d.session_id) & (t.c.worker_id == d.worker_id)  # type: ignore[attr-defined]
        await ctx.conn.execute(sa.delete(t).where(key))
        if status is not None:
            await ctx.conn.execute(
                sa.insert(t).values(
                    session_id=d.session_id,  # type: ignore[attr-defined]
                    worker_id=d.worker_id,  # type: ignore[attr-defined]
                    status=status,
                    since=event.version,
                )
            )
        await self._session(ctx, event)

    @handles(s.WorkerEnrolled)
    async def on_enrolled(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        await self._enrolment(ctx, event, "enrolled")

    @handles(s.WorkerWaitlisted)
    async def on_waitlisted(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        await self._enrolment(ctx, event, "waiting")

    @handles(s.EnrolmentWithdrawn)
    async def on_withdrawn(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        await self._enrolment(ctx, event, None)

    async def _replace(self, ctx: ApplyContext, table: str, **row: Any) -> None:
        """A worker's row of a session, replaced by a newer record (a correction)."""
        t = ctx.tables[table]
        key = (t.c.session_id == row["session_id"]) & (t.c.worker_id == row["worker_id"])
        await ctx.conn.execute(sa.delete(t).where(key))
        await ctx.conn.execute(sa.insert(t).values(**row))

    @handles(s.AttendanceRecorded)
    async def on_attendance(
        self, ctx: ApplyContext, event: RecordedEvent[s.AttendanceRecorded]
    ) -> None:
        d = event.data
        await self._replace(
            ctx, "attendance", session_id=d.session_id, worker_id=d.worker_id,
            attendance=d.attendance, recorded_by=d.recorded_by,
            recorded_at=utc(event.envelope.time), note=d.note,
        )  # fmt: skip
        await self._session(ctx, event)

    @handles(s.AssessmentRecorded)
    async def on_assessed(
        self, ctx: ApplyContext, event: RecordedEvent[s.AssessmentRecorded]
    ) -> None:
        d = event.data
        await self._replace(
            ctx, "scores", session_id=d.session_id, worker_id=d.worker_id, score=d.score,
            max_score=d.max_score, recorded_at=utc(event.envelope.time),
        )  # fmt: skip
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
        self.sessions: dict[Any, dict[str, Any]] = {}
        self.enrolments: dict[tuple[Any, Any], dict[str, Any]] = {}
        self.attendance: dict[tuple[Any, Any], dict[str, Any]] = {}
        self.scores: dict[tuple[Any, Any], dict[str, Any]] = {}

    def apply(self, event: RecordedEvent) -> None:
        d: Any = event.data
        if isinstance(d, s.TrainingSessionScheduled):
            self.sessions[d.session_id] = {
                "session_id": d.session_id, "topic": d.topic, "programme_id": d.programme_id,
                "module_code": d.module_code,
                "instructors": [i.model_dump(mode="json") for i in d.instructors],
                "materials": [m.model_dump(mode="json") for m in d.materials],
                "starts_at": utc(d.starts_at), "ends_at": utc(d.ends_at),
                "hours": s.session_hours(d.starts_at, d.ends_at), "place": d.place,
                "capacity": d.capacity, "cancelled_reason": None,
            }  # fmt: skip
        session = self.sessions[d.session_id]
        session["version"] = event.version
        key = (d.session_id, getattr(d, "worker_id", None))
        if isinstance(d, s.TrainingSessionRescheduled):
            hours = s.session_hours(d.starts_at, d.ends_at)
            session |= {"starts_at": utc(d.starts_at), "ends_at": utc(d.ends_at),
                        "place": d.place, "hours": hours}  # fmt: skip
        elif isinstance(d, s.TrainingSessionCancelled):
            session["cancelled_reason"] = d.reason
        elif isinstance(d, s.MaterialAttached):
            session["materials"] = [*session["materials"], d.material.model_dump(mode="json")]
        elif isinstance(d, s.WorkerEnrolled | s.WorkerWaitlisted):
            status = "enrolled" if isinstance(d, s.WorkerEnrolled) else "waiting"
            self.enrolments[key] = {"session_id": d.session_id, "worker_id": d.worker_id,
                                    "status": status, "since": event.version}  # fmt: skip
        elif isinstance(d, s.EnrolmentWithdrawn):
            self.enrolments.pop(key, None)
        elif isinstance(d, s.AttendanceRecorded):
            self.attendance[key] = {
                "session_id": d.session_id, "worker_id": d.worker_id, "attendance": d.attendance,
                "recorded_by": d.recorded_by, "recorded_at": utc(event.envelope.time),
                "note": d.note,
            }  # fmt: skip
        elif isinstance(d, s.AssessmentRecorded):
            self.scores[key] = {
                "session_id": d.session_id, "worker_id": d.worker_id, "score": d.score,
                "max_score": d.max_score, "recorded_at": utc(event.envelope.time),
            }  # fmt: skip

    def rows(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "sessions": list(self.sessions.values()),
            "enrolments": list(self.enrolments.values()),
            "attendance": list(self.attendance.values()),
            "scores": list(self.scores.values()),
        }
