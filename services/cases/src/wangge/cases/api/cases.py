"""``/cases``: open a case, take it on, work it, escalate or refer it, resolve, close, reopen and
follow it up; and a dispute's mediation: parties, mediators, sessions, the agreement."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.cases.api.access import Core, Staff, Supervisor, case_row, grid_in_scope, grid_worker
from wangge.cases.api.access import visible_case as _visible
from wangge.cases.bootstrap import CasesCore
from wangge.cases.handlers import cases as handle
from wangge.cases.handlers.cases import (
    AgreementCreate,
    AgreementFollowUp,
    CaseCreate,
    Closing,
    ConfirmationRequest,
    Escalation,
    FollowUp,
    MediatorCreate,
    Note,
    PartyCreate,
    Reason,
    Referral,
    Resolution,
    SessionCreate,
)
from wangge.cases.projections import cases as model
from wangge.cases.projections.cases import Cases
from wangge.cases.projections.residents import Aliases, Residents, aliases
from wangge.events.db import read_only
from wangge.governance.erasure import Erasure
from wangge.governance.errors import NotFound
from wangge.governance.times import StoredTime
from wangge.service.auth import Principal
from wangge.service.commands import Command

router = APIRouter(prefix="/cases", tags=["cases"])


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
    queue: str | None
    """The queue the last escalation or referral put it in (``GET /queues/...``)."""
    queue_accepted_at: StoredTime | None
    queue_accepted_by: str | None
    reopened: int
    satisfied: bool | None
    mediators: list[str]
    sessions: int
    agreement_id: uuid.UUID | None
    perform_by: date | None
    confirmation_deadline: date | None
    confirmation: str | None
    """The agreement's judicial confirmation: ``open``, ``requested`` or ``lapsed``."""
    confirmation_requested_on: date | None
    honoured: bool | None
    version: int


class PartyRead(BaseModel):
    party_id: uuid.UUID
    role: str
    resident: str | None
    name_masked: str


class SessionRead(BaseModel):
    session_id: uuid.UUID
    held_at: StoredTime
    place: str
    attendees: list[uuid.UUID]
    mediators: list[str]
    summary: str
    signed_by: list[uuid.UUID]


class Mediation(BaseModel):
    """A dispute's mediation so far."""

    parties: list[PartyRead]
    sessions: list[SessionRead]


async def shown(conn: AsyncConnection, core: CasesCore, residents: Iterable[str | None]) -> Aliases:
    """How rows naming these residents are shown now: a record the registry merged into another
    as the record kept, with its mask (the rows keep the id they were written with, so undoing
    the merge shows them as before)."""
    return await aliases(conn, await core.tables_if_started(conn, Residents.name), residents)


def case_read(row: Any, aliases: Aliases, **update: Any) -> CaseRead:
    """A case row as read, its residents as ``aliases`` show them."""
    read = CaseRead.model_validate(row, from_attributes=True)
    return read.model_copy(update={"subjects": aliases.residents(read.subjects)} | update)


def party_read(row: Any, aliases: Aliases) -> PartyRead:
    """A party row as read: a resident as ``aliases`` show them, with the mask shown for them."""
    resident = aliases.resident(row.resident) if row.resident is not None else None
    return PartyRead(
        party_id=row.party_id, role=row.role, resident=resident,
        name_masked=aliases.mask(row.resident, row.name_masked),
    )  # fmt: skip


async def read_case_as(core: CasesCore, principal: Principal, case_id: uuid.UUID) -> CaseRead:
    """A case as the caller may read it (404 otherwise): its texts in full while its text key
    lives, their redacted copies once it was erased."""
    async with read_only(core.store.engine) as conn:
        row = await case_row(conn, core, principal, case_id)
        full, _ = await model.texts_in_full(conn, core.store, core.keyrings.cases, case_id)
        names = await shown(conn, core, row.subjects)
    return case_read(row, names, **full)


