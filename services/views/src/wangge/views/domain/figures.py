"""The grid dashboard's figures (网格看板), pure: each producer's own rule over the view's facts,
so that a figure on the dashboard says what it says in the service that owns it.

The hotline figures and the care schedule are the producers' rules themselves, taken from the
governance kernel where they and this service both find them; the others are restated here
(read, never imported: a service never imports another):

- hotline figures: ``wangge.governance.hotline_figures`` (``figures``, ``CST``), as the hotline
  bridge's ``GET /rates`` computes them, over the tickets selected as the bridge's
  ``projections/figures.py`` selects them from its ``projections/tickets.py`` (this selection
  is restated): the tickets routed to the area (a ticket's last routed grid; a returned or
  reopened ticket counts once, in the month it was received), received in the month in China
  Standard Time; acceptance and reply taken at the time the bridge recorded the *last*
  ``TicketAccepted`` / ``TicketReplied``, the deadline the last one set by receipt, an extension
  decided or a reopening, the rating of the last follow-up; the residents dividing the
  complaints are those living in the area's dwellings on the month's day (each person's last
  ``PersonMovedIn``/``PersonMovedOut`` dated by then; the bridge's ``standing_day``), and a
  response still inside its window is pending as of the moment the figures are computed;
- care coverage: ``wangge.governance.care_schedule`` (the cases service's ``schedule``): a visit
  anywhere in a period counts for it, a period without one that ended before the day is missed,
  the last period cut short by the plan's end is neither due nor missed;
- residents: ``services/registry/.../domain/persons.py`` (``evolve``): a move in makes a moved-out
  person a resident again, a move out leaves no dwelling and the status ``moved_out``;
- hazards: ``services/registry/.../domain/things.py``: a hazard point is open from its
  registration until resolved (or removed);
- training: ``services/training/.../domain/programmes.py`` (``progress``) and
  ``domain/sessions.py`` (``session_hours``, ``ATTENDED``): present or late earns a session's
  hours, a cancelled session none; a module is complete on the day its hours (and pass mark)
  are reached, counted from the enrolment, within the period, in order when ordered.
"""

from __future__ import annotations

import bisect
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from wangge.governance.care_schedule import periods
from wangge.governance.hotline_figures import CST as CST
from wangge.governance.hotline_figures import Figures, figures, share
from wangge.governance.hotline_figures import TicketFacts as TicketFacts

SERIES_MONTHS = 24
"""How many months the dashboard's series holds, the as-of month last."""
LIVING = ("resident", "floating", "lodging")
"""The residence statuses of people who live in the area (常住 / 流动 / 寄住)."""
ATTENDED = frozenset({"present", "late"})
"""Attendance that earns a session's hours (the training service's)."""
AGE_BANDS: tuple[tuple[str, int | None], ...] = (
    ("0-7", 7), ("8-30", 30), ("31-90", 90), ("90+", None),
)  # fmt: skip
"""Bands of an open case's age in days (the upper bound of each; None: no bound)."""


# -- months ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Month:
    """One month of the dashboard: its label, its instants in CST, and the day its standing
    figures (residents, open cases, hazards...) are taken: its last day, or the as-of day in
    the as-of month."""

    label: str
    first: date
    last: date
    day: date

    @property
    def start(self) -> datetime:
        """The month's first instant (CST)."""
        return datetime(self.first.year, self.first.month, 1, tzinfo=CST)

    @property
    def end(self) -> datetime:
        """The next month's first instant (CST)."""
        return _instant(self.last + timedelta(days=1))

    @property
    def day_end(self) -> datetime:
        """The first instant after :attr:`day` (CST): what stands then is what the figures show."""
        return _instant(self.day + timedelta(days=1))


def _instant(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=CST)


def month_of(day: date, *, as_of: date) -> Month:
    """The month containing ``day``, its standing figures taken on its last day or ``as_of``."""
    first = day.replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    last = following - timedelta(days=1)
    return Month(f"{first.year:04d}-{first.month:02d}", first, last, min(last, as_of))


def months_ending(as_of: date, count: int = SERIES_MONTHS) -> list[Month]:
    """The ``count`` months ending with the one containing ``as_of``, oldest first."""
    months: list[Month] = []
    day = as_of
    for _ in range(count):
        month = month_of(day, as_of=as_of)
        months.append(month)
        day = month.first - timedelta(days=1)
    return months[::-1]


