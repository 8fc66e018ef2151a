"""A month's figures on either store: a ticket counts in the month it was received in China
Standard Time; the complaint rate divides by the residents living in the area on the month's
last day (not today's), a record merged into another not among them; a ticket still inside its
response window is pending, not unanswered; and the figures come per ticket category as
well."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from core_support import Bridge, append, bridge_on, intake

from wangge.events import IntegrationEvent
from wangge.events.projection import Projection, ProjectionRunner
from wangge.events.sources import StoreSource
from wangge.hotline_bridge.config import HotlineSettings
from wangge.hotline_bridge.consumed.registry import (
    PersonMerged,
    PersonMergeUndone,
    PersonMovedIn,
    PersonMovedOut,
    PlaceRegistered,
)
from wangge.hotline_bridge.handlers import tickets as handle
from wangge.hotline_bridge.projections.figures import AreaFigures, monthly
from wangge.hotline_bridge.projections.grid_map import GridMap
from wangge.service.testing import backend_settings

CST = timezone(timedelta(hours=8))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def bridge(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Bridge]:
    """The bridge on either store (PostgreSQL writes a census's stays with COPY)."""
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    settings = backend_settings(HotlineSettings, request.param, tmp_path, url, "hotf")
    async with bridge_on(settings) as made:
        yield made


async def _monthly(
    bridge: Bridge, month: str, *, now: datetime, by_category: bool = False
) -> dict[uuid.UUID, AreaFigures]:
    core = bridge.core
    async with core.store.engine.connect() as conn:
        tickets, grid_map = (await core.tickets(conn))["tickets"], await core.grid_map(conn)
        assert grid_map is not None
        found = await monthly(
            conn, tickets, grid_map, month=month, level="grid", now=now, by_category=by_category
        )
    return {a.area_id: a for a in found}


async def test_a_ticket_counts_in_its_month_in_china_standard_time(bridge: Bridge) -> None:
    await bridge.push(intake(received_at=datetime(2026, 12, 1, 3, tzinfo=CST), fingerprint="a"))
    await bridge.push(intake(received_at=datetime(2026, 11, 30, 23, tzinfo=CST), fingerprint="b"))
    now = datetime.now(UTC)
    counted = {
        month: {g: a.figures.tickets for g, a in (await _monthly(bridge, month, now=now)).items()}
        for month in ("2026-11", "2026-12")
    }
    assert counted == {"2026-11": {bridge.grid_id: 1}, "2026-12": {bridge.grid_id: 1}}


async def _dwelling(bridge: Bridge) -> uuid.UUID:
    """A dwelling in the bridge's grid (under its building 12栋)."""
    async with bridge.core.store.engine.connect() as conn:
        places = (await bridge.core.grid_map(conn) or {})["places"]
        building = (await conn.execute(places.select().where(places.c.kind == "building"))).one()
    unit, dwelling = uuid.uuid4(), uuid.uuid4()
    for place in (
        PlaceRegistered(
            place_id=unit, kind="unit", name="2单元", number="2单元", parent_id=building.place_id
        ),
        PlaceRegistered(
            place_id=dwelling, kind="dwelling", name="1201", number="1201", parent_id=unit
        ),
    ):
        await append(bridge.registry, f"place-{place.place_id}", [place])
    return dwelling


async def _moves(bridge: Bridge, person: uuid.UUID, moves: list[IntegrationEvent]) -> None:
    await append(bridge.registry, f"person-{person}", moves)


async def test_the_complaint_rate_divides_by_the_residents_of_the_months_last_day(
    bridge: Bridge,
) -> None:
    home = await _dwelling(bridge)
    stayed, left, back, came, also = (uuid.uuid4() for _ in range(5))
    crowd = [uuid.uuid4() for _ in range(8)]

    def moved_in(person: uuid.UUID, on: date) -> PersonMovedIn:
        return PersonMovedIn(person_id=person, dwelling_id=home, on=on)

    for person in [stayed, left, *crowd]:
        await _moves(bridge, person, [moved_in(person, date(2026, 10, 1))])
    await _moves(bridge, left, [PersonMovedOut(person_id=left, on=date(2026, 11, 10))])
    await _moves(bridge, back, [  # three moves of one person in one batch
        moved_in(back, date(2026, 10, 1)), PersonMovedOut(person_id=back, on=date(2026, 11, 10)),
        moved_in(back, date(2026, 11, 20)),
    ])  # fmt: skip
    await _moves(bridge, came, [moved_in(came, date(2026, 12, 1))])
    await _moves(bridge, also, [moved_in(also, date(2026, 12, 2))])
    await bridge.upstream()
    # applied after the batch: each ends the stay under way
    await _moves(bridge, stayed, [PersonMovedOut(person_id=stayed, on=date(2026, 12, 3))])
    for person in crowd[:2]:
        await _moves(bridge, person, [PersonMovedOut(person_id=person, on=date(2026, 12, 4))])
    await bridge.upstream()
    for received in ((2026, 11, 20), (2026, 11, 21), (2026, 12, 5)):
        await bridge.push(intake(received_at=datetime(*received, 9, tzinfo=CST)))

    now = datetime(2026, 12, 7, 12, tzinfo=CST)
    november = (await _monthly(bridge, "2026-11", now=now))[bridge.grid_id].figures
    december = (await _monthly(bridge, "2026-12", now=now))[bridge.grid_id].figures
    # 30 November: stayed, back and the crowd (left had gone); 7 December: back, came, also
    # and six of the crowd (today's residents would divide both months by 9)
    assert (november.complaints, november.residents, november.complaint_rate) == (2, 10, 200.0)
    assert (december.complaints, december.residents, december.complaint_rate) == (1, 9, 111.11)
    # a month that is over keeps its residents whatever happens later
    later = (await _monthly(bridge, "2026-11", now=now + timedelta(days=60)))[bridge.grid_id]
    assert later.figures.residents == 10


async def test_a_ticket_inside_its_response_window_is_pending_not_unanswered(
    bridge: Bridge,
) -> None:
    received = datetime.now(UTC) - timedelta(hours=2)
    answered, _ = await bridge.push(intake(received_at=received, fingerprint="a"))
    await bridge.push(intake(received_at=received, fingerprint="b"))
    await handle.accept(bridge.commands("worker-wang"), answered)
    month = received.astimezone(CST).strftime("%Y-%m")

    now = (await _monthly(bridge, month, now=datetime.now(UTC)))[bridge.grid_id].figures
    assert (now.tickets, now.response_pending, now.response_rate) == (2, 1, 1.0)
    # once its 24 hours are over unanswered, it counts against the rate
    after = (await _monthly(bridge, month, now=received + timedelta(hours=25)))[bridge.grid_id]
    assert (after.figures.response_pending, after.figures.response_rate) == (0, 0.5)


async def test_the_figures_come_per_category_within_each_grid(bridge: Bridge) -> None:
    received = datetime(2026, 11, 20, 9, tzinfo=CST)
    for code in ("0301", "0201", "0301"):
        await bridge.push(intake(received_at=received, category_code=code))
    now = datetime(2026, 12, 7, 12, tzinfo=CST)
    plain = (await _monthly(bridge, "2026-11", now=now))[bridge.grid_id]
    split = (await _monthly(bridge, "2026-11", now=now, by_category=True))[bridge.grid_id]
    assert plain.categories == () and split.figures == plain.figures
    found = [
        (c.category, c.kind, c.figures.tickets, c.figures.complaints) for c in split.categories
    ]
    assert found == [("0201", "enquiry", 1, 0), ("0301", "complaint", 2, 2)]
    assert split.categories[1].category_name == "噪声扰民"
    assert sum(c.figures.tickets for c in split.categories) == split.figures.tickets


async def _residents(bridge: Bridge, *months: str) -> dict[str, int]:
    """The bridge's grid's residents of each month, as of 7 December 2026."""
    now = datetime(2026, 12, 7, 12, tzinfo=CST)
    return {
        month: (await _monthly(bridge, month, now=now))[bridge.grid_id].figures.residents
        for month in months
    }


async def test_a_record_merged_into_another_counts_on_no_day_until_the_merge_is_undone(
    bridge: Bridge,
) -> None:
    home = await _dwelling(bridge)
    kept, duplicate, stranger = (uuid.uuid4() for _ in range(3))
    for person in (kept, duplicate):  # one human registered twice
        await _moves(bridge, person, [PersonMovedIn(person_id=person, dwelling_id=home,
                                                    on=date(2026, 10, 1))])  # fmt: skip
    await bridge.upstream()
    assert await _residents(bridge, "2026-10", "2026-11") == {"2026-10": 2, "2026-11": 2}

    await _moves(bridge, duplicate, [PersonMerged(person_id=duplicate, into_person_id=kept)])
    # facts about a record the map never saw move in, twice and undone out of turn: no error
    await _moves(bridge, stranger, [
        PersonMergeUndone(person_id=stranger, from_person_id=kept),
        PersonMerged(person_id=stranger, into_person_id=kept),
        PersonMerged(person_id=stranger, into_person_id=duplicate),
    ])  # fmt: skip
    await bridge.upstream()
    # the two records were always one human: counted once, in a month long over as well
    assert await _residents(bridge, "2026-10", "2026-11") == {"2026-10": 1, "2026-11": 1}

    await _moves(bridge, duplicate, [PersonMergeUndone(person_id=duplicate, from_person_id=kept)])
    await bridge.upstream()
    assert await _residents(bridge, "2026-10", "2026-11") == {"2026-10": 2, "2026-11": 2}


class GridMapOneByOne(GridMap):
    """The grid map applying every event alone: what a batch must leave."""

    name = "hotline_grid_map_one_by_one"
    apply_many = Projection.apply_many

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        return super().define_tables(metadata, f"_one{suffix}")


async def test_a_merge_in_a_batch_of_moves_marks_the_stays_before_it(bridge: Bridge) -> None:
    home = await _dwelling(bridge)
    kept, duplicate, undone = (uuid.uuid4() for _ in range(3))

    def moved_in(person: uuid.UUID, on: date) -> PersonMovedIn:
        return PersonMovedIn(person_id=person, dwelling_id=home, on=on)

    # one batch: a census's moves, a merge right after the duplicate's, and a record merged,
    # unmerged and then moving out and back in
    await _moves(bridge, kept, [moved_in(kept, date(2026, 10, 1))])
    await _moves(bridge, duplicate, [
        moved_in(duplicate, date(2026, 10, 1)),
        PersonMerged(person_id=duplicate, into_person_id=kept),
    ])  # fmt: skip
    await _moves(bridge, undone, [
        moved_in(undone, date(2026, 10, 1)),
        PersonMerged(person_id=undone, into_person_id=kept),
        PersonMergeUndone(person_id=undone, from_person_id=kept),
        PersonMovedOut(person_id=undone, on=date(2026, 11, 10)),
        moved_in(undone, date(2026, 11, 20)),
    ])  # fmt: skip
    await bridge.upstream()
    assert await _residents(bridge, "2026-10", "2026-11") == {"2026-10": 2, "2026-11": 2}

    engine = bridge.core.store.engine
    tables = []
    for projection in (GridMap(), GridMapOneByOne()):
        runner = ProjectionRunner(
            projection, engine=engine,
            source=StoreSource(bridge.registry, idle_seconds=0, key="store:registry"),
        )  # fmt: skip
        await runner.rebuild()
        async with engine.connect() as conn:
            residents = projection.tables(runner.generation)["residents"]
            rows = await conn.execute(sa.select(residents).order_by(*residents.primary_key.columns))
            tables.append([dict(row._mapping) for row in rows])
    folded, one_by_one = tables
    assert folded == one_by_one
    mine = {(r["person_id"], str(r["since"])): (r["until"], r["merged"]) for r in folded}
    assert mine[(duplicate, "2026-10-01")] == (None, True)
    assert mine[(undone, "2026-10-01")] == (date(2026, 11, 10), False)
    assert mine[(undone, "2026-11-20")] == (None, False)
