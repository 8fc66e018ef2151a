"""Rebuilding the training read models from the log: a rebuild that folds new streams in memory
leaves exactly the rows that applying the events one by one leaves."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

import sqlalchemy as sa

from wangge.events.command import unit_of_work
from wangge.events.projection import Projection, ProjectionRunner, StoreSource
from wangge.training.projections.sessions import Sessions
from wangge.training.synthetic import year_of_training

from training_support import Duo


class OneByOne(Sessions):
    """The same read model, applied event by event (the base class's way)."""

    name = "training_sessions_one_by_one"
    apply_many = Projection.apply_many

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        return super().define_tables(metadata, f"_one{suffix}")


async def _rows(duo: Duo, runner: ProjectionRunner) -> dict[str, list[Any]]:
    engine = duo.training.app.state.service.engine
    out: dict[str, list[Any]] = {}
    async with engine.connect() as conn:
        for name, table in runner.projection.tables(runner.generation).items():
            keys = [c for c in table.primary_key.columns]
            rows = (await conn.execute(sa.select(table).order_by(*keys))).all()
            out[name] = [tuple(r) for r in rows]
    return out


async def test_a_folded_rebuild_leaves_the_rows_one_by_one_leaves(duo: Duo) -> None:
    state = duo.training.app.state.service
    workers = [uuid.UUID(int=n + 1, version=4) for n in range(5)]
    async with unit_of_work(state.store, projections=list(state.projections.values())) as unit:
        for append in year_of_training(workers, ends_on=date(2026, 11, 27)):
            await unit.append(append.stream_id, append.events, expected_version=0)
    snapshots = []
    for projection in (Sessions(), OneByOne()):
        runner = ProjectionRunner(
            projection, engine=state.engine, source=StoreSource(state.store, idle_seconds=0),
            batch_size=500,
        )  # fmt: skip
        await runner.rebuild()
        snapshots.append(await _rows(duo, runner))
    folded, one_by_one = snapshots
    assert len(folded["attendance"]) == 24 * 5
    assert folded == one_by_one
