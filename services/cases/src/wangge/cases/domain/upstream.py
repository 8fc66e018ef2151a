"""What the hotline bridge's facts mean for a case: the decisions of the cases service's reactions.

A client's command may be refused; another service's event may not: it has happened, and a
reaction that raised on it would hold back every later event of its partition. So each decision
here answers any state a fact can legally find its case in, with events to record or with
nothing (the reason said beside it), and never calls a command rule that could refuse it.

The hotline's texts (a ticket's content, a follow-up's note, a reason) enter a case only as
redacted copies (``domain.text``): a new ticket's are the hotline's redacted copies already, an
old one's may be clear, and this service cannot tell them apart. They are never sealed here:
the full text is the hotline's, sealed with its caller's key, which the hotline's erasure
destroys; a copy sealed with a key of this service would outlive it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from wangge.cases.domain.cases import (
    OPEN,
    Case,
    CaseClosed,
    CaseFollowedUp,
    CaseKind,
    CaseReopened,
    Source,
    Status,
    record_opening,
    with_worker,
)
from wangge.cases.domain.text import written
from wangge.events import DomainEvent

Worker = tuple[uuid.UUID, str]
"""A grid's worker as the roster knows them: their id and account."""


@dataclass(frozen=True)
class TicketBrief:
    """What the hotline told of a ticket when it was received, kept until it is routed."""

    ticket_number: str
    title: str
    content: str
    deadline: datetime


def ticket_routed(
    case: Case | None,
    *,
    case_id: uuid.UUID,
    ticket_id: uuid.UUID,
    grid_id: uuid.UUID,
    brief: TicketBrief | None,
    worker: Worker | None,
) -> list[DomainEvent]:
    """A ticket routed to a grid opens its complaint case, for the grid's worker when the roster
    knows one (else the community's triage shows it).

    The ticket's deadline is kept even when it has passed (an emergency ticket routed after its
    two hours): the case is overdue from the start. Without the ticket's brief (it was received
    before this service kept briefs) the case is opened from the routing alone, without a
    deadline: the hotline bridge has the ticket's details.
    """
    if case is not None:
        return []  # a ticket opens one case, however often it is routed
    if brief is None:
        opened = record_opening(
            case_id=case_id, kind=CaseKind.COMPLAINT, source=Source.HOTLINE,
            title=f"12345 ticket {ticket_id}",
            description="the ticket came before this service kept tickets' details: "
            "the hotline bridge has them",
            grid_id=grid_id, ticket_id=ticket_id,
        )  # fmt: skip
    else:
        opened = record_opening(
            case_id=case_id, kind=CaseKind.COMPLAINT, source=Source.HOTLINE,
            title=brief.title, description=brief.content, reference=brief.ticket_number,
            grid_id=grid_id, ticket_id=ticket_id, deadline=brief.deadline,
        )  # fmt: skip
    return with_worker(opened, worker)


def complaints_repeated(
    case: Case | None,
    *,
    case_id: uuid.UUID,
    hotspot_id: uuid.UUID,
    title: str,
    grid_id: uuid.UUID | None,
    worker: Worker | None,
) -> list[DomainEvent]:
    """Repeated complaints at an address open a proactive case (未诉先办), once; for the grid of
    one of their tickets if a routing of them came first (streams arrive in any order), else
    for the community's triage."""
    if case is not None:
        return []
    opened = record_opening(
        case_id=case_id, kind=CaseKind.PROACTIVE, source=Source.PROACTIVE, title=title,
        description="repeated complaints of one kind at one address: deal with the cause "
        "before the next call (未诉先办)",
        grid_id=grid_id, hotspot_id=hotspot_id,
    )  # fmt: skip
    return with_worker(opened, worker)


def ticket_followed_up(case: Case | None, *, satisfied: bool, note: str) -> list[DomainEvent]:
    """The hotline's follow-up call (回访) is recorded on the ticket's case whatever its status:
    the grid may have answered through the hotline bridge while the case stayed open, and the
    caller's rating is a fact about the matter all the same."""
    if case is None:
        return []  # the ticket opened no case here (returned or handled before routing)
    text = written(CaseFollowedUp, None, note=note)
    return [CaseFollowedUp(case_id=case.case_id, satisfied=satisfied, **text)]


def ticket_closed(case: Case | None) -> list[DomainEvent]:
    """The hotline closed the ticket (the caller was served): its case has nothing more to do.

    A case still open (the grid answered through the hotline bridge) is closed too, rather than
    left overdue in its worker's inbox; staff may reopen it.
    """
    if case is None or case.status == Status.CLOSED:
        return []
    note = "the hotline closed the ticket"
    if case.status != Status.RESOLVED:
        note += ": the caller was served before the case was resolved"
    return [CaseClosed(case_id=case.case_id, note=note)]


def ticket_reopened(case: Case | None, *, reason: str) -> list[DomainEvent]:
    """The hotline sent the ticket back for re-handling (重办): a resolved or closed case is
    worked again; an open one is being worked already."""
    if case is None or case.status in OPEN:
        return []
    text = written(CaseReopened, None, reason=f"the hotline sent the ticket back: {reason}")
    return [CaseReopened(case_id=case.case_id, **text)]


def ticket_returned(case: Case | None, *, reason: str) -> list[DomainEvent]:
    """The ticket went back to the hotline (退单): its case here has nothing more to do."""
    if case is None or case.status == Status.CLOSED:
        return []
    note = f"the ticket was returned to the hotline (退单): {reason}"
    return [CaseClosed(case_id=case.case_id, **written(CaseClosed, None, note=note))]
