"""A month's figures per grid or community, read from two read models: the tickets and the grid
map (its places and residents); ``domain.metrics`` defines each figure."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.governance.times import stored, utc
from wangge.hotline_bridge.domain.metrics import Figures, TicketFacts, figures, month_bounds

Level = Literal["grid", "community"]


@dataclass(frozen=True)
class AreaFigures:
    """The figures of one grid or community."""

    area_id: uuid.UUID
    code: str | None
    name: str
    figures: Figures


async def monthly(
    conn: AsyncConnection,
    tickets: sa.Table,
    grid_map: Mapping[str, sa.Table],
    *,
    month: str,
    level: Level,
) -> list[AreaFigures]:
    """Every area's figures for the month, areas without tickets included (their rates None)."""
    start, end = month_bounds(month)
    places, residents = grid_map["places"], grid_map["residents"]
    area = places.c.grid_id if level == "grid" else places.c.community_id
    areas = {
        row.place_id: row
        for row in await conn.execute(
            sa.select(places.c.place_id, places.c.code, places.c.name).where(places.c.kind == level)
        )
    }
    counts = {
        row.area: row.n
        for row in await conn.execute(
            sa.select(area.label("area"), sa.func.count().label("n"))
            .select_from(residents.join(places, places.c.place_id == residents.c.dwelling_id))
            .group_by(area)
        )
    }
    grid_area = {
        row.place_id: row.area
        for row in await conn.execute(
            sa.select(places.c.place_id, area.label("area")).where(places.c.kind == "grid")
        )
    }
    t = tickets
    by_area: dict[uuid.UUID, list[TicketFacts]] = defaultdict(list)
    rows = await conn.execute(
        sa.select(
            t.c.grid_id, t.c.kind, t.c.received_at, t.c.deadline, t.c.accepted_at,
            t.c.replied_at, t.c.solved, t.c.at_source, t.c.satisfaction, t.c.resolved,
        ).where(t.c.grid_id.is_not(None), t.c.received_at >= utc(start), t.c.received_at < utc(end))
    )  # fmt: skip
    for row in rows:
        owner = grid_area.get(row.grid_id)
        if owner is None:
            continue
        by_area[owner].append(
            TicketFacts(
                kind=row.kind, received_at=stored(row.received_at),
                deadline=stored(row.deadline),
                accepted_at=stored(row.accepted_at) if row.accepted_at else None,
                replied_at=stored(row.replied_at) if row.replied_at else None,
                solved=row.solved, at_source=row.at_source, satisfaction=row.satisfaction,
                resolved=row.resolved,
            )
        )  # fmt: skip
    return [
        AreaFigures(
            area_id,
            areas[area_id].code,
            areas[area_id].name,
            figures(by_area.get(area_id, []), residents=counts.get(area_id, 0)),
        )
        for area_id in sorted(areas, key=lambda a: areas[a].code or "")
    ]
