"""Commands on persons: registration, corrections, moves, ties, tags, merges and erasure."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict

from wangge.events import DomainEvent
from wangge.events.command import CommandRunner, Loaded, UnitOfWork
from wangge.events.projection import active_tables
from wangge.events.sealing import Seal
from wangge.events.store import AppendResult
from wangge.governance.erasure import ErasureGround
from wangge.governance.errors import DomainError
from wangge.governance.times import CHINA
from wangge.registry.bootstrap import RegistryCore
from wangge.registry.domain import households, persons, places
from wangge.registry.domain.free_text import clear_copy
from wangge.registry.domain.identity import (
    IdentityNumber,
    normalise_phone,
    parse_identity_number,
)
from wangge.registry.domain.persons import (
    DwellingRelation,
    HukouType,
    Person,
    PersonalDataErasedError,
    PersonalDetails,
    ResidenceStatus,
)
from wangge.registry.domain.places import PlaceKind
from wangge.registry.personal_data import KeyRing, disclosure_log
from wangge.registry.projections.activity import Activity, visits_about
from wangge.registry.projections.people import People


def today() -> date:
    """The date in China, where the register's dates are meant."""
    return datetime.now(CHINA).date()


class TooManyDisclosures(DomainError):
    """The caller read too much unmasked personal data in the last minute."""

    status = 429
    slug = "too-many-disclosures"
    title = "Too many reads of unmasked personal data"


class PersonFields(BaseModel):
    """The personal details of a registration or correction, as the caller typed them."""

    model_config = ConfigDict(frozen=True)

    name: str
    identity_number: str
    phone: str | None = None
    ethnicity: str | None = None
    occupation: str | None = None
    employer: str | None = None
    contact: str | None = None
    hukou_type: HukouType


class RegisterPerson(PersonFields):
    """Enter a person in the register, living at a dwelling."""

    residence_status: ResidenceStatus
    dwelling_id: uuid.UUID
    moved_in_on: date | None = None
    moved_in_from: str | None = None


class CorrectPerson(PersonFields):
    """Correct a person's details."""

    person_id: uuid.UUID


def details_of(fields: PersonFields) -> tuple[IdentityNumber, PersonalDetails]:
    """Check the typed fields; the birth date comes from the identity number."""
    identity = parse_identity_number(fields.identity_number, today=today())
    phone = normalise_phone(fields.phone) if fields.phone else None
    details = PersonalDetails(
        name=fields.name.strip(),
        identity_number=identity.number,
        birth_date=identity.birth_date,
        phone=phone,
        ethnicity=fields.ethnicity,
        occupation=fields.occupation,
        employer=fields.employer,
        contact=fields.contact,
    )
    return identity, details


async def load_person(commands: CommandRunner, person_id: uuid.UUID, field: str) -> Loaded[Person]:
    """A person folded from their stream; 404 naming ``field`` when there is none."""
    return await commands.load(persons.stream_id(person_id), persons.evolve, field=field)


class PersonCommand(BaseModel):
    """A command on one person."""

    person_id: uuid.UUID


async def _decide(
    commands: CommandRunner, cmd: PersonCommand, decide: Callable[[Person], Sequence[DomainEvent]]
) -> AppendResult | None:
    """Decide ``cmd`` on its person (404 naming ``person_id``) at the version the caller saw."""
    loaded = await load_person(commands, cmd.person_id, "person_id")
    return await commands.change(cmd, loaded, decide)


async def require_dwelling(commands: CommandRunner, dwelling_id: uuid.UUID, field: str) -> None:
    """404 unless ``dwelling_id`` is a dwelling (a person lives in one)."""
    place = (await commands.load(places.stream_id(dwelling_id), places.evolve, field=field)).state
    assert place is not None
    if place.kind != PlaceKind.DWELLING:
        raise DomainError(f"a {place.kind} is no dwelling", field=field)


