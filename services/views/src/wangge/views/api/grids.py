"""A grid's household list (网格户册): the households living in its dwellings and their members,
masked, page by page; what a grid worker walks through and the grid page shows. Staff read it
within their places; outside them (or for no such grid), 404."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.governance.errors import NotFound
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
from wangge.views.api.dashboard import CODE
from wangge.views.api.params import single_valued
from wangge.views.projections import residents_queries as queries
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


async def households_page(
    conn: AsyncConnection, core: Core, principal: Principal, code: str, day: date | None,
    offset: int = 0, limit: int = PAGE,
) -> GridHouseholds:  # fmt: skip
    """A page of the grid's households as ``principal`` may read it (404 outside their places)."""
    roster = await roster_tables(conn, core)
    grid = await place_by_code(conn, roster, code)
    if grid is None or grid.kind != "grid":
        raise NotFound(f"no grid {code}", field="code")
    await require_scope(conn, roster, principal, [code], "grid", field="code")
    tables = await view_tables(conn, core, Residents.name)
    total, households = await queries.grid_households(
        conn, tables, roster, grid.place_id, as_of=day, offset=offset, limit=limit
    )
    return GridHouseholds(
        grid_code=code, as_of=day, total=total, offset=offset, households=households
    )
