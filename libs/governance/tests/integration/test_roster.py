"""The shared roster fed the registry's events in the orders Kafka may hand them over (workers'
streams in any order, a place before its parent), and the questions services ask of it, on
SQLite and, with ``DATABASE_URL``, PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events import RecordedEvent
from wangge.events.projection import ApplyContext
from wangge.governance import roster
from wangge.governance.registry_events import (
    BuildingRegridded,
    GridWorkerAppointed,
    GridWorkerLeft,
    GridWorkerReassigned,
    PlaceRegistered,
    PlaceRenamed,
)
from wangge.governance.roster import Community
from wangge.governance.testing import from_registry

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
DAY = date(2026, 11, 27)


class EveryPlace(roster.Roster):
    """A copy down to dwellings (as the cases service keeps it)."""

    name = "test_roster"
    prefix: ClassVar[str] = "test_roster_"


class Areas(roster.Roster):
    """A copy of grids and the places above them (as the training service keeps it)."""

    name = "test_areas_roster"
    prefix: ClassVar[str] = "test_areas_"
    places_table: ClassVar[str] = "areas"
    kinds: ClassVar[frozenset[str] | None] = roster.AREAS


class Tree:
    """A subdistrict, two communities with a grid each, a building with a dwelling in grid 1."""

    def __init__(self) -> None:
        self.subdistrict, self.north, self.south = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        self.g1, self.g2, self.building, self.dwelling = (uuid.uuid4() for _ in range(4))

    def events(self) -> list[RecordedEvent]:
        def place(place_id: uuid.UUID, kind: str, name: str, parent: uuid.UUID | None,
                  code: str | None = None) -> RecordedEvent:  # fmt: skip
            data = PlaceRegistered(
                place_id=place_id, kind=kind, name=name, code=code, parent_id=parent
            )
            return from_registry(data, f"place-{place_id}", at=T0)

        return [
            place(self.subdistrict, "subdistrict", "沿江街道", None, "320111001"),
            place(self.north, "community", "北社区", self.subdistrict, "320111001-001"),
            place(self.south, "community", "南社区", self.subdistrict, "320111001-002"),
            place(self.g1, "grid", "第一网格", self.north, "320111001-001-001"),
            place(self.g2, "grid", "第二网格", self.south, "320111001-002-001"),
            place(self.building, "building", "1栋", self.g1),
            place(self.dwelling, "dwelling", "101", self.building),
        ]


def appointed(
    worker: uuid.UUID, grids: list[uuid.UUID], minutes: int, *, on: date = DAY
) -> RecordedEvent:
    data = GridWorkerAppointed(
        worker_id=worker, account=f"w-{worker}", name=f"王{worker.hex[:4]}", grid_ids=grids, on=on
    )
    return from_registry(data, f"worker-{worker}", at=T0 + timedelta(minutes=minutes))


def reassigned(worker: uuid.UUID, grids: list[uuid.UUID], minutes: int) -> RecordedEvent:
    data = GridWorkerReassigned(worker_id=worker, grid_ids=grids, on=DAY)
    return from_registry(data, f"worker-{worker}", at=T0 + timedelta(minutes=minutes), version=2)


def left(worker: uuid.UUID, minutes: int, *, on: date) -> RecordedEvent:
    data = GridWorkerLeft(worker_id=worker, on=on)
    return from_registry(data, f"worker-{worker}", at=T0 + timedelta(minutes=minutes), version=3)


class Copy:
    """A roster's tables in one open transaction, fed events as its runner would."""

    def __init__(self, projection: roster.Roster, ctx: ApplyContext) -> None:
        self.projection, self.ctx = projection, ctx

    async def feed(self, *events: RecordedEvent) -> None:
        await self.projection.apply_many(self.ctx, events, set())

    async def holder(self, grid: uuid.UUID) -> uuid.UUID | None:
        found = await roster.worker_of(self.ctx.conn, self.ctx.tables, grid)
        return found[0] if found is not None else None

    async def rows(self, name: str) -> list[dict[str, Any]]:
        table = self.ctx.tables[name]
        found = await self.ctx.conn.execute(sa.select(table).order_by(*table.primary_key))
        return [dict(r._mapping) for r in found]


async def _copy(
    engine: AsyncEngine, projection: roster.Roster, generation: int = 1
) -> AsyncIterator[Copy]:
    tables = projection.tables(generation)
    async with engine.begin() as conn:
        await conn.run_sync(next(iter(tables.values())).metadata.create_all)
        yield Copy(projection, ApplyContext(conn=conn, tables=tables))


