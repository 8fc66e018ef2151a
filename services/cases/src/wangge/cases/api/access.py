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
from wangge.cases.personal_data import KeyRings
from wangge.cases.projections.cases import Cases
from wangge.cases.projections.residents import Residents
from wangge.cases.projections.residents import name_masked as masked_name_of
from wangge.cases.projections.roster import Roster, grid_code
from wangge.events.projection import active_tables
from wangge.governance.errors import DomainError, NotFound
from wangge.service.app import ServiceState
from wangge.service.auth import Principal, require
from wangge.service.deps import core_of

Staff = Annotated[
    Principal, Depends(require("subdistrict_admin", "community_staff", "grid_worker"))
]
Supervisor = Annotated[Principal, Depends(require("subdistrict_admin", "community_staff"))]
Worker = Annotated[Principal, Depends(require("grid_worker"))]


async def _keyrings(core: Annotated[CasesCore, Depends(core_of(CasesCore))]) -> KeyRings:
    return core.keyrings


Keys = Annotated[KeyRings, Depends(_keyrings)]
"""The service's key rings (made by the app factory)."""


class UnknownGrid(DomainError):
    """The grid is not (yet) in the cases service's roster."""

    slug = "unknown-grid"
    title = "No such grid in the subdistrict"


async def roster(conn: AsyncConnection, state: ServiceState) -> Mapping[str, sa.Table] | None:
    try:
        return await active_tables(conn, state.service_projection(Roster.name))
    except LookupError:
        return None


async def resident_masked(conn: AsyncConnection, state: ServiceState, resident: str) -> str:
    """How a resident given by pseudonymous id is shown: the registry's mask, from this
    service's copy, never a client's text."""
    try:
        tables = await active_tables(conn, state.service_projection(Residents.name))
    except LookupError:
        tables = None
    return await masked_name_of(conn, tables, resident)


def pseudonymous(resident: str) -> str:
    """A resident's pseudonymous id as kept: a registered person's id in its one written form
    (so a resident's erasure finds every row naming them), anything else as given."""
    try:
        return str(uuid.UUID(resident))
    except ValueError:
        return resident


async def code_of_grid(conn: AsyncConnection, state: ServiceState, grid_id: uuid.UUID) -> str:
    tables = await roster(conn, state)
    code = await grid_code(conn, tables, grid_id) if tables is not None else None
    if code is None:
        raise UnknownGrid(f"no grid {grid_id} in the roster", field="grid_id")
    return str(code)


async def grid_in_scope(
    conn: AsyncConnection, state: ServiceState, principal: Principal, grid_id: uuid.UUID
) -> str:
    """The code of a grid the caller's places cover; a grid outside them is the same 404 as one
    nobody registered (its existence is not theirs)."""
    try:
        code = await code_of_grid(conn, state, grid_id)
    except UnknownGrid:
        code = None
    if code is None or not principal.covers(code):
        raise NotFound(f"no grid {grid_id} in the caller's places", field="grid_id")
    return code


async def may_reach_grid(
    conn: AsyncConnection, state: ServiceState, principal: Principal, grid_id: uuid.UUID | None
) -> bool:
    """Whether the caller's places cover the grid (a case without a grid: supervisors only)."""
    if grid_id is None:
        return principal.has_any(("subdistrict_admin", "community_staff"))
    try:
        return principal.covers(await code_of_grid(conn, state, grid_id))
    except UnknownGrid:
        return False


async def case_row(
    conn: AsyncConnection, state: ServiceState, principal: Principal, case_id: uuid.UUID
) -> Any:
    """The case's row, if the caller may see it (else 404: its existence is not theirs)."""
    t = (await active_tables(conn, state.service_projection(Cases.name)))["cases"]
    row = (await conn.execute(sa.select(t).where(t.c.case_id == case_id))).first()
    if row is None or not (
        row.account == principal.subject
        or await may_reach_grid(conn, state, principal, row.grid_id)
    ):
        raise NotFound(f"no case {case_id}", field="case_id")
    return row
