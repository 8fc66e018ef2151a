"""``/reports``: per-grid roll-ups and visit coverage, inside the caller's places."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from wangge.registry.api.access import Reader, scope_filter
from wangge.registry.api.deps import ReadConnection, tables
from wangge.registry.api.people import Views
from wangge.registry.handlers.persons import today
from wangge.registry.projections.activity import Activity
from wangge.service.deps import State

router = APIRouter(prefix="/reports", tags=["reports"])


class GridRollUp(BaseModel):
    """One grid's numbers (提户知人 at a glance)."""

    grid_id: uuid.UUID
    code: str
    name: str
    households: int
    residents: int = Field(description="常住")
    floating: int = Field(description="流动")
    lodging: int = Field(description="寄住")
    moved_out: int = Field(description="流出")
    deceased: int
    tags: dict[str, int] = Field(description="persons carrying each tag today")


class GridCoverage(BaseModel):
    """How many of a grid's households were visited in the window."""

    grid_id: uuid.UUID
    code: str
    households: int
    visited: int
    share: float = Field(description="visited / households (0 when there are none)")


class CoverageReport(BaseModel):
    """Visit coverage per grid over the last ``days`` days."""

    days: int
    since: datetime
    grids: list[GridCoverage]


async def _grids(conn: ReadConnection, views: Views, principal: Any, code: str | None) -> Any:
    pl = views.places
    query = sa.select(pl.c.place_id, pl.c.code, pl.c.name).where(
        pl.c.kind == "grid", scope_filter(principal, pl.c.scope)
    )
    if code is not None:
        query = query.where(sa.or_(pl.c.code == code, pl.c.code.like(f"{code}-%")))
    return list(await conn.execute(query.order_by(pl.c.code)))


@router.get("/grids", response_model=list[GridRollUp])
async def grid_roll_up(
    principal: Reader,
    conn: ReadConnection,
    state: State,
    within: Annotated[
        str | None, Query(max_length=30, description="a community or grid code to narrow to")
    ] = None,
) -> list[GridRollUp]:
    """Households, residents, floating population, moved out and tags, per grid."""
    views = await Views.of(conn, state)
    grids = await _grids(conn, views, principal, within)
    ids = [g.place_id for g in grids]
    pl, p, h, t = views.places, views.persons, views.people["households"], views.people["tags"]
    households = dict(
        (r.grid_id, r.n)
        for r in await conn.execute(
            sa.select(pl.c.grid_id, sa.func.count().label("n"))
            .select_from(h.join(pl, pl.c.place_id == h.c.dwelling_id))
            .where(pl.c.grid_id.in_(ids))
            .group_by(pl.c.grid_id)
        )
    )
    statuses: dict[Any, dict[str, int]] = {}
    live = p.c.merged_into.is_(None)
    for r in await conn.execute(
        sa.select(pl.c.grid_id, p.c.residence_status, sa.func.count().label("n"))
        .select_from(p.join(pl, pl.c.place_id == p.c.dwelling_id))
        .where(pl.c.grid_id.in_(ids), live)
        .group_by(pl.c.grid_id, p.c.residence_status)
    ):
        statuses.setdefault(r.grid_id, {})[r.residence_status] = r.n
    on = today()
    tags: dict[Any, dict[str, int]] = {}
    tagged = t.join(p, p.c.person_id == t.c.person_id).join(pl, pl.c.place_id == p.c.dwelling_id)
    for r in await conn.execute(
        sa.select(pl.c.grid_id, t.c.tag, sa.func.count(sa.distinct(t.c.person_id)).label("n"))
        .select_from(tagged)
        .where(
            pl.c.grid_id.in_(ids), live, t.c.valid_from <= on, t.c.ended_on.is_(None),
            sa.or_(t.c.valid_until.is_(None), t.c.valid_until >= on),
        )
        .group_by(pl.c.grid_id, t.c.tag)
    ):  # fmt: skip
        tags.setdefault(r.grid_id, {})[r.tag] = r.n
    out = []
    for g in grids:
        counts = statuses.get(g.place_id, {})
        out.append(
            GridRollUp(
                grid_id=g.place_id, code=g.code, name=g.name,
                households=households.get(g.place_id, 0),
                residents=counts.get("resident", 0), floating=counts.get("floating", 0),
                lodging=counts.get("lodging", 0), moved_out=counts.get("moved_out", 0),
                deceased=counts.get("deceased", 0), tags=tags.get(g.place_id, {}),
            )
        )  # fmt: skip
    return out


@router.get("/visit-coverage", response_model=CoverageReport)
async def visit_coverage(
    principal: Reader,
    conn: ReadConnection,
    state: State,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    within: Annotated[str | None, Query(max_length=30)] = None,
) -> CoverageReport:
    """Share of households visited in the last ``days`` days, per grid.

    A household counts as visited when a visit named it, or visited its dwelling.
    """
    views = await Views.of(conn, state)
    grids = await _grids(conn, views, principal, within)
    ids = [g.place_id for g in grids]
    since = datetime.now(UTC) - timedelta(days=days)
    v = (await tables(conn, state, Activity.name))["visits"]
    pl, h = views.places, views.people["households"]
    visited = sa.exists().where(
        v.c.visited_at >= since,
        sa.or_(v.c.household_id == h.c.household_id, v.c.dwelling_id == h.c.dwelling_id),
    )
    rows = await conn.execute(
        sa.select(
            pl.c.grid_id,
            sa.func.count().label("households"),
            sa.func.sum(sa.case((visited, 1), else_=0)).label("visited"),
        )
        .select_from(h.join(pl, pl.c.place_id == h.c.dwelling_id))
        .where(pl.c.grid_id.in_(ids))
        .group_by(pl.c.grid_id)
    )
    counts = {r.grid_id: (int(r.households), int(r.visited or 0)) for r in rows}
    out = []
    for g in grids:
        total, seen = counts.get(g.place_id, (0, 0))
        out.append(
            GridCoverage(
                grid_id=g.place_id, code=g.code, households=total, visited=seen,
                share=round(seen / total, 4) if total else 0.0,
            )
        )  # fmt: skip
    return CoverageReport(days=days, since=since, grids=out)
