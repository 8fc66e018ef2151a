"""A projection of other services' events: reader models, several event tables, late tables."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import sqlalchemy as sa

from wangge.events import IntegrationEvent, RecordedEvent
from wangge.events.db import create_engine
from wangge.events.projection import (
    ApplyContext,
    Projection,
    ProjectionRunner,
    active_tables,
    handles,
)
from wangge.events.sources import MergedSource, StoreSource
from wangge.events.store import open_store

from events_samples import Counted, HouseholdRegistered, catalogue


class HouseholdSeen(IntegrationEvent):
    """A reader of the sample service's HouseholdRegistered: one field of three."""

    event_type = catalogue.entry_of(HouseholdRegistered).type
    household_id: str


class Households(Projection):
    reads: ClassVar[tuple[str, ...]] = ("north", "south")

    def __init__(self) -> None:
        super().__init__(catalogue)
        self.name = f"households_{uuid.uuid4().hex[:6]}"  # type: ignore[misc]

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        return {
            "seen": sa.Table(
                f"{self.name}{suffix}",
                metadata,
                sa.Column("household_id", sa.String(100), primary_key=True),
                sa.Column("reader", sa.String(40), nullable=False),
            )
        }

    @handles(HouseholdSeen)
    async def on_seen(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        assert isinstance(event.data, HouseholdSeen)
        await ctx.conn.execute(
            sa.insert(ctx.tables["seen"]).values(
                household_id=event.data.household_id, reader=type(event.data).__name__
            )
        )


async def test_a_reader_model_projects_two_services_tables_one_of_them_late(
    tmp_path: Path,
) -> None:
    own = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'own.db'}")
    north_engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'north.db'}")
    south_engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'south.db'}")
    north = open_store(north_engine, service="north", catalogue=catalogue)
    south = open_store(south_engine, service="south", catalogue=catalogue)
    await north.create_schema()  # the south service has not started yet: no table
    await north.append(
        "household-n1", [HouseholdRegistered(household_id="n1", dwelling="d"), Counted(n=1)],
        expected_version=None,
    )  # fmt: skip
    projection = Households()
    runner = ProjectionRunner(
        projection,
        engine=own,
        source=MergedSource(
            [
                StoreSource(north, idle_seconds=0, key="store:north"),
                StoreSource(south, idle_seconds=0, key="store:south"),
            ]
        ),
    )
    await runner.start()
    while await runner.run_once():
        pass
    await south.create_schema()
    await south.append(
        "household-s1", [HouseholdRegistered(household_id="s1", dwelling="d")],
        expected_version=None,
    )  # fmt: skip
    while await runner.run_once():
        pass
    await runner.stop()
    async with own.connect() as conn:
        table = (await active_tables(conn, projection))["seen"]
        rows = (await conn.execute(sa.select(table).order_by(table.c.household_id))).all()
    assert [tuple(r) for r in rows] == [("n1", "HouseholdSeen"), ("s1", "HouseholdSeen")]
    assert await runner.lag() == 0
    for engine in (own, north_engine, south_engine):
        await engine.dispose()