async def register_person(
    commands: CommandRunner, keys: KeyRing, cmd: RegisterPerson
) -> AppendResult:
    """Register a person at a dwelling; one identity number, one person."""
    identity, details = details_of(cmd)
    await require_dwelling(commands, cmd.dwelling_id, "dwelling_id")
    async with commands.store.engine.connect() as conn:
        holder = await keys.person_with(conn, identity.number)
    first = await commands.replayed(commands.fingerprint(cmd))
    if first is not None:
        return first
    if holder is not None:
        raise persons.DuplicatePerson(holder)
    person_id = uuid.uuid4()
    key = keys.generate()
    seal = keys.sealer(key, person_id)

    def decide() -> list[DomainEvent]:
        events = persons.register(
            person_id=person_id,
            identity=identity,
            details=details,
            hukou_type=cmd.hukou_type,
            residence_status=cmd.residence_status,
            seal=seal,
        )
        origin = seal({"origin": cmd.moved_in_from}) if cmd.moved_in_from else None
        events.append(
            persons.PersonMovedIn(
                person_id=person_id,
                dwelling_id=cmd.dwelling_id,
                on=cmd.moved_in_on or today(),
                origin=origin,
            )
        )
        return events

    async def keep(unit: UnitOfWork) -> None:
        await keys.keep(unit.conn, person_id, key)
        await keys.claim(unit.conn, identity.number, person_id)

    return await commands.create(cmd, persons.stream_id(person_id), decide, also=keep)


async def _sealer(commands: CommandRunner, keys: KeyRing, person_id: uuid.UUID) -> Seal:
    async with commands.store.engine.connect() as conn:
        key = await keys.key(conn, person_id)
    if key is None:
        raise PersonalDataErasedError(f"person {person_id} was erased")
    return keys.sealer(key, person_id)


async def correct_person(
    commands: CommandRunner, keys: KeyRing, cmd: CorrectPerson
) -> AppendResult | None:
    """Correct a person's details (a new identity number is checked for uniqueness)."""
    identity, details = details_of(cmd)
    loaded = await load_person(commands, cmd.person_id, "person_id")
    seal = await _sealer(commands, keys, cmd.person_id)

    async def claim(unit: UnitOfWork) -> None:
        await keys.claim(unit.conn, identity.number, cmd.person_id)

    return await commands.change(
        cmd,
        loaded,
        lambda person: persons.correct(
            person, identity=identity, details=details, hukou_type=cmd.hukou_type, seal=seal
        ),
        also=claim,
    )


class ChangeResidence(PersonCommand):
    """A new residence status (resident, floating, lodging, deceased)."""

    residence_status: ResidenceStatus
    on: date


async def change_residence(commands: CommandRunner, cmd: ChangeResidence) -> AppendResult | None:
    """Record a new residence status."""
    return await _decide(
        commands, cmd, lambda p: persons.change_residence(p, cmd.residence_status, cmd.on)
    )


class MoveIn(BaseModel):
    """A move into a dwelling of the subdistrict."""

    person_id: uuid.UUID
    dwelling_id: uuid.UUID
    on: date
    origin: str | None = None


async def move_in(commands: CommandRunner, keys: KeyRing, cmd: MoveIn) -> AppendResult | None:
    """Record a move into a dwelling (from elsewhere, or within the subdistrict)."""
    await require_dwelling(commands, cmd.dwelling_id, "dwelling_id")
    loaded = await load_person(commands, cmd.person_id, "person_id")
    origin = (
        (await _sealer(commands, keys, cmd.person_id))({"origin": cmd.origin})
        if cmd.origin
        else None
    )
    return await commands.change(
        cmd,
        loaded,
        lambda p: persons.move_in(p, dwelling_id=cmd.dwelling_id, on=cmd.on, origin=origin),
    )


class MoveOut(BaseModel):
    """A move out of the subdistrict, with where the person went (去向)."""

    person_id: uuid.UUID
    on: date
    whereabouts: str | None = None
    household_id: uuid.UUID | None = None


async def move_out(commands: CommandRunner, keys: KeyRing, cmd: MoveOut) -> AppendResult | None:
    """Record a move out; the person also leaves their household, in the same transaction."""
    loaded = await load_person(commands, cmd.person_id, "person_id")
    whereabouts = (
        (await _sealer(commands, keys, cmd.person_id))({"whereabouts": cmd.whereabouts})
        if cmd.whereabouts
        else None
    )
    household = None
    if cmd.household_id is not None:
        household = await commands.load(
            households.stream_id(cmd.household_id), households.evolve, field="household_id"
        )

    async def leave(unit: UnitOfWork) -> None:
        if household is None or household.state is None:
            return
        if cmd.person_id not in household.state.members:
            return
        await unit.append(
            household.stream_id,
            households.leave(
                household.state, person_id=cmd.person_id, on=cmd.on, reason="moved out"
            ),
            expected_version=household.version,
            history=household.events,
        )

    return await commands.change(
        cmd,
        loaded,
        lambda p: persons.move_out(p, on=cmd.on, whereabouts=whereabouts),
        also=leave,
    )


