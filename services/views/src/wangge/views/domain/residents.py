"""The folds behind a resident's and a household's picture (居民/家庭 360), pure: each takes the
facts the projection keeps for one stream (in the stream's order) and a day, and says how things
stood at the end of that day in the subdistrict.

The rows keep facts, never folded state, so any day can be asked for: a move, a status change,
a household's membership or a case's step is a row with the date it took effect (the producer's
business date where it has one, else when it was recorded), and these folds replay them up to
the day asked. Within a stream the producer's order decides (a later correction wins even when
it is dated earlier), as it does in the producer's own state.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from wangge.governance.care_schedule import Schedule as Schedule
from wangge.governance.care_schedule import schedule
from wangge.governance.times import CHINA, stored


def end_of(day: date) -> datetime:
    """The first instant after ``day`` in the subdistrict (records before it count on ``day``)."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=CHINA)


def recorded_by(moment: datetime, day: date) -> bool:
    """Whether something recorded at ``moment`` was known at the end of ``day``."""
    return stored(moment) < end_of(day)


# -- who: age and residence status ----------------------------------------------------------------


def age_band(birth_year: int, day: date) -> str:
    """The age band a birth year falls in on ``day`` (the birth date itself is sealed): children
    (0-17), working age by decade, and 80 and over, as the subdistrict's reports band them."""
    age = day.year - birth_year
    if age < 18:
        return "0-17"
    if age >= 80:
        return "80+"
    if age < 30:
        return "18-29"
    low = age // 10 * 10
    return f"{low}-{low + 9}"


class PersonFact(StrEnum):
    """What a row of a person's facts records."""

    REGISTERED = "registered"
    """Entered in the register with a residence status (holds from the start)."""
    STATUS = "status"
    """The residence status changed on a date."""
    MOVED_IN = "moved_in"
    MOVED_OUT = "moved_out"


@dataclass(frozen=True)
class Fact:
    """One fact of a person's stream: its version orders it, ``on`` dates it (None: from the
    start)."""

    version: int
    kind: PersonFact
    on: date | None
    status: str | None = None
    dwelling_id: uuid.UUID | None = None


@dataclass(frozen=True)
class StatusChange:
    """The residence status from a day on (None: since registration)."""

    on: date | None
    status: str


def _known(facts: Iterable[Fact], day: date) -> list[Fact]:
    return sorted((f for f in facts if f.on is None or f.on <= day), key=lambda f: f.version)


def residence(facts: Iterable[Fact], day: date) -> list[StatusChange]:
    """The residence status's history up to ``day``, oldest first; the last entry is the status
    on ``day``. As the registry's own state moves it: a move out makes someone ``moved_out``, a
    move back in makes a moved-out person ``resident`` again."""
    history: list[StatusChange] = []
    current: str | None = None
    for fact in _known(facts, day):
        status = current
        if fact.kind in (PersonFact.REGISTERED, PersonFact.STATUS):
            status = fact.status
        elif fact.kind == PersonFact.MOVED_OUT:
            status = "moved_out"
        elif fact.kind == PersonFact.MOVED_IN and current == "moved_out":
            status = "resident"
        if status is not None and status != current:
            history.append(StatusChange(fact.on, status))
            current = status
    return history


@dataclass(frozen=True)
class Home:
    """A stay at a dwelling: from the move in up to (not including) ``until``."""

    dwelling_id: uuid.UUID
    since: date
    until: date | None

    def covers(self, day: date) -> bool:
        """Whether they lived there on ``day``."""
        return self.since <= day and (self.until is None or day < self.until)


def homes(facts: Iterable[Fact], day: date) -> list[Home]:
    """Where a person lived up to ``day``, oldest first: a move in starts a stay and ends the
    one before (the registry moves someone from dwelling to dwelling without a move out), a move
    out ends it."""
    stays: list[Home] = []
    for fact in _known(facts, day):
        if fact.on is None:
            continue
        if fact.kind == PersonFact.MOVED_IN and fact.dwelling_id is not None:
            if stays and stays[-1].until is None:
                stays[-1] = Home(stays[-1].dwelling_id, stays[-1].since, fact.on)
            stays.append(Home(fact.dwelling_id, fact.on, None))
        elif fact.kind == PersonFact.MOVED_OUT and stays and stays[-1].until is None:
            stays[-1] = Home(stays[-1].dwelling_id, stays[-1].since, fact.on)
    return stays


def home_on(stays: Sequence[Home], day: date) -> Home | None:
    """The stay covering ``day`` (None: they did not live in the subdistrict then)."""
    return next((s for s in reversed(stays) if s.covers(day)), None)


def lived_at(stays: Sequence[Home], dwelling_id: uuid.UUID, moment: date) -> bool:
    """Whether they lived at the dwelling on a day (a ticket's, a visit's)."""
    return any(s.dwelling_id == dwelling_id and s.covers(moment) for s in stays)


# -- households -----------------------------------------------------------------------------------


class HouseholdFact(StrEnum):
    """What a row of a household's facts records."""

    JOINED = "joined"
    LEFT = "left"
    HEAD = "head"
    """Another member became head; ``relationship`` restates the former head's."""


