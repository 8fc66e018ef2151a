"""An area's grids side by side (网格一览): each grid's drawn boundary, worker and the figures of
its dashboard's as-of month, for the subdistrict's map and tables; a caller reads the grids in
their places (:func:`visible`). Every figure is the grid's own dashboard's: the as-of month of
the same months ``/grids/{code}/dashboard`` renders (``dashboard_queries.monthly``, kept), picked
out, never computed another way; the whole list is kept as the dashboards are
(``dashboard_queries.remembered``) until the dashboard or the roster applies events."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.governance.errors import NotFound
from wangge.service.auth import Principal
from wangge.service.deps import ReadConnection
from wangge.service.responses import problems
from wangge.views.api.access import (
    STAFF,
    Core,
    FigureReader,
    ViewNotReady,
    in_scope,
    require_figures_scope,
    roster_tables,
    view_tables,
)
from wangge.views.api.as_of import AsOfDay, checked
from wangge.views.api.dashboard import CODE, today
from wangge.views.api.params import single_valued
from wangge.views.projections.dashboard import Dashboard
from wangge.views.projections.dashboard_queries import MonthFigures, area_of, monthly, remembered
from wangge.views.projections.roster import boundaries_of, grids_with_workers

router = APIRouter(tags=["dashboard"], dependencies=[single_valued])


class GridFigures(BaseModel):
    """One grid in its area's list: where it is, who holds it, its month's key figures."""

    place_id: uuid.UUID
    code: str
    name: str
    worker: str | None = Field(description="the grid worker's name (None: no one holds it)")
    boundary: dict[str, Any] | None = Field(
        description="the grid's drawn boundary, GeoJSON in WGS 84 (None: never drawn)"
    )
    living: int = Field(description="residents living in the grid (常住, 流动, 寄住)")
    special_groups: int = Field(description="residents in a special, key or vulnerable group")
    tickets: int = Field(description="12345 tickets of the month")
    complaints: int
    complaint_rate: float | None = Field(description="投诉率: complaints per 1,000 residents")
    open_cases: int
    overdue_cases: int
    care_due: int
    care_missed: int = Field(description="care visits missed (关爱走访 漏访)")
    care_coverage_rate: float | None
    open_hazards: int


class GridsRead(BaseModel):
    """An area's grids, in code order, with the month their figures are of."""

    kind: str
    code: str
    name: str
    as_of: date
    month: str
    grids: list[GridFigures]


def _figures(grid: Any, now: MonthFigures, boundary: dict[str, Any] | None) -> GridFigures:
    return GridFigures(
        place_id=grid.place_id, code=grid.code, name=grid.name, worker=grid.worker,
        boundary=boundary, living=now.residents.living,
        special_groups=now.special_groups.people, tickets=now.hotline.tickets,
        complaints=now.hotline.complaints,
        complaint_rate=now.hotline.complaint_rate, open_cases=now.cases.open,
        overdue_cases=now.cases.overdue, care_due=now.care.due,
        care_missed=now.care.missed, care_coverage_rate=now.care.coverage_rate,
        open_hazards=now.hazards.open,
    )  # fmt: skip


async def grids_of(conn: AsyncConnection, core: Core, kind: str, code: str, day: date) -> bytes:
    """The area's grids list as of ``day``, rendered (kept until the rows move). Scope is the
    caller's to check."""
    places = await roster_tables(conn, core)
    tables = await view_tables(conn, core, Dashboard.name)

    async def render() -> bytes:
        area = await area_of(conn, places["places"], code, kind)
        if area is None:
            raise NotFound(f"no {kind} {code}", field="code")
        shapes = await boundaries_of(conn, places, area.grid_ids)
        grids: list[GridFigures] = []
        month = day.strftime("%Y-%m")
        for grid in await grids_with_workers(conn, places, area.grid_ids):
            # the same months the grid's dashboard computes, its as-of month last: a month
            # computed over a window of its own is not promised the dashboard's figures
            now = (await monthly(conn, tables, places, [grid.place_id], as_of=day))[-1]
            month = now.month.label
            grids.append(_figures(grid, now, shapes.get(grid.place_id)))
        grids.sort(key=lambda g: g.code)
        read = GridsRead(kind=area.kind, code=area.code, name=area.name, as_of=day,
                         month=month, grids=grids)  # fmt: skip
        return read.model_dump_json().encode()

    body: bytes = await remembered(conn, tables, places, ("grids", kind, code, day), render)
    return body


def visible(principal: Principal, read: bytes) -> GridsRead:
    """The list as ``principal`` may read it: the grids in their places (a grid worker, their
    own; a community's staff, their community's; analysts and the subdistrict's admins, all),
    with the worker's name only for staff (analysts read figures, never a person)."""
    answer = GridsRead.model_validate_json(read)
    staff = principal.has_any(STAFF)
    answer.grids = [
        g if staff else g.model_copy(update={"worker": None})
        for g in answer.grids
        if in_scope(principal, [g.code])
    ]
    return answer


async def _read(
    conn: AsyncConnection, core: Core, principal: Principal, kind: str, code: str,
    as_of: date | None,
) -> Response:  # fmt: skip
    day = checked(as_of) or today()
    require_figures_scope(principal, code, kind)
    answer = visible(principal, await grids_of(conn, core, kind, code, day))
    return Response(content=answer.model_dump_json(), media_type="application/json")


AsOf = Annotated[AsOfDay | None, Query(description="the day to answer as of; today (CST) if none")]


@router.get(
    "/subdistricts/{code}/grids", response_model=GridsRead,
    responses=problems(NotFound, ViewNotReady),
)  # fmt: skip
async def subdistrict_grids(
    principal: FigureReader, conn: ReadConnection, core: Core,
    code: Annotated[str, Path(pattern=CODE)], as_of: AsOf = None,
) -> Response:  # fmt: skip
    """The subdistrict's grids with their boundaries and their dashboards' key figures of the
    month (the subdistrict centre's map)."""
    return await _read(conn, core, principal, "subdistrict", code, as_of)


@router.get(
    "/communities/{code}/grids", response_model=GridsRead,
    responses=problems(NotFound, ViewNotReady),
)  # fmt: skip
async def community_grids(
    principal: FigureReader, conn: ReadConnection, core: Core,
    code: Annotated[str, Path(pattern=CODE)], as_of: AsOf = None,
) -> Response:  # fmt: skip
    """The community's grids with their boundaries and their dashboards' key figures."""
    return await _read(conn, core, principal, "community", code, as_of)
