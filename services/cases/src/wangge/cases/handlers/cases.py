"""Commands on cases: opening, taking on, working, escalating, referring, resolving, closing,
reopening and following up; and a dispute's mediation: parties (joining, erasure), mediators,
sessions, the agreement and its follow-up.

Each step writes its free text sealed with the case's text key and kept in clear only as the
redacted copy, naming the case's outside parties so their names are masked there too. Who may
act on which case is the route's to check before it calls a handler here.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Literal, assert_never

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    Field,
    ValidationInfo,
    field_validator,
)

from wangge.cases.bootstrap import CasesCore
from wangge.cases.domain import cases, mediation
from wangge.cases.domain.text import NamingSeal
from wangge.cases.domain.upstream import Worker
from wangge.cases.personal_data import new_key, shred, text_key
from wangge.cases.projections import cases as model
from wangge.cases.projections.cases import Cases
from wangge.cases.projections.residents import Residents, name_masked
from wangge.events import DomainEvent
from wangge.events.command import NO_BODY, Also, CommandRunner, UnitOfWork
from wangge.events.db import read_only
from wangge.events.errors import ConcurrencyConflict
from wangge.events.sealing import KeyRing, Seal
from wangge.governance.erasure import Erasure
from wangge.governance.personal import PHONE_SCHEMA, mask_name, normalise_phone
from wangge.governance.times import local_day

PARTIES = uuid.UUID("0b6f4f0e-3c1d-5a8e-9e27-6d2c4b1a7f35")
"""The UUIDv5 namespace of party ids made from a command's idempotency key."""

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


class Note(BaseModel):
    note: str = Field(min_length=1, max_length=4000)


def _department(name: str) -> str:
    """A department's name, as its role spells it; the levels' names are their queues'."""
    if not re.fullmatch(cases.DEPARTMENT_NAME, name) or name in set(cases.Level):
        raise ValueError(
            "a department is named as its department:<name> role: lower-case letters and _, "
            "not community or subdistrict"
        )
    return name


class Escalation(BaseModel):
    """To the community, the subdistrict, or a department (``to``: its name, as its
    ``department:<name>`` role spells it; for the others, who at that level)."""

    level: cases.Level
    to: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=1000)

    @field_validator("to")
    @classmethod
    def _a_department_by_name(cls, to: str, info: ValidationInfo) -> str:
        return _department(to) if info.data.get("level") == cases.Level.DEPARTMENT else to


class Referral(BaseModel):
    department: Annotated[
        str, Field(min_length=2, max_length=40, description="as its department:<name> role"),
        AfterValidator(_department),
    ]  # fmt: skip
    reason: str = Field(min_length=1, max_length=1000)


class ConfirmationRequest(BaseModel):
    """The parties asked a court to confirm the agreement (司法确认)."""

    requested_on: date
    court: str = Field(min_length=1, max_length=200)


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


def new_id() -> uuid.UUID:
    """A fresh id for a case, plan, party, session or agreement."""
    return uuid.uuid4()


def pseudonymous(resident: str) -> str:
    """A resident's pseudonymous id as kept: a registered person's id in its one written form
    (so a resident's erasure finds every row naming them), anything else as given."""
    try:
        return str(uuid.UUID(resident))
    except ValueError:
        return resident


async def resident_masked(core: CasesCore, resident: str) -> str:
    """How a resident given by pseudonymous id is shown: the registry's mask, from this
    service's copy, never a client's text."""
    async with read_only(core.store.engine) as conn:
        tables = await core.tables_if_started(conn, Residents.name)
        return await name_masked(conn, tables, resident)


async def _create(
    commands: CommandRunner,
    case_id: uuid.UUID,
    events: Sequence[DomainEvent],
    body: BaseModel,
    also: Also | None = None,
) -> uuid.UUID:
    """Start the case's stream; a retry (the same idempotency key) gets the first case's id."""
    result = await commands.create(body, cases.stream_id(case_id), lambda: events, also)
    return uuid.UUID(result.stream_id.split("-", 1)[1])


async def open_case(
    commands: CommandRunner, core: CasesCore, cmd: CaseCreate, *, worker: Worker | None
) -> uuid.UUID:
    """Open a case for a grid, assigned to its ``worker`` (the community triages it without
    one); its title and description sealed with the case's new text key."""
    case_id = new_id()
    key = new_key(core.keyrings.cases, case_id)
    opened = cases.open_case(
        case_id=case_id, kind=cmd.kind, assistance=cmd.assistance, source=cmd.source,
        title=cmd.title, description=cmd.description, grid_id=cmd.grid_id,
        subjects=[pseudonymous(s) for s in cmd.subjects], deadline=cmd.deadline,
        now=datetime.now(UTC), seal=key.seal,
    )  # fmt: skip

    async def keep(unit: UnitOfWork) -> None:
        await key.keep(unit.conn)

    return await _create(commands, case_id, cases.with_worker(opened, worker), cmd, keep)


