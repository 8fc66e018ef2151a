"""A projection whose text column was made wider in a new release starts a fresh generation, as
one whose columns were renamed or added does: the old table would refuse the longer values."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events.projection import ProjectionRunner
from wangge.events.sources import StoreSource
from wangge.events.store import open_store

from events_projections import CountsProjection
from events_samples import catalogue


class Noted(CountsProjection):
    """Counts with a note column of ``width`` characters (None: unbounded text)."""

    def __init__(self, name: str, width: int | None) -> None:
        super().__init__(name)
        self.width = width

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        tables = dict(super().define_tables(metadata, suffix))
        kind = sa.Text() if self.width is None else sa.String(self.width)
        tables["counts"].append_column(sa.Column("note", kind))
        return tables


async def _generation(engine: AsyncEngine, projection: Noted) -> int:
    store = open_store(engine, service="sample", catalogue=catalogue)
    await store.create_schema()
    runner = ProjectionRunner(projection, engine=engine, source=StoreSource(store))
    await runner.setup()
    return runner.generation


async def test_a_text_column_made_wider_or_narrower_starts_a_fresh_generation(
    engine: AsyncEngine,
) -> None:
    name = f"widths_{uuid.uuid4().hex[:8]}"
    assert await _generation(engine, Noted(name, 200)) == 1
    assert await _generation(engine, Noted(name, 200)) == 1  # the same release starting again
    assert await _generation(engine, Noted(name, None)) == 2  # String(200) -> Text
    assert await _generation(engine, Noted(name, None)) == 2
    assert await _generation(engine, Noted(name, 100)) == 3


async def test_other_column_types_never_count_as_reshaped(engine: AsyncEngine) -> None:
    # reflected types differ from the declared ones by backend (a UUID is CHAR(32) on SQLite,
    # a timestamp is DATETIME): only plain strings are compared, or every start would rebuild

    class Typed(Noted):
        def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
            tables = dict(super().define_tables(metadata, suffix))
            for column in (
                sa.Column("ref", sa.Uuid(as_uuid=True)),
                sa.Column("at", sa.DateTime(timezone=True)),
                sa.Column("body", sa.JSON),
                sa.Column("flag", sa.Boolean),
                sa.Column("open", sa.String()),
            ):
                tables["counts"].append_column(column)
            return tables

    name = f"typed_{uuid.uuid4().hex[:8]}"
    assert await _generation(engine, Typed(name, 40)) == 1
    assert await _generation(engine, Typed(name, 40)) == 1
