"""Commands on grid workers' appointments."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel

from wangge.events.command import CommandRunner, Loaded
from wangge.events.store import AppendResult
from wangge.governance.errors import DomainError
from wangge.registry.domain import places, workers
from wangge.registry.domain.places import PlaceKind
from wangge.registry.domain.workers import GridWorker


class AppointWorker(BaseModel):
    """Appoint a grid worker to grids."""

    account: str
    name: str
    work_phone: str | None = None
    grid_ids: list[uuid.UUID]
    on: date


class ReassignWorker(BaseModel):
    """Give a grid worker a new set of grids."""

    worker_id: uuid.UUID
    grid_ids: list[uuid.UUID]
    on: date


class WorkerLeaves(BaseModel):
    """A grid worker leaves the post."""

    worker_id: uuid.UUID
    on: date
    reason: str


async def require_grids(commands: CommandRunner, grid_ids: list[uuid.UUID]) -> None:
    """404 for a grid that does not exist, 422 for a place that is no grid (naming its index)."""
    for index, grid_id in enumerate(grid_ids):
        field = f"grid_ids/{index}"
        place = (await commands.load(places.stream_id(grid_id), places.evolve, field=field)).state
        assert place is not None
        if place.kind != PlaceKind.GRID:
            raise DomainError(f"a {place.kind} is no grid", field=field)


async def load_worker(
    commands: CommandRunner, worker_id: uuid.UUID, field: str = "worker_id"
) -> Loaded[GridWorker]:
    """A worker folded from their stream; 404 when there is none."""
    return await commands.load(workers.stream_id(worker_id), workers.evolve, field=field)


async def appoint(commands: CommandRunner, cmd: AppointWorker) -> AppendResult:
    """Appoint a grid worker."""
    await require_grids(commands, cmd.grid_ids)
    worker_id = uuid.uuid4()
    return await commands.create(
        cmd,
        workers.stream_id(worker_id),
        lambda: workers.appoint(
            worker_id=worker_id, account=cmd.account, name=cmd.name,
            work_phone=cmd.work_phone, grid_ids=cmd.grid_ids, on=cmd.on,
        ),
    )  # fmt: skip


async def reassign(commands: CommandRunner, cmd: ReassignWorker) -> AppendResult | None:
    """Change a worker's grids."""
    await require_grids(commands, cmd.grid_ids)
    loaded = await load_worker(commands, cmd.worker_id)
    return await commands.change(
        cmd, loaded, lambda w: workers.reassign(w, grid_ids=cmd.grid_ids, on=cmd.on)
    )


async def leave(commands: CommandRunner, cmd: WorkerLeaves) -> AppendResult | None:
    """Record a worker leaving."""
    loaded = await load_worker(commands, cmd.worker_id)
    return await commands.change(
        cmd, loaded, lambda w: workers.leave(w, on=cmd.on, reason=cmd.reason)
    )
