"""Rebuilding the training read models from the log: a rebuild that folds new streams in memory
leaves exactly the rows that applying the events one by one leaves."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa

from wangge.events import RecordedEvent
from wangge.events.command import unit_of_work
from wangge.events.projection import ApplyContext, Projection, ProjectionRunner
from wangge.events.sources import StoreSource
from wangge.training.domain.sessions import AssessmentRecorded, Attendance, AttendanceRecorded
from wangge.training.projections.sessions import Sessions
from wangge.training.projections.statements import Statements
from wangge.training.synthetic import year_of_training

from duo_support import Duo


class OneByOne(Sessions):
    """The same read model, applied event by event (the base class's way)."""

    name = "training_sessions_one_by_one"
    apply_many = Projection.apply_many

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        return super().define_tables(metadata, f"_one{suffix}")


class StatementsOneByOne(Statements):
    """The statements decided one event at a time (batches of one)."""

    name = "training_statements_one_by_one"

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        return super().define_tables(metadata, f"_one{suffix}")

    async def apply_many(
        self, ctx: ApplyContext, events: Sequence[RecordedEvent], new_streams: set[str]
    ) -> None:
        for event in events:
            await super().apply_many(ctx, [event], set())


async def _rows(duo: Duo, runner: ProjectionRunner) -> dict[str, list[Any]]:
    engine = duo.training.app.state.service.engine
    out: dict[str, list[Any]] = {}
    async with engine.connect() as conn:
        for name, table in runner.projection.tables(runner.generation).items():
            keys = [c for c in table.primary_key.columns]
            rows = (await conn.execute(sa.select(table).order_by(*keys))).all()
            out[name] = [dict(r._mapping) for r in rows]
    return out


async def test_a_folded_rebuild_leaves_the_rows_one_by_one_leaves(duo: Duo) -> None:
    state = duo.training.app.state.service
    workers = [uuid.UUID(int=n + 1, version=4) for n in range(5)]
    year = year_of_training(workers, ends_on=date(2026, 11, 27))
    async with unit_of_work(state.store, projections=list(state.projections.values())) as unit:
        for append in year:
            await unit.append(append.stream_id, append.events, expected_version=0)
    # corrections in later transactions: statements voided, completions undone and restated
    exams = [a for a in year if any(isinstance(e, AssessmentRecorded) for e in a.events)]
    for append in exams[:2]:
        session_id = uuid.UUID(append.stream_id.removeprefix("session-"))
        corrections = [
            AttendanceRecorded(session_id=session_id, worker_id=w, attendance=a, recorded_by="t")
            for w in workers[:3]
            for a in (Attendance.EXCUSED, Attendance.PRESENT)
        ] + [
            AssessmentRecorded(session_id=session_id, worker_id=w, score=95, max_score=100,
                               recorded_by="t")
            for w in workers[:3]
        ]  # fmt: skip
        async with unit_of_work(state.store, projections=list(state.projections.values())) as unit:
            await unit.append(append.stream_id, corrections, expected_version=len(append.events))
    snapshots = []
    pairs = ((Sessions(), OneByOne()), (Statements(), StatementsOneByOne()))
    for projection in [x for pair in pairs for x in pair]:
        runner = ProjectionRunner(
            projection, engine=state.engine, source=StoreSource(state.store, idle_seconds=0),
            batch_size=500,
        )  # fmt: skip
        await runner.rebuild()
        snapshots.append(await _rows(duo, runner))
    sessions, sessions_one_by_one, statements, statements_one_by_one = snapshots
    assert len(sessions["attendance"]) == 24 * 5
    assert sessions == sessions_one_by_one
    assert len(statements["statements"]) > 24 * 5
    assert sum(1 for row in statements["statements"] if row["voided_by"] is not None) >= 12
    assert statements == statements_one_by_one
