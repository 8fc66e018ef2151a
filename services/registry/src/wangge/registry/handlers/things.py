"""Commands on things: key facilities and hazard points, their inspections, resolution, removal."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict

from wangge.events.command import CommandRunner, Loaded
from wangge.events.store import AppendResult
from wangge.registry.domain import things
from wangge.registry.domain.things import RiskLevel, Thing, ThingKind
from wangge.registry.handlers.organisations import load_organisation
from wangge.registry.handlers.places import load_place


class RegisterThing(BaseModel):
    """Enter a key facility or hazard point at a place."""

    model_config = ConfigDict(frozen=True)

    kind: ThingKind
    category: str
    name: str
    place_id: uuid.UUID
    responsible_organisation_id: uuid.UUID | None = None
    description: str | None = None
    risk_level: RiskLevel | None = None


class InspectThing(BaseModel):
    """Record an inspection of a thing."""

    thing_id: uuid.UUID
    on: date
    finding: str
    risk_level: RiskLevel | None = None


class ResolveHazard(BaseModel):
    """Record that a hazard point was dealt with."""

    thing_id: uuid.UUID
    on: date
    how: str


class RemoveThing(BaseModel):
    """Record that a thing is gone."""

    thing_id: uuid.UUID
    on: date
    reason: str


async def load_thing(commands: CommandRunner, thing_id: uuid.UUID, field: str) -> Loaded[Thing]:
    """A thing folded from its stream; 404 naming ``field`` when there is none."""
    return await commands.load(things.stream_id(thing_id), things.evolve, field=field)


async def register_thing(commands: CommandRunner, cmd: RegisterThing) -> AppendResult:
    """Register a key facility or hazard point; its place and organisation must exist."""
    place = (await load_place(commands, cmd.place_id, "place_id")).state
    assert place is not None
    responsible = None
    if cmd.responsible_organisation_id is not None:
        field = "responsible_organisation_id"
        responsible = (
            await load_organisation(commands, cmd.responsible_organisation_id, field)
        ).state
    thing_id = uuid.uuid4()
    return await commands.create(
        cmd,
        things.stream_id(thing_id),
        lambda: things.register(
            thing_id=thing_id, kind=cmd.kind, category=cmd.category, name=cmd.name, place=place,
            responsible=responsible, description=cmd.description, risk_level=cmd.risk_level,
        ),
    )  # fmt: skip


async def inspect_thing(commands: CommandRunner, cmd: InspectThing) -> AppendResult | None:
    """Record an inspection (巡查), with a hazard point's reassessed risk."""
    loaded = await load_thing(commands, cmd.thing_id, "thing_id")
    return await commands.change(
        cmd,
        loaded,
        lambda t: things.inspect(t, on=cmd.on, finding=cmd.finding, risk_level=cmd.risk_level),
    )


async def resolve_hazard(commands: CommandRunner, cmd: ResolveHazard) -> AppendResult | None:
    """Record that a hazard point was dealt with (整改完成)."""
    loaded = await load_thing(commands, cmd.thing_id, "thing_id")
    return await commands.change(cmd, loaded, lambda t: things.resolve(t, on=cmd.on, how=cmd.how))


async def remove_thing(commands: CommandRunner, cmd: RemoveThing) -> AppendResult | None:
    """Record that a thing is gone; it stays on record with its inspections."""
    loaded = await load_thing(commands, cmd.thing_id, "thing_id")
    return await commands.change(
        cmd, loaded, lambda t: things.remove(t, on=cmd.on, reason=cmd.reason)
    )
