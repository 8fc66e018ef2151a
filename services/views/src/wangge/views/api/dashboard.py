"""The grid dashboard (网格看板): a grid's, community's or the subdistrict's figures for the
month containing ``as_of`` and the 24 months ending there (``projections.dashboard_queries``;
each figure's rule in ``domain.figures``)."""

from __future__ import annotations

import time
import uuid
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.governance.errors import NotFound
from wangge.service.deps import ReadConnection
from wangge.views.api.access import (
    Core,
    FigureReader,
    require_figures_scope,
    roster_tables,
    view_tables,
)
from wangge.views.api.as_of import AsOfDay, checked
from wangge.views.api.params import single_valued
from wangge.views.domain import figures as f
from wangge.views.projections.dashboard import Dashboard
from wangge.views.projections.dashboard_queries import (
    MonthFigures,
    area_of,
    computed_monthly,
    remembered,
)

router = APIRouter(tags=["dashboard"], dependencies=[single_valued])
CODE = r"^[0-9]{9}(-[0-9]{3}){0,2}$"  # ASCII digits: \d takes ３２０ too, a code no place has


class Residents(BaseModel):
    """People living in the area's dwellings on the month's day, by residence status."""

    resident: int = Field(description="常住 registered residents")
    floating: int = Field(description="流动 floating population")
    lodging: int = Field(description="寄住 lodgers")
    living: int = Field(description="the three together")
    moved_out: int = Field(description="流出: moved out of the area's dwellings, not come back")
    moved_out_in_month: int = Field(description="of them, moved out this month (up to the day)")


class SpecialGroups(BaseModel):
    """Residents with a valid tag (特殊 / 重点 / 困难人群) on the day; expired ones left out."""

    people: int
    by_tag: dict[str, int]


class Care(BaseModel):
    """The month's care-plan visits (关爱走访), by the cases service's rule for a period."""

    plans: int = Field(description="plans running on the day")
    due: int = Field(description="periods ending this month, each needing a visit")
    done: int = Field(description="of them, visited")
    missed: int = Field(description="of them, over before the day without a visit")
    coverage_rate: float | None = Field(description="done of due (None: nothing due)")


class Cases(BaseModel):
    """Cases open (neither resolved nor closed) at the end of the day."""

    open: int
    overdue: int = Field(description="past their deadline")
    by_kind: dict[str, int]
    by_age: dict[str, int] = Field(description="days since opened: 0-7, 8-30, 31-90, 90+")


class Hotline(BaseModel):
    """The month's 12345 tickets: the hotline bridge's ``/rates`` figures, same names."""

    tickets: int = Field(description="routed to the area, received in the month (CST)")
    complaints: int
    residents: int = Field(description="living in the area's dwellings on the month's day")
    complaint_rate: float | None = Field(description="投诉率: complaints per 1,000 residents")
    solved_at_source_rate: float | None = Field(description="源头治理: of replies")
    response_rate: float | None = Field(description="响应率: accepted within 24 h, of those due")
    response_pending: int = Field(
        description="not accepted, their 24 h not over when the figures were computed"
    )
    resolution_rate: float | None = Field(description="解决率: of follow-ups")
    satisfaction_rate: float | None = Field(description="满意率: of follow-ups")
    on_time_rate: float | None = Field(description="replied by the deadline, of replies")


class Hazards(BaseModel):
    """Hazard points (安全隐患点) open on the day, by their last risk level."""

    open: int
    by_risk: dict[str, int]


class Training(BaseModel):
    """The area's grid workers' training on the day (the grids' holders now)."""

    workers: int
    enrolments: int = Field(description="programme (轮训) enrolments running")
    completed: int = Field(description="of them, completed by the day")
    completion_rate: float | None
    hours_this_year: float = Field(description="hours earned from 1 January to the day")


class MonthRead(BaseModel):
    """One month of the dashboard."""

    month: str = Field(description="2026-03")
    day: date = Field(description="the day standing figures are taken: month end, or as_of")
    residents: Residents
    special_groups: SpecialGroups
    care: Care
    cases: Cases
    hotline: Hotline
    hazards: Hazards
    training: Training


class DashboardRead(BaseModel):
    """An area's dashboard: the as-of month and the series of months ending with it."""

    place_id: uuid.UUID
    kind: str
    code: str
    name: str
    grids: int = Field(description="the grids summed (a grid: one)")
    as_of: date
    current: MonthRead
    series: list[MonthRead] = Field(description="24 months, oldest first, the as-of month last")


