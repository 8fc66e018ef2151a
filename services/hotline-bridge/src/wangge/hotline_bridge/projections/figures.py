"""A month's figures per grid or community, and per ticket category within each, read from two
read models: the tickets and the grid map (its places and the residents' stays);
``domain.metrics`` defines each figure."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.governance.times import stored, utc
from wangge.hotline_bridge.domain.metrics import (
    CST,
    Figures,
    TicketFacts,
    figures,
    month_bounds,
    standing_day,
)

Level = Literal["grid", "community"]


@dataclass(frozen=True)
class CategoryFigures:
    """An area's figures over the tickets of one category of the dispatch catalogue (派单目录);
    its complaint rate divides the category's complaints by all the area's residents."""

    category: str
    category_name: str
    kind: str
    figures: Figures


@dataclass(frozen=True)
class AreaFigures:
    """The figures of one grid or community (and per category, when asked for)."""

    area_id: uuid.UUID
    code: str | None
    name: str
    figures: Figures
    categories: tuple[CategoryFigures, ...] = ()


def residents_day(month: str, now: datetime) -> date:
    """The day the month's residents are counted on, as of ``now``."""
    return standing_day(month, today=now.astimezone(CST).date())


async def monthly(
    conn: AsyncConnection,
    tickets: sa.Table,
    grid_map: Mapping[str, sa.Table],
    *,
    month: str,
    level: Level,
    now: datetime,
    by_category: bool = False,
) -> list[AreaFigures]:
    """Every area's figures for the month, areas without tickets included (their rates None),
    responses still inside their window judged pending at ``now``; with ``by_category``, each
    area's figures per category of its tickets too."""
    start, end = month_bounds(month)
    places = grid_map["places"]
    area = places.c.grid_id if level == "grid" else places.c.community_id
    areas = {
        row.place_id: row
        for row in await conn.execute(
            sa.select(places.c.place_id, places.c.code, places.c.name).where(places.c.kind == level)
        )
    }
    counts = await _residents(conn, grid_map, area, residents_day(month, now))
    grid_area = {
        row.place_id: row.area
        for row in await conn.execute(
            sa.select(places.c.place_id, area.label("area")).where(places.c.kind == "grid")
        )
    }
    t = tickets
    by_area: dict[uuid.UUID, list[tuple[Any, TicketFacts]]] = defaultdict(list)
    rows = await conn.execute(
        sa.select(
            t.c.grid_id, t.c.kind, t.c.received_at, t.c.deadline, t.c.accepted_at,
            t.c.replied_at, t.c.solved, t.c.at_source, t.c.satisfaction, t.c.resolved,
            t.c.category, t.c.category_name,
        )
        .where(t.c.grid_id.is_not(None), t.c.received_at >= utc(start), t.c.received_at < utc(end))
        .order_by(t.c.received_at, t.c.ticket_id)
    )  # fmt: skip
    for row in rows:
        owner = grid_area.get(row.grid_id)
        if owner is None:
            continue
        by_area[owner].append((row, TicketFacts(
            kind=row.kind, received_at=stored(row.received_at),
            deadline=stored(row.deadline),
            accepted_at=stored(row.accepted_at) if row.accepted_at else None,
            replied_at=stored(row.replied_at) if row.replied_at else None,
            solved=row.solved, at_source=row.at_source, satisfaction=row.satisfaction,
            resolved=row.resolved,
        )))  # fmt: skip
    out = []
    for area_id in sorted(areas, key=lambda a: areas[a].code or ""):
        mine, residents = by_area.get(area_id, []), counts.get(area_id, 0)
        out.append(
            AreaFigures(
                area_id, areas[area_id].code, areas[area_id].name,
                figures([facts for _, facts in mine], residents=residents, now=now),
                _per_category(mine, residents, now) if by_category else (),
            )
        )  # fmt: skip
    return out


async def _residents(
    conn: AsyncConnection, grid_map: Mapping[str, sa.Table], area: Any, day: date
) -> dict[uuid.UUID, int]:
    """The people living in each area's dwellings on ``day``: their stay began by then and had
    not ended (a stay ends on the day of the next move, which is no longer in it). Each person
    once: moves recorded with their days out of order can leave two stays holding one day; and
    each human once: a record merged into another counts on no day (its human counts through
    the record kept), as the views' dashboard counts (``wangge.governance.hotline_figures``)."""
    places, residents = grid_map["places"], grid_map["residents"]
    rows = await conn.execute(
        sa.select(area.label("area"), sa.func.count(residents.c.person_id.distinct()).label("n"))
        .select_from(residents.join(places, places.c.place_id == residents.c.dwelling_id))
        .where(
            residents.c.since <= day,
            sa.or_(residents.c.until.is_(None), residents.c.until > day),
            sa.not_(residents.c.merged),
        )
        .group_by(area)
    )
    return {row.area: row.n for row in rows}


def _per_category(
    tickets: list[tuple[Any, TicketFacts]], residents: int, now: datetime
) -> tuple[CategoryFigures, ...]:
    """An area's figures per category, in code order; a category is named as its latest
    ticket names it (the catalogue may have renamed it within the month)."""
    by_code: dict[str, list[TicketFacts]] = defaultdict(list)
    named: dict[str, tuple[str, str]] = {}
    for row, facts in tickets:  # received in order: the last name seen is the latest
        by_code[row.category].append(facts)
        named[row.category] = (row.category_name, row.kind)
    return tuple(
        CategoryFigures(code, *named[code], figures(by_code[code], residents=residents, now=now))
        for code in sorted(by_code)
    )