class Relate(PersonCommand):
    """A person's tie to a dwelling (owner, tenant, lodger)."""

    dwelling_id: uuid.UUID
    relation: DwellingRelation
    since: date


async def relate(commands: CommandRunner, cmd: Relate) -> AppendResult | None:
    """Record a tie between a person and a dwelling."""
    await require_dwelling(commands, cmd.dwelling_id, "dwelling_id")
    return await _decide(
        commands,
        cmd,
        lambda p: persons.relate(
            p, dwelling_id=cmd.dwelling_id, relation=cmd.relation, since=cmd.since
        ),
    )


class EndRelation(PersonCommand):
    """The end of a person's tie to a dwelling."""

    dwelling_id: uuid.UUID
    relation: DwellingRelation
    on: date


async def end_relation(commands: CommandRunner, cmd: EndRelation) -> AppendResult | None:
    """Record the end of a tie to a dwelling."""
    return await _decide(
        commands,
        cmd,
        lambda p: persons.end_relation(
            p, dwelling_id=cmd.dwelling_id, relation=cmd.relation, on=cmd.on
        ),
    )


class Tag(PersonCommand):
    """Mark a person as one of a special, key or vulnerable group."""

    tag: str
    source: str
    valid_from: date
    valid_until: date | None = None


async def tag_person(commands: CommandRunner, cmd: Tag) -> AppendResult | None:
    """Tag a person."""
    return await _decide(
        commands, cmd, lambda p: persons.tag(
            p, tag=cmd.tag, source=cmd.source, valid_from=cmd.valid_from,
            valid_until=cmd.valid_until, today=today(),
        ),
    )  # fmt: skip


class Untag(PersonCommand):
    """End a tag."""

    tag: str
    on: date
    reason: str


async def untag_person(commands: CommandRunner, cmd: Untag) -> AppendResult | None:
    """End a person's tag."""
    return await _decide(
        commands, cmd, lambda p: persons.untag(p, tag=cmd.tag, on=cmd.on, reason=cmd.reason)
    )


class Merge(PersonCommand):
    """Two records are one human: the duplicate points to the one kept."""

    into_person_id: uuid.UUID


async def merge(commands: CommandRunner, cmd: Merge) -> AppendResult | None:
    """Merge a duplicate person record into another (reversible): the kept record takes over
    the duplicate's tags and ties in the same transaction."""
    kept = await load_person(commands, cmd.into_person_id, "into_person_id")
    assert kept.state is not None
    into = kept.state
    duplicate = await load_person(commands, cmd.person_id, "person_id")
    return await _with_kept(
        commands, cmd, duplicate, kept, lambda p: persons.merge(p, into, today=today())
    )


async def _with_kept(
    commands: CommandRunner,
    cmd: PersonCommand,
    loaded: Loaded[persons.Person],
    kept: Loaded[persons.Person],
    decide: Callable[[persons.Person], persons.Merging],
) -> AppendResult | None:
    """Decide on the duplicate (``loaded``), and append the decision's events for the kept
    record to its stream in the same transaction (at the version loaded: a change to it
    meanwhile is a conflict, and the command is retried whole)."""
    decided: list[persons.Merging] = []

    def on_duplicate(person: persons.Person) -> Sequence[DomainEvent]:
        decided.append(decide(person))
        return decided[-1].duplicate

    async def on_kept(unit: UnitOfWork) -> None:
        events = decided[-1].kept if decided else []
        if events:
            await unit.append(
                kept.stream_id, events, expected_version=kept.version, history=kept.events
            )

    return await commands.change(cmd, loaded, on_duplicate, on_kept)


class DismissDuplicate(PersonCommand):
    """Two records a duplicate search paired are two people."""

    other_person_id: uuid.UUID


async def dismiss_duplicate(commands: CommandRunner, cmd: DismissDuplicate) -> AppendResult | None:
    """Record that the pair is no duplicate, so the search no longer offers it."""
    other = (await load_person(commands, cmd.other_person_id, "other_person_id")).state
    assert other is not None  # load_person refuses a person not found
    return await _decide(commands, cmd, lambda p: persons.dismiss_duplicate(p, other))


class Unmerge(PersonCommand):
    """Undo a merge."""


async def unmerge(commands: CommandRunner, cmd: Unmerge) -> AppendResult | None:
    """Undo a merge: the record stands on its own again, and the kept record gives back what
    the merge gave it."""
    loaded = await load_person(commands, cmd.person_id, "person_id")
    assert loaded.state is not None
    if loaded.state.merged_into is None:
        return await commands.change(
            cmd, loaded, lambda p: persons.unmerge(p, None, today=today()).duplicate
        )
    kept = await load_person(commands, loaded.state.merged_into, "person_id")
    state = kept.state
    return await _with_kept(
        commands, cmd, loaded, kept, lambda p: persons.unmerge(p, state, today=today())
    )


