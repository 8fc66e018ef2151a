"""Commands on organisations: registration, new details, moves, closing, and the erasure of a
contact person (whose details are sealed under a data key of their own)."""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict

from wangge.events import DomainEvent
from wangge.events.command import CommandRunner, Loaded, UnitOfWork
from wangge.events.store import AppendResult
from wangge.governance.erasure import ErasureGround
from wangge.governance.errors import DomainError
from wangge.registry.domain import organisations
from wangge.registry.domain.organisations import (
    ContactDetails,
    ContactKey,
    ContactKeys,
    Organisation,
    OrganisationKind,
)
from wangge.registry.handlers.places import load_place
from wangge.registry.personal_data import KeyRing


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


class EraseContact(BaseModel):
    """Erase one of an organisation's contact persons, on a legal ground."""

    organisation_id: uuid.UUID
    contact_id: uuid.UUID
    legal_ground: ErasureGround


async def load_organisation(
    commands: CommandRunner, organisation_id: uuid.UUID, field: str
) -> Loaded[Organisation]:
    """An organisation folded from its stream; 404 naming ``field`` when there is none."""
    return await commands.load(
        organisations.stream_id(organisation_id), organisations.evolve, field=field
    )


async def register_organisation(
    commands: CommandRunner, keys: KeyRing, cmd: RegisterOrganisation
) -> AppendResult:
    """Register an organisation; its unified social credit code is unique in the register, and
    its contact person gets a data key of their own."""
    uscc = organisations.check_uscc(cmd.uscc)
    place = (await load_place(commands, cmd.place_id, "place_id")).state
    assert place is not None
    organisation_id = uuid.uuid4()
    contact = NewContact(keys)
    try:
        return await commands.create(
            cmd,
            organisations.stream_id(organisation_id),
            lambda: contact.decided(organisations.register(
                organisation_id=organisation_id, uscc=uscc, name=cmd.name, kind=cmd.kind,
                place=place, address=cmd.address, contact_name=cmd.contact_name,
                contact_phone=cmd.contact_phone, contact_key=contact.key,
            )),
            also=contact.keep,
        )  # fmt: skip
    except sa.exc.IntegrityError:
        raise DuplicateUscc(f"{uscc} is registered", field="uscc") from None


class NewContact:
    """Data keys a decision may seal a contact person under: a new person's, and (for the same
    person restated) the current contact's; the ones the decided events use are kept."""

    def __init__(self, keys: KeyRing, same: tuple[uuid.UUID, bytes] | None = None) -> None:
        self.ring = keys.contacts
        self.new = (uuid.uuid4(), self.ring.generate())
        self.key = ContactKey(self.new[0], self.ring.sealer(self.new[1], self.new[0]))
        self.same = same
        self.events: list[DomainEvent] = []

    def decided(self, events: list[organisations.OrganisationEvent]) -> list[DomainEvent]:
        """The decision's events, remembered to know which keys they use."""
        self.events = list(events)
        return self.events

    async def keep(self, unit: UnitOfWork) -> None:
        """Store the keys the decided events seal under, unless stored already."""
        used = {getattr(e, "contact_id", None) for e in self.events if getattr(e, "contact", None)}
        for contact_id, key in [self.new, *([self.same] if self.same else [])]:
            if contact_id in used and await self._unkept(unit, contact_id):
                await self.ring.keep(unit.conn, contact_id, key)

    async def _unkept(self, unit: UnitOfWork, contact_id: uuid.UUID) -> bool:
        t = self.ring.table
        found = await unit.conn.scalar(
            sa.select(sa.func.count()).select_from(t).where(t.c.contact_id == contact_id)
        )
        return not found


async def _current_contact(
    commands: CommandRunner, keys: KeyRing, o: Organisation
) -> tuple[ContactDetails | None, tuple[uuid.UUID, bytes] | None]:
    """The current contact, opened, and the key that seals under their id (a fresh one for a
    contact from before sealing); None and None when there is none or they were erased."""
    if o.contact_id is None or o.contact_erased:
        return None, None
    async with commands.store.engine.connect() as conn:
        key = await keys.contacts.key(conn, o.contact_id)
    if o.contact is not None:
        if key is None:
            return None, None
        opened = ContactDetails.model_validate(keys.contacts.unseal(key, o.contact))
        return opened, (o.contact_id, key)
    return o.legacy_contact, (o.contact_id, key or keys.contacts.generate())


async def change_organisation_details(
    commands: CommandRunner, keys: KeyRing, cmd: ChangeOrganisationDetails
) -> AppendResult | None:
    """Change an organisation's details; the old ones stay in its history.

    A contact field left out keeps its value: the current contact is opened to restate it.
    """
    loaded = await load_organisation(commands, cmd.organisation_id, "organisation_id")
    assert loaded.state is not None
    current, same = await _current_contact(commands, keys, loaded.state)
    contact = NewContact(keys, same)
    given = cmd.model_fields_set

    def decide(o: Organisation) -> list[DomainEvent]:
        was = current or ContactDetails()
        name = cmd.contact_name if "contact_name" in given else was.name
        phone = cmd.contact_phone if "contact_phone" in given else was.phone
        return contact.decided(organisations.change_details(
            o,
            name=cmd.name if cmd.name is not None else o.name,
            kind=cmd.kind if cmd.kind is not None else o.kind,
            address=cmd.address if "address" in given else o.address,
            contact_name=name,
            contact_phone=phone,
            keys=ContactKeys(
                current=current,
                same=keys.contacts.sealer(same[1], same[0]) if same else None,
                new=contact.key,
            ),
        ))  # fmt: skip

    return await commands.change(cmd, loaded, decide, also=contact.keep)


async def erase_contact(
    commands: CommandRunner, keys: KeyRing, cmd: EraseContact
) -> AppendResult | None:
    """Destroy a contact person's data key and record the erasure (crypto-shredding)."""
    loaded = await load_organisation(commands, cmd.organisation_id, "organisation_id")

    async def shred(unit: UnitOfWork) -> None:
        await keys.contacts.destroy(unit.conn, cmd.contact_id)

    return await commands.change(
        cmd,
        loaded,
        lambda o: organisations.erase_contact(o, cmd.contact_id, cmd.legal_ground),
        also=shred,
    )


async def move_organisation(commands: CommandRunner, cmd: MoveOrganisation) -> AppendResult | None:
    """Move an organisation to another place of the tree."""
    place = (await load_place(commands, cmd.place_id, "place_id")).state
    assert place is not None
    loaded = await load_organisation(commands, cmd.organisation_id, "organisation_id")
    return await commands.change(cmd, loaded, lambda o: organisations.move(o, place))


async def close_organisation(
    commands: CommandRunner, cmd: CloseOrganisation
) -> AppendResult | None:
    """Record that an organisation closed on a date."""
    loaded = await load_organisation(commands, cmd.organisation_id, "organisation_id")
    return await commands.change(
        cmd, loaded, lambda o: organisations.close(o, on=cmd.on, reason=cmd.reason)
    )