@pytest.fixture
async def copy(engine: AsyncEngine) -> AsyncIterator[Copy]:
    async for made in _copy(engine, EveryPlace()):
        yield made


@pytest.fixture
async def areas(engine: AsyncEngine) -> AsyncIterator[Copy]:
    async for made in _copy(engine, Areas()):
        yield made


def test_each_copy_keeps_its_own_table_names() -> None:
    assert {k: t.name for k, t in Areas().tables(3).items()} == {
        "places": "test_areas_areas_g3", "workers": "test_areas_workers_g3",
        "grids": "test_areas_worker_grids_g3", "holds": "test_areas_grid_holds_g3",
    }  # fmt: skip


async def test_an_older_appointment_arriving_late_leaves_the_grid_with_the_newer_one(
    copy: Copy,
) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    g, h = uuid.uuid4(), uuid.uuid4()
    await copy.feed(appointed(b, [g], minutes=2))
    await copy.feed(appointed(a, [g, h], minutes=1))  # A's stream lagged behind B's
    assert (await copy.holder(g), await copy.holder(h)) == (b, a)
    assert await roster.grids_of(copy.ctx.conn, copy.ctx.tables, a) == [h]
    # the registry named both grids for A: the worker's row says so, whoever holds them
    row = await roster.worker_row(copy.ctx.conn, copy.ctx.tables, a)
    assert sorted(row.grid_ids) == sorted([str(g), str(h)])


async def test_an_older_appointment_arriving_after_the_grid_was_given_up_does_not_take_it(
    copy: Copy,
) -> None:
    a, b, g = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await copy.feed(appointed(b, [g], minutes=2), left(b, minutes=3, on=date(2026, 12, 1)))
    await copy.feed(appointed(a, [g], minutes=1))
    assert await copy.holder(g) is None
    # a newer appointment takes it
    await copy.feed(reassigned(a, [g], minutes=4))
    assert await copy.holder(g) == a


async def test_a_worker_who_leaves_keeps_their_row_and_frees_their_grids(copy: Copy) -> None:
    a, g = uuid.uuid4(), uuid.uuid4()
    await copy.feed(appointed(a, [g], minutes=0), left(a, minutes=5, on=date(2026, 12, 1)))
    row = await roster.worker_row(copy.ctx.conn, copy.ctx.tables, a)
    assert (row.account, row.appointed_on, row.left_on) == (f"w-{a}", DAY, date(2026, 12, 1))
    assert row.grid_ids == [str(g)]
    assert await copy.holder(g) is None
    assert await roster.grids_of(copy.ctx.conn, copy.ctx.tables, a) == []


async def test_a_reappointed_worker_is_on_the_roster_again(copy: Copy) -> None:
    a, g = uuid.uuid4(), uuid.uuid4()
    await copy.feed(
        appointed(a, [g], minutes=0),
        left(a, minutes=1, on=date(2026, 12, 1)),
        appointed(a, [g], minutes=2, on=date(2027, 1, 4)),
    )
    row = await roster.worker_row(copy.ctx.conn, copy.ctx.tables, a)
    assert (row.appointed_on, row.left_on) == (date(2027, 1, 4), None)
    assert await copy.holder(g) == a


async def test_a_grid_kept_before_the_holds_is_taken_by_the_next_appointment(copy: Copy) -> None:
    a, b, g = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    workers, grids = copy.ctx.tables["workers"], copy.ctx.tables["grids"]
    await copy.ctx.conn.execute(sa.insert(workers).values(worker_id=a, account="a", name="王"))
    await copy.ctx.conn.execute(sa.insert(grids).values(grid_id=g, worker_id=a))  # no hold
    await copy.feed(appointed(b, [g], minutes=0))
    assert await copy.holder(g) == b


