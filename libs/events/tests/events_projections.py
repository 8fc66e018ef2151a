"""A projection used by the event library's tests: per stream, the counts it was told."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events import RecordedEvent
from wangge.events.projection import ApplyContext, Projection, active_generation, handles

from events_samples import Counted, HouseholdRegistered, catalogue


class Crash(BaseException):
    """Stands for the process dying in the middle of a batch (not an ``Exception``: a handler's
    failure would park the event, where a dying process leaves it for the next to apply)."""


class Poisoned(ValueError):
    """A handler's own failure on one event (a bug, data it cannot read)."""


class CountsProjection(Projection):
    """Per stream: how many ``Counted`` events were applied, and every ``n`` in order."""

    name = "counts"

    def __init__(
        self,
        name: str = "counts",
        crash_after: int | None = None,
        delay: float = 0.0,
        poison: tuple[str, int] | None = None,
    ) -> None:
        super().__init__(catalogue)
        self.name = name  # type: ignore[misc]
        self.crash_after = crash_after
        self.poison = poison
        """(stream, n): the handler fails on that event, as a bug would, until set to None."""
        self.delay = delay
        self.calls = 0

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        return {
            "counts": sa.Table(
                f"{self.name}_counts{suffix}",
                metadata,
                sa.Column("stream_id", sa.String(200), primary_key=True),
                sa.Column("applied", sa.Integer, nullable=False),
                sa.Column("ns", sa.Text, nullable=False),
            )
        }

    @handles(Counted)
    async def on_counted(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        self.calls += 1
        if self.crash_after is not None and self.calls > self.crash_after:
            raise Crash
        assert isinstance(event.data, Counted)
        if self.poison == (event.stream_id, event.data.n):
            raise Poisoned(f"count {event.data.n} of this stream breaks the handler")
        if self.delay:
            await asyncio.sleep(self.delay)  # slow enough for a test to kill it mid-batch
        table = ctx.tables["counts"]
        n = str(event.data.n)
        updated = await ctx.conn.execute(
            sa.update(table)
            .where(table.c.stream_id == event.stream_id)
            .values(applied=table.c.applied + 1, ns=table.c.ns + "," + n)
        )
        if updated.rowcount == 0:
            await ctx.conn.execute(
                sa.insert(table).values(stream_id=event.stream_id, applied=1, ns=n)
            )

    @handles(HouseholdRegistered)
    async def on_registered(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        """Present so the projection handles more than one type; records nothing."""

    async def snapshot(self, engine: AsyncEngine) -> dict[str, tuple[int, str]]:
        """The whole read model of the active generation."""
        async with engine.connect() as conn:
            generation = await active_generation(conn, self.name)
            table = self.tables(generation)["counts"]
            rows = await conn.execute(sa.select(table.c.stream_id, table.c.applied, table.c.ns))
            return {row.stream_id: (row.applied, row.ns) for row in rows}


def counts_from_environment() -> CountsProjection:
    """The projection a ``wangge-events project`` subprocess runs in the kill test."""
    return CountsProjection(
        os.environ["WANGGE_TEST_PROJECTION"], delay=float(os.environ.get("WANGGE_TEST_DELAY", "0"))
    )
