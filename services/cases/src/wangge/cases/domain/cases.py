"""Cases of a grid (事件): what a grid worker handles, from a hotline ticket, a door-to-door visit,
a walk-in or a referral, or proactively before anyone complains (未诉先办).

A case is a stream of its own (``case-<uuid>``). A dispute's mediation (调解) lives on the same
stream: parties, mediators, sessions each with a signed record, and the agreement with the
contents the People's Mediation Law (人民调解法, art. 29) requires, followed up later.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, Field

from wangge.cases.domain.lifecycle import (
    ACCEPT,
    ASSIGN,
    CLOSE,
    ESCALATE,
    FOLLOW_UP,
    REFER,
    REOPEN,
    RESOLVE,
    SIGN_FOR,
    WORK,
    Step,
)
from wangge.cases.domain.lifecycle import OPEN as OPEN
from wangge.cases.domain.lifecycle import WORKING as WORKING
from wangge.cases.domain.lifecycle import Status as Status
from wangge.cases.domain.lifecycle import WrongStatus as WrongStatus
from wangge.cases.domain.text import limit, written
from wangge.events import DomainEvent, default_catalogue
from wangge.events.sealed import Seal, Sealed
from wangge.governance.erasure import ErasureGround
from wangge.governance.errors import DomainError

SERVICE = "cases"
CASES = uuid.UUID("6f1d2c3b-4a5e-5f60-8172-93a4b5c6d7e8")
"""The UUIDv5 namespace of case ids made from what caused them (a ticket, a hotspot)."""
MEDIATION_DEADLINE = timedelta(days=30)
"""A dispute is mediated within one month unless a deadline is given (the usual local rule)."""
TEXT = "the free text in full, sealed with the case's text key; the fields hold redacted copies"
ERASED = "已删除"
"""How a party (or a care plan's resident) whose personal data was erased is shown."""


class CaseKind(StrEnum):
    """What the case is about."""

    DISPUTE = "dispute"
    COMPLAINT = "complaint"
    HAZARD = "hazard"
    ASSISTANCE = "assistance"
    PROACTIVE = "proactive"


class Assistance(StrEnum):
    """The help an assistance case gives."""

    EDUCATION = "education"
    AID = "aid"
    COUNSELLING = "counselling"
    CONDOLENCE = "condolence"


class Source(StrEnum):
    """Where the case came from."""

    VISIT = "visit"
    HOTLINE = "hotline"
    WALK_IN = "walk_in"
    REFERRAL = "referral"
    PROACTIVE = "proactive"


class Level(StrEnum):
    """Who a case is escalated to."""

    COMMUNITY = "community"
    SUBDISTRICT = "subdistrict"
    DEPARTMENT = "department"


DEPARTMENT_NAME = r"^[a-z][a-z_]{1,39}$"
"""A department's name, as its ``department:<name>`` role and the views' feeds spell it
(``police``, ``civil_affairs``, ``urban_management``)."""


class Confirmation(StrEnum):
    """Where an agreement's judicial confirmation (司法确认) stands."""

    OPEN = "open"
    """Within its 30 days, nobody said the parties asked a court."""
    REQUESTED = "requested"
    """The parties asked a court to confirm it."""
    LAPSED = "lapsed"
    """The window closed unasked: it binds as a contract, but no court's confirmation makes it
    enforceable."""


def queue_of(level: Level, to: str) -> str:
    """The queue an escalation puts a case in: the community's, the subdistrict's, or the
    department's (by name)."""
    return to if level == Level.DEPARTMENT else str(level)


def stream_id(case_id: uuid.UUID) -> str:
    """The stream of a case."""
    return f"case-{case_id}"


def case_for(cause: str) -> uuid.UUID:
    """The id of the one case a cause opens (``ticket:<uuid>``, ``hotspot:<uuid>``)."""
    return uuid.uuid5(CASES, cause)


# -- events -------------------------------------------------------------------------------------


@default_catalogue.event(SERVICE)
class CaseOpened(DomainEvent):
    """A case was opened for a grid."""

    case_id: uuid.UUID
    kind: CaseKind
    assistance: Assistance | None = Field(default=None, description="assistance cases only")
    source: Source
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    grid_id: uuid.UUID | None = Field(description="none: the community triages it")
    subjects: list[str] = Field(
        default_factory=list, description="the residents concerned, by pseudonymous id"
    )
    ticket_id: uuid.UUID | None = Field(default=None, description="the hotline ticket it answers")
    hotspot_id: uuid.UUID | None = Field(default=None, description="the repeated complaints")
    need_id: uuid.UUID | None = Field(
        default=None, description="the need noted on a visit that suggested it"
    )
    deadline: AwareDatetime | None = None
    sealed_text: Sealed | None = Field(default=None, description=TEXT)


@default_catalogue.event(SERVICE)
class CaseAssigned(DomainEvent):
    """A grid worker is responsible for the case (on opening, or when the grid changes hands)."""

    case_id: uuid.UUID
    worker_id: uuid.UUID
    account: str = Field(description="the worker's token subject: whose inbox shows it")
    reason: str


@default_catalogue.event(SERVICE)
class CaseAccepted(DomainEvent):
    """The responsible worker took the case on (签收)."""

    case_id: uuid.UUID
    account: str


@default_catalogue.event(SERVICE)
class CaseProgressNoted(DomainEvent):
    """Something was done on the case (a visit, a call, a measure)."""

    case_id: uuid.UUID
    note: str = Field(min_length=1, max_length=4000)
    sealed_text: Sealed | None = Field(default=None, description=TEXT)


@default_catalogue.event(SERVICE)
class CaseEscalated(DomainEvent):
    """The grid cannot solve it alone: the community, the subdistrict or a department takes it
    up (上报)."""

    case_id: uuid.UUID
    level: Level
    to: str = Field(min_length=1, max_length=200, description="the community, or a department")
    reason: str = Field(min_length=1, max_length=1000)
    sealed_text: Sealed | None = Field(default=None, description=TEXT)


@default_catalogue.event(SERVICE)
class CaseReferred(DomainEvent):
    """Handed to a department that owns the matter (转办); the grid keeps following it."""

    case_id: uuid.UUID
    department: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=1000)
    sealed_text: Sealed | None = Field(default=None, description=TEXT)