async def open_from_need(
    commands: CommandRunner,
    *,
    need_id: uuid.UUID,
    category: str,
    description: str,
    grid_id: uuid.UUID,
    person_id: uuid.UUID | None,
    worker: Worker | None,
) -> uuid.UUID:
    """Open the case a need noted on a visit suggests, once (its id is the need's). The need's
    description is the registry's text: the case keeps its redacted copy."""
    case_id = cases.case_for(f"need:{need_id}")
    kind, assistance = cases.suggested(category)
    opened = cases.open_case(
        case_id=case_id, kind=kind, assistance=assistance, source=cases.Source.VISIT,
        title=f"{category}: {description}"[:200], description=description, grid_id=grid_id,
        subjects=[str(person_id)] if person_id else [], need_id=need_id, now=datetime.now(UTC),
    )  # fmt: skip
    return await _create(commands, case_id, cases.with_worker(opened, worker), NO_BODY)


Decide = Callable[[cases.Case, Seal | None], Sequence[DomainEvent]]
"""A step's decision, given the case and the seal of its text (None once it was erased)."""


async def _step(
    commands: CommandRunner,
    core: CasesCore,
    case_id: uuid.UUID,
    decide: Decide,
    body: BaseModel = NO_BODY,
    also: Also | None = None,
) -> None:
    """Decide on the case with its text key's seal, naming its outside parties, and append."""
    async with read_only(core.store.engine) as conn:
        key = await text_key(conn, core.keyrings.cases, case_id)
        outside = await model.outside_parties(conn, await core.tables(conn, Cases.name), case_id)
        outsiders = await core.keyrings.parties.keys(conn, outside)

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

    loaded = await commands.load(cases.stream_id(case_id), cases.evolve, field="case_id")
    await commands.change(body, loaded, with_names, keep)


async def accept(commands: CommandRunner, core: CasesCore, case_id: uuid.UUID) -> None:
    """The responsible worker (the command's actor) takes the case on."""
    await _step(commands, core, case_id, lambda c, _: cases.accept(c, account=commands.actor))


async def sign_for(
    commands: CommandRunner, core: CasesCore, case_id: uuid.UUID, queue: str
) -> None:
    """The queue the case is in signs for it (签收), as the command's actor."""
    await _step(
        commands, core, case_id, lambda c, _: cases.sign_for(c, queue=queue, account=commands.actor)
    )


async def sweep_confirmations(
    commands: CommandRunner, core: CasesCore, *, now: datetime, remind_days: int
) -> int:
    """Remind of agreements whose window for judicial confirmation closes within
    ``remind_days``, and record the lapse of those whose window closed; how many changed.

    A case another command moved meanwhile waits for the next sweep."""
    today = local_day(now)
    async with read_only(core.store.engine) as conn:
        found = await model.confirmations_to_sweep(
            conn, await core.tables(conn, Cases.name), today=today, remind_days=remind_days
        )
    changed = 0
    for case_id in found:
        loaded = await commands.load(cases.stream_id(case_id), cases.evolve, field="case_id")
        with contextlib.suppress(ConcurrencyConflict):
            done = await commands.change(
                NO_BODY, loaded,
                lambda case: mediation.confirmation_due(case, today=today, remind_days=remind_days),
            )  # fmt: skip
            changed += done is not None
    return changed


Step = (
    Note | Escalation | Referral | Resolution | Closing | Reason | FollowUp
    | MediatorCreate | SessionCreate | AgreementCreate | AgreementFollowUp | ConfirmationRequest
)  # fmt: skip
"""A step on a case that its body names: working it, and its mediation's."""


