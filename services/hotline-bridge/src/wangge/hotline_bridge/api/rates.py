"""``/rates``: a month's hotline figures per grid or community, the assessment's rates among them
(see ``domain.metrics``). Not at ``/metrics``: that path is the Prometheus scrape's on every
service (``wangge.service.metrics``)."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from wangge.hotline_bridge.api.deps import Core
from wangge.hotline_bridge.projections.figures import monthly
from wangge.service.auth import Principal, require
from wangge.service.deps import ReadConnection

router = APIRouter(tags=["rates"])
Reader = Annotated[Principal, Depends(require("subdistrict_admin", "community_staff"))]
MONTH = r"^20\d{2}-(0[1-9]|1[0-2])$"
"""This century's months: the hotline is younger, and year 0 or the month after 9999-12 had no
first instant to compute (a 500 before)."""


class AreaMonth(BaseModel):
    """One grid's or community's month."""

    area_id: uuid.UUID
    code: str | None
    name: str
    tickets: int
    complaints: int
    residents: int
    complaint_rate: float | None
    solved_at_source_rate: float | None
    response_rate: float | None
    resolution_rate: float | None
    satisfaction_rate: float | None
    on_time_rate: float | None


class RatesPage(BaseModel):
    month: str
    by: str
    areas: list[AreaMonth]


@router.get("/rates", response_model=RatesPage)
async def rates(
    principal: Reader,
    conn: ReadConnection,
    core: Core,
    month: Annotated[str, Query(pattern=MONTH, description="2026-11; 2000-01 to 2099-12")],
    by: Annotated[Literal["grid", "community"], Query()] = "grid",
) -> RatesPage:
    """Tickets, complaint rate and the assessment's rates of each area in the caller's places,
    recomputed from the tickets read model on every call."""
    tickets = (await core.tickets(conn))["tickets"]
    places = await core.grid_map(conn)
    areas = [] if places is None else await monthly(conn, tickets, places, month=month, level=by)
    return RatesPage(
        month=month,
        by=by,
        areas=[
            AreaMonth(area_id=a.area_id, code=a.code, name=a.name, **asdict(a.figures))
            for a in areas
            if a.code is not None and principal.covers(a.code)
        ],
    )
