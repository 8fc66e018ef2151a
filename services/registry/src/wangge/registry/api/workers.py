"""``/workers``: grid workers (网格员) and the grids they are appointed to."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.governance.errors import NotFound
from wangge.governance.personal import PHONE_SCHEMA
from wangge.registry.api.access import MANAGERS, Manager, Staff
from wangge.registry.api.bounds import Page, Size
from wangge.registry.api.changes import Change, answer, changes
from wangge.registry.api.deps import Core, ReadConnection, tables
from wangge.registry.api.history import HistoryPage, stream_history
from wangge.registry.api.people import place_in_scope
from wangge.registry.bootstrap import RegistryCore
from wangge.registry.domain import workers
from wangge.registry.domain.identity import normalise_phone
from wangge.registry.handlers import workers as handlers
from wangge.registry.projections.activity import Activity, Tables, worker, workers_page
from wangge.registry.projections.places import PlaceTree
from wangge.registry.projections.views import Views
from wangge.service.auth import Principal
from wangge.service.commands import Command, set_etag

router = APIRouter(prefix="/workers", tags=["grid workers"])


class WorkerCreate(BaseModel):
    """A grid worker to appoint."""

    account: str = Field(min_length=1, max_length=200, description="the subject of their tokens")
    name: str = Field(min_length=1, max_length=100)
    work_phone: str | None = Field(default=None, max_length=30, json_schema_extra=PHONE_SCHEMA)
    grid_ids: list[uuid.UUID] = Field(min_length=1, max_length=20)
    on: date


class WorkerGrids(BaseModel):
    """A grid worker's new grids (the full list)."""

    grid_ids: list[uuid.UUID] = Field(min_length=1, max_length=20)
    on: date


class WorkerLeave(BaseModel):
    """A grid worker leaving."""

    on: date
    reason: str = Field(min_length=1, max_length=200)


class GridRef(BaseModel):
    """A grid by id and code."""

    grid_id: uuid.UUID
    code: str
    name: str


class WorkerRead(BaseModel):
    """A grid worker and their grids."""

    worker_id: uuid.UUID
    account: str
    name: str
    work_phone: str | None
    appointed_on: date
    left_on: date | None
    grids: list[GridRef]
    version: int


class WorkerPage(BaseModel):
    """One page of grid workers."""

    items: list[WorkerRead]
    total: int
    page: int
    size: int


async def _views(conn: AsyncConnection, core: Core) -> tuple[Tables, Tables]:
    return await tables(conn, core, Activity.name), await tables(conn, core, PlaceTree.name)


async def _grids_in_scope(
    conn: ReadConnection, core: Core, principal: Principal, grid_ids: list[uuid.UUID]
) -> None:
    views = await Views.of(conn, core)
    for index, grid_id in enumerate(grid_ids):
        await place_in_scope(
            conn, views, principal, grid_id, field=f"grid_ids/{index}", what="grid"
        )


async def _reads(
    conn: AsyncConnection, core: Core, principal: Principal, *,
    worker_id: uuid.UUID | None = None, grid_id: uuid.UUID | None = None, page: int = 1,
    size: int = 50,
) -> tuple[list[WorkerRead], int]:  # fmt: skip
    activity, places = await _views(conn, core)
    rows, grids, total = await workers_page(
        conn, activity, places, within=principal.places, worker_id=worker_id, grid_id=grid_id,
        page=page, size=size,
    )  # fmt: skip
    by_worker: dict[uuid.UUID, list[GridRef]] = {}
    for g in grids:
        by_worker.setdefault(g.worker_id, []).append(
            GridRef(grid_id=g.place_id, code=g.code, name=g.name)
        )
    items = [
        WorkerRead(
            worker_id=r.worker_id, account=r.account, name=r.name, work_phone=r.work_phone,
            appointed_on=r.appointed_on, left_on=r.left_on, version=r.version,
            grids=by_worker.get(r.worker_id, []),
        )
        for r in rows
    ]  # fmt: skip
    return items, total


