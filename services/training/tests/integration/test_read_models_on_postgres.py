"""Training's read models on PostgreSQL, written by the handlers in each command's transaction:
a corrected attendance and score replace the rows and void the statements they replace, and a
rebuild from the event table leaves the rows the commands left; so do the statements received
from providers, whose actors the event table keeps only sealed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from wangge.events import Metadata
from wangge.events.command import CommandRunner
from wangge.events.projection import ProjectionRunner, active_tables
from wangge.events.sources import StoreSource
from wangge.training.bootstrap import TrainingCore
from wangge.training.domain import handbooks as h
from wangge.training.domain import sessions as s
from wangge.training.domain.xapi_rules import VOIDED
from wangge.training.handlers import handbooks, sessions
from wangge.training.handlers import received_statements as received
from wangge.training.projections.development import Development
from wangge.training.projections.sessions import Sessions
from wangge.training.projections.statements import Statements

pytestmark = pytest.mark.postgres
STAFF = s.Instructor(name="王科长", kind=s.InstructorKind.STAFF)
Appoint = Callable[[], Awaitable[uuid.UUID]]


def _trainer(core: TrainingCore) -> CommandRunner:
    return core.commands(Metadata(actor="trainer-wang"))


async def _rows(core: TrainingCore, name: str, generation: int | None = None) -> dict[str, Any]:
    projection = core.projection(name)
    async with core.store.engine.connect() as conn:
        tables = (
            projection.tables(generation)
            if generation is not None
            else await active_tables(conn, projection)
        )
        out = {}
        for key, table in tables.items():
            found = await conn.execute(sa.select(table).order_by(*table.primary_key.columns))
            out[key] = [dict(r._mapping) for r in found]
    return out


async def test_corrections_and_a_rebuild_leave_the_rows_the_commands_left(
    core: TrainingCore, appoint: Appoint
) -> None:
    workers = [await appoint(), await appoint()]
    starts_at = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    session_id = await sessions.schedule(
        _trainer(core), core.keyring,
        sessions.SessionCreate(
            topic="消防安全", instructors=[STAFF],
            starts_at=starts_at, ends_at=starts_at + timedelta(hours=2), place="街道会议室",
            capacity=10,
        ),
    )  # fmt: skip
    for attendance in (s.Attendance.PRESENT, s.Attendance.LATE):
        for worker_id in workers:
            await sessions.record_attendance(
                _trainer(core), core,
                sessions.AttendanceSet(attendance=attendance, note="电话13912345678"),
                session_id=session_id, worker_id=worker_id,
            )  # fmt: skip
    for score in (55.0, 80.0):
        await sessions.record_assessment(
            _trainer(core), sessions.AssessmentSet(score=score),
            session_id=session_id, worker_id=workers[0],
        )  # fmt: skip
    edition = handbooks.HandbookCreate(
        title="网格记事簿", sections=[h.Section(title="走访记录", summary="")]
    )
    handbook_id = await handbooks.publish(_trainer(core), edition)
    await handbooks.acknowledge(
        _trainer(core), handbooks.AcknowledgementCreate(worker_id=workers[1]),
        handbook_id=handbook_id,
    )  # fmt: skip

    made = {name: await _rows(core, name) for name in (Sessions.name, Development.name,
                                                        Statements.name)}  # fmt: skip
    attendance = made[Sessions.name]["attendance"]
    assert [(r["attendance"], r["note"]) for r in attendance] == [("late", "电话139****5678")] * 2
    assert [r["score"] for r in made[Sessions.name]["scores"]] == [80.0]
    statements = made[Statements.name]["statements"]
    assert sum(1 for r in statements if r["voided_by"] is not None) == 3  # 2 attended, 1 scored
    assert len(made[Development.name]["acknowledgements"]) == 1

    for name in (Sessions.name, Development.name, Statements.name):
        runner = ProjectionRunner(
            core.projection(name), engine=core.store.engine,
            source=StoreSource(core.store, idle_seconds=0), batch_size=500,
        )  # fmt: skip
        await runner.rebuild()
        assert await _rows(core, name, runner.generation) == made[name], name


async def test_received_statements_keep_no_actor_in_clear_and_a_rebuild_leaves_their_rows(
    core: TrainingCore,
) -> None:
    provider = core.commands(Metadata(actor="xapi-client:xc_platform"))
    actor = {"name": "王芳", "mbox": "mailto:wangfang@example.org"}
    course = {"id": "https://learn.example.org/courses/mediation"}
    completed_id = str(uuid.uuid4())
    completed: dict[str, Any] = {"id": completed_id, "actor": actor, "object": course,
                 "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"}}  # fmt: skip
    voiding = {"actor": actor, "verb": {"id": VOIDED},
               "object": {"objectType": "StatementRef", "id": completed_id}}  # fmt: skip
    # the voiding statement first, in a batch of its own: the target arrives voided
    [voider] = await received.receive(provider, core, [voiding], authority="xc_platform")
    kept = {**completed, "id": str(uuid.uuid4())}
    await received.receive(provider, core, [completed, kept], authority="xc_platform")
    async with core.store.engine.connect() as conn:
        raw = await conn.scalar(
            sa.text(
                "SELECT string_agg(data::text, ' ') FROM events "
                "WHERE type = 'wangge.training.XapiStatementReceived'"
            )
        )
    assert raw is not None
    assert "wangfang" not in raw and "王芳" not in raw
    made = await _rows(core, Statements.name)
    voided = {r["statement_id"]: r["voided_by"] for r in made["statements"]}
    assert voided == {voider: None, uuid.UUID(completed_id): voider, uuid.UUID(kept["id"]): None}
    runner = ProjectionRunner(
        core.projection(Statements.name), engine=core.store.engine,
        source=StoreSource(core.store, idle_seconds=0), batch_size=500,
    )  # fmt: skip
    await runner.rebuild()
    assert await _rows(core, Statements.name, runner.generation) == made


async def test_one_statement_sent_twice_at_once_is_stored_once_on_postgres(
    core: TrainingCore,
) -> None:
    statement_id = uuid.uuid4()
    sent: dict[str, Any] = {"id": str(statement_id), "actor": {"mbox": "mailto:li@example.org"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attended"},
            "object": {"id": "https://learn.example.org/meetings/1"}}  # fmt: skip

    async def send() -> list[uuid.UUID]:
        provider = core.commands(Metadata(actor="xapi-client:xc_platform"))
        return await received.receive(provider, core, [sent], authority="xc_platform")

    first, second = await asyncio.gather(send(), send())
    assert first == second == [statement_id]
    statements = (await _rows(core, Statements.name))["statements"]
    assert [r["statement_id"] for r in statements] == [statement_id]