@pytest.mark.parametrize("order", ["parents first", "children first"])
async def test_the_place_tree_answers_which_community_and_code_a_grid_has(
    copy: Copy, order: str
) -> None:
    tree = Tree()
    if order == "parents first":
        await copy.feed(*tree.events())
    else:  # on Kafka a place may come in a batch of its own before its parent
        for event in reversed(tree.events()):
            await copy.feed(event)
    conn, tables = copy.ctx.conn, copy.ctx.tables
    assert await roster.grid_code(conn, tables, tree.g1) == "320111001-001-001"
    assert await roster.grid_code(conn, tables, tree.north) is None  # not a grid
    assert await roster.community_of(conn, tables, tree.g2) == Community(
        tree.south, "南社区", "320111001-002"
    )
    assert await roster.community_of(conn, tables, uuid.uuid4()) is None
    dwelling = next(r for r in await copy.rows("places") if r["place_id"] == tree.dwelling)
    assert (dwelling["grid_id"], dwelling["community_id"]) == (tree.g1, tree.north)


async def _regridded(copy: Copy) -> Tree:
    """The tree fed to ``copy``, then its building moved from the north's grid to the south's."""
    tree = Tree()
    await copy.feed(*tree.events())
    await copy.feed(
        from_registry(BuildingRegridded(place_id=tree.building, to_grid_id=tree.g2), "b", at=T0)
    )
    return tree


async def test_a_regridded_building_moves_with_what_is_in_it(copy: Copy) -> None:
    tree = await _regridded(copy)
    dwelling = next(r for r in await copy.rows("places") if r["place_id"] == tree.dwelling)
    assert (dwelling["grid_id"], dwelling["community_id"]) == (tree.g2, tree.south)


async def test_a_renamed_place_answers_with_its_new_name(copy: Copy) -> None:
    tree = Tree()
    renamed = PlaceRenamed(place_id=tree.north, name="北湖社区")
    await copy.feed(*tree.events(), from_registry(renamed, f"place-{tree.north}", at=T0, version=2))
    community = await roster.community_of(copy.ctx.conn, copy.ctx.tables, tree.g1)
    assert community is not None and community.name == "北湖社区"


async def test_a_copy_of_areas_keeps_grids_and_above_only(areas: Copy) -> None:
    await _regridded(areas)  # nothing to move: raises nothing
    kinds = sorted(r["kind"] for r in await areas.rows("places"))
    assert kinds == ["community", "community", "grid", "grid", "subdistrict"]


async def test_the_workers_of_a_community_on_a_day(areas: Copy) -> None:
    tree = Tree()
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    stray = uuid.uuid4()  # a grid the copy never saw registered
    await areas.feed(
        *tree.events(),
        appointed(a, [tree.g1], minutes=1, on=date(2026, 3, 1)),
        appointed(b, [tree.g1, tree.g2], minutes=2, on=date(2026, 6, 1)),
        appointed(c, [stray], minutes=3, on=date(2026, 3, 1)),
        left(a, minutes=4, on=date(2026, 9, 1)),
    )
    conn, tables = areas.ctx.conn, areas.ctx.tables
    north = Community(tree.north, "北社区", "320111001-001")
    south = Community(tree.south, "南社区", "320111001-002")

    async def on(day: date) -> dict[Community | None, set[uuid.UUID]]:
        return await roster.workers_by_community(conn, tables, day)

    assert await on(date(2026, 2, 1)) == {}
    assert await on(date(2026, 4, 1)) == {north: {a}, None: {c}}
    assert await on(date(2026, 7, 1)) == {north: {a, b}, south: {b}, None: {c}}
    assert await on(date(2026, 9, 1)) == {north: {b}, south: {b}, None: {c}}  # A left that day
    assert await roster.workers_of_community(conn, tables, tree.north, date(2026, 7, 1)) == {a, b}
    # a worker who left keeps the codes of the grids named for them (whose record it is)
    row = await roster.worker_row(conn, tables, a)
    assert await roster.grid_codes(conn, tables, row) == ["320111001-001-001"]


async def test_a_batch_leaves_the_rows_that_one_event_at_a_time_leaves(engine: AsyncEngine) -> None:
    tree = Tree()
    a, b = uuid.uuid4(), uuid.uuid4()
    events: Sequence[RecordedEvent] = [
        *tree.events()[3:], appointed(b, [tree.g1], minutes=2), *tree.events()[:3],
        appointed(a, [tree.g1, tree.g2], minutes=1), left(b, minutes=3, on=DAY),
    ]  # fmt: skip
    found = []
    for generation, batched in ((1, True), (2, False)):
        async for made in _copy(engine, EveryPlace(), generation):
            if batched:
                await made.feed(*events)
            else:
                for event in events:
                    await made.projection.apply(made.ctx, event)
            found.append([await made.rows(name) for name in ("places", "workers", "grids")])
    assert found[0] == found[1]
