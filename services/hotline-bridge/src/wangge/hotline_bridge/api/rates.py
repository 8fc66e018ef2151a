"""``/rates``: a month's hotline figures per grid or community, the assessment's rates among them
(see ``domain.metrics``), and per ticket category within each on request. Not at ``/metrics``:
that path is the Prometheus scrape's on every service (``wangge.service.metrics``)."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from wangge.hotline_bridge.api.deps import Core
from wangge.hotline_bridge.projections.figures import AreaFigures, monthly, residents_day
from wangge.service.auth import Principal, require
from wangge.service.deps import ReadConnection

router = APIRouter(tags=["rates"])
Reader = Annotated[Principal, Depends(require("subdistrict_admin", "community_staff"))]
MONTH = r"^20\d{2}-(0[1-9]|1[0-2])$"
"""This century's months: the hotline is younger, and year 0 or the month after 9999-12 had no
first instant to compute (a 500 before)."""


class FiguresRead(BaseModel):
    """A month's figures over a set of tickets (an area's, or an area's of one category)."""

    tickets: int = Field(description="routed to the area, received in the month (CST)")
    complaints: int
    residents: int = Field(description="living in the area's dwellings on `residents_on`")
    complaint_rate: float | None = Field(description="诉求率: complaints per 1,000 residents")
    solved_at_source_rate: float | None = Field(description="就地解决率: of replies")
    response_rate: float | None = Field(
        description="响应率: accepted within 24 hours of receipt, of the tickets not pending"
    )
    response_pending: int = Field(
        description="not accepted yet, their 24 hours not over: counted in no response rate"
    )
    resolution_rate: float | None = Field(description="解决率: of the follow-up calls")
    satisfaction_rate: float | None = Field(description="满意率: of the follow-up calls")
    on_time_rate: float | None = Field(description="replied by the deadline, of replies")


class CategoryMonth(FiguresRead):
    """An area's month over the tickets of one category of the dispatch catalogue."""

    category: str = Field(description="the catalogue's code (`GET /catalogue`)")
    category_name: str
    kind: str = Field(description="complaint, request, enquiry, ...: the category's kind")


class AreaMonth(FiguresRead):
    """One grid's or community's month."""

    area_id: uuid.UUID
    code: str | None
    name: str
    categories: list[CategoryMonth] | None = Field(
        default=None,
        description="with `categories=true`: the figures per category of the area's tickets, "
        "in code order (categories without tickets left out); otherwise null",
    )


class RatesPage(BaseModel):
    month: str
    by: str
    residents_on: date = Field(
        description="the day residents are counted on: the month's last day, or today (CST) "
        "while the month is under way"
    )
    areas: list[AreaMonth]


def _area(found: AreaFigures, by_category: bool) -> AreaMonth:
    categories = [
        CategoryMonth(category=c.category, category_name=c.category_name, kind=c.kind,
                      **asdict(c.figures))
        for c in found.categories
    ]  # fmt: skip
    return AreaMonth(
        area_id=found.area_id, code=found.code, name=found.name, **asdict(found.figures),
        categories=categories if by_category else None,
    )  # fmt: skip


@router.get("/rates", response_model=RatesPage)
async def rates(
    principal: Reader,
    conn: ReadConnection,
    core: Core,
    month: Annotated[str, Query(pattern=MONTH, description="2026-11; 2000-01 to 2099-12")],
    by: Annotated[Literal["grid", "community"], Query()] = "grid",
    categories: Annotated[
        bool, Query(description="also each area's figures per ticket category")
    ] = False,
) -> RatesPage:
    """Tickets, complaint rate and the assessment's rates of each area in the caller's places,
    recomputed from the read models on every call (a response still inside its window is
    judged pending as of the call)."""
    now = datetime.now(UTC)
    tickets = (await core.tickets(conn))["tickets"]
    places = await core.grid_map(conn)
    areas = (
        []
        if places is None
        else await monthly(
            conn, tickets, places, month=month, level=by, now=now, by_category=categories
        )
    )
    return RatesPage(
        month=month,
        by=by,
        residents_on=residents_day(month, now),
        areas=[
            _area(a, categories) for a in areas if a.code is not None and principal.covers(a.code)
        ],
    )