def _month(m: MonthFigures) -> MonthRead:
    # read from the figures' attributes (dataclasses.asdict deep-copies every value: it was a
    # quarter of computing a dashboard)
    return MonthRead(
        month=m.month.label, day=m.month.day,
        residents=Residents.model_validate(m.residents, from_attributes=True),
        special_groups=SpecialGroups.model_validate(m.special_groups, from_attributes=True),
        care=Care.model_validate(m.care, from_attributes=True),
        cases=Cases.model_validate(m.cases, from_attributes=True),
        hotline=Hotline.model_validate(m.hotline, from_attributes=True),
        hazards=Hazards.model_validate(m.hazards, from_attributes=True),
        training=Training.model_validate(m.training, from_attributes=True),
    )  # fmt: skip


async def rendered(
    conn: AsyncConnection, core: Core, kind: str, code: str, day: date
) -> tuple[bytes, float | None]:
    """An area's dashboard as of ``day``, rendered: kept until the dashboard or the roster
    applies events (a dashboard is read far more often than it changes), so a repeated read is
    one query of the runners' state, with no figures computed or rendered again. With it, the
    milliseconds computing it took (None: it was kept). Scope is the caller's to check."""
    places = await roster_tables(conn, core)
    tables = await view_tables(conn, core, Dashboard.name)
    took: float | None = None

    async def render() -> bytes:
        nonlocal took
        started = time.perf_counter()
        area = await area_of(conn, places["places"], code, kind)
        if area is None:
            raise NotFound(f"no {kind} {code}", field="code")
        figures = await computed_monthly(conn, tables, places, area.grid_ids, as_of=day)
        months = [_month(m) for m in figures]
        read = DashboardRead(
            place_id=area.place_id, kind=area.kind, code=area.code, name=area.name,
            grids=len(area.grid_ids), as_of=day, current=months[-1], series=months,
        )  # fmt: skip
        body = read.model_dump_json().encode()
        took = (time.perf_counter() - started) * 1000
        return body

    body = await remembered(conn, tables, places, ("rendered", kind, code, day), render)
    return body, took


def today() -> date:
    """The subdistrict's day now (China Standard Time): what a dashboard answers by default."""
    return datetime.now(f.CST).date()


async def _dashboard(
    conn: ReadConnection, core: Core, principal: FigureReader, kind: str, code: str,
    as_of: date | None,
) -> Response:  # fmt: skip
    """The area's rendered answer, scope checked first on every read. ``Server-Timing`` says
    whether it was kept (``kept``) or computed for this read, and how long that took."""
    day = checked(as_of) or today()
    require_figures_scope(principal, code, kind)
    body, took = await rendered(conn, core, kind, code, day)
    timing = "kept" if took is None else f"computed;dur={took:.1f}"
    return Response(content=body, media_type="application/json", headers={"Server-Timing": timing})


AsOf = Annotated[AsOfDay | None, Query(description="the day to answer as of; today (CST) if none")]


@router.get("/grids/{code}/dashboard", response_model=DashboardRead)
async def grid_dashboard(
    principal: FigureReader, conn: ReadConnection, core: Core,
    code: Annotated[str, Path(pattern=CODE)], as_of: AsOf = None,
) -> Response:  # fmt: skip
    """A grid's figures for the month of ``as_of`` and the 24 months ending there."""
    return await _dashboard(conn, core, principal, "grid", code, as_of)


@router.get("/communities/{code}/dashboard", response_model=DashboardRead)
async def community_dashboard(
    principal: FigureReader, conn: ReadConnection, core: Core,
    code: Annotated[str, Path(pattern=CODE)], as_of: AsOf = None,
) -> Response:  # fmt: skip
    """A community's grids summed (rates recomputed from the sums, never averaged)."""
    return await _dashboard(conn, core, principal, "community", code, as_of)


@router.get("/subdistricts/{code}/dashboard", response_model=DashboardRead)
async def subdistrict_dashboard(
    principal: FigureReader, conn: ReadConnection, core: Core,
    code: Annotated[str, Path(pattern=CODE)], as_of: AsOf = None,
) -> Response:  # fmt: skip
    """The subdistrict's grids summed (rates recomputed from the sums, never averaged)."""
    return await _dashboard(conn, core, principal, "subdistrict", code, as_of)