def _decide(case: cases.Case, cmd: Step, seal: Seal | None) -> Sequence[DomainEvent]:
    match cmd:
        case Note():
            return cases.note_progress(case, cmd.note, seal=seal)
        case Escalation():
            return cases.escalate(case, level=cmd.level, to=cmd.to, reason=cmd.reason, seal=seal)
        case Referral():
            return cases.refer(case, department=cmd.department, reason=cmd.reason, seal=seal)
        case Resolution():
            return cases.resolve(
                case, resolution=cmd.resolution, solved=cmd.solved, at_source=cmd.at_source,
                seal=seal,
            )  # fmt: skip
        case Closing():
            return cases.close(case, cmd.note, seal=seal)
        case Reason():
            return cases.reopen(case, cmd.reason, seal=seal)
        case FollowUp():
            return cases.follow_up(case, satisfied=cmd.satisfied, note=cmd.note, seal=seal)
        case MediatorCreate():
            return mediation.appoint_mediator(
                case, mediator=cmd.mediator, organisation=cmd.organisation
            )
        case SessionCreate():
            return mediation.hold_session(
                case, session_id=new_id(), held_at=cmd.held_at, place=cmd.place,
                attendees=cmd.attendees, mediators=cmd.mediators, summary=cmd.summary,
                signed_by=cmd.signed_by, now=datetime.now(UTC), seal=seal,
            )  # fmt: skip
        case AgreementCreate():
            return mediation.sign_agreement(
                case, agreement_id=new_id(), signed_by=cmd.signed_by, facts=cmd.facts,
                dispute=cmd.dispute, responsibilities=cmd.responsibilities, terms=cmd.terms,
                performance=cmd.performance, perform_by=cmd.perform_by, signed_on=cmd.signed_on,
                seal=seal,
            )  # fmt: skip
        case AgreementFollowUp():
            return mediation.follow_up_agreement(
                case, honoured=cmd.honoured, note=cmd.note, seal=seal
            )
        case ConfirmationRequest():
            return mediation.request_confirmation(
                case, requested_on=cmd.requested_on, court=cmd.court,
                today=local_day(datetime.now(UTC)),
            )  # fmt: skip
        case _:
            assert_never(cmd)


async def step(commands: CommandRunner, core: CasesCore, case_id: uuid.UUID, cmd: Step) -> None:
    """Work the case one step, the one its body names: progress, an escalation or referral, the
    resolution, closing, reopening, a follow-up (回访); a mediator, a session, the agreement and
    whether it was honoured."""
    await _step(commands, core, case_id, lambda c, seal: _decide(c, cmd, seal), cmd)


# -- mediation ------------------------------------------------------------------------------------


async def join_party(
    commands: CommandRunner, core: CasesCore, case_id: uuid.UUID, cmd: PartyCreate
) -> uuid.UUID:
    """A party to the dispute: a resident by pseudonymous id (shown with the registry's mask),
    or someone from outside (their name and phone sealed with the party's own key, their name
    masked here). Its id is made from the idempotency key, so a retry names the first party."""
    party_id = (
        uuid.uuid5(PARTIES, f"{commands.idempotency_key}|{case_id}")
        if commands.idempotency_key is not None
        else new_id()
    )
    resident = pseudonymous(cmd.resident) if cmd.resident is not None else None
    key = None
    sealed = None
    if cmd.outside is not None:
        phone = (
            normalise_phone(cmd.outside.phone, field="outside.phone") if cmd.outside.phone else None
        )
        key = new_key(core.keyrings.parties, party_id)
        assert key.seal is not None
        sealed = key.seal({"name": cmd.outside.name, "phone": phone})
        masked = mask_name(cmd.outside.name)
    else:
        masked = await resident_masked(core, resident or "")

    async def keep(unit: UnitOfWork) -> None:
        if key is not None:
            await key.keep(unit.conn)

    await _step(
        commands, core, case_id,
        lambda c, _: mediation.join_party(
            c, party_id=party_id, role=cmd.role, name_masked=masked, resident=resident,
            outside=sealed,
        ),
        cmd, keep,
    )  # fmt: skip
    return party_id


async def erase_party(
    commands: CommandRunner,
    core: CasesCore,
    case_id: uuid.UUID,
    party_id: uuid.UUID,
    cmd: Erasure,
) -> None:
    """Erase an outside party's personal data (crypto-shredding): their key, and the case's
    text key, since its free text may be about them, are destroyed for good."""
    keys = core.keyrings

    async def shred_keys(unit: UnitOfWork) -> None:
        await shred(unit.conn, keys.parties, [party_id])
        await shred(unit.conn, keys.cases, [case_id])

    loaded = await commands.load(cases.stream_id(case_id), cases.evolve, field="case_id")
    await commands.change(
        cmd, loaded,
        lambda c: mediation.erase_party(c, party_id=party_id, ground=cmd.legal_ground),
        shred_keys,
    )  # fmt: skip
