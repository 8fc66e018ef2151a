"""The registry's place and person events, as far as the address -> grid map needs them.

These are readers of the registry's published contract (docs/events), not its code: the
registry may add fields without this service noticing, and this service never imports it. A
building's move to another grid is read as every copy of the roster reads it
(``wangge.governance.registry_events``, re-exported here); a place is read with the number and the
drawn boundary only the grid map needs, and so is a boundary drawn later.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from wangge.events import IntegrationEvent
from wangge.governance.registry_events import BuildingRegridded

__all__ = [
    "BuildingRegridded",
    "GridBoundaryDrawn",
    "PersonMergeUndone",
    "PersonMerged",
    "PersonMovedIn",
    "PersonMovedOut",
    "PlaceRegistered",
    "PlaceRenamed",
]


class PlaceRegistered(IntegrationEvent):
    """A place joined the tree (subdistrict, community, grid, building, unit or dwelling)."""

    event_type = "wangge.registry.PlaceRegistered"
    place_id: uuid.UUID
    kind: str
    name: str
    code: str | None = None
    """Subdistricts', communities' and grids' codes (320111001-003-004)."""
    number: str | None = None
    parent_id: uuid.UUID | None = None
    boundary: dict[str, Any] | None = None
    """A grid's drawn boundary, GeoJSON (WGS 84)."""


class GridBoundaryDrawn(IntegrationEvent):
    """A grid's boundary drawn after its registration, or redrawn: it replaces the earlier."""

    event_type = "wangge.registry.GridBoundaryDrawn"
    place_id: uuid.UUID
    boundary: dict[str, Any]
    """GeoJSON (WGS 84), a Polygon or a MultiPolygon."""


class PlaceRenamed(IntegrationEvent):
    """A place got a new name."""

    event_type = "wangge.registry.PlaceRenamed"
    place_id: uuid.UUID
    name: str


class PersonMovedIn(IntegrationEvent):
    """A person came to live in a dwelling: a resident of its grid (for the complaint rate)."""

    event_type = "wangge.registry.PersonMovedIn"
    person_id: uuid.UUID
    dwelling_id: uuid.UUID
    on: date
    """The day they moved in (valid time): a month's residents are counted by it."""


class PersonMovedOut(IntegrationEvent):
    """A person left their dwelling."""

    event_type = "wangge.registry.PersonMovedOut"
    person_id: uuid.UUID
    on: date
    """The day they left (valid time)."""


class PersonMerged(IntegrationEvent):
    """A person record found to be a duplicate of another (the same human): it no longer counts
    among anyone's residents."""

    event_type = "wangge.registry.PersonMerged"
    person_id: uuid.UUID
    """The duplicate."""
    into_person_id: uuid.UUID
    """The record kept: the one that counts."""


class PersonMergeUndone(IntegrationEvent):
    """A merge undone: the record stands for a human of its own again, and counts again."""

    event_type = "wangge.registry.PersonMergeUndone"
    person_id: uuid.UUID
    from_person_id: uuid.UUID
