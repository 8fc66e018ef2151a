"""A dispute's mediation (人民调解), on its case's stream: parties, people's mediators, sessions
each with a record signed by who attended, and the agreement with the contents the People's
Mediation Law (人民调解法, art. 29) requires, followed up later; and the erasure of a party from
outside the register.

The events are the case's (``domain.cases``, where ``evolve`` folds them); the decisions here
take the case's state.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Literal

from wangge.cases.domain.cases import (
    OPEN,
    AgreementFollowedUp,
    Case,
    CaseKind,
    Confirmation,
    ConfirmationReminderDue,
    ConfirmationWindowClosed,
    InvalidCase,
    JudicialConfirmationRequested,
    MediationAgreementSigned,
    MediationPartyJoined,
    MediationSessionHeld,
    MediatorAppointed,
    PartyErased,
)
from wangge.cases.domain.lifecycle import WORK, WrongStatus
from wangge.cases.domain.text import written
from wangge.events import DomainEvent
from wangge.events.sealed import Seal, Sealed
from wangge.governance.erasure import ErasureGround
from wangge.governance.errors import Conflict, NotFound

CONFIRMATION_WINDOW = timedelta(days=30)
"""Parties may ask a court to confirm an agreement within 30 days of it taking effect (司法确认,
人民调解法 art. 33)."""


class ResidentParty(Conflict):
    """A registered resident's personal data is the registry's to erase."""

    slug = "resident-party"
    title = "A registered resident is erased in the registry"


MEDIATED = frozenset({CaseKind.DISPUTE, CaseKind.COMPLAINT})
"""Kinds of case that may be mediated: a dispute, or a complaint against a neighbour."""


def _dispute(case: Case) -> None:
    if case.kind not in MEDIATED:
        raise InvalidCase("only a dispute or a complaint is mediated", field="kind")
    if case.status not in OPEN:
        raise WrongStatus(f"a case that is {case.status} is not mediated", field="status")
    if case.agreement is not None:
        raise WrongStatus("the agreement is signed: mediation is over", field="status")


def join_party(
    case: Case,
    *,
    party_id: uuid.UUID,
    role: Literal["applicant", "respondent", "interested"],
    name_masked: str,
    resident: str | None,
    outside: Sealed | None,
) -> list[DomainEvent]:
    _dispute(case)
    if (resident is None) == (outside is None):
        raise InvalidCase("a party is a resident or someone from outside", field="resident")
    return [
        MediationPartyJoined(
            case_id=case.case_id, party_id=party_id, role=role, resident=resident,
            name_masked=name_masked, outside=outside,
        )
    ]  # fmt: skip


def appoint_mediator(case: Case, *, mediator: str, organisation: str) -> list[DomainEvent]:
    _dispute(case)
    if mediator in case.mediators:
        return []
    return [MediatorAppointed(case_id=case.case_id, mediator=mediator, organisation=organisation)]


def hold_session(
    case: Case,
    *,
    session_id: uuid.UUID,
    held_at: datetime,
    place: str,
    attendees: list[uuid.UUID],
    mediators: list[str],
    summary: str,
    signed_by: list[uuid.UUID],
    now: datetime,
    seal: Seal | None,
) -> list[DomainEvent]:
    """A session: its attendees are the case's parties, its mediators appointed, and its record
    signed by every attendee (a record someone refused to sign is noted in the summary). Its
    place (a party's home, often) and summary are sealed."""
    _dispute(case)
    if case.status not in WORK.allowed:
        raise WrongStatus("the case is accepted before its mediation starts", field="status")
    if held_at > now:
        raise InvalidCase("a session is recorded once it was held", field="held_at")
    strangers = set(attendees) - case.parties
    if strangers:
        raise InvalidCase(f"{len(strangers)} attendee(s) are not parties", field="attendees")
    if set(mediators) - set(case.mediators):
        raise InvalidCase("a mediator of the session was not appointed", field="mediators")
    if not set(signed_by) <= set(attendees):
        raise InvalidCase("only attendees sign the session's record", field="signed_by")
    return [
        MediationSessionHeld(
            case_id=case.case_id, session_id=session_id, held_at=held_at,
            attendees=attendees, mediators=mediators, signed_by=signed_by,
            **written(MediationSessionHeld, seal, place=place, summary=summary),
        )
    ]  # fmt: skip


def sign_agreement(
    case: Case,
    *,
    agreement_id: uuid.UUID,
    signed_by: list[uuid.UUID],
    facts: str,
    dispute: str,
    responsibilities: str,
    terms: str,
    performance: str,
    perform_by: date,
    signed_on: date,
    seal: Seal | None,
) -> list[DomainEvent]:
    """The agreement, after at least one session, signed by every party (art. 29); its
    contents are sealed."""
    _dispute(case)
    if case.sessions == 0:
        raise InvalidCase("an agreement follows at least one session", field="signed_by")
    if set(signed_by) != case.parties or len(case.parties) < 2:
        raise InvalidCase("every party signs the agreement", field="signed_by")
    if perform_by < signed_on:
        raise InvalidCase("performance is due after signing", field="perform_by")
    return [
        MediationAgreementSigned(
            case_id=case.case_id, agreement_id=agreement_id, parties=sorted(case.parties),
            perform_by=perform_by, signed_on=signed_on, mediators=list(case.mediators),
            confirmation_deadline=signed_on + CONFIRMATION_WINDOW,
            **written(
                MediationAgreementSigned, seal, facts=facts, dispute=dispute,
                responsibilities=responsibilities, terms=terms, performance=performance,
            ),
        )
    ]  # fmt: skip


def follow_up_agreement(
    case: Case, *, honoured: bool, note: str, seal: Seal | None
) -> list[DomainEvent]:
    if case.agreement is None:
        raise WrongStatus("no agreement was signed", field="honoured")
    return [
        AgreementFollowedUp(
            case_id=case.case_id, agreement_id=case.agreement, honoured=honoured,
            **written(AgreementFollowedUp, seal, note=note),
        )
    ]  # fmt: skip


def erase_party(case: Case, *, party_id: uuid.UUID, ground: ErasureGround) -> list[DomainEvent]:
    """Erase an outside party's personal data, whatever the case's status (nothing when it was
    erased already). A registered resident's is the registry's to erase: this service follows
    the registry's erasure (``erasure.follow``)."""
    if party_id not in case.parties:
        raise NotFound(f"no party {party_id} in case {case.case_id}", field="party_id")
    if party_id in case.erased:
        return []
    if party_id not in case.outsiders:
        raise ResidentParty(
            "a registered resident's personal data is erased in the registry "
            "(DELETE /persons/{person_id}/personal-data), which this service follows",
            field="party_id",
        )
    return [PartyErased(case_id=case.case_id, party_id=party_id, legal_ground=ground)]


# -- judicial confirmation (司法确认) --------------------------------------------------------------


def confirmation_due(case: Case, *, today: date, remind_days: int) -> list[DomainEvent]:
    """What the day brings an agreement whose window is still open: a reminder once it is
    ``remind_days`` or fewer from closing, its lapse once the last day has passed; nothing for
    an agreement the parties took to court, or whose lapse is recorded."""
    deadline = case.confirmation_deadline
    if case.agreement is None or deadline is None or case.confirmation != Confirmation.OPEN:
        return []
    if today > deadline:
        return [
            ConfirmationWindowClosed(
                case_id=case.case_id, agreement_id=case.agreement, confirmation_deadline=deadline
            )
        ]
    days_left = (deadline - today).days
    if case.confirmation_reminded or days_left > remind_days:
        return []
    return [
        ConfirmationReminderDue(
            case_id=case.case_id, agreement_id=case.agreement, confirmation_deadline=deadline,
            days_left=days_left,
        )
    ]  # fmt: skip


def request_confirmation(
    case: Case, *, requested_on: date, court: str, today: date
) -> list[DomainEvent]:
    """The parties asked a court to confirm the agreement, within its window. Recorded late
    (after the lapse was), a request made in time still counts: the lapse was only what the
    service knew then. Recorded again, nothing."""
    deadline = case.confirmation_deadline
    if case.agreement is None or deadline is None:
        raise WrongStatus("no agreement was signed", field="requested_on")
    if case.confirmation == Confirmation.REQUESTED:
        return []
    if requested_on > today:
        raise InvalidCase("a request is recorded once it was made", field="requested_on")
    if requested_on > deadline:
        raise InvalidCase(
            f"the window for judicial confirmation closed on {deadline}", field="requested_on"
        )
    if requested_on < deadline - CONFIRMATION_WINDOW:
        raise InvalidCase("the request comes after the agreement was signed", field="requested_on")
    return [
        JudicialConfirmationRequested(
            case_id=case.case_id, agreement_id=case.agreement, requested_on=requested_on,
            court=court,
        )
    ]  # fmt: skip
