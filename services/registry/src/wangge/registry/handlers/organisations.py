"""Commands on organisations: registration, new details, moves and closing."""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict

from wangge.events.command import Loaded
from wangge.events.store import AppendResult
from wangge.registry.domain import organisations
from wangge.registry.domain.organisations import Organisation, OrganisationKind
from wangge.registry.handlers.places import load_place
from wangge.service import DomainError
from wangge.service.commands import CommandContext


class DuplicateUscc(DomainError):
    """One unified social credit code, one organisation."""

    status = 409
    slug = "duplicate-uscc"
    title = "Another organisation has this unified social credit code"


class RegisterOrganisation(BaseModel):
    """Enter an organisation at a grid, building or dwelling."""

    model_config = ConfigDict(frozen=True)

    uscc: str
    name: str
    kind: OrganisationKind
    place_id: uuid.UUID
    address: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None


class ChangeOrganisationDetails(BaseModel):
    """New details of an organisation: fields not given keep their value."""

    organisation_id: uuid.UUID
    name: str | None = None
    kind: OrganisationKind | None = None
    address: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None


class MoveOrganisation(BaseModel):
    """Move an organisation to another place."""

    organisation_id: uuid.UUID
    place_id: uuid.UUID


class CloseOrganisation(BaseModel):
    """Record an organisation's closing."""

    organisation_id: uuid.UUID
    on: date
    reason: str


async def load_organisation(
    ctx: CommandContext, organisation_id: uuid.UUID, field: str
) -> Loaded[Organisation]:
    """An organisation folded from its stream; 404 naming ``field`` when there is none."""
    return await ctx.load(
        organisations.stream_id(organisation_id), organisations.evolve, field=field
    )


async def register_organisation(ctx: CommandContext, cmd: RegisterOrganisation) -> AppendResult:
    """Register an organisation; its unified social credit code is unique in the register."""
    uscc = organisations.check_uscc(cmd.uscc)
    place = (await load_place(ctx, cmd.place_id, "place_id")).state
    assert place is not None
    organisation_id = uuid.uuid4()
    try:
        return await ctx.create(
            cmd,
            organisations.stream_id(organisation_id),
            lambda: organisations.register(
                organisation_id=organisation_id, uscc=uscc, name=cmd.name, kind=cmd.kind,
                place=place, address=cmd.address, contact_name=cmd.contact_name,
                contact_phone=cmd.contact_phone,
            ),
        )  # fmt: skip
    except sa.exc.IntegrityError:
        raise DuplicateUscc(f"{uscc} is registered", field="uscc") from None


async def change_organisation_details(
    ctx: CommandContext, cmd: ChangeOrganisationDetails
) -> AppendResult | None:
    """Change an organisation's details; the old ones stay in its history."""
    loaded = await load_organisation(ctx, cmd.organisation_id, "organisation_id")
    given = cmd.model_fields_set

    def decide(o: Organisation) -> list[organisations.OrganisationEvent]:
        return organisations.change_details(
            o,
            name=cmd.name if cmd.name is not None else o.name,
            kind=cmd.kind if cmd.kind is not None else o.kind,
            address=cmd.address if "address" in given else o.address,
            contact_name=cmd.contact_name if "contact_name" in given else o.contact_name,
            contact_phone=cmd.contact_phone if "contact_phone" in given else o.contact_phone,
        )

    return await ctx.change(cmd, loaded, decide)


async def move_organisation(ctx: CommandContext, cmd: MoveOrganisation) -> AppendResult | None:
    """Move an organisation to another place of the tree."""
    place = (await load_place(ctx, cmd.place_id, "place_id")).state
    assert place is not None
    loaded = await load_organisation(ctx, cmd.organisation_id, "organisation_id")
    return await ctx.change(cmd, loaded, lambda o: organisations.move(o, place))


async def close_organisation(ctx: CommandContext, cmd: CloseOrganisation) -> AppendResult | None:
    """Record that an organisation closed on a date."""
    loaded = await load_organisation(ctx, cmd.organisation_id, "organisation_id")
    return await ctx.change(
        cmd, loaded, lambda o: organisations.close(o, on=cmd.on, reason=cmd.reason)
    )
