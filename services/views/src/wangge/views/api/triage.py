"""``/triage``: the 12345 tickets no grid was found for (待分拨), longest waiting first, for the
staff who route them by hand in the hotline bridge. A ticket in triage is tied to no place yet,
so it is the whole deployment's: read by those whose places cover every subdistrict the roster
knows (``access.in_scope``): a subdistrict's admins, 404 for those of another subdistrict, as
for every such thing."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.governance.errors import NotFound
from wangge.governance.times import stored
from wangge.service.auth import Principal, require
from wangge.service.deps import ReadConnection
from wangge.service.responses import problems
from wangge.views.api.access import (
    Core,
    ViewNotReady,
    require_scope,
    roster_tables,
    view_tables,
)
from wangge.views.api.params import single_valued
from wangge.views.projections.dashboard import Dashboard
from wangge.views.projections.dashboard_queries import tickets_by_id
from wangge.views.projections.matters import Matters, in_triage

router = APIRouter(tags=["matters"], dependencies=[single_valued])
Admin = Annotated[Principal, Depends(require("subdistrict_admin"))]
"""Only a subdistrict's admins route by hand; the queue is theirs (grid workers and a
community's staff see a ticket once it reaches their places)."""


class Waiting(BaseModel):
    """A ticket waiting for a grid; its matter's lineage is ``/matters/{correlation_id}``."""

    ticket_id: uuid.UUID
    correlation_id: str
    kind: str | None = Field(description="complaint, request, ... (None: not applied yet)")
    received_at: datetime | None
    deadline: datetime | None
    waiting_since: datetime = Field(description="when it was put in triage")


class TriageRead(BaseModel):
    """The triage queue, longest waiting first."""

    tickets: list[Waiting]


async def triage_queue(conn: AsyncConnection, core: Core, principal: Principal) -> TriageRead:
    """The queue as ``principal`` may read it (404 unless their places cover the deployment)."""
    roster = await roster_tables(conn, core)
    await require_scope(conn, roster, principal, [], "triage queue", field="path")
    waiting = await in_triage(conn, await view_tables(conn, core, Matters.name))
    dashboard = await view_tables(conn, core, Dashboard.name)
    found = await tickets_by_id(conn, dashboard, [w.ticket_id for w in waiting])
    out = []
    for w in waiting:
        row = found.get(w.ticket_id)
        out.append(Waiting(
            ticket_id=w.ticket_id, correlation_id=w.correlation_id,
            kind=row.kind if row else None,
            received_at=stored(row.received_at) if row else None,
            deadline=stored(row.deadline) if row else None, waiting_since=w.since,
        ))  # fmt: skip
    return TriageRead(tickets=out)


@router.get("/triage", response_model=TriageRead, responses=problems(NotFound, ViewNotReady))
async def read_triage(principal: Admin, conn: ReadConnection, core: Core) -> TriageRead:
    """The tickets waiting for a grid, longest waiting first."""
    return await triage_queue(conn, core, principal)