def local_day(moment: datetime) -> date:
    """The day ``moment`` falls on in China Standard Time (UTC kept naive by SQLite)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CST).date()


def as_utc(moment: datetime) -> datetime:
    """An instant in UTC, as the read models store and compare instants (a CST bound given to
    SQLite as is would be compared by its wall clock)."""
    return moment.astimezone(UTC)


def aware(moment: datetime) -> datetime:
    """A stored instant as an aware one (SQLite hands back naive UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# -- hotline (the hotline bridge's rule, from the governance kernel) ------------------------------

HotlineFigures = Figures
"""An area's month of tickets, with the names and rounding of the hotline bridge's /rates."""
hotline_figures = figures
"""The hotline figures of an area's tickets received in a month (the hotline bridge's rule)."""


# -- residents and special groups ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    """A person's residence from ``since`` until the day before ``until`` (None: still)."""

    person_id: uuid.UUID
    since: date
    until: date | None
    status: str

    def holds(self, day: date) -> bool:
        """Whether this period is the person's on ``day`` (an empty one, superseded on the day
        it began or by an earlier-dated fact, never is)."""
        return self.since <= day and (self.until is None or day < self.until)


@dataclass(frozen=True, slots=True)
class Residents:
    """People living in the area on the day, by status, and those who moved out of it."""

    resident: int
    floating: int
    lodging: int
    living: int
    moved_out: int
    """Moved out of the area's dwellings, on the day (everyone who ever did and has not
    come back)."""
    moved_out_in_month: int


def residents_on(periods: Iterable[Period], month: Month) -> Residents:
    """The area's residents on the month's day (its periods are those placed in the area)."""
    counts: Counter[str] = Counter()
    left = 0
    for period in periods:
        if period.holds(month.day):
            counts[period.status] += 1
        if period.status == "moved_out" and month.first <= period.since <= month.day:
            left += 1
    return Residents(
        resident=counts["resident"], floating=counts["floating"], lodging=counts["lodging"],
        living=sum(counts[s] for s in LIVING), moved_out=counts["moved_out"],
        moved_out_in_month=left,
    )  # fmt: skip


def living_on(periods: Iterable[Period], day: date) -> set[uuid.UUID]:
    """The people living in the area on ``day``."""
    return {p.person_id for p in periods if p.status in LIVING and p.holds(day)}


def residents_by_month(
    periods: Iterable[Period], window: Sequence[Month]
) -> list[tuple[Residents, set[uuid.UUID]]]:
    """For each month of ``window`` (oldest first), :func:`residents_on` and :func:`living_on`
    its day, in one pass over the periods: each period finds the run of months whose day it
    holds by bisection, counted with a difference array per status and kept as a bit mask per
    person, rather than every month asking every period (a full-size grid's 24 months asked its
    periods some 30,000 times a dashboard)."""
    days = [month.day for month in window]
    firsts = [month.first for month in window]
    size = len(window)
    steps: dict[str, list[int]] = {}
    months_living: dict[uuid.UUID, int] = {}
    left = [0] * size
    for period in periods:
        start = bisect.bisect_left(days, period.since)
        stop = size if period.until is None else bisect.bisect_left(days, period.until)
        if start < stop:
            step = steps.get(period.status)
            if step is None:
                step = steps[period.status] = [0] * (size + 1)
            step[start] += 1
            step[stop] -= 1
            if period.status in LIVING:
                held = (1 << stop) - (1 << start)
                months_living[period.person_id] = months_living.get(period.person_id, 0) | held
        if period.status == "moved_out":
            i = bisect.bisect_right(firsts, period.since) - 1
            if i >= 0 and period.since <= days[i]:
                left[i] += 1
    running = dict.fromkeys(steps, 0)
    out = []
    for i in range(size):
        for status, step in steps.items():
            running[status] += step[i]
        living = {person for person, held in months_living.items() if held >> i & 1}
        on = running.get
        out.append((
            Residents(
                resident=on("resident", 0), floating=on("floating", 0), lodging=on("lodging", 0),
                living=sum(on(s, 0) for s in LIVING), moved_out=on("moved_out", 0),
                moved_out_in_month=left[i],
            ),
            living,
        ))  # fmt: skip
    return out


@dataclass(frozen=True, slots=True)
class TagPeriod:
    """A person's tag (特殊人群 / 重点人群 / 困难人群) with its validity and its removal."""

    person_id: uuid.UUID
    tag: str
    valid_from: date
    valid_until: date | None
    ended_on: date | None

    def holds(self, day: date) -> bool:
        """Whether the tag is valid on ``day`` (expired or untagged: not)."""
        return (
            self.valid_from <= day
            and (self.valid_until is None or day <= self.valid_until)
            and (self.ended_on is None or day < self.ended_on)
        )


@dataclass(frozen=True, slots=True)
class SpecialGroups:
    """The people living in the area on the day who hold a valid tag, and how many per tag."""

    people: int
    by_tag: dict[str, int]


def special_groups(tags: Iterable[TagPeriod], living: set[uuid.UUID], day: date) -> SpecialGroups:
    """The special groups among ``living`` on ``day``."""
    held = {(t.person_id, t.tag) for t in tags if t.person_id in living and t.holds(day)}
    return SpecialGroups(
        people=len({person for person, _ in held}),
        by_tag=dict(sorted(Counter(tag for _, tag in held).items())),
    )


# -- care plans (the cases service's rule, from the governance kernel) ----------------------------


@dataclass(frozen=True, slots=True)
class CarePlan:
    """A care plan's cadence and the days it was visited."""

    starts_on: date
    every_days: int
    ended_on: date | None
    visits: frozenset[date] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class Care:
    """The month's care visits: plans running on the day; periods ending in the month (due),
    visited (done), ended before the day unvisited (missed); done of due (coverage)."""

    plans: int
    due: int
    done: int
    missed: int
    coverage_rate: float | None


def care_in_month(plans: Iterable[CarePlan], month: Month) -> Care:
    """The care visits due in the month: the periods ending in it, by the cases service's rule
    (visited or missed as of the day after the month's last, for a past month)."""
    today = month.day + timedelta(days=1) if month.day == month.last else month.day
    running = due = done = missed = 0
    for plan in plans:
        if plan.starts_on <= month.day and (plan.ended_on is None or plan.ended_on > month.day):
            running += 1
        visits = [v for v in plan.visits if v <= month.day]
        ending = periods(
            plan.starts_on, plan.every_days, plan.ended_on, since=month.first, until=month.last
        )
        for period in ending:
            if period.end > month.last:
                continue
            due += 1
            done += period.visited(visits)
            missed += period.missed(visits, today)
    return Care(running, due, done, missed, share(done, due))


# -- cases ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """A case: its kind, when it was opened, its deadline, and the spans it stood open (from
    each opening or reopening to its resolution or closing)."""

    kind: str
    opened_at: datetime
    deadline: datetime | None
    spans: tuple[tuple[datetime, datetime | None], ...]
    case_id: uuid.UUID | None = None

    def open_at(self, moment: datetime) -> bool:
        """Whether the case was open (neither resolved nor closed) at ``moment``."""
        return any(s < moment and (e is None or e >= moment) for s, e in self.spans)

    def overdue_at(self, moment: datetime) -> bool:
        """Whether its deadline had passed at ``moment``."""
        return self.deadline is not None and self.deadline < moment


@dataclass(frozen=True, slots=True)
class Cases:
    """The area's cases open at the end of the day, by kind and by age in days, and the
    overdue ones among them (past their deadline)."""

    open: int
    overdue: int
    by_kind: dict[str, int]
    by_age: dict[str, int]


def age_band(days: int) -> str:
    """The band of :data:`AGE_BANDS` an age in days falls in."""
    for band, upper in AGE_BANDS:
        if upper is None or days <= upper:
            return band
    raise AssertionError("the last band has no bound")


def cases_on(cases: Iterable[CaseFacts], month: Month) -> Cases:
    """The cases standing open at the end of the month's day."""
    moment = month.day_end
    kinds: Counter[str] = Counter()
    ages: Counter[str] = Counter()
    overdue = 0
    for case in cases:
        if not case.open_at(moment):
            continue
        kinds[case.kind] += 1
        ages[age_band((month.day - local_day(case.opened_at)).days)] += 1
        overdue += case.overdue_at(moment)
    return Cases(
        open=sum(kinds.values()), overdue=overdue, by_kind=dict(sorted(kinds.items())),
        by_age={band: ages[band] for band, _ in AGE_BANDS},
    )  # fmt: skip


