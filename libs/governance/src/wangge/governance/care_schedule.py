"""The care plan's visit schedule (关爱帮扶 / 定期走访): which visits are due and which were missed.

Nothing of it is recorded: it follows from the plan's start, its cadence and the visits made.
The cases service owns care plans and answers a worker's inbox by it; the views service counts
the dashboard's care coverage, the department feeds' missed visits and a resident's picture by
it. It lives here, once, so that every one of them counts the same:

- the plan's days are cut into periods of ``every_days`` from ``starts_on``;
- a visit anywhere in a period counts for it;
- a period that ended before the day without a visit was missed;
- the period running on the day is due by its last day unless visited;
- the last period, cut short by the plan's end, is neither due nor missed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta


def period_end(start: date, every_days: int) -> date:
    """The last day of the care period that starts on ``start``."""
    return start + timedelta(days=every_days - 1)


@dataclass(frozen=True, slots=True)
class Period:
    """One period of a plan, from ``start`` to ``end`` (both included)."""

    start: date
    end: date

    def visited(self, visits: Iterable[date]) -> bool:
        """Whether a visit counts for this period (one anywhere in it does)."""
        return any(self.start <= v <= self.end for v in visits)

    def missed(self, visits: Iterable[date], today: date) -> bool:
        """Whether the period was missed as of ``today``: over before it, without a visit."""
        return self.end < today and not self.visited(visits)


def periods(
    starts_on: date,
    every_days: int,
    ended_on: date | None,
    *,
    until: date,
    since: date | None = None,
) -> Iterator[Period]:
    """The plan's periods that start by ``until`` (and end on or after ``since``), oldest
    first; the one cut short by the plan's end, and any after it, are not periods that count."""
    step = timedelta(days=every_days)
    start = starts_on
    if since is not None and since > starts_on:
        # jump past the periods over before ``since``: the dashboard asks 24 months of every
        # plan, and a weekly plan some years old would walk hundreds of them each time
        start += step * ((since - starts_on).days // every_days)
    while start <= until:
        end = period_end(start, every_days)
        if ended_on is not None and end >= ended_on:
            return
        yield Period(start, end)
        start += step


@dataclass(frozen=True)
class Schedule:
    """Where a plan stands on a day."""

    due_on: date | None
    """The end of the current period, when its visit is still to be made (else None)."""
    missed: tuple[date, ...]
    """The starts of past periods without a visit."""


def schedule(
    starts_on: date, every_days: int, visits: frozenset[date], today: date, ended_on: date | None
) -> Schedule:
    """The visit due on ``today`` (if any) and the periods missed, from the plan and its visits."""
    last = min(today, ended_on) if ended_on is not None else today
    missed: list[date] = []
    due_on = None
    for period in periods(starts_on, every_days, ended_on, until=last):
        if period.visited(visits):
            continue
        if period.end < today:
            missed.append(period.start)
        else:
            due_on = period.end  # the period running today: at most one
    return Schedule(due_on, tuple(missed))
