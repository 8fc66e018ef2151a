"""The registry's events the training service reads: grids and communities (whose workers a
coverage figure counts) and the grid workers themselves (the roster)."""

from __future__ import annotations

import uuid
from datetime import date

from wangge.events import IntegrationEvent


class PlaceRegistered(IntegrationEvent):
    event_type = "wangge.registry.PlaceRegistered"
    place_id: uuid.UUID
    kind: str
    name: str
    code: str | None = None
    parent_id: uuid.UUID | None = None


class GridWorkerAppointed(IntegrationEvent):
    event_type = "wangge.registry.GridWorkerAppointed"
    worker_id: uuid.UUID
    account: str
    name: str
    grid_ids: list[uuid.UUID]
    on: date


class GridWorkerReassigned(IntegrationEvent):
    event_type = "wangge.registry.GridWorkerReassigned"
    worker_id: uuid.UUID
    grid_ids: list[uuid.UUID]
    on: date


class GridWorkerLeft(IntegrationEvent):
    event_type = "wangge.registry.GridWorkerLeft"
    worker_id: uuid.UUID
    on: date
