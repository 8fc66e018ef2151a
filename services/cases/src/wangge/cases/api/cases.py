"""``/cases``: open a case, take it on, work it, escalate or refer it, resolve, close, reopen and
follow it up; and a dispute's mediation: parties, mediators, sessions, the agreement."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, status
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.cases.api.access import (
    Keys,
    Staff,
    Supervisor,
    case_row,
    grid_in_scope,
    pseudonymous,
    resident_masked,
    roster,
)
from wangge.cases.domain import cases
from wangge.cases.domain import mediation as mediating
from wangge.cases.domain.text import NamingSeal
from wangge.cases.handling import Also, change, create, new_id
from wangge.cases.personal_data import KeyRings, new_key, opened, shred, text_key
from wangge.cases.projections.cases import Cases
from wangge.cases.projections.roster import worker_of
from wangge.events import DomainEvent
from wangge.events.command import UnitOfWork
from wangge.events.db import read_only
from wangge.events.projection import active_tables
from wangge.events.sealing import KeyRing, Seal
from wangge.governance.erasure import Erasure
from wangge.governance.errors import NotFound
from wangge.governance.personal import PHONE_SCHEMA, mask_name, normalise_phone
from wangge.governance.times import StoredTime
from wangge.service.app import ServiceState
from wangge.service.commands import NO_BODY, Command, CommandContext
from wangge.service.deps import ReadConnection, State

router = APIRouter(prefix="/cases", tags=["cases"])

PARTIES = uuid.UUID("0b6f4f0e-3c1d-5a8e-9e27-6d2c4b1a7f35")
"""The UUIDv5 namespace of party ids made from a request's Idempotency-Key."""

ResidentId = Annotated[str, Field(min_length=1, max_length=100)]
"""A resident's pseudonymous id, as the read models' columns keep it."""
MediatorName = Annotated[str, Field(min_length=1, max_length=100)]


class CaseCreate(BaseModel):
    """A case a worker or staff open (hotline cases open themselves from routed tickets)."""

    kind: cases.CaseKind
    assistance: cases.Assistance | None = None
    source: cases.Source
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    grid_id: uuid.UUID
    subjects: list[ResidentId] = Field(
        default_factory=list, max_length=50, description="residents' pseudonymous ids"
    )
    deadline: AwareDatetime | None = None


class CaseRead(BaseModel):
    """A case as staff see it."""

    case_id: uuid.UUID
    kind: str
    assistance: str | None
    source: str
    title: str
    description: str
    grid_id: uuid.UUID | None
    subjects: list[str]
    ticket_id: uuid.UUID | None
    hotspot_id: uuid.UUID | None
    need_id: uuid.UUID | None
    status: str
    account: str | None
    deadline: StoredTime | None
    opened_at: StoredTime
    resolution: str | None
    solved: bool | None
    at_source: bool | None
    escalated_level: str | None
    escalated_to: str | None
    referred_to: str | None
    reopened: int
    satisfied: bool | None
    mediators: list[str]
    sessions: int
    agreement_id: uuid.UUID | None
    perform_by: date | None
    confirmation_deadline: date | None
    honoured: bool | None
    version: int


class Note(BaseModel):
    note: str = Field(min_length=1, max_length=4000)


class Escalation(BaseModel):
    level: cases.Level
    to: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=1000)


class Referral(BaseModel):
    department: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=1000)


class Resolution(BaseModel):
    resolution: str = Field(min_length=1, max_length=4000)
    solved: bool
    at_source: bool = True


class Closing(BaseModel):
    note: str | None = Field(default=None, max_length=1000)


class Reason(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)


class FollowUp(BaseModel):
    satisfied: bool | None = None
    note: str = Field(min_length=1, max_length=2000)


class Outsider(BaseModel):
    """A party who is not a registered resident."""

    name: str = Field(min_length=1, max_length=50)
    phone: str | None = Field(default=None, max_length=30, json_schema_extra=PHONE_SCHEMA)


class PartyCreate(BaseModel):
    """A party: a resident or someone from outside. No mask comes from the client: a resident's
    is the registry's, an outsider's is made here from the name."""

    role: Literal["applicant", "respondent", "interested"]
    resident: str | None = Field(
        default=None, min_length=1, max_length=100, description="a resident's pseudonymous id"
    )
    outside: Outsider | None = None