@default_catalogue.event(SERVICE)
class HandoverAccepted(DomainEvent):
    """The community, the subdistrict or a department signed for (签收) the case escalated or
    referred to it: from now on it is theirs to work (a referral's grid keeps following it)."""

    case_id: uuid.UUID
    queue: str = Field(
        min_length=1, max_length=200, description="community, subdistrict, or a department's name"
    )
    account: str = Field(description="who signed for it: their token subject")


@default_catalogue.event(SERVICE)
class CaseResolved(DomainEvent):
    """The matter was dealt with; for a hotline ticket this is the reply (办结)."""

    case_id: uuid.UUID
    resolution: str = Field(min_length=1, max_length=4000)
    solved: bool = Field(description="solved, not only answered")
    at_source: bool = Field(description="solved by the grid itself, without a department")
    sealed_text: Sealed | None = Field(default=None, description=TEXT)


@default_catalogue.event(SERVICE)
class CaseClosed(DomainEvent):
    """Nothing more to do."""

    case_id: uuid.UUID
    note: str | None = None
    sealed_text: Sealed | None = Field(default=None, description=TEXT)


@default_catalogue.event(SERVICE)
class CaseReopened(DomainEvent):
    """Back to work (the caller was unsatisfied, the problem came back)."""

    case_id: uuid.UUID
    reason: str = Field(min_length=1, max_length=1000)
    sealed_text: Sealed | None = Field(default=None, description=TEXT)


@default_catalogue.event(SERVICE)
class CaseFollowedUp(DomainEvent):
    """A later check on the outcome (回访)."""

    case_id: uuid.UUID
    satisfied: bool | None = None
    note: str = Field(min_length=1, max_length=2000)
    sealed_text: Sealed | None = Field(default=None, description=TEXT)


@default_catalogue.event(SERVICE)
class MediationPartyJoined(DomainEvent):
    """A party to a dispute: a resident (by pseudonymous id) or someone from outside."""

    case_id: uuid.UUID
    party_id: uuid.UUID
    role: Literal["applicant", "respondent", "interested"]
    resident: str | None = Field(default=None, description="a resident's pseudonymous id")
    name_masked: str = Field(description="for display: 张** (outside parties' names are sealed)")
    outside: Sealed | None = Field(default=None, description='{"name", "phone"}, sealed')


