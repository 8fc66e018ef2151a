"""The state a projection's readers and reactions share, held in objects rather than in module
globals: the generation memo an engine carries (a swap made by the engine's runner is seen at
once, another process's within the memo's time), and the batch's inline applies a reacting
projection makes once (the same rows as after each reaction)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events import DomainEvent, RecordedEvent
from wangge.events.command import react
from wangge.events.db import create_engine, sqlite_url
from wangge.events.projection import (
    ApplyContext,
    GenerationMemo,
    Projection,
    ProjectionRunner,
    active_generation,
    handles,
)
from wangge.events.runner_state import generation_memo, generations
from wangge.events.sources import StoreSource
from wangge.events.store import EventStore, open_store

from events_projections import CountsProjection
from events_samples import Counted, catalogue

# every test here runs with the fast paths on and with their slow twins (DESIGN section 4)
pytestmark = pytest.mark.usefixtures("fast_and_slow")


async def test_each_engine_carries_its_own_memo_or_the_one_it_was_given(tmp_path: Path) -> None:
    given = GenerationMemo()
    one = create_engine(sqlite_url(tmp_path / "one.db"), generations=given)
    other = create_engine(sqlite_url(tmp_path / "other.db"))
    try:
        assert generation_memo(one) is given
        assert generation_memo(other) not in (None, given)
        async with one.connect() as conn:
            assert generation_memo(conn) is given
        runner = ProjectionRunner(CountsProjection(), engine=other, source=_nowhere(other))
        assert runner.generations is generation_memo(other)
    finally:
        await one.dispose()
        await other.dispose()


def _nowhere(engine: AsyncEngine) -> StoreSource:
    return StoreSource(open_store(engine, service="sample", catalogue=catalogue))


async def test_a_swap_by_the_engines_runner_is_seen_at_once_and_anothers_within_the_memo_time(
    engine: AsyncEngine,
) -> None:
    store = open_store(engine, service="sample", catalogue=catalogue)
    await store.create_schema()
    name = f"memo_{uuid.uuid4().hex[:8]}"
    runner = ProjectionRunner(
        CountsProjection(name), engine=engine, source=StoreSource(store, idle_seconds=0)
    )
    await runner.setup()
    memo = generation_memo(engine)
    assert memo is not None and runner.generations is memo
    memo.seconds = 3600  # however slow the machine, the number read is trusted
    async with engine.connect() as conn:
        assert await active_generation(conn, name) == 1
    assert await runner.rebuild() == 2
    async with engine.connect() as conn:
        assert await active_generation(conn, name) == 2  # the memo forgot generation 1
    # another process's swap, made without this memo: trusted until the memo's time is up
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(generations).where(generations.c.projection == name).values(generation=7)
        )
    async with engine.connect() as conn:
        assert await active_generation(conn, name) == 2
        assert await active_generation(conn, name, fresh=True) == 7
        assert await active_generation(conn, name) == 7


class InlineCounts(CountsProjection):
    inline = True

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.applies = 0

    async def apply_many(
        self, ctx: ApplyContext, events: Sequence[RecordedEvent], new_streams: set[str]
    ) -> None:
        self.applies += 1
        await super().apply_many(ctx, events, new_streams)


def _version(state: int | None, event: DomainEvent, version: int) -> int:
    return version


class Echo(Projection):
    """Each ``Counted`` of a source stream is echoed to ``echo-<stream>`` of the target store,
    whose inline projection counts it."""

    name = "echo"
    reacts: ClassVar[bool] = True

    def __init__(self, name: str, target: EventStore, counts: InlineCounts, once: bool) -> None:
        super().__init__(catalogue)
        self.name = name  # type: ignore[misc]
        self.target = target
        self.counts = counts
        self.inline_once = once  # type: ignore[misc]

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        column = sa.Column("stream_id", sa.String(200), primary_key=True)
        return {"unused": sa.Table(f"{self.name}_unused{suffix}", metadata, column)}

    @handles(Counted)
    async def on_counted(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        assert isinstance(event.data, Counted)
        n = event.data.n
        await react(
            self.target, ctx.conn, event, f"echo-{event.stream_id}", _version,
            lambda state, version: [Counted(n=n)], actor="test", projections=[self.counts],
            inline_once=ctx.inline_once,
        )  # fmt: skip


async def _echoed(tmp_path: Path, *, once: bool) -> tuple[dict[str, tuple[int, str]], int]:
    """The inline read model of the echoes, and how many times it was applied."""
    folder = tmp_path / ("once" if once else "each")
    source_engine = create_engine(sqlite_url(folder / "source.db"))
    target_engine = create_engine(sqlite_url(folder / "target.db"))
    try:
        source = open_store(source_engine, service="source", catalogue=catalogue)
        target = open_store(target_engine, service="target", catalogue=catalogue)
        await source.create_schema()
        await target.create_schema()
        for n in range(3):
            for s in range(4):
                await source.append(f"c-{s}", [Counted(n=n)], expected_version=None)
        inline = InlineCounts("echo_counts")
        await ProjectionRunner(inline, engine=target_engine, source=StoreSource(target)).setup()
        runner = ProjectionRunner(
            Echo("echo", target, inline, once), engine=target_engine,
            source=StoreSource(source, idle_seconds=0),
        )  # fmt: skip
        await runner.start()
        while await runner.run_once():
            pass
        await runner.stop()
        return await inline.snapshot(target_engine), inline.applies
    finally:
        await source_engine.dispose()
        await target_engine.dispose()


@pytest.mark.fast_path  # compares inline-once with its twin itself
async def test_a_batchs_reactions_apply_the_inline_projections_once_to_the_same_rows(
    tmp_path: Path,
) -> None:
    once, once_applies = await _echoed(tmp_path, once=True)
    each, each_applies = await _echoed(tmp_path, once=False)
    assert once == each == {f"echo-c-{s}": (3, "0,1,2") for s in range(4)}
    assert once_applies == 1  # twelve causes, one transaction
    assert each_applies == 12
