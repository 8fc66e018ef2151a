"""The registry's events the training service reads: grids and communities (whose workers a
coverage figure counts) and the grid workers themselves (the roster), as every copy of the
roster reads them (``wangge.governance.registry_events``)."""

from __future__ import annotations

from wangge.governance.registry_events import (
    BuildingRegridded,
    GridWorkerAppointed,
    GridWorkerLeft,
    GridWorkerReassigned,
    PlaceRegistered,
)

__all__ = [
    "BuildingRegridded",
    "GridWorkerAppointed",
    "GridWorkerLeft",
    "GridWorkerReassigned",
    "PlaceRegistered",
]
