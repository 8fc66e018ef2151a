"""A grid's lists: its households (网格户册), the households living in its dwellings and their
members, masked, page by page; and its open cases, overdue first, by the dashboard's rule. What
a grid worker walks through and the grid page shows. Staff read them within their places;
outside them (or for no such grid), 404."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.governance.errors import NotFound
from wangge.governance.roster import Tables
from wangge.service.auth import Principal
from wangge.service.deps import ReadConnection
from wangge.service.responses import problems
from wangge.views.api.access import (
    Core,
    Staff,
    ViewNotReady,
    require_scope,
    roster_tables,
    view_tables,
)
from wangge.views.api.as_of import AsOfDay, checked
from wangge.views.api.dashboard import CODE, today
from wangge.views.api.params import single_valued
from wangge.views.domain import figures as f
from wangge.views.projections import residents_queries as queries
from wangge.views.projections.dashboard import Dashboard
from wangge.views.projections.dashboard_queries import open_cases
from wangge.views.projections.residents import Residents
from wangge.views.projections.residents_models import GridHouseholds
from wangge.views.projections.roster import place_by_code

router = APIRouter(tags=["residents"], dependencies=[single_valued])
PAGE = 50
AsOf = Annotated[AsOfDay | None, Query(description="as at the end of this day; today if none")]


@router.get(
    "/grids/{code}/households",
    response_model=GridHouseholds,
    responses=problems(NotFound, ViewNotReady),
)
async def grid_households(
    principal: Staff, conn: ReadConnection, core: Core,
    code: Annotated[str, Path(pattern=CODE)],
    as_of: AsOf = None,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = PAGE,
) -> Response:  # fmt: skip
    """The grid's households on the day, by building and dwelling, each with its members
    (masked names, relationship, age band, active tags); ``total`` counts every page's."""
    page = await households_page(conn, core, principal, code, checked(as_of), offset, limit)
    return Response(content=page.model_dump_json(), media_type="application/json")


async def _grid(
    conn: AsyncConnection, core: Core, principal: Principal, code: str
) -> tuple[Tables, uuid.UUID]:
    """The roster's tables and the grid's id, once the grid is one ``principal`` may read (404
    for no such grid, and for one outside their places)."""
    roster = await roster_tables(conn, core)
    grid = await place_by_code(conn, roster, code)
    if grid is None or grid.kind != "grid":
        raise NotFound(f"no grid {code}", field="code")
    await require_scope(conn, roster, principal, [code], "grid", field="code")
    return roster, grid.place_id


async def households_page(
    conn: AsyncConnection, core: Core, principal: Principal, code: str, day: date | None,
    offset: int = 0, limit: int = PAGE,
) -> GridHouseholds:  # fmt: skip
    """A page of the grid's households as ``principal`` may read it (404 outside their places)."""
    roster, grid_id = await _grid(conn, core, principal, code)
    tables = await view_tables(conn, core, Residents.name)
    total, households = await queries.grid_households(
        conn, tables, roster, grid_id, as_of=day, offset=offset, limit=limit
    )
    return GridHouseholds(
        grid_code=code, as_of=day, total=total, offset=offset, households=households
    )


class OpenCase(BaseModel):
    """A case of the grid's list."""

    case_id: uuid.UUID
    kind: str
    title: str | None
    opened_at: datetime
    deadline: datetime | None
    overdue: bool = Field(description="past its deadline at the end of the day")


class GridCases(BaseModel):
    """The grid's cases open at the end of the day (the dashboard's ``cases.open``)."""

    grid_code: str
    as_of: date
    cases: list[OpenCase]


async def open_cases_of(
    conn: AsyncConnection, core: Core, principal: Principal, code: str, day: date
) -> GridCases:
    """The grid's open cases as ``principal`` may read them (404 outside their places)."""
    _, grid_id = await _grid(conn, core, principal, code)
    dashboard = await view_tables(conn, core, Dashboard.name)
    found = await open_cases(conn, dashboard, grid_id, as_of=day)
    ids = [c.case_id for c in found if c.case_id is not None]
    titles = await queries.case_titles(conn, await view_tables(conn, core, Residents.name), ids)
    moment = f.month_of(day, as_of=day).day_end
    return GridCases(grid_code=code, as_of=day, cases=[
        OpenCase(case_id=c.case_id, kind=c.kind, title=titles.get(c.case_id),
                 opened_at=c.opened_at, deadline=c.deadline, overdue=c.overdue_at(moment))
        for c in found if c.case_id is not None
    ])  # fmt: skip


@router.get(
    "/grids/{code}/cases", response_model=GridCases, responses=problems(NotFound, ViewNotReady)
)
async def grid_cases(
    principal: Staff, conn: ReadConnection, core: Core,
    code: Annotated[str, Path(pattern=CODE)], as_of: AsOf = None,
) -> GridCases:  # fmt: skip
    """The grid's cases open at the end of the day, overdue first, then by deadline and age."""
    return await open_cases_of(conn, core, principal, code, checked(as_of) or today())