@dataclass(frozen=True)
class MemberFact:
    """One fact of a household's stream."""

    version: int
    kind: HouseholdFact
    on: date
    person_id: uuid.UUID
    relationship: str | None = None


@dataclass(frozen=True)
class Member:
    """A member of a household on a day, with their relationship to the head (与户主关系)."""

    person_id: uuid.UUID
    relationship: str
    since: date


def members(facts: Iterable[MemberFact], day: date) -> list[Member]:
    """The household's members on ``day``, in the order they joined."""
    now: dict[uuid.UUID, Member] = {}
    for fact in sorted((f for f in facts if f.on <= day), key=lambda f: f.version):
        if fact.kind == HouseholdFact.JOINED:
            now[fact.person_id] = Member(fact.person_id, fact.relationship or "other", fact.on)
        elif fact.kind == HouseholdFact.LEFT:
            now.pop(fact.person_id, None)
        else:
            # None: the former head has left already (the registry restates no one then)
            for pid, member in list(now.items()):
                if member.relationship == "head" and fact.relationship is not None:
                    now[pid] = Member(pid, fact.relationship, member.since)
            if fact.person_id in now:
                now[fact.person_id] = Member(fact.person_id, "head", now[fact.person_id].since)
    return list(now.values())


# -- tags -----------------------------------------------------------------------------------------


class TagState(StrEnum):
    """A tag on a day."""

    ACTIVE = "active"
    EXPIRED = "expired"
    """Its validity ended (``valid_until`` passed) without anyone untagging."""
    UNTAGGED = "untagged"


def tag_state(
    valid_from: date, valid_until: date | None, untagged_on: date | None, day: date
) -> TagState | None:
    """Where a tag stands on ``day`` (None: not valid yet, so not shown)."""
    if valid_from > day:
        return None
    if untagged_on is not None and untagged_on <= day:
        return TagState.UNTAGGED
    if valid_until is not None and valid_until < day:
        return TagState.EXPIRED
    return TagState.ACTIVE


# -- cases ----------------------------------------------------------------------------------------


class Stage(StrEnum):
    """Where a case is, by the cases service's own lifecycle (``wangge.cases.domain.lifecycle``):
    opened -> assigned -> accepted -> in_progress (or escalated) -> resolved -> closed; a
    reopened case is back ``in_progress``."""

    OPENED = "opened"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STAGES = frozenset(
    {Stage.OPENED, Stage.ASSIGNED, Stage.ACCEPTED, Stage.IN_PROGRESS, Stage.ESCALATED}
)
"""Stages of a case that still needs work."""

_STEPS: dict[str, tuple[Stage, Stage | None]] = {
    # step: (the stage it leaves, the only stage it moves from; None: any)
    "assigned": (Stage.ASSIGNED, Stage.OPENED),
    "accepted": (Stage.ACCEPTED, None),
    "worked": (Stage.IN_PROGRESS, Stage.ACCEPTED),
    "escalated": (Stage.ESCALATED, None),
    "resolved": (Stage.RESOLVED, None),
    "closed": (Stage.CLOSED, None),
    "reopened": (Stage.IN_PROGRESS, None),
}
"""The cases service's steps, each as it moves a case's status there; the producer checked
each command against the status, so a consumer only replays the moves."""


def stage(steps: Iterable[str]) -> Stage:
    """A case's stage after its steps (in the case stream's order); steps that move nothing
    (referred, followed up, progress on a case in progress) leave it where it is."""
    current = Stage.OPENED
    for step in steps:
        move = _STEPS.get(step)
        if move is not None and (move[1] is None or current == move[1]):
            current = move[0]
    return current


# -- care plans -----------------------------------------------------------------------------------

care_schedule = schedule
"""A care plan's visit due on a day and its periods missed: the cases service's rule, which both
services take from the governance kernel (``wangge.governance.care_schedule``) so that they
count the same."""


# -- hotline tickets ------------------------------------------------------------------------------

TICKET_STATUSES = frozenset(
    {"received", "routed", "awaiting_triage", "accepted", "returned", "replied", "followed_up",
     "reopened", "closed", "duplicate"}
)  # fmt: skip
"""The steps of a ticket's life that say where it is (reminders and extensions do not)."""


@dataclass(frozen=True)
class TicketStep:
    """One step of a ticket's stream, as kept."""

    version: int
    step: str
    place_id: uuid.UUID | None = None
    grid_id: uuid.UUID | None = None
    satisfaction: str | None = None


@dataclass(frozen=True)
class TicketState:
    """A ticket after its steps: where it is, the place and grid its last routing named, and the
    caller's rating (回访) if any."""

    status: str
    place_id: uuid.UUID | None
    grid_id: uuid.UUID | None
    satisfaction: str | None


def ticket_state(steps: Iterable[TicketStep]) -> TicketState:
    """A ticket's state after its steps (in the ticket stream's order)."""
    status, place, grid, satisfaction = "received", None, None, None
    for s in sorted(steps, key=lambda s: s.version):
        if s.step in TICKET_STATUSES:
            status = s.step
        if s.step == "routed":
            place, grid = s.place_id, s.grid_id
        if s.step == "followed_up":
            satisfaction = s.satisfaction
    return TicketState(status, place, grid, satisfaction)