@default_catalogue.event(SERVICE)
class MediatorAppointed(DomainEvent):
    """A people's mediator (人民调解员) on the case."""

    case_id: uuid.UUID
    mediator: str = Field(min_length=1, max_length=100, description="name or account")
    organisation: str = Field(default="", max_length=200, description="the mediation committee")


@default_catalogue.event(SERVICE)
class MediationSessionHeld(DomainEvent):
    """A mediation session, with its record signed by who attended (调解笔录)."""

    case_id: uuid.UUID
    session_id: uuid.UUID
    held_at: AwareDatetime
    place: str = Field(min_length=1, max_length=200)
    attendees: list[uuid.UUID] = Field(min_length=1, description="the parties who came")
    mediators: list[str] = Field(min_length=1)
    summary: str = Field(min_length=1, max_length=8000)
    signed_by: list[uuid.UUID] = Field(description="attendees who signed the record")
    sealed_text: Sealed | None = Field(default=None, description=TEXT)


@default_catalogue.event(SERVICE)
class MediationAgreementSigned(DomainEvent):
    """The mediation agreement (调解协议书) with the contents the law requires, signed by every
    party; the court may confirm it on the parties' joint request within 30 days."""

    case_id: uuid.UUID
    agreement_id: uuid.UUID
    parties: list[uuid.UUID] = Field(min_length=2)
    facts: str = Field(min_length=1, max_length=8000, description="the basic facts")
    dispute: str = Field(min_length=1, max_length=4000, description="what was disputed")
    responsibilities: str = Field(min_length=1, max_length=4000, description="who bears what")
    terms: str = Field(min_length=1, max_length=8000, description="what was agreed")
    performance: str = Field(min_length=1, max_length=2000, description="how it is performed")
    perform_by: date = Field(description="when it is to be performed")
    signed_on: date
    mediators: list[str] = Field(min_length=1)
    confirmation_deadline: date = Field(description="the last day to ask for 司法确认")
    sealed_text: Sealed | None = Field(default=None, description=TEXT)


@default_catalogue.event(SERVICE)
class AgreementFollowedUp(DomainEvent):
    """Whether the agreement was honoured, checked after its performance date."""

    case_id: uuid.UUID
    agreement_id: uuid.UUID
    honoured: bool
    note: str = Field(min_length=1, max_length=2000)
    sealed_text: Sealed | None = Field(default=None, description=TEXT)


@default_catalogue.event(SERVICE)
class ConfirmationReminderDue(DomainEvent):
    """The agreement's window for judicial confirmation (司法确认) closes soon and nobody said
    the parties asked a court: its mediators and the case's worker are reminded, so the parties
    can still be told."""

    case_id: uuid.UUID
    agreement_id: uuid.UUID
    confirmation_deadline: date
    days_left: int = Field(ge=0, description="whole days until the window closes")


@default_catalogue.event(SERVICE)
class JudicialConfirmationRequested(DomainEvent):
    """The parties asked a court to confirm the agreement (人民调解法 art. 33)."""

    case_id: uuid.UUID
    agreement_id: uuid.UUID
    requested_on: date
    court: str = Field(min_length=1, max_length=200)


@default_catalogue.event(SERVICE)
class ConfirmationWindowClosed(DomainEvent):
    """The 30 days passed and nobody said the parties asked a court: the agreement still binds
    as a contract, but can no longer be made enforceable by a court's confirmation."""

    case_id: uuid.UUID
    agreement_id: uuid.UUID
    confirmation_deadline: date


@default_catalogue.event(SERVICE)
class PartyErased(DomainEvent):
    """A party's personal data was erased (crypto-shredding): an outside party's key, and the
    case's text key (its free text may be about them), were destroyed; the redacted copies
    stay. The envelope says who asked."""

    case_id: uuid.UUID
    party_id: uuid.UUID
    legal_ground: ErasureGround


