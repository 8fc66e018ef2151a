"""Who may do what: trainers (and the subdistrict's admins) manage sessions, programmes and the
records; a grid worker reads their own record and enrols themselves; community staff read the
records of their community's workers. Also the typed core every route reaches the service by."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.governance.errors import Forbidden, NotFound
from wangge.service.auth import Principal, require
from wangge.service.deps import core_of
from wangge.training.bootstrap import TrainingCore
from wangge.training.projections.roster import grid_codes
from wangge.training.projections.roster_queries import Tables, known_worker, worker, workers_by_id

Core = Annotated[TrainingCore, Depends(core_of(TrainingCore))]
"""The training service's core: its store, read models and key ring."""

MANAGERS = ("trainer", "subdistrict_admin")
Manager = Annotated[Principal, Depends(require(*MANAGERS))]
Reader = Annotated[Principal, Depends(require(*MANAGERS, "community_staff", "grid_worker"))]
"""Reads records: a worker only their own, community staff their community's."""
Overseer = Annotated[Principal, Depends(require(*MANAGERS, "community_staff"))]
"""Reads figures across workers (coverage): a grid worker has none to oversee (it was a 200 of
zeros), community staff see their communities."""
Enroller = Annotated[Principal, Depends(require(*MANAGERS, "grid_worker"))]
"""Enrols and acknowledges: managers for anyone, a grid worker for themselves (community staff
are not workers: nothing of theirs to enrol)."""


async def may_read(conn: AsyncConnection, roster: Tables, principal: Principal, row: Any) -> bool:
    """Whether the caller may read the record of this worker (a roster row)."""
    if principal.has_any(MANAGERS) or row.account == principal.subject:
        return True
    if not principal.has_any(("community_staff",)) or roster is None:
        return False
    return any(principal.covers(code) for code in await grid_codes(conn, roster, row))


async def readable(
    conn: AsyncConnection, roster: Tables, principal: Principal, rows: Iterable[Any]
) -> list[Any]:
    """Those of these roster rows whose records the caller may read, in order."""
    return [row for row in rows if await may_read(conn, roster, principal, row)]


async def readable_ids(
    conn: AsyncConnection, roster: Tables, principal: Principal, ids: set[uuid.UUID]
) -> set[uuid.UUID]:
    """Those of these workers whose records the caller may read: all of them for managers, on
    the roster or not; for anyone else, only workers on it."""
    if principal.has_any(MANAGERS):
        return set(ids)
    rows = await workers_by_id(conn, roster, ids)
    return {r.worker_id for r in await readable(conn, roster, principal, rows.values())}


async def readable_worker(
    conn: AsyncConnection, roster: Tables, principal: Principal, worker_id: uuid.UUID
) -> Any:
    """The worker's roster row, if the caller may read their record (404 otherwise)."""
    row = await worker(conn, roster, worker_id)
    if row is None or not await may_read(conn, roster, principal, row):
        raise NotFound(f"no grid worker {worker_id}", field="worker_id")
    return row


async def acting_worker(
    conn: AsyncConnection, roster: Tables, principal: Principal, worker_id: uuid.UUID,
    *, refusal: str,
) -> Any:  # fmt: skip
    """The worker a command acts for: anyone on the roster for managers (422 when unknown), the
    caller themselves for anyone else, who gets the same 403 for every other id, on the roster
    or not: it tells them nothing about who is on it."""
    if principal.has_any(MANAGERS):
        return await known_worker(conn, roster, worker_id)
    row = await worker(conn, roster, worker_id)
    if row is None or row.account != principal.subject:
        raise Forbidden(refusal, field="worker_id")
    return row
