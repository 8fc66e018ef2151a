"""A reacting projection (a policy) appends once per cause, many causes to a transaction, also
when one of its handlers writes before another appends; when a younger transaction extends a
stream the transaction appends to (PostgreSQL refuses that append), the runner reacts one event
at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import ClassVar

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events import DomainEvent, RecordedEvent
from wangge.events.command import react
from wangge.events.db import create_engine
from wangge.events.projection import (
    REACTIONS_PER_TRANSACTION,
    ApplyContext,
    Projection,
    ProjectionRunner,
    handles,
)
from wangge.events.sources import StoreSource
from wangge.events.store import EventStore, open_store
from wangge.events.testing import PgEngineFactory

from events_samples import Counted, HouseholdRegistered, catalogue

# every test here runs with the fast paths on and with their slow twins (DESIGN section 4)
pytestmark = pytest.mark.usefixtures("fast_and_slow")

STREAMS = 10
EACH = 7
EVERY_COUNT_ECHOED = {f"c-{s}": list(range(EACH)) for s in range(STREAMS)}


def _count(state: int | None, event: DomainEvent, version: int) -> int:
    return version


class Echo(Projection):
    """Each ``Counted`` of a source stream is echoed to ``echo-<stream>``; a registration is
    only noted in the projection's own table (a write that is not an append)."""

    name = "echo"
    reacts: ClassVar[bool] = True

    def __init__(self, name: str, target: EventStore, *, overtake: bool = False) -> None:
        super().__init__(catalogue)
        self.name = name  # type: ignore[misc]
        self.target = target
        self.overtake = overtake
        """Once, while noting c-0's registration, a younger transaction extends echo-c-1."""

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        return {
            "noted": sa.Table(
                f"{self.name}_noted{suffix}",
                metadata,
                sa.Column("stream_id", sa.String(200), primary_key=True),
            )
        }

    @handles(Counted)
    async def on_counted(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        assert isinstance(event.data, Counted)
        n = event.data.n
        await react(
            self.target, ctx.conn, event, f"echo-{event.stream_id}", _count,
            lambda state, version: [Counted(n=n)], actor="test",
        )  # fmt: skip

    @handles(HouseholdRegistered)
    async def on_registered(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        await ctx.conn.execute(sa.insert(ctx.tables["noted"]).values(stream_id=event.stream_id))
        if self.overtake and event.stream_id == "c-0":
            self.overtake = False
            async with self.target.begin() as younger:
                await self.target.append(
                    "echo-c-1",
                    [HouseholdRegistered(household_id="x", dwelling="d")],
                    expected_version=None,
                    connection=younger,
                )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def make_engine(request: pytest.FixtureRequest, tmp_path: Path) -> PgEngineFactory:
    """Makes an engine on a database of its own (a file, or a PostgreSQL schema)."""
    if request.param == "postgres":
        return request.getfixturevalue("pg_engine_factory")  # type: ignore[no-any-return]
    made: list[int] = []

    async def make() -> AsyncEngine:
        made.append(1)
        return create_engine(f"sqlite+aiosqlite:///{tmp_path / f'db{len(made)}.db'}")

    return make


@pytest.fixture
async def engines(make_engine: PgEngineFactory) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """The source service's engine and the reacting service's."""
    pair = (await make_engine(), await make_engine())
    yield pair
    for engine in pair:
        await engine.dispose()


async def _run(
    engines: tuple[AsyncEngine, AsyncEngine], *, registrations: bool, overtake: bool = False
) -> tuple[EventStore, int]:
    source_engine, target_engine = engines
    source = open_store(source_engine, service="source", catalogue=catalogue)
    target = open_store(target_engine, service="target", catalogue=catalogue)
    await source.create_schema()
    await target.create_schema()
    for n in range(EACH):
        for s in range(STREAMS):
            events: list[DomainEvent] = [Counted(n=n)]
            if registrations and n == 0:
                events.insert(0, HouseholdRegistered(household_id=str(s), dwelling="d"))
            await source.append(f"c-{s}", events, expected_version=None)
    commits = 0

    def counted(*_: object) -> None:
        nonlocal commits
        commits += 1

    sa.event.listen(target_engine.sync_engine, "commit", counted)
    runner = ProjectionRunner(
        Echo("echo_t", target, overtake=overtake), engine=target_engine,
        source=StoreSource(source, idle_seconds=0), batch_size=500,
    )  # fmt: skip
    await runner.start()
    while await runner.run_once():
        pass
    await runner.stop()
    sa.event.remove(target_engine.sync_engine, "commit", counted)
    return target, commits


async def _echoes(target: EventStore) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for s in range(STREAMS):
        events = await target.read_stream(f"echo-c-{s}")
        found[f"c-{s}"] = [e.data.n for e in events if isinstance(e.data, Counted)]
    return found


@pytest.mark.fast_path  # counts the transactions reactions share
async def test_reactions_share_transactions_and_each_cause_appends_once(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    target, commits = await _run(engines, registrations=False)
    assert await _echoes(target) == EVERY_COUNT_ECHOED
    # 70 causes: a few shared transactions, not one each
    assert commits <= -(-STREAMS * EACH // REACTIONS_PER_TRANSACTION) + 1
    runner = ProjectionRunner(
        Echo("echo_t", target), engine=engines[1],
        source=StoreSource(open_store(engines[0], service="source", catalogue=catalogue),
                           idle_seconds=0),
    )  # fmt: skip
    await runner.rebuild()  # replaying every cause reacts to none of them again
    assert await _echoes(target) == EVERY_COUNT_ECHOED


@pytest.mark.fast_path  # counts the transactions reactions share
async def test_a_write_before_an_append_shares_the_transaction(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    target, commits = await _run(engines, registrations=True)
    assert await _echoes(target) == EVERY_COUNT_ECHOED
    assert commits <= -(-STREAMS * (EACH + 1) // REACTIONS_PER_TRANSACTION) + 1


@pytest.mark.postgres  # SQLite has one writer at a time: no younger transaction overtakes
async def test_a_stream_extended_by_a_younger_transaction_falls_back_to_one_event_per_transaction(
    pg_engine_factory: PgEngineFactory,
) -> None:
    engines = (await pg_engine_factory(), await pg_engine_factory())
    try:
        target, commits = await _run(engines, registrations=True, overtake=True)
        assert await _echoes(target) == EVERY_COUNT_ECHOED
        # the piece holding the overtaken append was refused together, then ran one by one
        assert commits >= REACTIONS_PER_TRANSACTION
    finally:
        for engine in engines:
            await engine.dispose()
