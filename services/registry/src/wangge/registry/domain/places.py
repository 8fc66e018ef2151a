"""The place tree (人地事物组织 — 地): subdistrict → community → grid → building → unit → dwelling.

Each place is a stream of its own (``place-<uuid>``), so a building keeps its identity and its
history when it is re-gridded. Subdistricts, communities and grids carry the codes of DESIGN
section 3 (``320111001``, ``320111001-003``, ``320111001-003-004``), each extending its parent's;
buildings, units and dwellings carry the local number people use (``12栋``, ``2单元``, ``1201``).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from enum import StrEnum

from geojson_pydantic import MultiPolygon, Polygon
from pydantic import Field
from stdnum import numdb

from wangge.events import DomainEvent, default_catalogue
from wangge.governance.errors import DomainError

_DIVISIONS = numdb.get("cn/loc")
"""GB/T 2260's divisions, as python-stdnum keeps them (province, then county)."""

# GB/T 2260 province-level prefixes: a nine-digit subdistrict code starts with one of these
PROVINCES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    ]
)


class PlaceKind(StrEnum):
    """The levels of the place tree."""

    SUBDISTRICT = "subdistrict"
    COMMUNITY = "community"
    GRID = "grid"
    BUILDING = "building"
    UNIT = "unit"
    DWELLING = "dwelling"


class DwellingUsage(StrEnum):
    """How a dwelling (房屋) is used."""

    OWNER_OCCUPIED = "owner_occupied"
    RENTED = "rented"
    VACANT = "vacant"
    BUSINESS = "business"


PARENTS: dict[PlaceKind, frozenset[PlaceKind]] = {
    PlaceKind.SUBDISTRICT: frozenset(),
    PlaceKind.COMMUNITY: frozenset({PlaceKind.SUBDISTRICT}),
    PlaceKind.GRID: frozenset({PlaceKind.COMMUNITY}),
    PlaceKind.BUILDING: frozenset({PlaceKind.GRID}),
    PlaceKind.UNIT: frozenset({PlaceKind.BUILDING}),
    # a bungalow or a shop has no stairwell unit: its dwellings hang from the building
    PlaceKind.DWELLING: frozenset({PlaceKind.UNIT, PlaceKind.BUILDING}),
}
CODED = frozenset({PlaceKind.SUBDISTRICT, PlaceKind.COMMUNITY, PlaceKind.GRID})
_CODE = {
    PlaceKind.SUBDISTRICT: re.compile(r"^\d{9}$"),
    PlaceKind.COMMUNITY: re.compile(r"^\d{9}-\d{3}$"),
    PlaceKind.GRID: re.compile(r"^\d{9}-\d{3}-\d{3}$"),
}

Boundary = Polygon | MultiPolygon
"""A grid's boundary: GeoJSON (RFC 7946), longitude and latitude in WGS 84."""


# -- events ---------------------------------------------------------------------------------------


@default_catalogue.event("registry")
class PlaceRegistered(DomainEvent):
    """A place was added to the tree."""

    place_id: uuid.UUID
    kind: PlaceKind
    name: str = Field(min_length=1, max_length=200)
    code: str | None = Field(default=None, description="subdistrict, community and grid codes")
    number: str | None = Field(default=None, description="a building's, unit's or dwelling's")
    parent_id: uuid.UUID | None = None
    usage: DwellingUsage | None = Field(default=None, description="dwellings only")
    boundary: Polygon | MultiPolygon | None = Field(
        default=None, description="a grid's boundary (GeoJSON, WGS 84), when it was drawn"
    )


@default_catalogue.event("registry")
class PlaceRenamed(DomainEvent):
    """A place got a new name; the old one stays in its history."""

    place_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)


@default_catalogue.event("registry")
class BuildingRegridded(DomainEvent):
    """A building was moved to another grid (re-gridding, 网格调整)."""

    place_id: uuid.UUID
    from_grid_id: uuid.UUID
    to_grid_id: uuid.UUID


@default_catalogue.event("registry")
class DwellingUsageChanged(DomainEvent):
    """A dwelling's use changed (e.g. from owner-occupied to rented)."""

    place_id: uuid.UUID
    usage: DwellingUsage