class Erase(BaseModel):
    """Erase a person's personal data, on a legal ground."""

    person_id: uuid.UUID
    legal_ground: ErasureGround


async def erase(commands: CommandRunner, registry: RegistryCore, cmd: Erase) -> AppendResult | None:
    """Destroy the person's data key and record the erasure (crypto-shredding); the keys of
    the visits that may be about them go with it (``visits_about`` in the activity model)."""
    keys = registry.keyring
    loaded = await load_person(commands, cmd.person_id, "person_id")

    async def shred(unit: UnitOfWork) -> None:
        await keys.destroy(unit.conn, cmd.person_id)
        # read in the erasure's own transaction from the read models, which are kept in the
        # same transactions as the events (inline), so a visit recorded before it is found
        people = await active_tables(unit.conn, registry.projection(People.name))
        activity = await active_tables(unit.conn, registry.projection(Activity.name))
        for visit_id in await visits_about(unit.conn, people, activity, cmd.person_id):
            await keys.visits.destroy(unit.conn, visit_id)

    return await commands.change(
        cmd, loaded, lambda p: persons.erase(p, cmd.legal_ground), also=shred
    )


def _seconds_until(read_at: datetime | None, window: datetime) -> int:
    """Whole seconds until a read made at ``read_at`` leaves the window (at least 1)."""
    if read_at is None:
        return 60
    if read_at.tzinfo is None:  # SQLite keeps no time zone; the log is written in UTC
        read_at = read_at.replace(tzinfo=UTC)
    return max(1, math.ceil((read_at - window).total_seconds()))


async def disclose(
    commands: CommandRunner,
    keys: KeyRing,
    *,
    person: Loaded[Person],
    fields: list[str],
    purpose: str,
    per_minute: int,
) -> dict[str, object]:
    """Record an unmasked read (audit event) and return the person's sealed data, opened.

    Refused with 429 beyond ``per_minute`` reads by the same caller in the last minute.
    """
    assert person.state is not None
    if person.state.erased or person.state.personal is None:
        raise PersonalDataErasedError(f"person {person.state.person_id} was erased")
    reader = commands.actor
    now = datetime.now(UTC)
    async with commands.unit() as unit:
        await unit.append(
            persons.disclosure_stream(person.state.person_id),
            [
                persons.PersonalDataDisclosed(
                    person_id=person.state.person_id,
                    fields=fields,
                    # the audit outlives an erasure: only the purpose's redacted copy is kept
                    purpose=clear_copy(purpose, 500),
                )
            ],
            expected_version=None,
        )
        window = now - timedelta(minutes=1)
        # the log only counts the last minute (the audit trail is the events): keep it short
        await unit.conn.execute(
            sa.delete(disclosure_log).where(
                disclosure_log.c.reader == reader, disclosure_log.c.at <= window
            )
        )
        recent = await unit.conn.scalar(
            sa.select(sa.func.count())
            .select_from(disclosure_log)
            .where(disclosure_log.c.reader == reader, disclosure_log.c.at > window)
        )
        if int(recent or 0) >= per_minute:
            # the caller may read again once enough of the reads counted here leave the window
            freed_at = await unit.conn.scalar(
                sa.select(disclosure_log.c.at)
                .where(disclosure_log.c.reader == reader, disclosure_log.c.at > window)
                .order_by(disclosure_log.c.at)
                .offset(int(recent or 0) - per_minute)
                .limit(1)
            )
            raise TooManyDisclosures(
                f"at most {per_minute} unmasked reads a minute; try again shortly",
                retry_after=_seconds_until(freed_at, window),
            )
        await unit.conn.execute(
            sa.insert(disclosure_log).values(
                reader=reader, person_id=person.state.person_id, at=now
            )
        )
        key = await keys.key(unit.conn, person.state.person_id)
    if key is None:
        raise PersonalDataErasedError(f"person {person.state.person_id} was erased")
    opened: dict[str, object] = dict(keys.unseal(key, person.state.personal))
    for event in reversed(person.events):
        sealed = getattr(event.data, "whereabouts", None) or getattr(event.data, "origin", None)
        if sealed is not None:
            opened.update(keys.unseal(key, sealed))
            break
    return opened