async def _step(
    command: Command, core: CasesCore, case_id: uuid.UUID, body: handle.Step
) -> CaseRead:
    """404 unless the caller may see the case, then the step, then the case as it is now."""
    await _visible(core, command.principal, case_id)
    await handle.step(command.commands, core, case_id, body)
    return await read_case_as(core, command.principal, case_id)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CaseRead)
async def open_case(body: CaseCreate, principal: Staff, core: Core, command: Command) -> CaseRead:
    """Open a case for a grid; the grid's worker is made responsible."""
    await grid_in_scope(core, principal, body.grid_id)
    worker = await grid_worker(core, body.grid_id)
    case_id = await handle.open_case(command.commands, core, body, worker=worker)
    return await read_case_as(core, principal, case_id)


@router.get("/{case_id}", response_model=CaseRead)
async def read_case(case_id: uuid.UUID, principal: Staff, core: Core) -> CaseRead:
    """A case."""
    return await read_case_as(core, principal, case_id)


@router.post("/{case_id}/accept", response_model=CaseRead)
async def accept(case_id: uuid.UUID, principal: Staff, core: Core, command: Command) -> CaseRead:
    """The responsible worker takes the case on (for a hotline case: the ticket is accepted)."""
    await _visible(core, principal, case_id)
    await handle.accept(command.commands, core, case_id)
    return await read_case_as(core, principal, case_id)


@router.post("/{case_id}/progress", response_model=CaseRead)
async def note_progress(
    case_id: uuid.UUID, body: Note, principal: Staff, core: Core, command: Command
) -> CaseRead:
    """Record what was done."""
    return await _step(command, core, case_id, body)


@router.post("/{case_id}/escalate", response_model=CaseRead)
async def escalate(
    case_id: uuid.UUID, body: Escalation, principal: Staff, core: Core, command: Command
) -> CaseRead:
    """Hand the case up (上报): to the community, the subdistrict or a department."""
    return await _step(command, core, case_id, body)


@router.post("/{case_id}/refer", response_model=CaseRead)
async def refer(
    case_id: uuid.UUID, body: Referral, principal: Staff, core: Core, command: Command
) -> CaseRead:
    """Hand the matter to the department that owns it (转办); the grid follows it."""
    return await _step(command, core, case_id, body)


@router.post("/{case_id}/resolve", response_model=CaseRead)
async def resolve(
    case_id: uuid.UUID, body: Resolution, principal: Staff, core: Core, command: Command
) -> CaseRead:
    """Resolve the case (for a hotline case: the reply, delivered to the hotline as its
    redacted copy)."""
    return await _step(command, core, case_id, body)


@router.post("/{case_id}/close", response_model=CaseRead)
async def close(
    case_id: uuid.UUID, body: Closing, principal: Supervisor, core: Core, command: Command
) -> CaseRead:
    """Close a resolved case."""
    return await _step(command, core, case_id, body)


@router.post("/{case_id}/reopen", response_model=CaseRead)
async def reopen(
    case_id: uuid.UUID, body: Reason, principal: Supervisor, core: Core, command: Command
) -> CaseRead:
    """Back to work."""
    return await _step(command, core, case_id, body)


@router.post("/{case_id}/follow-up", response_model=CaseRead)
async def follow_up(
    case_id: uuid.UUID, body: FollowUp, principal: Staff, core: Core, command: Command
) -> CaseRead:
    """A later check on the outcome (回访)."""
    return await _step(command, core, case_id, body)


# -- mediation ------------------------------------------------------------------------------------


@router.get("/{case_id}/mediation", response_model=Mediation)
async def mediation(case_id: uuid.UUID, principal: Staff, core: Core) -> Mediation:
    """The dispute's parties (masked) and sessions (their records in full while the case's text
    key lives)."""
    async with read_only(core.store.engine) as conn:
        await case_row(conn, core, principal, case_id)
        tables = await core.tables(conn, Cases.name)
        parties = await model.parties(conn, tables, case_id)
        sessions = await model.sessions(conn, tables, case_id)
        held: dict[uuid.UUID, dict[str, Any]] = {}
        if sessions:
            _, held = await model.texts_in_full(conn, core.store, core.keyrings.cases, case_id)
        names = await shown(conn, core, [r.resident for r in parties])
    return Mediation(
        parties=[party_read(r, names) for r in parties],
        sessions=[
            SessionRead.model_validate(r, from_attributes=True).model_copy(
                update=held.get(r.session_id, {})
            )
            for r in sessions
        ],
    )