class PartyRead(BaseModel):
    party_id: uuid.UUID
    role: str
    resident: str | None
    name_masked: str


class MediatorCreate(BaseModel):
    mediator: str = Field(min_length=1, max_length=100)
    organisation: str = Field(default="", max_length=200)


class SessionCreate(BaseModel):
    held_at: AwareDatetime
    place: str = Field(min_length=1, max_length=200)
    attendees: list[uuid.UUID] = Field(min_length=1, max_length=50)
    mediators: list[MediatorName] = Field(min_length=1, max_length=20)
    summary: str = Field(min_length=1, max_length=8000)
    signed_by: list[uuid.UUID] = Field(max_length=50)


class SessionRead(BaseModel):
    session_id: uuid.UUID
    held_at: StoredTime
    place: str
    attendees: list[uuid.UUID]
    mediators: list[str]
    summary: str
    signed_by: list[uuid.UUID]


class AgreementCreate(BaseModel):
    """The agreement's statutory contents (人民调解法 art. 29), signed by every party."""

    signed_by: list[uuid.UUID] = Field(min_length=2, max_length=50)
    facts: str = Field(min_length=1, max_length=8000)
    dispute: str = Field(min_length=1, max_length=4000)
    responsibilities: str = Field(min_length=1, max_length=4000)
    terms: str = Field(min_length=1, max_length=8000)
    performance: str = Field(min_length=1, max_length=2000)
    perform_by: date
    signed_on: date


class AgreementFollowUp(BaseModel):
    honoured: bool
    note: str = Field(min_length=1, max_length=2000)


class Mediation(BaseModel):
    """A dispute's mediation so far."""

    parties: list[PartyRead]
    sessions: list[SessionRead]


async def read_case_as(
    state: ServiceState, principal: Any, case_id: uuid.UUID, keys: KeyRings
) -> CaseRead:
    """A case as the caller may read it (404 otherwise): its texts in full while its text key
    lives, their redacted copies once it was erased."""
    async with read_only(state.engine) as conn:
        row = await case_row(conn, state, principal, case_id)
        key = await keys.cases.key(conn, case_id)
    read = CaseRead.model_validate(row, from_attributes=True)
    if key is None:
        return read
    full: dict[str, Any] = {}
    for event in await state.store.read_stream(cases.stream_id(case_id)):
        data = opened(key, event.data)
        if isinstance(data, cases.CaseOpened):
            full |= {"title": data.title, "description": data.description}
        elif isinstance(data, cases.CaseResolved):
            full["resolution"] = data.resolution
    return read.model_copy(update=full)


Decide = Callable[[cases.Case, Seal | None], Sequence[DomainEvent]]
"""A step's decision, given the case and the seal of its text (None once it was erased)."""


async def _step(
    command: CommandContext,
    keys: KeyRings,
    case_id: uuid.UUID,
    decide: Decide,
    body: BaseModel = NO_BODY,
    also: Also | None = None,
) -> CaseRead:
    state, principal = command.state, command.principal
    async with read_only(state.engine) as conn:
        await case_row(conn, state, principal, case_id)  # 404 unless theirs
        key = await text_key(conn, keys.cases, case_id)
        outsiders = await _outside_keys(conn, state, keys, case_id)

    async def keep(unit: UnitOfWork) -> None:
        await key.keep(unit.conn)
        if also is not None:
            await also(unit)

    def with_names(case: cases.Case) -> Sequence[DomainEvent]:
        seal = key.seal
        if seal is not None and case.outside:
            names = [
                str(KeyRing.unseal(outsiders[party], block)["name"])
                for party, block in case.outside
                if party in outsiders
            ]
            seal = NamingSeal(seal, names)
        return decide(case, seal)

    await change(
        command, cases.stream_id(case_id), cases.evolve, with_names,
        what="case", body=body, also=keep,
    )  # fmt: skip
    return await read_case_as(state, principal, case_id, keys)


