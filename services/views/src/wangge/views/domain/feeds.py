"""The facts of the department feeds (部门数据推送) and the rules that make them: which kinds of
fact exist, what one carries (never free text), when a care plan's visit counts as missed (the
governance kernel's care schedule, judged as each day is closed, with a grace), and the opaque
cursor a department pages with. Pure: the projection and the routes apply them."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import date, timedelta

from wangge.governance.care_schedule import period_end as period_end
from wangge.governance.care_schedule import schedule
from wangge.governance.errors import DomainError

PERSON_FACTS = frozenset({"person_tagged", "person_untagged"})
"""Facts about a tag (特殊/重点/困难人群): routed by the tag."""
FLOATING_FACTS = frozenset(
    {"floating_moved_in", "floating_moved_out", "became_floating", "ceased_floating"}
)
"""Facts about the floating population (流动人口): moves of people whose residence status is
floating, and changes of status to or from floating."""
CARE_FACTS = frozenset({"care_plan_started", "care_plan_ended", "care_visit_missed"})
"""Facts about care plans (关爱帮扶): routed by the plan's kind."""
TICKET_FACTS = frozenset({"ticket_routed", "ticket_replied"})
"""Facts about 12345 tickets: routed by the ticket's category (派单目录 code)."""
HAZARD_FACTS = frozenset(
    {"hazard_registered", "hazard_inspected", "hazard_resolved", "hazard_removed"}
)
"""Facts about hazard points (安全隐患点) in the registry."""
OTHER_FACTS = frozenset({"mediation_agreement_signed", "personal_data_erased"})
"""A signed mediation agreement and its 司法确认 deadline; a person's erasure (a feed's reader
drops what it kept of them)."""
FACTS = PERSON_FACTS | FLOATING_FACTS | CARE_FACTS | TICKET_FACTS | HAZARD_FACTS | OTHER_FACTS
"""Every kind of fact a catalogue may give a department."""

FLOATING = "floating"
"""The residence status (流动) whose moves the police station follows."""


@dataclass(frozen=True)
class Fact:
    """One fact as the feeds' routing sees it: its kind and what routes it (a tag, a care
    plan's kind, a ticket's category). The row a department reads carries more: see the
    projection."""

    kind: str
    tag: str | None = None
    care_kind: str | None = None
    category: str | None = None


def missed_periods(
    starts_on: date,
    every_days: int,
    visits: frozenset[date],
    today: date,
    ended_on: date | None,
) -> list[date]:
    """The starts of a care plan's past periods without a visit, on ``today``: the cases
    service's rule, from the governance kernel (``wangge.governance.care_schedule``)."""
    return list(schedule(starts_on, every_days, visits, today, ended_on).missed)


GRACE_DAYS = 2
"""How long after a care period's last day its miss waits to be reported: a visit made on the
period's last day and recorded up to two days later (a worker who writes up the weekend's visits
on Monday) still counts, rather than reaching the departments as a false alarm. So the close of
day D reports the periods that ended by D - 2."""


def judged_on(closed: date) -> date:
    """The day the close of ``closed`` judges a plan as of (the kernel's ``today``: periods
    over before it without a visit were missed), the grace taken off the day after it."""
    return closed + timedelta(days=1 - GRACE_DAYS)


def missed_at_close(
    starts_on: date,
    every_days: int,
    visits: frozenset[date],
    closed: date,
    ended_on: date | None,
) -> list[date]:
    """The starts of the periods a plan shows missed once day ``closed`` is over, the grace
    allowed (:data:`GRACE_DAYS`)."""
    return missed_periods(starts_on, every_days, visits, judged_on(closed), ended_on)


def next_judged(starts_on: date, every_days: int, closed: date) -> date:
    """The last day of the plan's first period that the close of ``closed`` could not judge yet
    (it ends on or after :func:`judged_on`): no close before that day has passed it needs to look
    at the plan again."""
    first = period_end(starts_on, every_days)
    over = (judged_on(closed) - first).days
    if over <= 0:
        return first
    return first + timedelta(days=every_days * -(-over // every_days))


def settled_at_close(ended_on: date | None, closed: date) -> bool:
    """Whether an ended plan has nothing left to miss once day ``closed`` is over: every period
    that counts (over before the end) was judged."""
    return ended_on is not None and judged_on(closed) >= ended_on


# -- the cursor ---------------------------------------------------------------------------------


class BadCursor(DomainError):
    """An ``after`` that is no cursor this service made."""

    slug = "bad-cursor"
    title = "after must be a cursor from a feed's page"


class CursorExpired(DomainError):
    """A cursor of a generation of the feeds that was rebuilt since: positions started again."""

    status = 410
    slug = "cursor-expired"
    title = "The feed was rebuilt since this cursor was made; read it again from the start"


@dataclass(frozen=True)
class Cursor:
    """A place in a feed: the generation of the feeds' tables and a position in it. Positions
    are the order entries were written in one generation; a rebuild writes a new generation
    whose positions may differ, so a cursor names its generation."""

    generation: int
    position: int

    def encode(self) -> str:
        """The opaque form a page hands out (base64 of ``<generation>.<position>``)."""
        raw = f"{self.generation}.{self.position}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_RAW = re.compile(r"^([1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,17})$")


def decode_cursor(text: str, *, generation: int) -> int:
    """The position an ``after`` cursor names in the active ``generation``: 422 for garbage,
    410 for a cursor of a generation that was rebuilt since (or one not made yet)."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    match = _RAW.match(raw)
    if match is None:
        raise BadCursor("not a cursor from this service's feed pages", field="query/after")
    made_in, position = int(match.group(1)), int(match.group(2))
    if made_in != generation:
        raise CursorExpired(
            "the feed was rebuilt since this cursor was made (its positions started again): "
            "read it from the start, without after, and drop what was kept from before",
            field="query/after",
        )
    return position
