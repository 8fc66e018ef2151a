"""The cases read model folds the cases that start in a batch (a reaction's tickets, a rebuild)
in memory: the rows are the ones applying each event one by one leaves, mediation included."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.cases.domain import cases, mediation
from wangge.cases.projections.cases import Cases
from wangge.events import DomainEvent, default_catalogue
from wangge.events.projection import Projection, ProjectionRunner
from wangge.events.sources import StoreSource
from wangge.events.store import StreamAppend, open_store

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
Step = Callable[[cases.Case], list[DomainEvent]]


class OneByOne(Cases):
    name = "cases_cases_one_by_one"
    apply_many = Projection.apply_many

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        return super().define_tables(metadata, f"_one{suffix}")


def _dispute(n: int) -> list[Step]:
    parties = [uuid.uuid4(), uuid.uuid4()]
    signed_on = NOW.date()

    def party(k: int, role: str) -> Step:
        return lambda c: mediation.join_party(
            c, party_id=parties[k], role=role, name_masked="王**",  # type: ignore[arg-type]
            resident=f"p-{n}-{k}", outside=None,
        )  # fmt: skip

    def session(mediator: str, summary: str, signed_by: list[uuid.UUID]) -> Step:
        return lambda c: mediation.hold_session(
            c, session_id=uuid.uuid4(), held_at=NOW, place="调解室", attendees=parties,
            mediators=[mediator], summary=summary, signed_by=signed_by, now=NOW, seal=None,
        )  # fmt: skip

    return [
        lambda c: cases.accept(c, account="w1"),
        party(0, "applicant"),
        party(1, "respondent"),
        lambda c: mediation.appoint_mediator(c, mediator="刘", organisation="调委会"),
        lambda c: mediation.appoint_mediator(c, mediator="陈", organisation="调委会"),
        session("刘", "s", parties),
        session("陈", "s2", parties[:1]),
        lambda c: mediation.sign_agreement(
            c,
            agreement_id=uuid.uuid4(),
            signed_by=parties,
            facts="f",
            dispute="d",
            responsibilities="r",
            terms="t",
            performance="p",
            perform_by=signed_on,
            signed_on=signed_on,
            seal=None,
        ),
        lambda c: cases.resolve(c, resolution="调解成功", solved=True, at_source=True, seal=None),
        lambda c: mediation.follow_up_agreement(c, honoured=n % 2 == 0, note="回访", seal=None),
    ]


def _complaint(n: int) -> list[Step]:
    steps: list[Step] = [
        lambda c: cases.assign(c, worker_id=uuid.uuid4(), account="w2", reason="改派"),
        lambda c: cases.accept(c, account="w2"),
        lambda c: cases.note_progress(c, "已上门", seal=None),
        lambda c: cases.assign(c, worker_id=uuid.uuid4(), account="w3", reason="改派"),
    ]
    if n % 4 == 1:
        return steps  # reassigned while in progress: it stays in progress
    steps += [
        lambda c: cases.resolve(
            c, resolution="已处理", solved=True, at_source=n % 2 == 0, seal=None
        ),
        lambda c: cases.close(c, None, seal=None),
    ]
    if n % 3 == 0:
        steps += [
            lambda c: cases.reopen(c, "重办", seal=None),
            lambda c: cases.resolve(
                c, resolution="再次处理", solved=True, at_source=True, seal=None
            ),
            lambda c: cases.follow_up(c, satisfied=True, note="满意", seal=None),
            lambda c: cases.reopen(c, "再重办", seal=None),
        ]
    return steps


def _life(n: int) -> StreamAppend:
    """A case's life: opened and assigned together (as a reaction appends them), then worked;
    every other one a mediated dispute."""
    dispute = n % 2 == 0
    opened = cases.open_case(
        case_id=uuid.uuid4(), kind=cases.CaseKind.DISPUTE if dispute else cases.CaseKind.COMPLAINT,
        source=cases.Source.VISIT, title=f"case {n}", description="", grid_id=uuid.uuid4(),
        now=NOW, deadline=NOW + timedelta(days=30),
    )  # fmt: skip
    events = cases.with_worker(opened, (uuid.uuid4(), "w1"))
    state: cases.Case | None = None
    for version, event in enumerate(events, 1):
        state = cases.evolve(state, event, version)
    for step in _dispute(n) if dispute else _complaint(n):
        assert state is not None
        for event in step(state):
            events.append(event)
            state = cases.evolve(state, event, len(events))
    return StreamAppend(cases.stream_id(opened.case_id), events, 0)


async def _rows(engine: AsyncEngine, runner: ProjectionRunner) -> dict[str, list[dict[str, Any]]]:
    tables = runner.projection.tables(runner.generation)
    found = {}
    async with engine.connect() as conn:
        for name, table in tables.items():
            keys = list(table.primary_key.columns)
            rows = await conn.execute(sa.select(table).order_by(*keys))
            found[name] = [dict(r._mapping) for r in rows]
    return found


async def test_folded_cases_are_the_rows_one_by_one_leaves(engine: AsyncEngine) -> None:
    store = open_store(engine, service="cases", catalogue=default_catalogue)
    await store.create_schema()
    lives = [_life(n) for n in range(12)]
    async with store.begin() as conn:
        await store.append_batch(lives, connection=conn)
    snapshots = []
    # every case new in one batch; cases across batches; one event at a time
    for projection, batch in ((Cases(), 500), (Cases(), 7), (OneByOne(), 500)):
        runner = ProjectionRunner(
            projection, engine=engine, source=StoreSource(store, idle_seconds=0),
            batch_size=batch,
        )  # fmt: skip
        await runner.rebuild()
        snapshots.append(await _rows(engine, runner))
    folded, straddling, one_by_one = snapshots
    assert len(folded["cases"]) == 12 and len(folded["parties"]) == 12
    assert len(folded["sessions"]) == 12
    statuses = {r["status"] for r in folded["cases"]}
    assert statuses == {"in_progress", "closed", "resolved"}
    assert sum(r["status"] == "in_progress" and r["reopened"] == 0 for r in folded["cases"]) == 3
    assert {r["account"] for r in folded["cases"]} == {"w1", "w3"}
    assert sorted(r["reopened"] for r in folded["cases"]) == [0] * 11 + [2]
    assert all(r["mediators"] == ["刘", "陈"] for r in folded["cases"] if r["kind"] == "dispute")
    assert folded == one_by_one
    assert straddling == one_by_one