STEPS: dict[type[DomainEvent], Step] = {
    CaseAssigned: ASSIGN,
    CaseAccepted: ACCEPT,
    CaseProgressNoted: WORK,
    MediationSessionHeld: WORK,
    CaseEscalated: ESCALATE,
    CaseReferred: REFER,
    HandoverAccepted: SIGN_FOR,
    CaseResolved: RESOLVE,
    CaseClosed: CLOSE,
    CaseReopened: REOPEN,
    CaseFollowedUp: FOLLOW_UP,
}
"""The step of a case's life (``domain.lifecycle``) each event records; the others leave its
status alone. ``evolve`` and the Cases read model both move the status by it."""


# -- errors -------------------------------------------------------------------------------------


class InvalidCase(DomainError):
    """The case's data breaks a rule."""

    slug = "invalid-case"
    title = "The case breaks a rule"


# -- state and decisions ------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A case's state, as far as deciding needs."""

    case_id: uuid.UUID
    kind: CaseKind
    grid_id: uuid.UUID | None
    ticket_id: uuid.UUID | None
    status: Status = Status.OPENED
    account: str | None = None
    parties: frozenset[uuid.UUID] = frozenset()
    outsiders: frozenset[uuid.UUID] = frozenset()
    """The parties from outside the register (the others are residents)."""
    outside: tuple[tuple[uuid.UUID, Sealed], ...] = ()
    """The outside parties' sealed names and phones, to mask their names in the case's texts."""
    erased: frozenset[uuid.UUID] = frozenset()
    """The parties whose personal data was erased."""
    mediators: tuple[str, ...] = ()
    agreement: uuid.UUID | None = None
    agreement_followed_up: bool = False
    sessions: int = 0
    queue: str | None = None
    """The queue the last escalation or referral put the case in."""
    queue_accepted: bool = False
    """Whether that queue signed for it."""
    confirmation_deadline: date | None = None
    confirmation: Confirmation | None = None
    confirmation_reminded: bool = False


def evolve(state: Case | None, event: DomainEvent, version: int) -> Case:
    """Fold one event into a case (its status moves as ``STEPS`` says)."""
    if isinstance(event, CaseOpened):
        return Case(event.case_id, CaseKind(event.kind), event.grid_id, event.ticket_id)
    if state is None:
        raise ValueError(f"a case starts with CaseOpened, not {type(event).__name__}")
    step = STEPS.get(type(event))
    if step is not None:
        state = replace(state, status=step.after(state.status))
    match event:
        case CaseAssigned():
            return replace(state, account=event.account)
        case MediationSessionHeld():
            return replace(state, sessions=state.sessions + 1)
        case MediationPartyJoined():
            outsiders = state.outsiders | ({event.party_id} if event.resident is None else set())
            outside = state.outside + (
                ((event.party_id, event.outside),) if event.outside is not None else ()
            )
            return replace(
                state, parties=state.parties | {event.party_id}, outsiders=outsiders,
                outside=outside,
            )  # fmt: skip
        case PartyErased():
            return replace(state, erased=state.erased | {event.party_id})
        case MediatorAppointed():
            return replace(state, mediators=(*state.mediators, event.mediator))
        case MediationAgreementSigned():
            return replace(
                state, agreement=event.agreement_id,
                confirmation_deadline=event.confirmation_deadline, confirmation=Confirmation.OPEN,
            )  # fmt: skip
        case AgreementFollowedUp():
            return replace(state, agreement_followed_up=True)
        case CaseEscalated():
            return replace(state, queue=queue_of(event.level, event.to), queue_accepted=False)
        case CaseReferred():
            return replace(state, queue=event.department, queue_accepted=False)
        case HandoverAccepted():
            return replace(state, queue_accepted=True)
        case ConfirmationReminderDue():
            return replace(state, confirmation_reminded=True)
        case JudicialConfirmationRequested():
            return replace(state, confirmation=Confirmation.REQUESTED)
        case ConfirmationWindowClosed():
            return replace(state, confirmation=Confirmation.LAPSED)
    return state