async def _outside_keys(
    conn: AsyncConnection, state: ServiceState, keys: KeyRings, case_id: uuid.UUID
) -> dict[uuid.UUID, bytes]:
    """The data keys of the case's outside parties that were not erased."""
    p = (await active_tables(conn, state.service_projection(Cases.name)))["parties"]
    found = await conn.scalars(
        sa.select(p.c.party_id).where(p.c.case_id == case_id, p.c.resident.is_(None))
    )
    return await keys.parties.keys(conn, list(found))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CaseRead)
async def open_case(
    body: CaseCreate, principal: Staff, state: State, keys: Keys, command: Command
) -> CaseRead:
    """Open a case for a grid; the grid's worker is made responsible."""
    async with read_only(state.engine) as conn:
        await grid_in_scope(conn, state, principal, body.grid_id)
        tables = await roster(conn, state)
        worker = await worker_of(conn, tables, body.grid_id) if tables is not None else None
    case_id = new_id()
    key = new_key(keys.cases, case_id)
    opened_case = cases.open_case(
        case_id=case_id, kind=body.kind, assistance=body.assistance, source=body.source,
        title=body.title, description=body.description, grid_id=body.grid_id,
        subjects=[pseudonymous(s) for s in body.subjects], deadline=body.deadline,
        now=datetime.now(UTC), seal=key.seal,
    )  # fmt: skip

    async def keep(unit: UnitOfWork) -> None:
        await key.keep(unit.conn)

    created = await create(
        command, cases.stream_id(case_id), cases.with_worker(opened_case, worker), body=body,
        also=keep,
    )  # fmt: skip
    return await read_case_as(state, principal, created, keys)


@router.get("/{case_id}", response_model=CaseRead)
async def read_case(case_id: uuid.UUID, principal: Staff, state: State, keys: Keys) -> CaseRead:
    """A case."""
    return await read_case_as(state, principal, case_id, keys)


@router.post("/{case_id}/accept", response_model=CaseRead)
async def accept(case_id: uuid.UUID, principal: Staff, keys: Keys, command: Command) -> CaseRead:
    """The responsible worker takes the case on (for a hotline case: the ticket is accepted)."""
    return await _step(
        command, keys, case_id, lambda c, _: cases.accept(c, account=principal.subject)
    )


@router.post("/{case_id}/progress", response_model=CaseRead)
async def note_progress(
    case_id: uuid.UUID, body: Note, principal: Staff, keys: Keys, command: Command
) -> CaseRead:
    """Record what was done."""
    return await _step(
        command, keys, case_id, lambda c, seal: cases.note_progress(c, body.note, seal=seal),
        body=body,
    )  # fmt: skip


@router.post("/{case_id}/escalate", response_model=CaseRead)
async def escalate(
    case_id: uuid.UUID, body: Escalation, principal: Staff, keys: Keys, command: Command
) -> CaseRead:
    """Hand the case up (上报): to the community, the subdistrict or a department."""
    return await _step(
        command, keys, case_id,
        lambda c, seal: cases.escalate(
            c, level=body.level, to=body.to, reason=body.reason, seal=seal
        ),
        body=body,
    )  # fmt: skip


@router.post("/{case_id}/refer", response_model=CaseRead)
async def refer(
    case_id: uuid.UUID, body: Referral, principal: Staff, keys: Keys, command: Command
) -> CaseRead:
    """Hand the matter to the department that owns it (转办); the grid follows it."""
    return await _step(
        command, keys, case_id,
        lambda c, seal: cases.refer(c, department=body.department, reason=body.reason, seal=seal),
        body=body,
    )  # fmt: skip


@router.post("/{case_id}/resolve", response_model=CaseRead)
async def resolve(
    case_id: uuid.UUID, body: Resolution, principal: Staff, keys: Keys, command: Command
) -> CaseRead:
    """Resolve the case (for a hotline case: the reply, delivered to the hotline as its
    redacted copy)."""
    return await _step(
        command, keys, case_id,
        lambda c, seal: cases.resolve(
            c, resolution=body.resolution, solved=body.solved, at_source=body.at_source,
            seal=seal,
        ),
        body=body,
    )  # fmt: skip


