"""``/places``: the place tree (subdistrict → community → grid → building → unit → dwelling)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from geojson_pydantic import MultiPolygon, Polygon
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.store import AppendResult
from wangge.governance.errors import DomainError, Forbidden, NotFound
from wangge.registry.api.access import MANAGERS, STAFF, Reader, Staff, ensure_visible
from wangge.registry.api.bounds import Page, Size
from wangge.registry.api.changes import Change, changes
from wangge.registry.api.deps import Core, ReadConnection, tables
from wangge.registry.api.history import HistoryPage, stream_history
from wangge.registry.bootstrap import RegistryCore
from wangge.registry.domain import places
from wangge.registry.domain.places import DwellingUsage, PlaceKind
from wangge.registry.handlers import places as handlers
from wangge.registry.projections import places as tree
from wangge.registry.projections.places import PlaceTree
from wangge.service.auth import Principal
from wangge.service.commands import Command, set_etag

router = APIRouter(prefix="/places", tags=["places"])

# who registers or changes which level of the tree
MAY_KEEP: dict[PlaceKind, frozenset[str]] = {
    PlaceKind.SUBDISTRICT: frozenset({"subdistrict_admin"}),
    PlaceKind.COMMUNITY: frozenset({"subdistrict_admin"}),
    PlaceKind.GRID: frozenset({"subdistrict_admin", "community_staff"}),
    PlaceKind.BUILDING: frozenset({"subdistrict_admin", "community_staff", "grid_worker"}),
    PlaceKind.UNIT: frozenset({"subdistrict_admin", "community_staff", "grid_worker"}),
    PlaceKind.DWELLING: frozenset({"subdistrict_admin", "community_staff", "grid_worker"}),
}


class PlaceCreate(BaseModel):
    """A place to register. Coded levels take ``code``; the others ``number``."""

    kind: PlaceKind
    name: str = Field(min_length=1, max_length=200)
    parent_id: uuid.UUID | None = Field(default=None, description="none for a subdistrict")
    code: str | None = Field(
        default=None, max_length=30, description="320111001 / 320111001-003 / 320111001-003-004"
    )
    number: str | None = Field(default=None, max_length=50, description="12栋, 2单元, 1201")
    usage: DwellingUsage | None = Field(default=None, description="dwellings only")
    boundary: Polygon | MultiPolygon | None = Field(
        default=None, description="a grid's boundary, GeoJSON in WGS 84"
    )


class PlaceRename(BaseModel):
    """A place's new name."""

    name: str = Field(min_length=1, max_length=200)


class PlaceRegrid(BaseModel):
    """The grid a building moves to."""

    to_grid_id: uuid.UUID


class DwellingUsageUpdate(BaseModel):
    """A dwelling's use now."""

    usage: DwellingUsage


class GridBoundaryUpdate(BaseModel):
    """A grid's boundary as drawn now (e.g. from the city's GIS)."""

    boundary: Polygon | MultiPolygon = Field(description="GeoJSON in WGS 84 (lon, lat)")


class PlaceRead(BaseModel):
    """A place as the register holds it."""

    place_id: uuid.UUID
    kind: PlaceKind
    name: str
    code: str | None
    number: str | None
    parent_id: uuid.UUID | None
    usage: DwellingUsage | None
    scope: str = Field(description="the code access is checked against (a dwelling's grid)")
    grid_id: uuid.UUID | None
    address: str
    version: int


class PlacePage(BaseModel):
    """One page of places."""

    items: list[PlaceRead]
    total: int
    page: int
    size: int


class GridOnDate(BaseModel):
    """The grid a building or dwelling was in on a date."""

    place_id: uuid.UUID
    on: date
    grid_id: uuid.UUID | None


def _read(row: Any) -> PlaceRead:
    return PlaceRead.model_validate(row, from_attributes=True)


def _may_keep(principal: Principal, kind: PlaceKind) -> None:
    if not principal.has_any(MAY_KEEP[kind]):
        roles = ", ".join(sorted(MAY_KEEP[kind]))
        raise Forbidden(f"a {kind} is kept by {roles}", field="kind")


async def _row(conn: ReadConnection, core: Core, place_id: uuid.UUID) -> Any:
    return await tree.place(conn, await tables(conn, core, PlaceTree.name), place_id)


async def _visible(
    conn: ReadConnection, core: Core, principal: Principal, place_id: uuid.UUID
) -> Any:
    row = await _row(conn, core, place_id)
    ensure_visible(principal, row.scope if row is not None else None, f"place {place_id}")
    return row


async def _respond(
    conn: ReadConnection, core: Core, response: Response, place_id: uuid.UUID
) -> PlaceRead:
    # a fresh snapshot, begun after the command committed: the client reads its own write
    await conn.rollback()
    row = await _row(conn, core, place_id)
    if row is None:
        raise NotFound(f"no place {place_id}")
    set_etag(response, row.version)
    return _read(row)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PlaceRead)