@default_catalogue.event("registry")
class GridBoundaryDrawn(DomainEvent):
    """A grid's boundary was drawn, or redrawn (网格划分): it replaces any earlier one.

    Grids are often imported before the city's GIS hands over their boundaries, so a boundary
    is a fact of its own, on the grid's place stream, not only a field of its registration.
    """

    place_id: uuid.UUID
    boundary: Polygon | MultiPolygon = Field(description="GeoJSON, WGS 84")


PlaceEvent = (
    PlaceRegistered | PlaceRenamed | BuildingRegridded | DwellingUsageChanged | GridBoundaryDrawn
)


# -- errors ---------------------------------------------------------------------------------------


class InvalidPlace(DomainError):
    """The place's data breaks a rule of the tree."""

    slug = "invalid-place"
    title = "The place breaks a rule of the place tree"


# -- state and decisions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """A place as its events left it."""

    place_id: uuid.UUID
    kind: PlaceKind
    name: str
    code: str | None
    number: str | None
    parent_id: uuid.UUID | None
    usage: DwellingUsage | None
    version: int
    boundary: Boundary | None = None

    @property
    def scope(self) -> str | None:
        """The code access is checked against: its own for coded levels."""
        return self.code


def stream_id(place_id: uuid.UUID) -> str:
    """The place's stream."""
    return f"place-{place_id}"


