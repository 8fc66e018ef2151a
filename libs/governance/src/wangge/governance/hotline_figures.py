"""The hotline figures of a grid or a community for a month (the 12345 assessment's rates).

The hotline bridge answers them at ``GET /rates``; the views service shows them on the grid
dashboard. Both compute them here, so the dashboard's figures equal the bridge's by
construction: each feeds ``figures`` with the tickets it keeps, selected as the bridge selects
them.

Computed from the tickets as the log leaves them (rebuild the tickets read model and they come
out the same), over the tickets routed to the area and received in the month (China Standard
Time). Every rate is a share of the tickets it can apply to, and None when there are none:

- **tickets** and **complaint rate**: complaints per 1,000 residents (诉求率; the residents are
  those living in the area's dwellings now);
- **solved at source** (就地解决率): replies the grid solved itself, of all replies;
- **response rate** (响应率): tickets accepted (签收) within ``RESPONSE_WINDOW`` of receipt;
- **resolution rate** (解决率) and **satisfaction rate** (满意率): of the follow-up calls, those
  the caller called resolved, and satisfied or basically satisfied;
- **on-time rate** (按时办结率): replies by the deadline, of all replies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

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


@dataclass(frozen=True, slots=True)
class Figures:
    """One area's month."""

    tickets: int
    complaints: int
    residents: int
    complaint_rate: float | None
    solved_at_source_rate: float | None
    response_rate: float | None
    resolution_rate: float | None
    satisfaction_rate: float | None
    on_time_rate: float | None


def share(part: int, whole: int) -> float | None:
    """A rate as the hotline rounds it (four places), None when there is nothing to divide."""
    return round(part / whole, 4) if whole else None


def figures(tickets: Iterable[TicketFacts], *, residents: int) -> Figures:
    """The figures of an area's tickets of a month."""
    rows = list(tickets)
    complaints = sum(t.kind == "complaint" for t in rows)
    replied = [t for t in rows if t.replied_at is not None]
    rated = [t for t in rows if t.satisfaction is not None]
    responded = sum(
        t.accepted_at is not None and t.accepted_at - t.received_at <= RESPONSE_WINDOW for t in rows
    )
    return Figures(
        tickets=len(rows),
        complaints=complaints,
        residents=residents,
        complaint_rate=round(complaints * 1000 / residents, 2) if residents else None,
        solved_at_source_rate=share(
            sum(bool(t.solved and t.at_source) for t in replied), len(replied)
        ),
        response_rate=share(responded, len(rows)),
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