def open_cases(cases: Iterable[CaseFacts], month: Month) -> list[CaseFacts]:
    """The cases :func:`cases_on` counts open on the month's day, overdue first, then by
    deadline (those without one last), then the longest open: the order a grid's list is
    worked through."""
    moment = month.day_end
    found = [case for case in cases if case.open_at(moment)]
    return sorted(found, key=lambda c: (
        not c.overdue_at(moment), c.deadline is None, c.deadline or c.opened_at, c.opened_at,
    ))  # fmt: skip


# -- hazards --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HazardFacts:
    """A hazard point: registered, its last risk level, resolved or removed."""

    registered_on: date
    closed_on: date | None
    risk_level: str | None


@dataclass(frozen=True, slots=True)
class Hazards:
    """Hazard points open on the day, by risk level (``unknown``: never assessed)."""

    open: int
    by_risk: dict[str, int]


def hazards_on(hazards: Iterable[HazardFacts], day: date) -> Hazards:
    """The hazard points open on ``day``."""
    risks = Counter(
        h.risk_level or "unknown"
        for h in hazards
        if h.registered_on <= day and (h.closed_on is None or h.closed_on > day)
    )
    return Hazards(open=sum(risks.values()), by_risk=dict(sorted(risks.items())))


# -- training (the training service's domain/programmes.py ``progress``) --------------------------


