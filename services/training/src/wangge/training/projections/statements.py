"""xAPI 1.0.3 statements of the training record: every attendance, assessment, completion and
handbook acknowledgement, so a Learning Record Store or an analyst's tools can take them.

Statements are never edited. A corrected attendance or score voids the statement it replaces
(a ``voided`` statement referring to it) and states the new one; a completion that a
correction undoes is voided the same way. Statement ids are derived from the events that made
them, so a rebuild states the same ids.

The projection keeps its own small copy of sessions, programmes and enrolments (what completion
needs), so it is rebuilt on its own; completion itself comes from the domain's
:func:`~wangge.training.domain.programmes.progress`, as in the records.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa

from wangge.events import RecordedEvent, default_catalogue
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.service.times import CHINA, local_day, utc
from wangge.training.domain import handbooks as h
from wangge.training.domain import programmes as p
from wangge.training.domain import sessions as s

UUID = sa.Uuid(as_uuid=True)
TIME = sa.DateTime(timezone=True)
NAMESPACE = uuid.UUID("2b5c0e57-9d3a-5c1e-8f40-6a7b8c9d0e1f")
"""The UUIDv5 namespace of statement ids (from the event and what it states)."""

ADL = "http://adlnet.gov/expapi/verbs/"
VERBS: dict[str, tuple[str, str]] = {
    "attended": (ADL + "attended", "attended"),
    "absent": ("urn:wangge:xapi:verb:absent", "was absent from"),
    "excused": ("urn:wangge:xapi:verb:excused", "was excused from"),
    "scored": (ADL + "scored", "scored"),
    "completed": (ADL + "completed", "completed"),
    "acknowledged": ("urn:wangge:xapi:verb:acknowledged", "acknowledged"),
    "voided": (ADL + "voided", "voided"),
}
MEETING = "http://adlnet.gov/expapi/activities/meeting"
MODULE = "http://adlnet.gov/expapi/activities/module"
COURSE = "http://adlnet.gov/expapi/activities/course"
BOOK = "http://id.tincanapi.com/activitytype/book"


def session_iri(session_id: Any) -> str:
    return f"urn:wangge:training:session:{session_id}"


def programme_iri(programme_id: Any) -> str:
    return f"urn:wangge:training:programme:{programme_id}"


def module_iri(programme_id: Any, code: str) -> str:
    return f"urn:wangge:training:programme:{programme_id}:module:{code}"


def handbook_iri(handbook_id: Any, edition: int) -> str:
    return f"urn:wangge:training:handbook:{handbook_id}:edition:{edition}"


def _activity(iri: str, name: str, kind: str) -> dict[str, Any]:
    return {
        "objectType": "Activity",
        "id": iri,
        "definition": {"name": {"zh-CN": name}, "type": kind},
    }


class Statements(Projection):
    """The statements, in the order they were stated, and what deciding them needs."""

    name = "training_statements"
    inline = True

    def __init__(self) -> None:
        super().__init__(default_catalogue)

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        statements = sa.Table(
            f"xapi_statements{suffix}",
            metadata,
            sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("statement_id", UUID, nullable=False, unique=True),
            sa.Column("worker_id", UUID, nullable=False, index=True),
            sa.Column("verb", sa.String(200), nullable=False, index=True),
            sa.Column("activity", sa.String(300), nullable=False, index=True),
            sa.Column("body", sa.JSON, nullable=False),
            sa.Column("timestamp", TIME, nullable=False),
            sa.Column("stored", TIME, nullable=False, index=True),
            sa.Column("voided_by", UUID),
            sa.Column("voids", UUID, index=True),
        )
        current = sa.Table(  # the statement in force per worker and subject (to void later)
            f"xapi_current{suffix}",
            metadata,
            sa.Column("subject", sa.String(400), primary_key=True),
            sa.Column("statement_id", UUID, nullable=False),
        )
        sessions = sa.Table(
            f"xapi_sessions{suffix}",
            metadata,
            sa.Column("session_id", UUID, primary_key=True),
            sa.Column("topic", sa.String(200), nullable=False),
            sa.Column("programme_id", UUID),
            sa.Column("module_code", sa.String(40)),
            sa.Column("starts_at", TIME, nullable=False),
            sa.Column("hours", sa.Float, nullable=False),
        )
        credits = sa.Table(
            f"xapi_credits{suffix}",
            metadata,
            sa.Column("session_id", UUID, primary_key=True),
            sa.Column("worker_id", UUID, primary_key=True),
            sa.Column("programme_id", UUID, nullable=False, index=True),
            sa.Column("attended", sa.Boolean, nullable=False),
            sa.Column("score_percent", sa.Float),
        )
        programmes = sa.Table(
            f"xapi_programmes{suffix}",
            metadata,
            sa.Column("programme_id", UUID, primary_key=True),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("definition", sa.JSON, nullable=False),
        )
        members = sa.Table(
            f"xapi_members{suffix}",
            metadata,
            sa.Column("programme_id", UUID, primary_key=True),
            sa.Column("worker_id", UUID, primary_key=True),
            sa.Column("enrolled_on", sa.Date, nullable=False),
        )
        handbooks = sa.Table(
            f"xapi_handbooks{suffix}",
            metadata,
            sa.Column("handbook_id", UUID, primary_key=True),
            sa.Column("edition", sa.Integer, primary_key=True),
            sa.Column("title", sa.String(200), nullable=False),
        )
        return {
            "statements": statements, "current": current, "sessions": sessions,
            "credits": credits, "programmes": programmes, "members": members,
            "handbooks": handbooks,
        }  # fmt: skip

    # what deciding needs ------------------------------------------------------------------

    @handles(s.TrainingSessionScheduled)
    async def on_scheduled(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, s.TrainingSessionScheduled)
        await ctx.conn.execute(
            sa.insert(ctx.tables["sessions"]).values(
                session_id=d.session_id, topic=d.topic, programme_id=d.programme_id,
                module_code=d.module_code, starts_at=utc(d.starts_at),
                hours=s.session_hours(d.starts_at, d.ends_at),
            )
        )  # fmt: skip

    @handles(s.TrainingSessionRescheduled)
    async def on_rescheduled(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, s.TrainingSessionRescheduled)
        t = ctx.tables["sessions"]
        await ctx.conn.execute(
            sa.update(t)
            .where(t.c.session_id == d.session_id)
            .values(starts_at=utc(d.starts_at), hours=s.session_hours(d.starts_at, d.ends_at))
        )

    @handles(p.ProgrammeDefined)
    async def on_programme(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, p.ProgrammeDefined)
        await ctx.conn.execute(
            sa.insert(ctx.tables["programmes"]).values(
                programme_id=d.programme_id, name=d.name, definition=d.model_dump(mode="json")
            )
        )

    @handles(p.WorkerEnrolledInProgramme)
    async def on_member(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, p.WorkerEnrolledInProgramme)
        t = ctx.tables["members"]
        key = (t.c.programme_id == d.programme_id) & (t.c.worker_id == d.worker_id)
        await ctx.conn.execute(sa.delete(t).where(key))
        await ctx.conn.execute(
            sa.insert(t).values(
                programme_id=d.programme_id, worker_id=d.worker_id, enrolled_on=d.on
            )
        )
        await self._completions(ctx, event, d.programme_id, d.worker_id)

    @handles(h.HandbookEditionPublished)
    async def on_edition(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, h.HandbookEditionPublished)
        await ctx.conn.execute(
            sa.insert(ctx.tables["handbooks"]).values(
                handbook_id=d.handbook_id, edition=d.edition, title=d.title
            )
        )

    # statements ---------------------------------------------------------------------------

    @handles(s.AttendanceRecorded)
    async def on_attendance(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, s.AttendanceRecorded)
        session = await self._session(ctx, d.session_id)
        verb = "attended" if d.attendance in s.ATTENDED else str(d.attendance)
        result: dict[str, Any] = {"completion": d.attendance in s.ATTENDED}
        if d.attendance in s.ATTENDED:
            result["duration"] = _duration(session.hours)
        if d.attendance == s.Attendance.LATE:
            result["extensions"] = {"urn:wangge:xapi:ext:late": True}
        await self._state(
            ctx, event, subject=f"attendance:{d.session_id}:{d.worker_id}",
            worker_id=d.worker_id, verb=verb,
            activity=_activity(session_iri(d.session_id), session.topic, MEETING),
            result=result, timestamp=session.starts_at, context=_context(session),
        )  # fmt: skip
        if session.programme_id is not None:
            await self._credit(ctx, session, d.worker_id, attended=d.attendance in s.ATTENDED)
            await self._completions(ctx, event, session.programme_id, d.worker_id)

    @handles(s.AssessmentRecorded)
    async def on_assessed(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, s.AssessmentRecorded)
        session = await self._session(ctx, d.session_id)
        score = {"raw": d.score, "min": 0, "max": d.max_score, "scaled": d.score / d.max_score}
        await self._state(
            ctx, event, subject=f"score:{d.session_id}:{d.worker_id}", worker_id=d.worker_id,
            verb="scored", activity=_activity(session_iri(d.session_id), session.topic, MEETING),
            result={"score": score}, timestamp=event.envelope.time, context=_context(session),
        )  # fmt: skip
        if session.programme_id is not None:
            await self._credit(ctx, session, d.worker_id, score_percent=100 * d.score / d.max_score)
            await self._completions(ctx, event, session.programme_id, d.worker_id)

    @handles(h.HandbookAcknowledged)
    async def on_acknowledged(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, h.HandbookAcknowledged)
        t = ctx.tables["handbooks"]
        title = await ctx.conn.scalar(
            sa.select(t.c.title).where(t.c.handbook_id == d.handbook_id, t.c.edition == d.edition)
        )
        await self._state(
            ctx, event, subject=f"handbook:{d.handbook_id}:{d.edition}:{d.worker_id}",
            worker_id=d.worker_id, verb="acknowledged",
            activity=_activity(handbook_iri(d.handbook_id, d.edition), title or "", BOOK),
            result=None, timestamp=event.envelope.time, context={},
        )  # fmt: skip

    # helpers ------------------------------------------------------------------------------

    async def _session(self, ctx: ApplyContext, session_id: uuid.UUID) -> Any:
        t = ctx.tables["sessions"]
        return (await ctx.conn.execute(sa.select(t).where(t.c.session_id == session_id))).one()

    async def _credit(
        self, ctx: ApplyContext, session: Any, worker_id: uuid.UUID, **values: Any
    ) -> None:
        t = ctx.tables["credits"]
        key = (t.c.session_id == session.session_id) & (t.c.worker_id == worker_id)
        found = await ctx.conn.scalar(sa.select(sa.func.count()).where(key))
        if found:
            await ctx.conn.execute(sa.update(t).where(key).values(**values))
        else:
            await ctx.conn.execute(
                sa.insert(t).values(
                    session_id=session.session_id, worker_id=worker_id,
                    programme_id=session.programme_id, **{"attended": False, **values},
                )
            )  # fmt: skip

    async def _completions(
        self, ctx: ApplyContext, event: RecordedEvent, programme_id: uuid.UUID, worker: uuid.UUID
    ) -> None:
        """State the module and programme completions the worker has now, void those undone."""
        m, pr = ctx.tables["members"], ctx.tables["programmes"]
        enrolled_on = await ctx.conn.scalar(
            sa.select(m.c.enrolled_on).where(
                m.c.programme_id == programme_id, m.c.worker_id == worker
            )
        )
        definition = await ctx.conn.scalar(
            sa.select(pr.c.definition).where(pr.c.programme_id == programme_id)
        )
        if enrolled_on is None or definition is None:
            return
        programme = p.ProgrammeDefined.model_validate(definition)
        made = p.progress(
            programme.modules, ordered=programme.ordered, period_days=programme.period_days,
            enrolled_on=enrolled_on, credits=await _credits(ctx, programme_id, worker),
        )  # fmt: skip
        parent = _activity(programme_iri(programme_id), programme.name, COURSE)
        done: list[tuple[str, date | None, dict[str, Any], dict[str, Any]]] = [
            (f"module:{x.code}", x.completed_on,
             _activity(module_iri(programme_id, x.code), x.title, MODULE),
             {"contextActivities": {"parent": [{"id": parent["id"]}]}})
            for x in made.modules
        ]  # fmt: skip
        done.append(("programme", made.completed_on, parent, {}))
        for what, completed_on, activity, context in done:
            subject = f"completion:{programme_id}:{worker}:{what}"
            held = await _current(ctx, subject)
            if completed_on is None:
                if held is not None:
                    await self._void(ctx, event, subject, held)
                continue
            if held is not None:
                body = await _body(ctx, held)
                if body["timestamp"].startswith(_noon(completed_on).isoformat()[:10]):
                    continue  # completed before, on the same day: nothing new to state
                await self._void(ctx, event, subject, held)
            await self._state(
                ctx, event, subject=subject, worker_id=worker, verb="completed",
                activity=activity, result={"completion": True, "success": True},
                timestamp=_noon(completed_on), context=context, replace=False,
            )  # fmt: skip

    async def _state(
        self,
        ctx: ApplyContext,
        event: RecordedEvent,
        *,
        subject: str,
        worker_id: uuid.UUID,
        verb: str,
        activity: dict[str, Any],
        result: dict[str, Any] | None,
        timestamp: datetime,
        context: dict[str, Any],
        replace: bool = True,
    ) -> None:
        """A new statement about ``subject``; the one it replaces (a correction) is voided."""
        if replace:
            held = await _current(ctx, subject)
            if held is not None:
                await self._void(ctx, event, subject, held)
        statement_id = uuid.uuid5(NAMESPACE, f"{event.envelope.id}:{subject}")
        verb_iri, display = VERBS[verb]
        body: dict[str, Any] = {
            "id": str(statement_id),
            "verb": {"id": verb_iri, "display": {"en-US": display}},
            "object": activity,
            "context": {"platform": "Wangge", "language": "zh-CN", **context},
            "timestamp": utc(timestamp).isoformat(),
            "stored": utc(event.envelope.time).isoformat(),
            "version": "1.0.3",
        }
        if result is not None:
            body["result"] = result
        await self._insert(ctx, statement_id, worker_id, verb_iri, activity["id"], body, event)
        c = ctx.tables["current"]
        await ctx.conn.execute(sa.delete(c).where(c.c.subject == subject))
        await ctx.conn.execute(sa.insert(c).values(subject=subject, statement_id=statement_id))

    async def _void(
        self, ctx: ApplyContext, event: RecordedEvent, subject: str, target: uuid.UUID
    ) -> None:
        t, c = ctx.tables["statements"], ctx.tables["current"]
        worker = await ctx.conn.scalar(sa.select(t.c.worker_id).where(t.c.statement_id == target))
        statement_id = uuid.uuid5(NAMESPACE, f"{event.envelope.id}:void:{target}")
        verb_iri, display = VERBS["voided"]
        body = {
            "id": str(statement_id),
            "verb": {"id": verb_iri, "display": {"en-US": display}},
            "object": {"objectType": "StatementRef", "id": str(target)},
            "timestamp": utc(event.envelope.time).isoformat(),
            "stored": utc(event.envelope.time).isoformat(),
            "version": "1.0.3",
        }
        await self._insert(ctx, statement_id, worker, verb_iri, str(target), body, event, target)
        await ctx.conn.execute(
            sa.update(t).where(t.c.statement_id == target).values(voided_by=statement_id)
        )
        await ctx.conn.execute(sa.delete(c).where(c.c.subject == subject))

    async def _insert(
        self,
        ctx: ApplyContext,
        statement_id: uuid.UUID,
        worker_id: Any,
        verb: str,
        activity: str,
        body: dict[str, Any],
        event: RecordedEvent,
        voids: uuid.UUID | None = None,
    ) -> None:
        await ctx.conn.execute(
            sa.insert(ctx.tables["statements"]).values(
                statement_id=statement_id, worker_id=worker_id, verb=verb, activity=activity,
                body=body, timestamp=utc(datetime.fromisoformat(body["timestamp"])),
                stored=utc(event.envelope.time), voids=voids,
            )
        )  # fmt: skip


def _context(session: Any) -> dict[str, Any]:
    if session.programme_id is None:
        return {}
    return {
        "contextActivities": {
            "parent": [{"id": module_iri(session.programme_id, session.module_code)}],
            "grouping": [{"id": programme_iri(session.programme_id)}],
        }
    }


def _duration(hours: float) -> str:
    minutes = round(hours * 60)
    return f"PT{minutes // 60}H{minutes % 60}M"


def _noon(day: date) -> datetime:
    """A completion's timestamp: the day it happened, noon in the subdistrict."""
    return datetime.combine(day, time(12), tzinfo=CHINA)


async def _current(ctx: ApplyContext, subject: str) -> uuid.UUID | None:
    c = ctx.tables["current"]
    value = await ctx.conn.scalar(sa.select(c.c.statement_id).where(c.c.subject == subject))
    return value if isinstance(value, uuid.UUID) or value is None else uuid.UUID(str(value))


async def _body(ctx: ApplyContext, statement_id: uuid.UUID) -> Any:
    t = ctx.tables["statements"]
    return await ctx.conn.scalar(sa.select(t.c.body).where(t.c.statement_id == statement_id))


async def _credits(ctx: ApplyContext, programme_id: uuid.UUID, worker: uuid.UUID) -> list[p.Credit]:
    cr, se = ctx.tables["credits"], ctx.tables["sessions"]
    rows = await ctx.conn.execute(
        sa.select(se.c.module_code, se.c.starts_at, se.c.hours, cr.c.score_percent)
        .join(se, se.c.session_id == cr.c.session_id)
        .where(cr.c.programme_id == programme_id, cr.c.worker_id == worker, cr.c.attended)
    )
    return [p.Credit(r.module_code, local_day(r.starts_at), r.hours, r.score_percent) for r in rows]
