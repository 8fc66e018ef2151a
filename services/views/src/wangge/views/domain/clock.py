"""The passage of days as a fact in the views' own log (日结): ``DayClosed(day)`` says the
subdistrict's day is over, so that what follows from a day passing (a care visit missed when
nobody came) is decided by an event like everything else, at the same point of the log in an
increment and in a rebuild, never by the wall clock of whoever applies it.

One stream per day (``day-<YYYY-MM-DD>``), appended once at version 0: replicas closing the same
day race for that version and all but one lose with a conflict that means "closed already".
"""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import Field

from wangge.events import DomainEvent, default_catalogue
from wangge.views.domain.audit import SERVICE

LOOKBACK_DAYS = 31
"""How far back the clock looks for the last closed day. A deployment with none in that window
(a fresh one, or one down for longer) starts at yesterday instead of backfilling: a closed day
reports every miss not reported yet, older ones included, so skipped days lose no entry."""

_PREFIX = "day-"


def stream_id(day: date) -> str:
    """The stream that closes ``day`` (its only event)."""
    return f"{_PREFIX}{day.isoformat()}"


@default_catalogue.event(SERVICE)
class DayClosed(DomainEvent):
    """A day in Asia/Shanghai is over: what a day's passing decides (a care period without a
    visit) may be decided as of its end."""

    day: date = Field(description="the day that ended, in the subdistrict (Asia/Shanghai)")


def days_to_close(*, last_closed: date | None, yesterday: date) -> list[date]:
    """The days to close, oldest first: those after ``last_closed`` up to ``yesterday``, or only
    ``yesterday`` when none was closed (in the clock's look-back)."""
    first = yesterday if last_closed is None else last_closed + timedelta(days=1)
    return [first + timedelta(days=n) for n in range((yesterday - first).days + 1)]