@router.post("/{case_id}/close", response_model=CaseRead)
async def close(
    case_id: uuid.UUID, body: Closing, principal: Supervisor, keys: Keys, command: Command
) -> CaseRead:
    """Close a resolved case."""
    return await _step(
        command, keys, case_id, lambda c, seal: cases.close(c, body.note, seal=seal), body=body
    )


@router.post("/{case_id}/reopen", response_model=CaseRead)
async def reopen(
    case_id: uuid.UUID, body: Reason, principal: Supervisor, keys: Keys, command: Command
) -> CaseRead:
    """Back to work."""
    return await _step(
        command, keys, case_id, lambda c, seal: cases.reopen(c, body.reason, seal=seal), body=body
    )


@router.post("/{case_id}/follow-up", response_model=CaseRead)
async def follow_up(
    case_id: uuid.UUID, body: FollowUp, principal: Staff, keys: Keys, command: Command
) -> CaseRead:
    """A later check on the outcome (回访)."""
    return await _step(
        command, keys, case_id,
        lambda c, seal: cases.follow_up(c, satisfied=body.satisfied, note=body.note, seal=seal),
        body=body,
    )  # fmt: skip


# -- mediation ------------------------------------------------------------------------------------


@router.get("/{case_id}/mediation", response_model=Mediation)
async def mediation(
    case_id: uuid.UUID, principal: Staff, conn: ReadConnection, state: State, keys: Keys
) -> Mediation:
    """The dispute's parties (masked) and sessions (their records in full while the case's text
    key lives)."""
    await case_row(conn, state, principal, case_id)
    tables = await active_tables(conn, state.service_projection(Cases.name))
    p, s = tables["parties"], tables["sessions"]
    parties = await conn.execute(sa.select(p).where(p.c.case_id == case_id).order_by(p.c.role))
    sessions = [
        SessionRead.model_validate(r, from_attributes=True)
        for r in await conn.execute(
            sa.select(s).where(s.c.case_id == case_id).order_by(s.c.held_at)
        )
    ]
    key = await keys.cases.key(conn, case_id)
    if key is not None and sessions:
        full = {}
        for event in await state.store.read_stream(cases.stream_id(case_id)):
            data = opened(key, event.data)
            if isinstance(data, cases.MediationSessionHeld):
                full[data.session_id] = {"place": data.place, "summary": data.summary}
        sessions = [r.model_copy(update=full.get(r.session_id, {})) for r in sessions]
    return Mediation(
        parties=[PartyRead.model_validate(r, from_attributes=True) for r in parties],
        sessions=sessions,
    )


async def _party(
    conn: AsyncConnection, state: ServiceState, case_id: uuid.UUID, party_id: uuid.UUID
) -> PartyRead:
    p = (await active_tables(conn, state.service_projection(Cases.name)))["parties"]
    row = (
        await conn.execute(sa.select(p).where(p.c.case_id == case_id, p.c.party_id == party_id))
    ).first()
    if row is None:
        raise NotFound(f"no party {party_id} in case {case_id}", field="party_id")
    return PartyRead.model_validate(row, from_attributes=True)


@router.post("/{case_id}/parties", status_code=status.HTTP_201_CREATED, response_model=PartyRead)
async def join_party(
    case_id: uuid.UUID,
    body: PartyCreate,
    principal: Staff,
    state: State,
    keys: Keys,
    command: Command,
) -> PartyRead:
    """A party to the dispute: a resident by pseudonymous id (shown with the registry's mask),
    or someone from outside (their name and phone sealed with the party's own key, their name
    masked here). A retry with the same Idempotency-Key answers with the first attempt's party:
    its id is made from the key."""
    party_id = (
        uuid.uuid5(PARTIES, f"{command.idempotency_key}|{case_id}")
        if command.idempotency_key is not None
        else new_id()
    )
    resident = pseudonymous(body.resident) if body.resident is not None else None
    key = None
    sealed = None
    if body.outside is not None:
        phone = (
            normalise_phone(body.outside.phone, field="outside.phone")
            if body.outside.phone
            else None
        )
        key = new_key(keys.parties, party_id)
        assert key.seal is not None
        sealed = key.seal({"name": body.outside.name, "phone": phone})
        masked = mask_name(body.outside.name)
    else:
        async with read_only(state.engine) as conn:
            masked = await resident_masked(conn, state, resident or "")

    async def keep(unit: UnitOfWork) -> None:
        if key is not None:
            await key.keep(unit.conn)

    await _step(
        command, keys, case_id,
        lambda c, _: mediating.join_party(
            c, party_id=party_id, role=body.role, name_masked=masked, resident=resident,
            outside=sealed,
        ),
        body=body,
        also=keep,
    )  # fmt: skip
    async with read_only(state.engine) as conn:
        return await _party(conn, state, case_id, party_id)