async def _worker(
    conn: AsyncConnection, core: RegistryCore, principal: Principal, worker_id: uuid.UUID
) -> WorkerRead:
    items, _ = await _reads(conn, core, principal, worker_id=worker_id)
    if items:
        return items[0]
    # a worker who left has no grids: staff of the subdistrict still find them
    row = await worker(conn, await tables(conn, core, Activity.name), worker_id)
    if row is None or not principal.has_any(["subdistrict_admin"]):
        raise NotFound(f"no grid worker {worker_id}")
    return WorkerRead.model_validate({**row._mapping, "grids": []})


async def _shown(
    conn: AsyncConnection, core: RegistryCore, principal: Principal, worker_id: uuid.UUID,
    response: Response,
) -> WorkerRead:  # fmt: skip
    found = await _worker(conn, core, principal, worker_id)
    set_etag(response, found.version)
    return found


WorkerChange = Annotated[Change[WorkerRead], changes(_worker, "worker_id", *MANAGERS)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WorkerRead)
async def appoint_worker(
    body: WorkerCreate, principal: Manager, command: Command, conn: ReadConnection,
    core: Core, response: Response,
) -> WorkerRead:  # fmt: skip
    """Appoint a grid worker to grids in the caller's places."""
    await _grids_in_scope(conn, core, principal, body.grid_ids)
    phone = normalise_phone(body.work_phone, field="work_phone") if body.work_phone else None
    result = await handlers.appoint(
        command.commands, handlers.AppointWorker(**{**dict(body), "work_phone": phone})
    )
    worker_id = uuid.UUID(result.stream_id.removeprefix("worker-"))
    response.headers["Location"] = f"/workers/{worker_id}"
    return await answer(_worker, conn, core, principal, response, worker_id)


@router.get("", response_model=WorkerPage)
async def list_workers(
    principal: Staff,
    conn: ReadConnection,
    core: Core,
    grid_id: uuid.UUID | None = None,
    page: Page = 1,
    size: Size = 50,
) -> WorkerPage:
    """Grid workers of grids in the caller's places."""
    items, total = await _reads(conn, core, principal, grid_id=grid_id, page=page, size=size)
    return WorkerPage(items=items, total=total, page=page, size=size)


@router.get("/{worker_id}", response_model=WorkerRead)
async def read_worker(
    worker_id: uuid.UUID, principal: Staff, conn: ReadConnection, core: Core,
    response: Response,
) -> WorkerRead:  # fmt: skip
    """A grid worker whose grids lie in the caller's places."""
    return await _shown(conn, core, principal, worker_id, response)


@router.put("/{worker_id}/grids", response_model=WorkerRead)
async def reassign_worker(body: WorkerGrids, change: WorkerChange) -> WorkerRead:
    """Give a grid worker a new set of grids (reassignment)."""
    cmd = handlers.ReassignWorker(worker_id=change.record_id, **dict(body))

    async def reassign() -> None:
        await _grids_in_scope(change.conn, change.core, change.principal, body.grid_ids)
        await handlers.reassign(change.commands, cmd)

    return await change.run(reassign)


@router.post("/{worker_id}/leave", response_model=WorkerRead)
async def worker_leaves(body: WorkerLeave, change: WorkerChange) -> WorkerRead:
    """Record a grid worker leaving; their grids are free for someone else."""
    cmd = handlers.WorkerLeaves(worker_id=change.record_id, **dict(body))
    return await change.run(lambda: handlers.leave(change.commands, cmd))


@router.get("/{worker_id}/history", response_model=HistoryPage)
async def worker_history(
    worker_id: uuid.UUID, principal: Staff, conn: ReadConnection, core: Core,
    response: Response,
) -> HistoryPage:  # fmt: skip
    """Every appointment change of a grid worker."""
    await _shown(conn, core, principal, worker_id, response)
    return await stream_history(core.store, workers.stream_id(worker_id))
