"""Who holds a grid, as a copy of the registry's appointments decides it, whatever order the
workers' streams arrive in.

The registry keeps one stream per grid worker. On Kafka different workers' streams come in
different partitions, so one worker's appointment may arrive after a newer appointment of another
worker to the same grid, or after that worker gave the grid up (a replay, a lagging partition).
Each grid therefore remembers when the registry last decided about it (appointed someone, or
someone gave it up), and an appointment recorded before that changes nothing: the grid goes to
the newest appointment, never to the one that happened to arrive last.

Pure: the roster (``wangge.governance.roster``) and the cases service's take-over of open cases
keep these holds in tables (``wangge.governance.grid_workers``); a domain may decide with them.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Hold:
    """The registry's last decision about a grid: its worker (None: given up), recorded ``at``."""

    worker_id: uuid.UUID | None
    at: datetime


def appoint(
    held: Mapping[uuid.UUID, Hold],
    *,
    worker_id: uuid.UUID,
    grid_ids: Collection[uuid.UUID],
    at: datetime,
) -> dict[uuid.UUID, Hold]:
    """The grids' new holds after an appointment or reassignment (the worker's full list of
    grids) recorded ``at``: the worker gives up the grids they held and no longer names, and
    takes each grid named unless the registry decided about it later.

    ``held``: the holds of the named grids and of the worker's grids (missing: never decided).
    """
    changed = {
        grid_id: Hold(None, at)
        for grid_id, hold in held.items()
        if hold.worker_id == worker_id and grid_id not in grid_ids
    }
    for grid_id in grid_ids:
        hold = held.get(grid_id)
        if hold is None or hold.at <= at:
            changed[grid_id] = Hold(worker_id, at)
    return changed


def leave(
    held: Mapping[uuid.UUID, Hold], *, worker_id: uuid.UUID, at: datetime
) -> dict[uuid.UUID, Hold]:
    """The grids' new holds after the worker left, recorded ``at``: theirs are given up."""
    return {
        grid_id: Hold(None, at) for grid_id, hold in held.items() if hold.worker_id == worker_id
    }


def won(changed: Mapping[uuid.UUID, Hold], worker_id: uuid.UUID) -> list[uuid.UUID]:
    """The grids a worker takes in ``changed`` (what moves to them with the grid)."""
    return [grid_id for grid_id, hold in changed.items() if hold.worker_id == worker_id]
