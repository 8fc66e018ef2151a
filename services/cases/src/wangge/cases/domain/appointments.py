"""Who covers a grid, as the cases service's copies of the registry's appointments decide it.

The registry keeps one stream per grid worker. On Kafka different workers' streams come in
different partitions, so one worker's appointment may arrive after a newer appointment of another
worker to the same grid, or after that worker gave the grid up (a replay, a lagging partition).
Each grid therefore remembers when the registry last decided about it (appointed someone, or
someone gave it up), and an appointment recorded before that changes nothing: the grid goes to
the newest appointment, never to the one that happened to arrive last.

The take-over of open cases keeps that record, and the worker of a new case is read from it too:
a case opened in a grid then always meets the appointment, either when it opens (the grid's
record already names the worker) or when the take-over looks for the grid's open cases.
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
    """The grids a worker takes in ``changed`` (the cases there move to them)."""
    return [grid_id for grid_id, hold in changed.items() if hold.worker_id == worker_id]


Worker = tuple[uuid.UUID, str]
"""A grid's worker: their id and account."""


def responsible(hold: Hold | None, *, account: str | None, roster: Worker | None) -> Worker | None:
    """Who a case opened in a grid goes to, by the record the take-over of open cases keeps.

    ``hold``: the grid's hold in that record (None: it never decided about the grid), ``account``
    its worker's (None: their appointment never reached it, a history cut short), ``roster``
    the roster's worker of the grid. A grid the record never decided about takes the roster's
    answer: its appointment was kept before the record was (the roster kept it), or has yet to
    reach the take-over, which then moves the case to that worker anyway. A grid given up has
    nobody, whatever the roster, which may not have caught up, says.
    """
    if hold is None:
        return roster
    if hold.worker_id is None or account is None:
        return None
    return (hold.worker_id, account)
