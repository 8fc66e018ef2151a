"""Who may do what: trainers (and the subdistrict's admins) manage sessions, programmes and the
records; a grid worker reads their own record and enrols themselves; community staff read the
records of their community's workers."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.governance.errors import DomainError, Forbidden, NotFound
from wangge.service.app import ServiceState
from wangge.service.auth import Principal, require
from wangge.training.projections.roster import grid_codes, worker_row
from wangge.training.tables import roster

MANAGERS = ("trainer", "subdistrict_admin")
Manager = Annotated[Principal, Depends(require(*MANAGERS))]
Reader = Annotated[Principal, Depends(require(*MANAGERS, "community_staff", "grid_worker"))]
"""Reads records: a worker only their own, community staff their community's."""
Enroller = Annotated[Principal, Depends(require(*MANAGERS, "grid_worker"))]
"""Enrols and acknowledges: managers for anyone, a grid worker for themselves (community staff
are not workers: nothing of theirs to enrol)."""


class UnknownWorker(DomainError):
    """The worker is not (yet) on the roster the registry's events build."""

    slug = "unknown-worker"
    title = "No such grid worker on the roster"


async def known_worker(
    conn: AsyncConnection, state: ServiceState, worker_id: uuid.UUID, *, field: str = "worker_id"
) -> Any:
    """The worker's roster row (422 naming ``field`` when the registry never appointed them)."""
    tables = await roster(conn, state)
    row = await worker_row(conn, tables, worker_id) if tables is not None else None
    if row is None:
        raise UnknownWorker(f"no grid worker {worker_id} on the roster", field=field)
    return row


async def may_read(
    conn: AsyncConnection, state: ServiceState, principal: Principal, worker: Any
) -> bool:
    """Whether the caller may read this worker's record."""
    if principal.has_any(MANAGERS) or worker.account == principal.subject:
        return True
    if not principal.has_any(("community_staff",)):
        return False
    tables = await roster(conn, state)
    assert tables is not None
    return any(principal.covers(code) for code in await grid_codes(conn, tables, worker))


async def readable_worker(
    conn: AsyncConnection, state: ServiceState, principal: Principal, worker_id: uuid.UUID
) -> Any:
    """The worker's roster row, if the caller may read their record (404 otherwise)."""
    tables = await roster(conn, state)
    row = await worker_row(conn, tables, worker_id) if tables is not None else None
    if row is None or not await may_read(conn, state, principal, row):
        raise NotFound(f"no grid worker {worker_id}", field="worker_id")
    return row


async def acting_worker(
    conn: AsyncConnection, state: ServiceState, principal: Principal, worker_id: uuid.UUID,
    *, refusal: str,
) -> Any:  # fmt: skip
    """The worker a command acts for: anyone on the roster for managers (422 when unknown), the
    caller themselves for anyone else, who gets the same 403 for every other id, on the roster
    or not: it tells them nothing about who is on it."""
    if principal.has_any(MANAGERS):
        return await known_worker(conn, state, worker_id)
    tables = await roster(conn, state)
    row = await worker_row(conn, tables, worker_id) if tables is not None else None
    if row is None or row.account != principal.subject:
        raise Forbidden(refusal, field="worker_id")
    return row
