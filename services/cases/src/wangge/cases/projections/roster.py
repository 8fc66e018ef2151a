"""The roster: the cases service's copy of the registry's places and grid workers (the shared
``wangge.governance.roster``), and the needs noted on visits (suggested cases).

It says who is responsible for a grid (a new case is assigned to them), which community a grid
belongs to (the community's triage view), and which grid a dwelling is in (a need noted at a
dwelling suggests a case for its grid), so it keeps every kind of place, down to dwellings. A
grid goes to the newest appointment as the registry recorded them, whatever order workers'
streams arrive in (``wangge.governance.appointments``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.cases.consumed.registry import NeedNoted
from wangge.events import RecordedEvent
from wangge.events.projection import ApplyContext, handles
from wangge.governance import roster
from wangge.governance.columns import TIME as TIME_COLUMN
from wangge.governance.grid_workers import (
    BEFORE_HOLDS,
    give_up_grids,
    grid_holds,
    holds_with_accounts,
    take_grids,
)
from wangge.governance.redaction import redact
from wangge.governance.roster import grid_code, worker_of

__all__ = [
    "BEFORE_HOLDS",
    "Roster",
    "give_up_grids",
    "grid_code",
    "grid_holds",
    "holds_with_accounts",
    "open_needs",
    "take_grids",
    "worker_of",
]

UUID = sa.Uuid(as_uuid=True)


class Roster(roster.Roster):
    """Places (down to dwellings), grid workers and their grids, suggested cases."""

    name = "cases_roster"
    prefix: ClassVar[str] = "roster_"

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        needs = sa.Table(
            f"roster_needs{suffix}",
            metadata,
            sa.Column("need_id", UUID, primary_key=True),
            sa.Column("dwelling_id", UUID, nullable=False, index=True),
            sa.Column("person_id", UUID),
            sa.Column("category", sa.String(40), nullable=False),
            sa.Column("description", sa.Text, nullable=False),
            sa.Column("noted_at", TIME_COLUMN, nullable=False),
        )
        return {**super().define_tables(metadata, suffix), "needs": needs}

    @handles(NeedNoted)
    async def on_need(self, ctx: ApplyContext, event: RecordedEvent[NeedNoted]) -> None:
        d = event.data
        # the registry's free text, kept only as its redacted copy (an old event's may be clear)
        await ctx.conn.execute(
            sa.insert(ctx.tables["needs"]).values(
                need_id=d.need_id, dwelling_id=d.dwelling_id, person_id=d.person_id,
                category=d.category, description=redact(d.description),
                noted_at=event.envelope.time,
            )
        )  # fmt: skip


async def open_needs(
    conn: AsyncConnection,
    tables: Mapping[str, sa.Table],
    cases: sa.Table,
    need_id: uuid.UUID | None = None,
) -> list[Any]:
    """The needs noted in a known grid that no case in ``cases`` (the cases model's table) was
    opened from yet, newest first, each with its dwelling's ``grid_id`` (only ``need_id``'s,
    when given): the suggested cases."""
    needs, places = tables["needs"], tables["places"]
    query = (
        sa.select(needs, places.c.grid_id)
        .join(places, places.c.place_id == needs.c.dwelling_id)
        .where(
            places.c.grid_id.is_not(None),
            ~sa.exists().where(cases.c.need_id == needs.c.need_id),
        )
        .order_by(needs.c.noted_at.desc())
    )
    if need_id is not None:
        query = query.where(needs.c.need_id == need_id)
    return list((await conn.execute(query)).all())
