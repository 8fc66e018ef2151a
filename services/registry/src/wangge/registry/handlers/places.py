"""Commands on the place tree."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict

from wangge.events.command import CommandRunner, Loaded
from wangge.events.store import AppendResult
from wangge.governance.errors import DomainError
from wangge.registry.domain import places
from wangge.registry.domain.places import Boundary, DwellingUsage, Place, PlaceKind


class DuplicatePlaceCode(DomainError):
    """Two places cannot share a code."""

    status = 409
    slug = "duplicate-place-code"
    title = "Another place has this code"


class RegisterPlace(BaseModel):
    """Add a place under its parent."""

    model_config = ConfigDict(frozen=True)

    kind: PlaceKind
    name: str
    parent_id: uuid.UUID | None = None
    code: str | None = None
    number: str | None = None
    usage: DwellingUsage | None = None
    boundary: Boundary | None = None


class RenamePlace(BaseModel):
    """Give a place a new name."""

    place_id: uuid.UUID
    name: str


class RegridBuilding(BaseModel):
    """Move a building, with its units and dwellings, to another grid."""

    place_id: uuid.UUID
    to_grid_id: uuid.UUID


class ChangeDwellingUsage(BaseModel):
    """Record how a dwelling is used now."""

    place_id: uuid.UUID
    usage: DwellingUsage


class DrawGridBoundary(BaseModel):
    """Draw a grid's boundary, or redraw it (the new one replaces the old)."""

    place_id: uuid.UUID
    boundary: Boundary


async def load_place(commands: CommandRunner, place_id: uuid.UUID, field: str) -> Loaded[Place]:
    """A place folded from its stream; 404 naming ``field`` when there is none."""
    return await commands.load(places.stream_id(place_id), places.evolve, field=field)


async def register_place(commands: CommandRunner, cmd: RegisterPlace) -> AppendResult:
    """Register a place; a retry with the same Idempotency-Key returns the first place."""
    parent = None
    if cmd.parent_id is not None:
        parent = (await load_place(commands, cmd.parent_id, "parent_id")).state
    place_id = uuid.uuid4()
    try:
        return await commands.create(
            cmd,
            places.stream_id(place_id),
            lambda: places.register(
                place_id=place_id,
                kind=cmd.kind,
                name=cmd.name,
                parent=parent,
                code=cmd.code,
                number=cmd.number,
                usage=cmd.usage,
                boundary=cmd.boundary,
            ),
        )
    except sa.exc.IntegrityError:
        if cmd.code is None:
            raise
        raise DuplicatePlaceCode(f"{cmd.code} is taken", field="code") from None


async def rename_place(commands: CommandRunner, cmd: RenamePlace) -> AppendResult | None:
    """Rename a place; the old name stays in its history."""
    loaded = await load_place(commands, cmd.place_id, "place_id")
    return await commands.change(cmd, loaded, lambda place: places.rename(place, cmd.name))


async def regrid_building(commands: CommandRunner, cmd: RegridBuilding) -> AppendResult | None:
    """Move a building to another grid (网格调整)."""
    grid = (await load_place(commands, cmd.to_grid_id, "to_grid_id")).state
    assert grid is not None
    loaded = await load_place(commands, cmd.place_id, "place_id")
    return await commands.change(cmd, loaded, lambda building: places.regrid(building, grid))


async def change_dwelling_usage(
    commands: CommandRunner, cmd: ChangeDwellingUsage
) -> AppendResult | None:
    """Record a dwelling's new use."""
    loaded = await load_place(commands, cmd.place_id, "place_id")
    return await commands.change(
        cmd, loaded, lambda dwelling: places.change_usage(dwelling, cmd.usage)
    )


async def draw_grid_boundary(commands: CommandRunner, cmd: DrawGridBoundary) -> AppendResult | None:
    """Draw or redraw a grid's boundary; the same boundary again records nothing."""
    loaded = await load_place(commands, cmd.place_id, "place_id")
    return await commands.change(cmd, loaded, lambda grid: places.draw_boundary(grid, cmd.boundary))