async def register_place(
    body: PlaceCreate,
    principal: Staff,
    command: Command,
    conn: ReadConnection,
    core: Core,
    response: Response,
) -> PlaceRead:
    """Register a place under a parent the caller keeps (a subdistrict: under no parent)."""
    kind = PlaceKind(body.kind)
    _may_keep(principal, kind)
    if body.parent_id is not None:
        parent = await _row(conn, core, body.parent_id)
        if parent is None or not principal.covers(parent.scope):
            raise NotFound(f"no place {body.parent_id}", field="parent_id")
    elif body.code is None or not principal.covers(body.code):
        raise Forbidden("a subdistrict is registered inside the caller's places", field="code")
    result = await handlers.register_place(command.commands, handlers.RegisterPlace(**dict(body)))
    place_id = _place_id(result)
    response.headers["Location"] = f"/places/{place_id}"
    return await _respond(conn, core, response, place_id)


@router.get("", response_model=PlacePage)
async def list_places(
    principal: Reader,
    conn: ReadConnection,
    core: Core,
    parent_id: uuid.UUID | None = None,
    kind: PlaceKind | None = None,
    address: Annotated[
        str | None, Query(max_length=200, description="matches the normalised address")
    ] = None,
    page: Page = 1,
    size: Size = 50,
) -> PlacePage:
    """Places in the caller's scope, filtered by parent, level or address text."""
    rows, total = await tree.places_page(
        conn, await tables(conn, core, PlaceTree.name), within=principal.places,
        parent_id=parent_id, kind=kind.value if kind is not None else None, address=address,
        page=page, size=size,
    )  # fmt: skip
    return PlacePage(items=[_read(r) for r in rows], total=total, page=page, size=size)


@router.get("/{place_id}", response_model=PlaceRead)
async def read_place(
    place_id: uuid.UUID,
    principal: Reader,
    conn: ReadConnection,
    core: Core,
    response: Response,
) -> PlaceRead:
    """One place; its ETag is the version to send back as If-Match."""
    row = await _visible(conn, core, principal, place_id)
    set_etag(response, row.version)
    return _read(row)


@router.get("/{place_id}/history", response_model=HistoryPage)
async def place_history(
    place_id: uuid.UUID, principal: Reader, conn: ReadConnection, core: Core
) -> HistoryPage:
    """Every change of a place, oldest first (names, grids and uses it had)."""
    await _visible(conn, core, principal, place_id)
    return await stream_history(core.store, places.stream_id(place_id))


@router.get("/{place_id}/grid", response_model=GridOnDate)
async def grid_on_date(
    place_id: uuid.UUID,
    on: date,
    principal: Reader,
    conn: ReadConnection,
    core: Core,
) -> GridOnDate:
    """The grid a building, unit or dwelling was in at the end of a date."""
    row = await _visible(conn, core, principal, place_id)
    if row.building_id is None:
        raise DomainError(f"a {row.kind} is not inside a building", field="place_id")
    when = datetime.combine(on, time.max, tzinfo=UTC)
    grid = await tree.grid_on(conn, await tables(conn, core, PlaceTree.name), row.building_id, when)
    return GridOnDate(place_id=place_id, on=on, grid_id=grid)


async def _place(
    conn: AsyncConnection, core: RegistryCore, principal: Principal, place_id: uuid.UUID
) -> PlaceRead:
    return _read(await _visible(conn, core, principal, place_id))


StaffChange = Annotated[Change[PlaceRead], changes(_place, "place_id", *STAFF)]
ManagerChange = Annotated[Change[PlaceRead], changes(_place, "place_id", *MANAGERS)]


@router.patch("/{place_id}", response_model=PlaceRead)
async def rename_place(body: PlaceRename, change: StaffChange) -> PlaceRead:
    """Rename a place (send If-Match with the version you read)."""
    place = await _place(change.conn, change.core, change.principal, change.record_id)
    _may_keep(change.principal, place.kind)
    cmd = handlers.RenamePlace(place_id=change.record_id, name=body.name)
    return await change.run(lambda: handlers.rename_place(change.commands, cmd))


@router.post("/{place_id}/regrid", response_model=PlaceRead)
async def regrid_building(body: PlaceRegrid, change: ManagerChange) -> PlaceRead:
    """Move a building, with its units and dwellings, to another grid the caller keeps."""
    cmd = handlers.RegridBuilding(place_id=change.record_id, to_grid_id=body.to_grid_id)

    async def regrid() -> None:
        grid = await _row(change.conn, change.core, body.to_grid_id)
        if grid is None or not change.principal.covers(grid.scope):
            raise NotFound(f"no place {body.to_grid_id}", field="to_grid_id")
        await handlers.regrid_building(change.commands, cmd)

    return await change.run(regrid)


@router.put("/{place_id}/usage", response_model=PlaceRead)
async def change_dwelling_usage(body: DwellingUsageUpdate, change: StaffChange) -> PlaceRead:
    """Record how a dwelling is used now."""
    cmd = handlers.ChangeDwellingUsage(place_id=change.record_id, usage=body.usage)
    return await change.run(lambda: handlers.change_dwelling_usage(change.commands, cmd))


@router.put("/{place_id}/boundary", response_model=PlaceRead)
async def draw_grid_boundary(body: GridBoundaryUpdate, change: ManagerChange) -> PlaceRead:
    """Draw a grid's boundary after its registration (the city's GIS often comes later), or
    redraw it: the latest drawing is the grid's boundary, the same one again records nothing."""
    cmd = handlers.DrawGridBoundary(place_id=change.record_id, boundary=body.boundary)
    return await change.run(lambda: handlers.draw_grid_boundary(change.commands, cmd))


def _place_id(result: AppendResult) -> uuid.UUID:
    return uuid.UUID(result.stream_id.removeprefix("place-"))
