"""Commands on the place tree."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from geojson_pydantic import MultiPolygon, Polygon
from pydantic import BaseModel, ConfigDict

from wangge.events import DomainEvent
from wangge.events.command import Loaded, check_expected, load
from wangge.events.store import NO_STREAM, AppendResult
from wangge.registry.domain import places
from wangge.registry.domain.places import DwellingUsage, Place, PlaceKind
from wangge.service import DomainError, NotFound
from wangge.service.commands import CommandContext


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
    boundary: Polygon | MultiPolygon | None = None


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


async def load_place(ctx: CommandContext, place_id: uuid.UUID, field: str) -> Loaded[Place]:
    """A place folded from its stream; 404 naming ``field`` when there is none."""
    loaded = await load(ctx.state.store, places.stream_id(place_id), places.evolve)
    if loaded.state is None:
        raise NotFound(f"no place {place_id}", field=field)
    return loaded


async def register_place(ctx: CommandContext, cmd: RegisterPlace) -> AppendResult:
    """Register a place; a retry with the same Idempotency-Key returns the first place."""
    fingerprint = ctx.fingerprint(cmd)
    first = await ctx.replayed(fingerprint)
    if first is not None:
        return first
    parent = None
    if cmd.parent_id is not None:
        parent = (await load_place(ctx, cmd.parent_id, "parent_id")).state
    place_id = uuid.uuid4()
    events = places.register(
        place_id=place_id,
        kind=cmd.kind,
        name=cmd.name,
        parent=parent,
        code=cmd.code,
        number=cmd.number,
        usage=cmd.usage,
        boundary=cmd.boundary,
    )
    try:
        async with ctx.unit() as unit:
            return await unit.append(
                places.stream_id(place_id),
                events,
                expected_version=NO_STREAM,
                idempotency_key=ctx.idempotency_key,
                request_fingerprint=fingerprint,
            )
    except sa.exc.IntegrityError:
        if cmd.code is None:
            raise
        raise DuplicatePlaceCode(f"{cmd.code} is taken", field="code") from None


async def rename_place(ctx: CommandContext, cmd: RenamePlace) -> AppendResult | None:
    """Rename a place; the old name stays in its history."""
    return await _change(ctx, cmd, cmd.place_id, lambda place: places.rename(place, cmd.name))


async def regrid_building(ctx: CommandContext, cmd: RegridBuilding) -> AppendResult | None:
    """Move a building to another grid (网格调整)."""
    grid = (await load_place(ctx, cmd.to_grid_id, "to_grid_id")).state
    assert grid is not None
    return await _change(ctx, cmd, cmd.place_id, lambda building: places.regrid(building, grid))


async def change_dwelling_usage(
    ctx: CommandContext, cmd: ChangeDwellingUsage
) -> AppendResult | None:
    """Record a dwelling's new use."""
    return await _change(
        ctx, cmd, cmd.place_id, lambda dwelling: places.change_usage(dwelling, cmd.usage)
    )


async def _change(
    ctx: CommandContext,
    cmd: BaseModel,
    place_id: uuid.UUID,
    decide: places.Decide,
) -> AppendResult | None:
    """Decide on the place at the version the client saw; None when nothing changes."""
    fingerprint = ctx.fingerprint(cmd)
    first = await ctx.replayed(fingerprint)
    if first is not None:
        return first
    loaded = await load_place(ctx, place_id, "place_id")
    check_expected(loaded, ctx.expected_version)
    assert loaded.state is not None
    events: list[DomainEvent] = list(decide(loaded.state))
    if not events:
        return None
    async with ctx.unit() as unit:
        return await unit.append(
            loaded.stream_id,
            events,
            expected_version=loaded.version,
            history=loaded.events,
            idempotency_key=ctx.idempotency_key,
            request_fingerprint=fingerprint,
        )
