"""A case's life, written once: which status each step leaves a case in, and which statuses a
client's command may take it from.

The decisions (``domain.cases``) check a command against ``allowed``; ``evolve`` and the Cases
read model both move the status with ``after`` (the read model as a conditional update where a
step moves the case only from one status), so the two can never tell a case's status apart.
Another service's facts (``domain.upstream``) skip ``allowed``, never ``after``.

    opened -> assigned -> accepted -> in_progress (or escalated) -> resolved -> closed
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from wangge.governance.errors import Conflict


class Status(StrEnum):
    """Where the case is: opened -> assigned -> accepted -> in progress -> resolved -> closed."""

    OPENED = "opened"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN = frozenset(
    {Status.OPENED, Status.ASSIGNED, Status.ACCEPTED, Status.IN_PROGRESS, Status.ESCALATED}
)
"""Statuses of cases that still need work."""
WORKING = frozenset({Status.ACCEPTED, Status.IN_PROGRESS, Status.ESCALATED})
"""Statuses of cases someone has taken on and not resolved."""
DONE = frozenset({Status.RESOLVED, Status.CLOSED})


class WrongStatus(Conflict):
    """The case is not where this step needs it."""

    slug = "case-status"
    title = "The case's status does not allow this"


@dataclass(frozen=True)
class Step:
    """One step of a case's life."""

    name: str
    """The step in words, as in "a case that is closed cannot be <name>"."""
    allowed: frozenset[Status]
    """The statuses a client's command may take this step from."""
    to: Status | None = None
    """The status the step leaves the case in (None: it stays where it is)."""
    only_from: Status | None = None
    """When set, the step moves the case only from this status; from any other it stays."""

    def after(self, status: Status) -> Status:
        """The case's status once the step was taken from ``status``."""
        if self.to is None or (self.only_from is not None and status != self.only_from):
            return status
        return self.to

    def require(self, status: Status) -> None:
        """Refuse a client's command that finds the case where this step is not allowed."""
        if status not in self.allowed:
            raise WrongStatus(f"a case that is {status} cannot be {self.name}", field="status")


ASSIGN = Step("assigned", OPEN, to=Status.ASSIGNED, only_from=Status.OPENED)
"""A worker is made responsible; a case already taken on keeps its status."""
ACCEPT = Step("accepted", frozenset({Status.ASSIGNED}), to=Status.ACCEPTED)
WORK = Step("worked on", WORKING, to=Status.IN_PROGRESS, only_from=Status.ACCEPTED)
"""Progress noted or a mediation session held: the first one puts an accepted case in progress."""
ESCALATE = Step("escalated", WORKING | {Status.ASSIGNED, Status.OPENED}, to=Status.ESCALATED)
REFER = Step("referred", WORKING)
SIGN_FOR = Step("signed for", OPEN)
"""The queue an escalation or referral put the case in signs for it; its status stays."""
RESOLVE = Step("resolved", WORKING, to=Status.RESOLVED)
CLOSE = Step("closed", frozenset({Status.RESOLVED}), to=Status.CLOSED)
REOPEN = Step("reopened", DONE, to=Status.IN_PROGRESS)
FOLLOW_UP = Step("followed up", DONE)
