"""``/reports``: per-grid roll-ups and visit coverage, inside the caller's places."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from wangge.registry.api.access import Reader
from wangge.registry.api.deps import Core, ReadConnection, tables
from wangge.registry.handlers.persons import today
from wangge.registry.projections import people_queries, places
from wangge.registry.projections.activity import Activity, coverage
from wangge.registry.projections.views import Views

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


@router.get("/grids", response_model=list[GridRollUp])
async def grid_roll_up(
    principal: Reader,
    conn: ReadConnection,
    core: Core,
    within: Annotated[
        str | None, Query(max_length=30, description="a community or grid code to narrow to")
    ] = None,
) -> list[GridRollUp]:
    """Households, residents, floating population, moved out and tags, per grid."""
    views = await Views.of(conn, core)
    grids = await places.grids(conn, views.places, within=principal.places, code=within)
    ids = [g.place_id for g in grids]
    counts = await people_queries.grid_counts(conn, views.people, views.places, ids, today())
    out = []
    for g in grids:
        statuses = counts.statuses.get(g.place_id, {})
        out.append(
            GridRollUp(
                grid_id=g.place_id, code=g.code, name=g.name,
                households=counts.households.get(g.place_id, 0),
                residents=statuses.get("resident", 0), floating=statuses.get("floating", 0),
                lodging=statuses.get("lodging", 0), moved_out=statuses.get("moved_out", 0),
                deceased=statuses.get("deceased", 0), tags=counts.tags.get(g.place_id, {}),
            )
        )  # fmt: skip
    return out


@router.get("/visit-coverage", response_model=CoverageReport)
async def visit_coverage(
    principal: Reader,
    conn: ReadConnection,
    core: Core,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    within: Annotated[str | None, Query(max_length=30)] = None,
) -> CoverageReport:
    """Share of households visited in the last ``days`` days, per grid.

    A household counts as visited when a visit named it, or visited its dwelling.
    """
    views = await Views.of(conn, core)
    grids = await places.grids(conn, views.places, within=principal.places, code=within)
    ids = [g.place_id for g in grids]
    since = datetime.now(UTC) - timedelta(days=days)
    activity = await tables(conn, core, Activity.name)
    counts = await coverage(conn, activity, views.people, views.places, ids, since)
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
