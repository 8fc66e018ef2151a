"""Grid workers (网格员): full-time staff appointed to one or more grids.

A worker's stream is ``worker-<uuid>``. Their ``account`` is the subject of the tokens they sign
in with, so visits recorded under a token are attributed to the right worker. A grid worker's
name and work phone are posted on the grid's notice board (网格公示牌), so they travel in clear.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date

from pydantic import Field

from wangge.events import DomainEvent, default_catalogue
from wangge.governance.errors import DomainError
from wangge.registry.domain.free_text import clear_copy


@default_catalogue.event("registry")
class GridWorkerAppointed(DomainEvent):
    """A grid worker was appointed to grids."""

    worker_id: uuid.UUID
    account: str = Field(min_length=1, max_length=200, description="their tokens' subject")
    name: str = Field(min_length=1, max_length=100)
    work_phone: str | None = Field(default=None, description="posted on the grid's board")
    grid_ids: list[uuid.UUID] = Field(min_length=1)
    on: date


@default_catalogue.event("registry")
class GridWorkerReassigned(DomainEvent):
    """A grid worker's grids changed (the full new list)."""

    worker_id: uuid.UUID
    grid_ids: list[uuid.UUID] = Field(min_length=1)
    on: date


@default_catalogue.event("registry")
class GridWorkerLeft(DomainEvent):
    """A grid worker left the post."""

    worker_id: uuid.UUID
    on: date
    reason: str = Field(
        min_length=1, max_length=200,
        description="phone numbers and the like masked (redacted): only that copy is kept",
    )  # fmt: skip


class InvalidAppointment(DomainError):
    """The command breaks a rule about appointments."""

    slug = "invalid-appointment"
    title = "The command breaks a rule about grid workers' appointments"


@dataclass(frozen=True)
class GridWorker:
    """A grid worker as their events left them."""

    worker_id: uuid.UUID
    account: str
    name: str
    grid_ids: tuple[uuid.UUID, ...]
    version: int
    left_on: date | None = None


def stream_id(worker_id: uuid.UUID) -> str:
    """The worker's stream."""
    return f"worker-{worker_id}"


def evolve(state: GridWorker | None, event: DomainEvent, version: int) -> GridWorker:
    """The worker after one more of their events."""
    if isinstance(event, GridWorkerAppointed):
        return GridWorker(
            event.worker_id, event.account, event.name, tuple(event.grid_ids), version
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before GridWorkerAppointed")
    if isinstance(event, GridWorkerReassigned):
        return replace(state, grid_ids=tuple(event.grid_ids), version=version)
    if isinstance(event, GridWorkerLeft):
        return replace(state, left_on=event.on, version=version)
    raise ValueError(f"a grid worker has no event {type(event).__name__}")


def _grids(grid_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    if len(set(grid_ids)) != len(grid_ids):
        raise InvalidAppointment("each grid once", field="grid_ids")
    return grid_ids


def appoint(
    *,
    worker_id: uuid.UUID,
    account: str,
    name: str,
    work_phone: str | None,
    grid_ids: list[uuid.UUID],
    on: date,
) -> list[DomainEvent]:
    """Decide an appointment."""
    return [
        GridWorkerAppointed(
            worker_id=worker_id, account=account, name=name, work_phone=work_phone,
            grid_ids=_grids(grid_ids), on=on,
        )
    ]  # fmt: skip


def reassign(worker: GridWorker, *, grid_ids: list[uuid.UUID], on: date) -> list[DomainEvent]:
    """Decide a new set of grids."""
    if worker.left_on is not None:
        raise InvalidAppointment("the worker has left", field="worker_id")
    if sorted(grid_ids) == sorted(worker.grid_ids):
        return []
    return [GridWorkerReassigned(worker_id=worker.worker_id, grid_ids=_grids(grid_ids), on=on)]


def leave(worker: GridWorker, *, on: date, reason: str) -> list[DomainEvent]:
    """Decide a worker leaving."""
    if worker.left_on is not None:
        return []
    # why a member of staff left is theirs: what a pattern finds is masked before it is kept
    return [GridWorkerLeft(worker_id=worker.worker_id, on=on, reason=clear_copy(reason, 200))]
