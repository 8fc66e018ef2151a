"""Who may act on what: staff act on the cases and plans of the places their token covers (a
grid worker their grid, community staff their community, the subdistrict everything in it)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.cases.bootstrap import CasesCore
from wangge.cases.domain import upstream
from wangge.cases.projections import care as care_model
from wangge.cases.projections import cases as model
from wangge.cases.projections.care import CarePlans
from wangge.cases.projections.cases import Cases
from wangge.cases.projections.roster import Roster, grid_code, worker_of
from wangge.events.db import read_only
from wangge.governance.errors import DomainError, NotFound
from wangge.service.auth import Principal, require
from wangge.service.deps import core_of

Staff = Annotated[
    Principal, Depends(require("subdistrict_admin", "community_staff", "grid_worker"))
]
Supervisor = Annotated[Principal, Depends(require("subdistrict_admin", "community_staff"))]
Worker = Annotated[Principal, Depends(require("grid_worker"))]
Core = Annotated[CasesCore, Depends(core_of(CasesCore))]
"""The service's core: its store, read models and key rings (made by the app's lifespan)."""


class UnknownGrid(DomainError):
    """The grid is not (yet) in the cases service's roster."""

    slug = "unknown-grid"
    title = "No such grid in the subdistrict"


async def roster(conn: AsyncConnection, core: CasesCore) -> Mapping[str, sa.Table] | None:
    """The roster's tables (None before it first started)."""
    return await core.tables_if_started(conn, Roster.name)


async def grid_worker(core: CasesCore, grid_id: uuid.UUID) -> upstream.Worker | None:
    """The grid's worker as the roster knows them (None: the community triages its cases)."""
    async with read_only(core.store.engine) as conn:
        tables = await roster(conn, core)
        return await worker_of(conn, tables, grid_id) if tables is not None else None


async def code_of_grid(conn: AsyncConnection, core: CasesCore, grid_id: uuid.UUID) -> str:
    tables = await roster(conn, core)
    code = await grid_code(conn, tables, grid_id) if tables is not None else None
    if code is None:
        raise UnknownGrid(f"no grid {grid_id} in the roster", field="grid_id")
    return str(code)


async def grid_in_scope(core: CasesCore, principal: Principal, grid_id: uuid.UUID) -> str:
    """The code of a grid the caller's places cover; a grid outside them is the same 404 as one
    nobody registered (its existence is not theirs)."""
    async with read_only(core.store.engine) as conn:
        try:
            code = await code_of_grid(conn, core, grid_id)
        except UnknownGrid:
            code = None
    if code is None or not principal.covers(code):
        raise NotFound(f"no grid {grid_id} in the caller's places", field="grid_id")
    return code


async def may_reach_grid(
    conn: AsyncConnection, core: CasesCore, principal: Principal, grid_id: uuid.UUID | None
) -> bool:
    """Whether the caller's places cover the grid (a case without a grid: supervisors only)."""
    if grid_id is None:
        return principal.has_any(("subdistrict_admin", "community_staff"))
    try:
        return principal.covers(await code_of_grid(conn, core, grid_id))
    except UnknownGrid:
        return False


async def case_row(
    conn: AsyncConnection, core: CasesCore, principal: Principal, case_id: uuid.UUID
) -> Any:
    """The case's row, if the caller may see it (else 404: its existence is not theirs)."""
    row = await model.case(conn, await core.tables(conn, Cases.name), case_id)
    if row is None or not (
        row.account == principal.subject or await may_reach_grid(conn, core, principal, row.grid_id)
    ):
        raise NotFound(f"no case {case_id}", field="case_id")
    return row


async def visible_case(core: CasesCore, principal: Principal, case_id: uuid.UUID) -> None:
    """404 unless the caller may see the case."""
    async with read_only(core.store.engine) as conn:
        await case_row(conn, core, principal, case_id)


async def plan_row(
    conn: AsyncConnection, core: CasesCore, principal: Principal, plan_id: uuid.UUID
) -> Any:
    """The plan's row, if the caller may see it (else 404: its existence is not theirs)."""
    row = await care_model.plan(conn, await core.tables(conn, CarePlans.name), plan_id)
    if row is None:
        raise NotFound(f"no care plan {plan_id}", field="plan_id")
    if row.worker_account != principal.subject and not principal.covers(
        await code_of_grid(conn, core, row.grid_id)
    ):
        raise NotFound(f"no care plan {plan_id}", field="plan_id")
    return row


async def visible_plan(core: CasesCore, principal: Principal, plan_id: uuid.UUID) -> None:
    """404 unless the caller may see the plan."""
    async with read_only(core.store.engine) as conn:
        await plan_row(conn, core, principal, plan_id)