@dataclass(frozen=True, slots=True)
class Module:
    """A programme's required module: its code, hours and pass mark (percent, if examined)."""

    code: str
    hours: float
    pass_score: float | None = None


@dataclass(frozen=True, slots=True)
class Credit:
    """A session a worker attended: its module (if any), its day, hours and their score."""

    module_code: str | None
    on: date
    hours: float
    score_percent: float | None = None


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A worker's enrolment in a programme."""

    worker_id: uuid.UUID
    modules: tuple[Module, ...]
    ordered: bool
    period_days: int | None
    enrolled_on: date
    left_on: date | None
    credits: tuple[Credit, ...]


def completed_on(enrolment: Enrolment, *, until: date) -> date | None:
    """The day the worker completed the programme, counting sessions up to ``until`` (None:
    not by then): the training service's ``progress``."""
    e = enrolment
    last_day = e.enrolled_on + timedelta(days=e.period_days - 1) if e.period_days else None
    by_module: dict[str, list[Credit]] = {}
    for credit in sorted(e.credits, key=lambda c: c.on):
        if credit.on > until or credit.module_code is None:
            continue
        if credit.on < e.enrolled_on or (last_day is not None and credit.on > last_day):
            continue
        by_module.setdefault(credit.module_code, []).append(credit)
    done: list[date | None] = []
    opens_on: date | None = e.enrolled_on
    for module in e.modules:
        hours, best, completed = 0.0, None, None
        for credit in by_module.get(module.code, []):
            if opens_on is None or credit.on < opens_on:
                continue
            hours += credit.hours
            if credit.score_percent is not None:
                best = credit.score_percent if best is None else max(best, credit.score_percent)
            passed = module.pass_score is None or (best is not None and best >= module.pass_score)
            if completed is None and hours >= module.hours and passed:
                completed = credit.on
        done.append(completed)
        if e.ordered:
            opens_on = completed
    if not done or any(d is None for d in done):
        return None
    return max(d for d in done if d is not None)


@dataclass(frozen=True, slots=True)
class Training:
    """The area's grid workers' training on the day: programmes they follow, those completed,
    and the hours they earned this calendar year."""

    workers: int
    enrolments: int
    completed: int
    completion_rate: float | None
    hours_this_year: float


def training_on(
    workers: Sequence[uuid.UUID],
    enrolments: Iterable[Enrolment],
    credits: Iterable[tuple[uuid.UUID, Credit]],
    day: date,
) -> Training:
    """The workers' training on ``day``: enrolments begun by then and not left, those
    complete by then, and every attended session's hours from 1 January to ``day``."""
    enrolled = completed = 0
    for e in enrolments:
        if e.enrolled_on > day or (e.left_on is not None and e.left_on <= day):
            continue
        enrolled += 1
        completed += completed_on(e, until=day) is not None
    hours = sum(c.hours for _, c in credits if c.on.year == day.year and c.on <= day)
    return Training(len(workers), enrolled, completed, share(completed, enrolled), hours)


def session_hours(starts_at: datetime, ends_at: datetime) -> float:
    """The hours a session credits (to the quarter hour; the training service's rule)."""
    return round((ends_at - starts_at).total_seconds() / 900) / 4
