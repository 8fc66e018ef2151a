"""The hotline figures of a grid or a community for a month (the 12345 assessment's rates).

The hotline bridge answers them at ``GET /rates``; the views service shows them on the grid
dashboard. Both compute them here, so the dashboard's figures equal the bridge's by
construction: each feeds ``figures`` with the tickets it keeps, selected as the bridge selects
them, and the residents counted on the month's :func:`standing_day`.

Computed from the tickets as the log leaves them (rebuild the tickets read model and they come
out the same), over the tickets routed to the area and received in the month (China Standard
Time). Every rate is a share of the tickets it can apply to, and None when there are none:

- **tickets** and **complaint rate**: complaints per 1,000 residents (诉求率). The residents are
  those living in the area's dwellings on the month's last day, or today for the month under
  way (:func:`standing_day`): a month's rate keeps its value once the month is over, whoever
  moves in or out later, and a past month is divided by the people who lived there then, not
  by today's;
- **solved at source** (就地解决率): replies the grid solved itself, of all replies;
- **response rate** (响应率): tickets accepted (签收) within ``RESPONSE_WINDOW`` of receipt, of
  the tickets whose response is decided. A ticket neither accepted nor past its window yet is
  *pending* (``response_pending``): it may still be answered in time, so counting it as not
  responded would punish a grid for tickets that arrived an hour ago;
- **resolution rate** (解决率) and **satisfaction rate** (满意率): of the follow-up calls, those
  the caller called resolved, and satisfied or basically satisfied;
- **on-time rate** (按时办结率): replies by the deadline, of all replies. A ticket without a
  reply is not counted here at all, inside its deadline or past it, so nothing is pending.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

CST = timezone(timedelta(hours=8), "CST")
"""China Standard Time, in which the hotline's months begin and end."""
RESPONSE_WINDOW = timedelta(hours=24)
"""How soon after receipt a ticket must be accepted to count as responded to."""


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What the figures need of one ticket."""

    kind: str
    received_at: datetime
    deadline: datetime
    accepted_at: datetime | None
    replied_at: datetime | None
    solved: bool | None
    at_source: bool | None
    satisfaction: str | None
    resolved: bool | None

    def responded(self) -> bool:
        """Accepted within the response window."""
        return (
            self.accepted_at is not None and self.accepted_at - self.received_at <= RESPONSE_WINDOW
        )

    def awaiting_response(self, now: datetime) -> bool:
        """Not accepted, and its response window still open at ``now``: neither responded nor
        late yet."""
        return self.accepted_at is None and now < self.received_at + RESPONSE_WINDOW


@dataclass(frozen=True, slots=True)
class Figures:
    """One area's month."""

    tickets: int
    complaints: int
    residents: int
    complaint_rate: float | None
    solved_at_source_rate: float | None
    response_rate: float | None
    response_pending: int
    resolution_rate: float | None
    satisfaction_rate: float | None
    on_time_rate: float | None


def share(part: int, whole: int) -> float | None:
    """A rate as the hotline rounds it (four places), None when there is nothing to divide."""
    return round(part / whole, 4) if whole else None


def figures(tickets: Iterable[TicketFacts], *, residents: int, now: datetime) -> Figures:
    """The figures of an area's tickets of a month, their pending responses judged at ``now``;
    ``residents`` are the area's on the month's :func:`standing_day`."""
    rows = list(tickets)
    complaints = sum(t.kind == "complaint" for t in rows)
    replied = [t for t in rows if t.replied_at is not None]
    rated = [t for t in rows if t.satisfaction is not None]
    pending = sum(t.awaiting_response(now) for t in rows)
    return Figures(
        tickets=len(rows),
        complaints=complaints,
        residents=residents,
        complaint_rate=round(complaints * 1000 / residents, 2) if residents else None,
        solved_at_source_rate=share(
            sum(bool(t.solved and t.at_source) for t in replied), len(replied)
        ),
        response_rate=share(sum(t.responded() for t in rows), len(rows) - pending),
        response_pending=pending,
        resolution_rate=share(sum(bool(t.resolved) for t in rated), len(rated)),
        satisfaction_rate=share(sum(t.satisfaction != "unsatisfied" for t in rated), len(rated)),
        on_time_rate=share(
            sum(t.replied_at is not None and t.replied_at <= t.deadline for t in replied),
            len(replied),
        ),
    )


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The first instant of a month (``2026-11``) and of the next, in China Standard Time."""
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=CST)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=CST)
    return start, end


def standing_day(month: str, *, today: date) -> date:
    """The day a month's residents are counted on: its last day, or ``today`` (CST) while the
    month is under way (a later day's moves have not happened; the views' dashboard takes its
    standing figures on the same day)."""
    _, end = month_bounds(month)
    return min(end.date() - timedelta(days=1), today)