def evolve(state: Place | None, event: DomainEvent, version: int) -> Place:
    """The place after one more of its events."""
    if isinstance(event, PlaceRegistered):
        return Place(
            event.place_id,
            event.kind,
            event.name,
            event.code,
            event.number,
            event.parent_id,
            event.usage,
            version,
            event.boundary,
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before PlaceRegistered")
    if isinstance(event, PlaceRenamed):
        return replace(state, name=event.name, version=version)
    if isinstance(event, BuildingRegridded):
        return replace(state, parent_id=event.to_grid_id, version=version)
    if isinstance(event, DwellingUsageChanged):
        return replace(state, usage=event.usage, version=version)
    if isinstance(event, GridBoundaryDrawn):
        return replace(state, boundary=event.boundary, version=version)
    raise ValueError(f"a place has no event {type(event).__name__}")


def register(
    *,
    place_id: uuid.UUID,
    kind: PlaceKind,
    name: str,
    parent: Place | None,
    code: str | None = None,
    number: str | None = None,
    usage: DwellingUsage | None = None,
    boundary: Boundary | None = None,
) -> list[PlaceEvent]:
    """Decide the registration of a place under ``parent``."""
    allowed = PARENTS[kind]
    if allowed and parent is None:
        raise InvalidPlace(f"a {kind} needs a parent", field="parent_id")
    if not allowed and parent is not None:
        raise InvalidPlace(f"a {kind} is the root of the tree: no parent", field="parent_id")
    if parent is not None and parent.kind not in allowed:
        raise InvalidPlace(
            f"a {kind} belongs to a {' or '.join(sorted(allowed))}, not a {parent.kind}",
            field="parent_id",
        )
    if kind in CODED:
        _check_code(kind, code, parent)
        if number is not None:
            raise InvalidPlace(f"a {kind} has a code, not a number", field="number")
    else:
        if code is not None:
            raise InvalidPlace(f"a {kind} has a number, not a code", field="code")
        if not number or not number.strip():
            raise InvalidPlace(f"a {kind} needs its number (门牌/单元/室号)", field="number")
    if (usage is not None) != (kind == PlaceKind.DWELLING):
        raise InvalidPlace("a dwelling, and only a dwelling, has a usage", field="usage")
    if boundary is not None:
        if kind != PlaceKind.GRID:
            raise InvalidPlace("only a grid has a boundary", field="boundary")
        _check_boundary(boundary)
    return [
        PlaceRegistered(
            place_id=place_id,
            kind=kind,
            name=name,
            code=code,
            number=number,
            parent_id=parent.place_id if parent else None,
            usage=usage,
            boundary=boundary,
        )
    ]


def _check_division(code: str) -> None:
    """The subdistrict code's first six digits name a county of GB/T 2260, as python-stdnum's
    copy of the divisions knows them (the identity-number check reads the same data); the
    problem says which part is unknown. The last three digits are the township's (GB/T 10114),
    which no maintained source lists."""
    found = _DIVISIONS.info(code[:6])
    if code[:2] not in PROVINCES or not found[0][1]:
        raise InvalidPlace(f"{code[:2]} is no province code of GB/T 2260", field="code")
    # a province's or a city's own code (xx0000, xxxx00) names no county
    if len(found) < 2 or not found[1][1] or code[4:6] == "00":
        raise InvalidPlace(
            f"{code[:6]} is no county of GB/T 2260 (province {code[:2]} is known)", field="code"
        )


def _check_code(kind: PlaceKind, code: str | None, parent: Place | None) -> None:
    if code is None or not _CODE[kind].match(code):
        shapes = {
            PlaceKind.SUBDISTRICT: "9 digits",
            PlaceKind.COMMUNITY: "SSSSSSSSS-CCC",
            PlaceKind.GRID: "SSSSSSSSS-CCC-GGG",
        }
        raise InvalidPlace(f"a {kind} code has the form {shapes[kind]}", field="code")
    if kind == PlaceKind.SUBDISTRICT:
        _check_division(code)
    if parent is not None and not code.startswith(f"{parent.code}-"):
        raise InvalidPlace(f"a {kind} code extends its parent's {parent.code}", field="code")
    if code.endswith("-000"):
        raise InvalidPlace("local sequence numbers start at 001", field="code")


def _check_boundary(boundary: Boundary) -> None:
    # GeoJSON's schema takes any number as a coordinate: a boundary drawn in a projected
    # system (metres) or with longitude and latitude swapped north of 90° would pass it, and
    # put the grid nowhere on the map and no caller's point inside it
    polygons = [boundary.coordinates] if isinstance(boundary, Polygon) else boundary.coordinates
    for p, rings in enumerate(polygons, 1):
        for r, ring in enumerate(rings, 1):
            for n, position in enumerate(ring, 1):
                longitude, latitude = position[0], position[1]
                if -180 <= longitude <= 180 and -90 <= latitude <= 90:
                    continue
                where = f"ring {r}, point {n}"
                if isinstance(boundary, MultiPolygon):
                    where = f"polygon {p}, {where}"
                raise InvalidPlace(
                    f"the boundary's {where} ({longitude}, {latitude}) is outside WGS 84: "
                    "longitude -180..180, latitude -90..90, in that order",
                    field="boundary",
                )


def rename(place: Place, name: str) -> list[PlaceEvent]:
    """Decide a new name; the same name again changes nothing."""
    if name == place.name:
        return []
    return [PlaceRenamed(place_id=place.place_id, name=name)]


def regrid(building: Place, to_grid: Place) -> list[PlaceEvent]:
    """Decide moving a building to another grid."""
    if building.kind != PlaceKind.BUILDING:
        raise InvalidPlace(
            f"only buildings are re-gridded, not a {building.kind}", field="place_id"
        )
    if to_grid.kind != PlaceKind.GRID:
        raise InvalidPlace(f"a building moves to a grid, not a {to_grid.kind}", field="to_grid_id")
    if building.parent_id == to_grid.place_id:
        return []
    assert building.parent_id is not None
    return [
        BuildingRegridded(
            place_id=building.place_id, from_grid_id=building.parent_id, to_grid_id=to_grid.place_id
        )
    ]


def change_usage(dwelling: Place, usage: DwellingUsage) -> list[PlaceEvent]:
    """Decide a dwelling's new use."""
    if dwelling.kind != PlaceKind.DWELLING:
        raise InvalidPlace(f"a {dwelling.kind} has no usage", field="usage")
    if dwelling.usage == usage:
        return []
    return [DwellingUsageChanged(place_id=dwelling.place_id, usage=usage)]


def draw_boundary(place: Place, boundary: Boundary) -> list[PlaceEvent]:
    """Decide a grid's boundary, drawn or redrawn; the same boundary again changes nothing."""
    if place.kind != PlaceKind.GRID:
        raise InvalidPlace(f"only a grid has a boundary, not a {place.kind}", field="boundary")
    _check_boundary(boundary)
    if place.boundary == boundary:
        return []
    return [GridBoundaryDrawn(place_id=place.place_id, boundary=boundary)]
