"""The registry's place and grid-worker events as every copy of its roster reads them.

Services never import the registry: each reads its published events through reader models of
its own (``consumed/``). The roster (``wangge.governance.roster``) is one projection shared by
several services, so the events it handles are read through one shared set of readers, here;
each service's ``consumed/registry.py`` re-exports them beside the registry events only it reads.

They hold the fields some copy reads, no more (a tolerant reader: the registry may add fields);
a field added here later must have a default, or the events stored before it would no longer
read.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from wangge.events import IntegrationEvent


class PlaceRegistered(IntegrationEvent):
    """A place joined the tree: a subdistrict, community, grid, building, unit or dwelling."""

    event_type = "wangge.registry.PlaceRegistered"
    place_id: uuid.UUID
    kind: str
    name: str
    code: str | None = None
    """Subdistricts', communities' and grids' codes (320111001-003-004)."""
    parent_id: uuid.UUID | None = None
    boundary: dict[str, Any] | None = None
    """A grid's boundary as drawn at registration (GeoJSON Polygon or MultiPolygon, WGS 84)."""


class GridBoundaryDrawn(IntegrationEvent):
    """A grid's boundary drawn, or drawn again (the city's GIS delivers them after the grids
    are registered): it replaces any earlier one."""

    event_type = "wangge.registry.GridBoundaryDrawn"
    place_id: uuid.UUID
    boundary: dict[str, Any]
    """GeoJSON Polygon or MultiPolygon, WGS 84 (RFC 7946)."""


class PlaceRenamed(IntegrationEvent):
    """A place got a new name (a community renamed, a grid's name redrawn)."""

    event_type = "wangge.registry.PlaceRenamed"
    place_id: uuid.UUID
    name: str


class BuildingRegridded(IntegrationEvent):
    """A building moved to another grid (网格调整): it and everything in it."""

    event_type = "wangge.registry.BuildingRegridded"
    place_id: uuid.UUID
    to_grid_id: uuid.UUID


class GridWorkerAppointed(IntegrationEvent):
    """A grid worker (网格员) appointed to grids: the full list of their grids."""

    event_type = "wangge.registry.GridWorkerAppointed"
    worker_id: uuid.UUID
    account: str
    """Their tokens' subject: how a service knows the caller is this worker."""
    name: str
    grid_ids: list[uuid.UUID]
    on: date


class GridWorkerReassigned(IntegrationEvent):
    """A grid worker's grids changed: the full new list."""

    event_type = "wangge.registry.GridWorkerReassigned"
    worker_id: uuid.UUID
    grid_ids: list[uuid.UUID]
    on: date


class GridWorkerLeft(IntegrationEvent):
    """A grid worker left the post on ``on``: their grids have nobody until someone is
    appointed."""

    event_type = "wangge.registry.GridWorkerLeft"
    worker_id: uuid.UUID
    on: date