def open_case(
    *,
    case_id: uuid.UUID,
    kind: CaseKind,
    source: Source,
    title: str,
    description: str,
    grid_id: uuid.UUID | None,
    now: datetime,
    assistance: Assistance | None = None,
    subjects: list[str] | None = None,
    ticket_id: uuid.UUID | None = None,
    hotspot_id: uuid.UUID | None = None,
    need_id: uuid.UUID | None = None,
    deadline: datetime | None = None,
    seal: Seal | None = None,
) -> CaseOpened:
    """A new case a client opens; a dispute gets the one-month mediation deadline unless given
    another, and a deadline that has passed is refused (the client can give another). Its title
    and description are sealed with ``seal`` (the case's text key), redacted in clear."""
    if kind == CaseKind.DISPUTE and deadline is None:
        deadline = now + MEDIATION_DEADLINE
    if deadline is not None and deadline <= now:
        raise InvalidCase("the deadline has passed already", field="deadline")
    return _opened(
        case_id=case_id, kind=kind, source=source, grid_id=grid_id, assistance=assistance,
        subjects=subjects, ticket_id=ticket_id, hotspot_id=hotspot_id, need_id=need_id,
        deadline=deadline,
        texts=written(CaseOpened, seal, title=title, description=description),
    )  # fmt: skip


def record_opening(
    *,
    case_id: uuid.UUID,
    kind: CaseKind,
    source: Source,
    title: str,
    description: str,
    grid_id: uuid.UUID | None,
    assistance: Assistance | None = None,
    subjects: list[str] | None = None,
    ticket_id: uuid.UUID | None = None,
    hotspot_id: uuid.UUID | None = None,
    need_id: uuid.UUID | None = None,
    deadline: datetime | None = None,
    reference: str = "",
) -> CaseOpened:
    """A case another service's fact opens: that fact has happened, so the rules only a client's
    command answers to are skipped (a deadline passed already is kept: overdue from the start).

    Its texts are the other service's, kept only as redacted copies (redacted again: this
    service cannot tell an old event's clear text from a new one's copy), never sealed here: the
    full text is the other service's, and its erasure must reach every copy there. The title
    starts with ``reference`` as written (a ticket's number: an identifier, not about anyone).
    """
    # the other service's texts may be longer than a case keeps: cut (by written), never refused
    texts = written(CaseOpened, None, title=title, description=description)
    if reference:
        texts["title"] = f"{reference} {texts['title']}"[: limit(CaseOpened, "title")]
    return _opened(
        case_id=case_id, kind=kind, source=source, grid_id=grid_id, assistance=assistance,
        subjects=subjects, ticket_id=ticket_id, hotspot_id=hotspot_id, need_id=need_id,
        deadline=deadline, texts=texts,
    )  # fmt: skip


def _opened(
    *,
    case_id: uuid.UUID,
    kind: CaseKind,
    source: Source,
    grid_id: uuid.UUID | None,
    assistance: Assistance | None,
    subjects: list[str] | None,
    ticket_id: uuid.UUID | None,
    hotspot_id: uuid.UUID | None,
    need_id: uuid.UUID | None,
    deadline: datetime | None,
    texts: dict[str, Any],
) -> CaseOpened:
    if (kind == CaseKind.ASSISTANCE) != (assistance is not None):
        raise InvalidCase(
            "an assistance case names its kind of help, and only an assistance case does",
            field="assistance",
        )
    return CaseOpened(
        case_id=case_id, kind=kind, assistance=assistance, source=source, grid_id=grid_id,
        subjects=subjects or [], ticket_id=ticket_id, hotspot_id=hotspot_id, need_id=need_id,
        deadline=deadline, **texts,
    )  # fmt: skip


def with_worker(
    opened: CaseOpened, worker: tuple[uuid.UUID, str] | None, reason: str = "the grid's worker"
) -> list[DomainEvent]:
    """A new case and, when its grid has a known worker (id, account), their assignment; without
    one the community's triage view shows it."""
    if worker is None:
        return [opened]
    assigned = CaseAssigned(
        case_id=opened.case_id, worker_id=worker[0], account=worker[1], reason=reason
    )
    return [opened, assigned]


def assign(case: Case, *, worker_id: uuid.UUID, account: str, reason: str) -> list[DomainEvent]:
    """Make a worker responsible (nothing when they already are)."""
    if case.status not in ASSIGN.allowed or case.account == account:
        return []
    return [CaseAssigned(case_id=case.case_id, worker_id=worker_id, account=account, reason=reason)]