async def _party(core: CasesCore, case_id: uuid.UUID, party_id: uuid.UUID) -> PartyRead:
    async with read_only(core.store.engine) as conn:
        row = await model.party(conn, await core.tables(conn, Cases.name), case_id, party_id)
        if row is None:
            raise NotFound(f"no party {party_id} in case {case_id}", field="party_id")
        names = await shown(conn, core, [row.resident])
    return party_read(row, names)


@router.post("/{case_id}/parties", status_code=status.HTTP_201_CREATED, response_model=PartyRead)
async def join_party(
    case_id: uuid.UUID, body: PartyCreate, principal: Staff, core: Core, command: Command
) -> PartyRead:
    """A party to the dispute: a resident by pseudonymous id (shown with the registry's mask),
    or someone from outside (their name and phone sealed with the party's own key, their name
    masked here). A retry with the same Idempotency-Key answers with the first attempt's party:
    its id is made from the key."""
    await _visible(core, principal, case_id)
    party_id = await handle.join_party(command.commands, core, case_id, body)
    return await _party(core, case_id, party_id)


@router.delete("/{case_id}/parties/{party_id}/personal-data", response_model=PartyRead)
async def erase_party(
    case_id: uuid.UUID,
    party_id: uuid.UUID,
    body: Erasure,
    principal: Supervisor,
    core: Core,
    command: Command,
) -> PartyRead:
    """Erase an outside party's personal data (crypto-shredding): their key, and the case's
    text key, since its free text may be about them, are destroyed for good; the redacted
    copies stay. Erased again, it answers the same. A registered resident is erased in the
    registry (409), which this service follows."""
    await _visible(core, principal, case_id)
    await handle.erase_party(command.commands, core, case_id, party_id, body)
    return await _party(core, case_id, party_id)


@router.post("/{case_id}/mediators", response_model=CaseRead)
async def appoint_mediator(
    case_id: uuid.UUID, body: MediatorCreate, principal: Staff, core: Core, command: Command
) -> CaseRead:
    """A people's mediator on the case."""
    return await _step(command, core, case_id, body)


@router.post("/{case_id}/sessions", status_code=status.HTTP_201_CREATED, response_model=CaseRead)
async def hold_session(
    case_id: uuid.UUID, body: SessionCreate, principal: Staff, core: Core, command: Command
) -> CaseRead:
    """A mediation session and its signed record."""
    return await _step(command, core, case_id, body)


@router.post("/{case_id}/agreement", status_code=status.HTTP_201_CREATED, response_model=CaseRead)
async def sign_agreement(
    case_id: uuid.UUID, body: AgreementCreate, principal: Staff, core: Core, command: Command
) -> CaseRead:
    """The mediation agreement, signed by every party; its 30-day window for judicial
    confirmation (司法确认) is on the case."""
    return await _step(command, core, case_id, body)


@router.post("/{case_id}/agreement/follow-up", response_model=CaseRead)
async def follow_up_agreement(
    case_id: uuid.UUID, body: AgreementFollowUp, principal: Staff, core: Core, command: Command
) -> CaseRead:
    """Whether the agreement was honoured."""
    return await _step(command, core, case_id, body)


@router.post("/{case_id}/agreement/confirmation", response_model=CaseRead)
async def request_confirmation(
    case_id: uuid.UUID, body: ConfirmationRequest, principal: Staff, core: Core, command: Command
) -> CaseRead:
    """The parties asked a court to confirm the agreement (司法确认) within its 30 days: no
    reminder follows, and it never lapses. Recorded after the lapse was, a request made in time
    still counts; recorded again, the same."""
    return await _step(command, core, case_id, body)
