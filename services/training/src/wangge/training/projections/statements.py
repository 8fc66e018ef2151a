"""xAPI 1.0.3 statements of the training record: every attendance, assessment, completion and
handbook acknowledgement, so a Learning Record Store or an analyst's tools can take them.

Statements are never edited. A corrected attendance or score voids the statement it replaces
(a ``voided`` statement referring to it) and states the new one; a completion that a
correction undoes is voided the same way. Statement ids are derived from the events that made
them, so a rebuild states the same ids.

Statements received from learning record providers (``XapiStatementReceived``) join them in
the same table, in the order they were stored, their content sealed as the event keeps it; a
received statement that voids another marks it voided, even when it arrived first.

The projection keeps its own small copy of sessions, programmes and enrolments (what completion
needs), so it is rebuilt on its own; completion itself comes from the domain's
:func:`~wangge.training.domain.programmes.progress`, as in the records.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa

from wangge.events import RecordedEvent
from wangge.events.db import insert_many
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.governance.columns import TIME as TIME_COLUMN
from wangge.governance.times import CHINA, local_day, stored, utc
from wangge.training.domain import handbooks as h
from wangge.training.domain import programmes as p
from wangge.training.domain import sessions as s
from wangge.training.domain.received_statements import MAX_IRI, XapiStatementReceived

UUID = sa.Uuid(as_uuid=True)
TIME = TIME_COLUMN
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

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        statements = sa.Table(
            f"xapi_statements{suffix}",
            metadata,
            sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("statement_id", UUID, nullable=False, unique=True),
            # a worker's id, or the pseudonymous id of a received statement's actor
            sa.Column("actor_id", UUID, nullable=False, index=True),
            sa.Column("verb", sa.String(MAX_IRI), nullable=False, index=True),
            sa.Column("activity", sa.String(MAX_IRI), nullable=False, index=True),
            sa.Column("body", sa.JSON, comment="a derived statement, but for actor, authority"),
            sa.Column("timestamp", TIME, nullable=False),
            sa.Column("stored", TIME, nullable=False, index=True),
            sa.Column("voided_by", UUID),
            sa.Column("voids", UUID, index=True),
            sa.Column("object_type", sa.String(20)),
            sa.Column("registration", UUID, index=True),
            sa.Column("authority", sa.String(200), comment="who sent a received statement"),
            sa.Column("digest", sa.String(64), comment="a received statement's compared content"),
            sa.Column("sealed", sa.JSON, comment="a received statement, as its event seals it"),
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

    async def apply_many(
        self, ctx: ApplyContext, events: Sequence[RecordedEvent], new_streams: set[str]
    ) -> None:
        """The batch's statements decided in memory, in the events' order, then written once
        per table: what the batch needs from earlier batches is read first, in a few queries."""
        batch = _Batch(ctx)
        await batch.load(events)
        for event in events:
            batch.apply(event)
        await batch.flush()

    @handles(
        s.TrainingSessionScheduled, s.TrainingSessionRescheduled, p.ProgrammeDefined,
        p.WorkerEnrolledInProgramme, h.HandbookEditionPublished, s.AttendanceRecorded,
        s.AssessmentRecorded, h.HandbookAcknowledged, XapiStatementReceived,
    )  # fmt: skip
    async def on_event(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        """One event is a batch of one: the batch decides every statement."""
        await self.apply_many(ctx, [event], set())


Pair = tuple[uuid.UUID, uuid.UUID]
"""A programme and a worker."""


class _Batch:
    """One batch of events: the rows it reads, changed in memory, and written at the end."""

    def __init__(self, ctx: ApplyContext) -> None:
        self.ctx = ctx
        self.sessions: dict[uuid.UUID, dict[str, Any]] = {}
        self.new_sessions: set[uuid.UUID] = set()
        self.moved_sessions: set[uuid.UUID] = set()
        self.programmes: dict[uuid.UUID, p.ProgrammeDefined] = {}
        self.new_programmes: list[dict[str, Any]] = []
        self.members: dict[Pair, date] = {}
        self.changed_members: set[Pair] = set()
        self.credits: dict[Pair, dict[uuid.UUID, dict[str, Any]]] = {}
        self.stored_credits: set[tuple[uuid.UUID, uuid.UUID]] = set()
        self.changed_credits: set[tuple[uuid.UUID, uuid.UUID]] = set()
        self.titles: dict[tuple[uuid.UUID, int], str] = {}
        self.new_handbooks: list[dict[str, Any]] = []
        self.current: dict[str, uuid.UUID | None] = {}
        self.changed_subjects: set[str] = set()
        self.known: dict[uuid.UUID, tuple[Any, str]] = {}  # statement -> worker, timestamp
        self.new_statements: list[dict[str, Any]] = []
        self.voided: dict[uuid.UUID, uuid.UUID] = {}  # earlier batches' statements voided here
        self.voiders: dict[uuid.UUID, uuid.UUID] = {}  # received statement -> what voids it

    # reading what the batch needs -----------------------------------------------------------

    async def load(self, events: Sequence[RecordedEvent]) -> None:
        t, conn = self.ctx.tables, self.ctx.conn
        received = {
            e.data.statement_id for e in events if isinstance(e.data, XapiStatementReceived)
        }
        if received:  # a voiding statement may have come before the statement it voids
            st = t["statements"]
            for row in await conn.execute(
                sa.select(st.c.statement_id, st.c.voids).where(st.c.voids.in_(received))
            ):
                self.voiders[row.voids] = row.statement_id
        scheduled = {
            e.data.session_id for e in events if isinstance(e.data, s.TrainingSessionScheduled)
        }
        wanted = {
            e.data.session_id
            for e in events
            if isinstance(e.data, s.AttendanceRecorded | s.AssessmentRecorded
                          | s.TrainingSessionRescheduled)
        } - scheduled  # fmt: skip
        await self._load_sessions(wanted)
        for e in events:
            if isinstance(e.data, s.TrainingSessionScheduled):
                self.sessions[e.data.session_id] = {"programme_id": e.data.programme_id}
        pairs: set[Pair] = set()
        for e in events:
            d: Any = e.data
            if isinstance(d, p.WorkerEnrolledInProgramme):
                pairs.add((d.programme_id, d.worker_id))
            elif isinstance(d, s.AttendanceRecorded | s.AssessmentRecorded):
                programme_id = self.sessions[d.session_id]["programme_id"]
                if programme_id is not None:
                    pairs.add((programme_id, d.worker_id))
        programme_ids = {pair[0] for pair in pairs}
        defined = {e.data.programme_id for e in events if isinstance(e.data, p.ProgrammeDefined)}
        if programme_ids - defined:
            pr = t["programmes"]
            for row in await conn.execute(
                sa.select(pr).where(pr.c.programme_id.in_(programme_ids - defined))
            ):
                self.programmes[row.programme_id] = p.ProgrammeDefined.model_validate(
                    row.definition
                )
        if pairs:
            m, cr = t["members"], t["credits"]
            for row in await conn.execute(
                sa.select(m).where(sa.tuple_(m.c.programme_id, m.c.worker_id).in_(pairs))
            ):
                self.members[(row.programme_id, row.worker_id)] = row.enrolled_on
            held = (
                await conn.execute(
                    sa.select(cr).where(sa.tuple_(cr.c.programme_id, cr.c.worker_id).in_(pairs))
                )
            ).all()
            await self._load_sessions({r.session_id for r in held} - set(self.sessions))
            for row in held:
                pair = (row.programme_id, row.worker_id)
                self.credits.setdefault(pair, {})[row.session_id] = {
                    "attended": row.attended, "score_percent": row.score_percent,
                }  # fmt: skip
                self.stored_credits.add((row.session_id, row.worker_id))
        subjects = {_subject(e) for e in events} - {None}
        for programme_id, worker in pairs:
            subjects |= set(self._completion_subjects(programme_id, worker, events))
        await self._load_current({x for x in subjects if x is not None})
        editions = {
            (e.data.handbook_id, e.data.edition)
            for e in events
            if isinstance(e.data, h.HandbookAcknowledged)
        }
        if editions:
            hb = t["handbooks"]
            for row in await conn.execute(
                sa.select(hb).where(sa.tuple_(hb.c.handbook_id, hb.c.edition).in_(editions))
            ):
                self.titles[(row.handbook_id, row.edition)] = row.title

    async def _load_sessions(self, ids: set[uuid.UUID]) -> None:
        if not ids:
            return
        se = self.ctx.tables["sessions"]
        for row in await self.ctx.conn.execute(sa.select(se).where(se.c.session_id.in_(ids))):
            self.sessions[row.session_id] = dict(row._mapping)

    def _completion_subjects(
        self, programme_id: uuid.UUID, worker: uuid.UUID, events: Sequence[RecordedEvent]
    ) -> list[str]:
        codes: set[str] = set()
        definition = self.programmes.get(programme_id)
        if definition is not None:
            codes |= {m.code for m in definition.modules}
        for e in events:
            if isinstance(e.data, p.ProgrammeDefined) and e.data.programme_id == programme_id:
                codes |= {m.code for m in e.data.modules}
        return [_completion(programme_id, worker, f"module:{c}") for c in codes] + [
            _completion(programme_id, worker, "programme")
        ]

    async def _load_current(self, subjects: set[str]) -> None:
        if not subjects:
            return
        c, st = self.ctx.tables["current"], self.ctx.tables["statements"]
        rows = (
            await self.ctx.conn.execute(
                sa.select(c.c.subject, c.c.statement_id, st.c.actor_id, st.c.timestamp)
                .join(st, st.c.statement_id == c.c.statement_id)
                .where(c.c.subject.in_(subjects))
            )
        ).all()
        for row in rows:
            self.current[row.subject] = row.statement_id
            self.known[row.statement_id] = (row.actor_id, utc(stored(row.timestamp)).isoformat())

    # deciding, in order ---------------------------------------------------------------------

    def apply(self, event: RecordedEvent) -> None:
        d: Any = event.data
        if isinstance(d, s.TrainingSessionScheduled):
            self.sessions[d.session_id] = {
                "session_id": d.session_id, "topic": d.topic, "programme_id": d.programme_id,
                "module_code": d.module_code, "starts_at": utc(d.starts_at),
                "hours": s.session_hours(d.starts_at, d.ends_at),
            }  # fmt: skip
            self.new_sessions.add(d.session_id)
        elif isinstance(d, s.TrainingSessionRescheduled):
            self.sessions[d.session_id] |= {
                "starts_at": utc(d.starts_at), "hours": s.session_hours(d.starts_at, d.ends_at),
            }  # fmt: skip
            self.moved_sessions.add(d.session_id)
        elif isinstance(d, p.ProgrammeDefined):
            self.programmes[d.programme_id] = d
            self.new_programmes.append(
                {"programme_id": d.programme_id, "name": d.name,
                 "definition": d.model_dump(mode="json")}
            )  # fmt: skip
        elif isinstance(d, p.WorkerEnrolledInProgramme):
            self.members[(d.programme_id, d.worker_id)] = d.on
            self.changed_members.add((d.programme_id, d.worker_id))
            self._completions(event, d.programme_id, d.worker_id)
        elif isinstance(d, h.HandbookEditionPublished):
            self.titles[(d.handbook_id, d.edition)] = d.title
            self.new_handbooks.append(
                {"handbook_id": d.handbook_id, "edition": d.edition, "title": d.title}
            )
        elif isinstance(d, s.AttendanceRecorded):
            self._attendance(event, d)
        elif isinstance(d, s.AssessmentRecorded):
            self._assessment(event, d)
        elif isinstance(d, XapiStatementReceived):
            self._received(event, d)
        elif isinstance(d, h.HandbookAcknowledged):
            title = self.titles.get((d.handbook_id, d.edition), "")
            self._state(
                event, subject=_subject(event) or "", worker_id=d.worker_id, verb="acknowledged",
                activity=_activity(handbook_iri(d.handbook_id, d.edition), title, BOOK),
                result=None, timestamp=event.envelope.time, context={},
            )  # fmt: skip

    def _received(self, event: RecordedEvent, d: XapiStatementReceived) -> None:
        self.new_statements.append(
            {
                **_NO_RECEIPT, "statement_id": d.statement_id, "actor_id": d.actor_id,
                "verb": d.verb, "activity": d.activity or "", "body": None,
                "timestamp": utc(d.timestamp), "stored": utc(event.envelope.time),
                "voided_by": self.voiders.get(d.statement_id), "voids": d.voids,
                "object_type": d.object_type, "registration": d.registration,
                "authority": d.authority, "digest": d.digest,
                "sealed": d.sealed.model_dump(mode="json"),
            }
        )  # fmt: skip
        self.known[d.statement_id] = (d.actor_id, utc(d.timestamp).isoformat())
        if d.voids is None:
            return
        self.voiders[d.voids] = d.statement_id
        fresh = next((r for r in self.new_statements if r["statement_id"] == d.voids), None)
        if fresh is not None:
            fresh["voided_by"] = d.statement_id
        else:
            self.voided[d.voids] = d.statement_id

    def _attendance(self, event: RecordedEvent, d: s.AttendanceRecorded) -> None:
        session = self.sessions[d.session_id]
        attended = d.attendance in s.ATTENDED
        result: dict[str, Any] = {"completion": attended}
        if attended:
            result["duration"] = _duration(session["hours"])
        if d.attendance == s.Attendance.LATE:
            result["extensions"] = {"urn:wangge:xapi:ext:late": True}
        self._state(
            event, subject=_subject(event) or "", worker_id=d.worker_id,
            verb="attended" if attended else str(d.attendance),
            activity=_activity(session_iri(d.session_id), session["topic"], MEETING),
            result=result, timestamp=session["starts_at"], context=_context(session),
        )  # fmt: skip
        if session["programme_id"] is not None:
            self._credit(session, d.worker_id, attended=attended)
            self._completions(event, session["programme_id"], d.worker_id)

    def _assessment(self, event: RecordedEvent, d: s.AssessmentRecorded) -> None:
        session = self.sessions[d.session_id]
        score = {"raw": d.score, "min": 0, "max": d.max_score, "scaled": d.score / d.max_score}
        self._state(
            event, subject=_subject(event) or "", worker_id=d.worker_id, verb="scored",
            activity=_activity(session_iri(d.session_id), session["topic"], MEETING),
            result={"score": score}, timestamp=event.envelope.time, context=_context(session),
        )  # fmt: skip
        if session["programme_id"] is not None:
            self._credit(session, d.worker_id, score_percent=100 * d.score / d.max_score)
            self._completions(event, session["programme_id"], d.worker_id)

    def _credit(self, session: dict[str, Any], worker_id: uuid.UUID, **values: Any) -> None:
        pair = (session["programme_id"], worker_id)
        rows = self.credits.setdefault(pair, {})
        row = rows.setdefault(session["session_id"], {"attended": False, "score_percent": None})
        row.update(values)
        self.changed_credits.add((session["session_id"], worker_id))

    def _completions(
        self, event: RecordedEvent, programme_id: uuid.UUID, worker: uuid.UUID
    ) -> None:
        """State the module and programme completions the worker has now, void those undone."""
        enrolled_on = self.members.get((programme_id, worker))
        programme = self.programmes.get(programme_id)
        if enrolled_on is None or programme is None:
            return
        credits = [
            p.Credit(se["module_code"], local_day(se["starts_at"]), se["hours"], c["score_percent"])
            for session_id, c in self.credits.get((programme_id, worker), {}).items()
            if c["attended"] and (se := self.sessions[session_id])
        ]
        made = p.progress(
            programme.modules, ordered=programme.ordered, period_days=programme.period_days,
            enrolled_on=enrolled_on, credits=credits,
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
            subject = _completion(programme_id, worker, what)
            held = self.current.get(subject)
            if completed_on is None:
                if held is not None:
                    self._void(event, subject, held)
                continue
            if held is not None:
                if self.known[held][1].startswith(_noon(completed_on).isoformat()[:10]):
                    continue  # completed before, on the same day: nothing new to state
                self._void(event, subject, held)
            self._state(
                event, subject=subject, worker_id=worker, verb="completed", activity=activity,
                result={"completion": True, "success": True}, timestamp=_noon(completed_on),
                context=context, replace=False,
            )  # fmt: skip

    def _state(
        self,
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
            held = self.current.get(subject)
            if held is not None:
                self._void(event, subject, held)
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
        self._insert(statement_id, worker_id, verb_iri, activity["id"], body, event)
        self.current[subject] = statement_id
        self.changed_subjects.add(subject)

    def _void(self, event: RecordedEvent, subject: str, target: uuid.UUID) -> None:
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
        worker = self.known[target][0]
        self._insert(statement_id, worker, verb_iri, str(target), body, event, voids=target)
        fresh = next((r for r in self.new_statements if r["statement_id"] == target), None)
        if fresh is not None:
            fresh["voided_by"] = statement_id
        else:
            self.voided[target] = statement_id
        self.current[subject] = None
        self.changed_subjects.add(subject)

    def _insert(
        self,
        statement_id: uuid.UUID,
        worker_id: Any,
        verb: str,
        activity: str,
        body: dict[str, Any],
        event: RecordedEvent,
        voids: uuid.UUID | None = None,
    ) -> None:
        self.new_statements.append(
            {
                **_NO_RECEIPT, "statement_id": statement_id, "actor_id": worker_id, "verb": verb,
                "activity": activity, "body": body,
                "timestamp": datetime.fromisoformat(body["timestamp"]),
                "stored": utc(event.envelope.time), "voided_by": None, "voids": voids,
            }
        )  # fmt: skip
        self.known[statement_id] = (worker_id, body["timestamp"])

    # writing, once per table ----------------------------------------------------------------

    async def flush(self) -> None:
        t, conn = self.ctx.tables, self.ctx.conn
        await insert_many(
            conn, t["sessions"],
            [{k: self.sessions[i][k] for k in _SESSION_COLUMNS} for i in self.new_sessions],
        )  # fmt: skip
        se = t["sessions"]
        for moved in self.moved_sessions - self.new_sessions:
            row = self.sessions[moved]
            await conn.execute(
                sa.update(se)
                .where(se.c.session_id == moved)
                .values(starts_at=row["starts_at"], hours=row["hours"])
            )
        await insert_many(conn, t["programmes"], self.new_programmes)
        await insert_many(conn, t["handbooks"], self.new_handbooks)
        m = t["members"]
        if self.changed_members:
            await conn.execute(
                sa.delete(m).where(
                    sa.tuple_(m.c.programme_id, m.c.worker_id).in_(self.changed_members)
                )
            )
            await insert_many(
                conn, m,
                [{"programme_id": pr, "worker_id": w, "enrolled_on": self.members[(pr, w)]}
                 for pr, w in self.changed_members],
            )  # fmt: skip
        cr = t["credits"]
        stale = self.changed_credits & self.stored_credits
        if stale:
            await conn.execute(
                sa.delete(cr).where(sa.tuple_(cr.c.session_id, cr.c.worker_id).in_(stale))
            )
        await insert_many(conn, cr, [
            {"session_id": session_id, "worker_id": worker,
             "programme_id": self.sessions[session_id]["programme_id"],
             **self.credits[(self.sessions[session_id]["programme_id"], worker)][session_id]}
            for session_id, worker in self.changed_credits
        ])  # fmt: skip
        await insert_many(conn, t["statements"], self.new_statements)
        st = t["statements"]
        for target, by in self.voided.items():
            await conn.execute(
                sa.update(st).where(st.c.statement_id == target).values(voided_by=by)
            )
        c = t["current"]
        if self.changed_subjects:
            await conn.execute(sa.delete(c).where(c.c.subject.in_(self.changed_subjects)))
            await insert_many(
                conn, c,
                [{"subject": x, "statement_id": self.current[x]}
                 for x in self.changed_subjects if self.current[x] is not None],
            )  # fmt: skip


_NO_RECEIPT: dict[str, Any] = dict.fromkeys(
    ("object_type", "registration", "authority", "digest", "sealed")
)
"""A derived statement's values of the received statements' columns."""

_SESSION_COLUMNS = ("session_id", "topic", "programme_id", "module_code", "starts_at", "hours")


def _subject(event: RecordedEvent) -> str | None:
    """What a statement made from the event is about (a later one about it voids it)."""
    d: Any = event.data
    if isinstance(d, s.AttendanceRecorded):
        return f"attendance:{d.session_id}:{d.worker_id}"
    if isinstance(d, s.AssessmentRecorded):
        return f"score:{d.session_id}:{d.worker_id}"
    if isinstance(d, h.HandbookAcknowledged):
        return f"handbook:{d.handbook_id}:{d.edition}:{d.worker_id}"
    return None


def _completion(programme_id: uuid.UUID, worker: uuid.UUID, what: str) -> str:
    return f"completion:{programme_id}:{worker}:{what}"


def _context(session: dict[str, Any]) -> dict[str, Any]:
    if session["programme_id"] is None:
        return {}
    return {
        "contextActivities": {
            "parent": [{"id": module_iri(session["programme_id"], session["module_code"])}],
            "grouping": [{"id": programme_iri(session["programme_id"])}],
        }
    }


def _duration(hours: float) -> str:
    minutes = round(hours * 60)
    return f"PT{minutes // 60}H{minutes % 60}M"


def _noon(day: date) -> datetime:
    """A completion's timestamp: the day it happened, noon in the subdistrict."""
    return datetime.combine(day, time(12), tzinfo=CHINA)