def accept(case: Case, *, account: str) -> list[DomainEvent]:
    """The responsible worker takes the case on."""
    ACCEPT.require(case.status)
    if case.account != account:
        raise WrongStatus("only the responsible worker accepts a case", field="account")
    return [CaseAccepted(case_id=case.case_id, account=account)]


# Each step's free text is sealed with ``seal`` (the case's text key; None once it was erased)
# and kept in clear as its redacted copy (``domain.text``).


def note_progress(case: Case, note: str, *, seal: Seal | None) -> list[DomainEvent]:
    WORK.require(case.status)
    return [CaseProgressNoted(case_id=case.case_id, **written(CaseProgressNoted, seal, note=note))]


def escalate(
    case: Case, *, level: Level, to: str, reason: str, seal: Seal | None
) -> list[DomainEvent]:
    ESCALATE.require(case.status)
    text = written(CaseEscalated, seal, reason=reason)
    return [CaseEscalated(case_id=case.case_id, level=level, to=to, **text)]


def refer(case: Case, *, department: str, reason: str, seal: Seal | None) -> list[DomainEvent]:
    REFER.require(case.status)
    text = written(CaseReferred, seal, reason=reason)
    return [CaseReferred(case_id=case.case_id, department=department, **text)]


def sign_for(case: Case, *, queue: str, account: str) -> list[DomainEvent]:
    """The queue the case is in signs for it (签收), once: signed for already, nothing."""
    SIGN_FOR.require(case.status)
    if case.queue != queue:
        raise WrongStatus(f"the case is not in the {queue} queue", field="queue")
    if case.queue_accepted:
        return []
    return [HandoverAccepted(case_id=case.case_id, queue=queue, account=account)]


def resolve(
    case: Case, *, resolution: str, solved: bool, at_source: bool, seal: Seal | None
) -> list[DomainEvent]:
    """The matter is dealt with. A dispute is resolved by its agreement, or without one when
    mediation failed (``solved`` False: the parties may go to court). The redacted copy of the
    resolution is what a hotline case's ticket is replied with."""
    RESOLVE.require(case.status)
    if case.kind == CaseKind.DISPUTE and solved and case.agreement is None:
        raise InvalidCase("a dispute is solved by a signed agreement", field="solved")
    text = written(CaseResolved, seal, resolution=resolution)
    return [CaseResolved(case_id=case.case_id, solved=solved, at_source=at_source, **text)]


def close(case: Case, note: str | None, *, seal: Seal | None) -> list[DomainEvent]:
    CLOSE.require(case.status)
    return [CaseClosed(case_id=case.case_id, **written(CaseClosed, seal, note=note))]


def reopen(case: Case, reason: str, *, seal: Seal | None) -> list[DomainEvent]:
    REOPEN.require(case.status)
    return [CaseReopened(case_id=case.case_id, **written(CaseReopened, seal, reason=reason))]


def follow_up(
    case: Case, *, satisfied: bool | None, note: str, seal: Seal | None
) -> list[DomainEvent]:
    FOLLOW_UP.require(case.status)
    text = written(CaseFollowedUp, seal, note=note)
    return [CaseFollowedUp(case_id=case.case_id, satisfied=satisfied, **text)]


# -- needs noted on visits, suggesting cases ------------------------------------------------------

SUGGESTED: dict[str, tuple[CaseKind, Assistance | None]] = {
    "dispute": (CaseKind.DISPUTE, None),
    "safety_hazard": (CaseKind.HAZARD, None),
    "environment": (CaseKind.HAZARD, None),
    "education": (CaseKind.ASSISTANCE, Assistance.EDUCATION),
    "psychological": (CaseKind.ASSISTANCE, Assistance.COUNSELLING),
}
"""The case a need noted on a visit suggests; any other need is a case of aid."""


def suggested(category: str) -> tuple[CaseKind, Assistance | None]:
    """The kind of case (and help) a need's category suggests."""
    return SUGGESTED.get(category, (CaseKind.ASSISTANCE, Assistance.AID))