@router.delete("/{case_id}/parties/{party_id}/personal-data", response_model=PartyRead)
async def erase_party(
    case_id: uuid.UUID,
    party_id: uuid.UUID,
    body: Erasure,
    principal: Supervisor,
    state: State,
    keys: Keys,
    command: Command,
) -> PartyRead:
    """Erase an outside party's personal data (crypto-shredding): their key, and the case's
    text key, since its free text may be about them, are destroyed for good; the redacted
    copies stay. Erased again, it answers the same. A registered resident is erased in the
    registry (409), which this service follows."""

    async def shred_keys(unit: UnitOfWork) -> None:
        await shred(unit.conn, keys.parties, [party_id])
        await shred(unit.conn, keys.cases, [case_id])

    async with read_only(state.engine) as conn:
        await case_row(conn, state, principal, case_id)  # 404 unless theirs
    await change(
        command, cases.stream_id(case_id), cases.evolve,
        lambda c: mediating.erase_party(c, party_id=party_id, ground=body.legal_ground),
        what="case", body=body, also=shred_keys,
    )  # fmt: skip
    async with read_only(state.engine) as conn:
        return await _party(conn, state, case_id, party_id)


@router.post("/{case_id}/mediators", response_model=CaseRead)
async def appoint_mediator(
    case_id: uuid.UUID, body: MediatorCreate, principal: Staff, keys: Keys, command: Command
) -> CaseRead:
    """A people's mediator on the case."""
    return await _step(
        command, keys, case_id,
        lambda c, _: mediating.appoint_mediator(
            c, mediator=body.mediator, organisation=body.organisation
        ),
        body=body,
    )  # fmt: skip


@router.post("/{case_id}/sessions", status_code=status.HTTP_201_CREATED, response_model=CaseRead)
async def hold_session(
    case_id: uuid.UUID, body: SessionCreate, principal: Staff, keys: Keys, command: Command
) -> CaseRead:
    """A mediation session and its signed record."""
    return await _step(
        command, keys, case_id,
        lambda c, seal: mediating.hold_session(
            c, session_id=new_id(), held_at=body.held_at, place=body.place,
            attendees=body.attendees, mediators=body.mediators, summary=body.summary,
            signed_by=body.signed_by, now=datetime.now(UTC), seal=seal,
        ),
        body=body,
    )  # fmt: skip


@router.post("/{case_id}/agreement", status_code=status.HTTP_201_CREATED, response_model=CaseRead)
async def sign_agreement(
    case_id: uuid.UUID, body: AgreementCreate, principal: Staff, keys: Keys, command: Command
) -> CaseRead:
    """The mediation agreement, signed by every party; its 30-day window for judicial
    confirmation (司法确认) is on the case."""
    return await _step(
        command, keys, case_id,
        lambda c, seal: mediating.sign_agreement(
            c, agreement_id=new_id(), signed_by=body.signed_by, facts=body.facts,
            dispute=body.dispute, responsibilities=body.responsibilities, terms=body.terms,
            performance=body.performance, perform_by=body.perform_by,
            signed_on=body.signed_on, seal=seal,
        ),
        body=body,
    )  # fmt: skip


@router.post("/{case_id}/agreement/follow-up", response_model=CaseRead)
async def follow_up_agreement(
    case_id: uuid.UUID, body: AgreementFollowUp, principal: Staff, keys: Keys, command: Command
) -> CaseRead:
    """Whether the agreement was honoured."""
    return await _step(
        command, keys, case_id,
        lambda c, seal: mediating.follow_up_agreement(
            c, honoured=body.honoured, note=body.note, seal=seal
        ),
        body=body,
    )  # fmt: skip
