"""The dashboard's queries: an area's grids from the roster, then one query per kind of fact
over the 24 months' window, each narrowed by grid (or by the dwellings and places of the
grids, through the roster) and by date on indexed columns; ``domain.figures`` makes every
month's figures from those rows, so the as-of month and its series are the same rows.

A community's or the subdistrict's figures are its grids' facts taken together: every count
sums the grids', every rate is recomputed from the summed parts, never averaged.

Computed figures, and the API's rendered answers, are kept per process (:func:`remembered`)
until either read model they come from applies another batch: a dashboard is read far more
often than its facts change, and a repeated read costs one query of the runners' positions
instead of eight of the facts and the rendering of 24 months. The one figure that moves with
the clock alone, a hotline response pending inside its 24 hours, is therefore as of the
computing: a kept answer shows it pending until the next batch either model applies.
"""

from __future__ import annotations

import uuid
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.governance import roster
from wangge.views.domain import figures as f
from wangge.views.projections.dashboard import Dashboard
from wangge.views.projections.roster import Roster
from wangge.views.projections.standing import standing

AREA_KINDS = ("grid", "community", "subdistrict")


@dataclass(frozen=True)
class Area:
    """A grid, community or subdistrict, and the grids it holds (a grid: itself)."""

    place_id: uuid.UUID
    kind: str
    code: str
    name: str
    grid_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class MonthFigures:
    """One month of an area's dashboard."""

    month: f.Month
    residents: f.Residents
    special_groups: f.SpecialGroups
    care: f.Care
    cases: f.Cases
    hotline: f.HotlineFigures
    hazards: f.Hazards
    training: f.Training


async def area_of(conn: AsyncConnection, places: sa.Table, code: str, kind: str) -> Area | None:
    """The area of ``kind`` with this code and its grids (None: no such place of that kind)."""
    row = (
        await conn.execute(sa.select(places).where(places.c.code == code, places.c.kind == kind))
    ).first()
    if row is None:
        return None
    grids = sa.select(places.c.place_id).where(places.c.kind == "grid")
    if kind == "grid":
        grids = grids.where(places.c.place_id == row.place_id)
    elif kind == "community":
        grids = grids.where(places.c.community_id == row.place_id)
    else:
        communities = sa.select(places.c.place_id).where(
            places.c.kind == "community", places.c.parent_id == row.place_id
        )
        grids = grids.where(places.c.community_id.in_(communities))
    ids = tuple(sorted((await conn.scalars(grids)).all()))
    return Area(row.place_id, row.kind, row.code, row.name, ids)


async def areas(conn: AsyncConnection, places: sa.Table) -> list[tuple[str, str]]:
    """Every area with a dashboard, as (kind, code): the subdistricts, then the communities,
    then the grids (the roll-ups first: they cost the most to compute and are read the most)."""
    order = sa.case({kind: n for n, kind in enumerate(reversed(AREA_KINDS))}, value=places.c.kind)
    rows = await conn.execute(
        sa.select(places.c.kind, places.c.code)
        .where(places.c.kind.in_(AREA_KINDS))
        .order_by(order, places.c.code)
    )
    return [(row.kind, row.code) for row in rows]


async def monthly(
    conn: AsyncConnection,
    tables: roster.Tables,
    places: roster.Tables,
    grid_ids: Sequence[uuid.UUID],
    *,
    as_of: date,
    months: int = f.SERIES_MONTHS,
) -> list[MonthFigures]:
    """The area's figures for each of the ``months`` months ending with ``as_of``'s, oldest
    first (``tables``: the dashboard's; ``places``: the roster's), computed again only when
    the dashboard or the roster has applied events since they were last computed here."""

    async def compute() -> tuple[MonthFigures, ...]:
        return tuple(
            await computed_monthly(conn, tables, places, grid_ids, as_of=as_of, months=months)
        )

    key = ("figures", tuple(grid_ids), as_of, months)
    return list(await remembered(conn, tables, places, key, compute))


T = TypeVar("T")


async def remembered(
    conn: AsyncConnection,
    tables: roster.Tables,
    places: roster.Tables,
    key: Hashable,
    compute: Callable[[], Awaitable[T]],
) -> T:
    """What ``compute`` made for ``key`` from the dashboard's and the roster's rows as they
    stand now: made again only when either has applied events since (one query of the runners'
    state otherwise). The API keeps a dashboard's rendered answer so, and the figures too."""
    state = await applied_state(conn)
    full = (key, tables["tickets"].name, places["places"].name, state)
    computed = _computed.get(conn.sync_engine)
    if computed is None:
        computed = _computed.setdefault(conn.sync_engine, Computed())
    found = computed.get(full)
    if found is None:
        found = await compute()
        computed.put(full, found)
    return cast(T, found)


class Computed:
    """What was computed in this process from the dashboard and the roster, by what it answers
    and the applied state of the read models it came from; the least recently read go first."""

    size = 4096
    """About 24 KB a dashboard's figures, as much its rendered answer: a subdistrict's grids
    read for a few days each."""

    def __init__(self) -> None:
        self._known: OrderedDict[Hashable, object] = OrderedDict()

    def get(self, key: Hashable) -> object | None:
        found = self._known.get(key)
        if found is not None:
            self._known.move_to_end(key)
        return found

    def put(self, key: Hashable, value: object) -> None:
        self._known[key] = value
        while len(self._known) > self.size:
            self._known.popitem(last=False)


_computed: weakref.WeakKeyDictionary[sa.Engine, Computed] = weakref.WeakKeyDictionary()


async def applied_state(conn: AsyncConnection) -> tuple[Any, ...]:
    """Where the dashboard's and the roster's runners stand: their source positions (saved in
    the transaction of every batch they apply, with the batch's rows) and how many events they
    hold parked (a parked event applied on retry leaves the positions as they were, and its
    parked row goes). Equal states, equal rows; a rebuild's generation moving meanwhile only
    makes the figures computed again."""
    return tuple(await standing(conn, projections=(Dashboard.name, Roster.name)))


async def computed_monthly(
    conn: AsyncConnection,
    tables: roster.Tables,
    places: roster.Tables,
    grid_ids: Sequence[uuid.UUID],
    *,
    as_of: date,
    months: int = f.SERIES_MONTHS,
) -> list[MonthFigures]:
    """:func:`monthly`, computed now and not kept (the API keeps its rendered answer instead:
    a kept answer's figures are objects the collector walks, its bytes are not)."""
    window = f.months_ending(as_of, months)
    first, last = window[0], window[-1]
    grids = list(grid_ids)
    periods, housed = await _periods(conn, tables, places, grids, first.first, last.day)
    tags = await _tags(conn, tables, places, grids, first.first, last.day)
    tickets = await _tickets(conn, tables, grids, first, last)
    plans = await _care(conn, tables, grids, first.first, last.last)
    cases = await _cases(conn, tables, grids, first, last)
    hazards = await _hazards(conn, tables, places, grids, first.first, last.day)
    workers, enrolments, credits = await _training(conn, tables, places, grids, last.day)
    now = datetime.now(UTC)  # a response still inside its window is pending as of now
    out = []
    for month, (residents, living) in zip(
        window, f.residents_by_month(periods, window), strict=True
    ):
        out.append(
            MonthFigures(
                month=month,
                residents=residents,
                special_groups=f.special_groups(tags, living, month.day),
                care=f.care_in_month(plans, month),
                cases=f.cases_on(cases, month),
                hotline=f.hotline_figures(
                    tickets.get(month.label, []), residents=_housed_on(housed, month.day), now=now
                ),
                hazards=f.hazards_on(hazards, month.day),
                training=f.training_on(workers, enrolments, credits, month.day),
            )
        )
    return out


async def tickets_by_id(
    conn: AsyncConnection, tables: roster.Tables, ticket_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Any]:
    """These tickets' kind, receipt and deadline, by id (tickets not applied yet left out)."""
    if not ticket_ids:
        return {}
    t = tables["tickets"]
    rows = await conn.execute(
        sa.select(t.c.ticket_id, t.c.kind, t.c.received_at, t.c.deadline).where(
            t.c.ticket_id.in_(list(ticket_ids))
        )
    )
    return {r.ticket_id: r for r in rows}


def _in_grids(places: roster.Tables, column: Any, grids: list[uuid.UUID]) -> Any:
    """``column`` (a dwelling's or place's id) lies in one of ``grids``."""
    p = places["places"]
    return column.in_(sa.select(p.c.place_id).where(p.c.grid_id.in_(grids)))


def _overlapping(r: sa.Table, start: date, end: date) -> Any:
    """A residence period (a row of ``residents``) overlaps the window ``start``..``end``."""
    return sa.and_(r.c.since <= end, sa.or_(r.c.until.is_(None), r.c.until > start))


async def _periods(
    conn: AsyncConnection,
    tables: roster.Tables,
    places: roster.Tables,
    grids: list[uuid.UUID],
    start: date,
    end: date,
) -> tuple[list[f.Period], list[f.Period]]:
    """The residence periods placed in the grids that overlap the window, and among them those
    spent in one of the area's dwellings: the hotline's denominator on a day is the people
    whose period then has a dwelling (the hotline bridge's residents, whose stays run from a
    ``PersonMovedIn`` to the next move, whatever the residence status). A record merged into
    another is left out on every day, as the bridge leaves it out: the two were always one
    human, counted through the record kept (which a merge gives the duplicate's tags too)."""
    r = tables["residents"]
    rows = await conn.execute(
        sa.select(r.c.person_id, r.c.since, r.c.until, r.c.status, r.c.dwelling_id).where(
            _in_grids(places, r.c.placed_at, grids), _overlapping(r, start, end), _unmerged(r)
        )
    )
    periods, housed = [], []
    for x in rows:
        period = f.Period(x.person_id, x.since, x.until, x.status)
        periods.append(period)
        if x.dwelling_id is not None:
            housed.append(period)
    return periods, housed


def _unmerged(r: sa.Table) -> Any:
    """A residence period of a record not merged into another."""
    return sa.not_(r.c.merged)


def _housed_on(housed: Sequence[f.Period], day: date) -> int:
    """The people living in the area's dwellings on ``day``, as the hotline bridge counts a
    month's residents on its standing day (``wangge.governance.hotline_figures``)."""
    return len({p.person_id for p in housed if p.holds(day)})


async def _tags(
    conn: AsyncConnection,
    tables: roster.Tables,
    places: roster.Tables,
    grids: list[uuid.UUID],
    start: date,
    end: date,
) -> list[f.TagPeriod]:
    """The tags of the people with a residence period in the grids over the window (those
    :func:`_periods` reads): a subquery, not a list of their ids (a full-size grid's thousand
    ids cost more to send than the tags they found)."""
    t, r = tables["tags"], tables["residents"]
    people = sa.select(r.c.person_id).where(
        _in_grids(places, r.c.placed_at, grids), _overlapping(r, start, end), _unmerged(r)
    )
    rows = await conn.execute(sa.select(t).where(t.c.person_id.in_(people), t.c.valid_from <= end))
    return [f.TagPeriod(x.person_id, x.tag, x.valid_from, x.valid_until, x.ended_on) for x in rows]


async def _tickets(
    conn: AsyncConnection,
    tables: roster.Tables,
    grids: list[uuid.UUID],
    first: f.Month,
    last: f.Month,
) -> dict[str, list[f.TicketFacts]]:
    """The tickets routed to the grids, by the month (CST) they were received in."""
    t = tables["tickets"]
    rows = await conn.execute(
        sa.select(t).where(
            t.c.grid_id.in_(grids),
            t.c.received_at >= f.as_utc(first.start),
            t.c.received_at < f.as_utc(last.end),
        )
    )
    by_month: dict[str, list[f.TicketFacts]] = defaultdict(list)
    for x in rows:
        received = f.aware(x.received_at)
        day = f.local_day(received)
        by_month[f"{day.year:04d}-{day.month:02d}"].append(
            f.TicketFacts(
                kind=x.kind, received_at=received, deadline=f.aware(x.deadline),
                accepted_at=f.aware(x.accepted_at) if x.accepted_at else None,
                replied_at=f.aware(x.replied_at) if x.replied_at else None,
                solved=x.solved, at_source=x.at_source, satisfaction=x.satisfaction,
                resolved=x.resolved,
            )
        )  # fmt: skip
    return by_month


async def _care(
    conn: AsyncConnection, tables: roster.Tables, grids: list[uuid.UUID], start: date, end: date
) -> list[f.CarePlan]:
    p, v = tables["care_plans"], tables["care_visits"]
    plans = (
        await conn.execute(
            sa.select(p).where(
                p.c.grid_id.in_(grids),
                p.c.starts_on <= end,
                sa.or_(p.c.ended_on.is_(None), p.c.ended_on >= start),
            )
        )
    ).all()
    if not plans:
        return []
    visits: dict[uuid.UUID, set[date]] = defaultdict(set)
    ids = [x.plan_id for x in plans]
    for x in await conn.execute(
        sa.select(v.c.plan_id, v.c.visited_on).where(
            v.c.plan_id.in_(ids), v.c.visited_on >= start - timedelta(days=366)
        )
    ):
        visits[x.plan_id].add(x.visited_on)
    return [
        f.CarePlan(x.starts_on, x.every_days, x.ended_on, frozenset(visits[x.plan_id]))
        for x in plans
    ]


async def _cases(
    conn: AsyncConnection,
    tables: roster.Tables,
    grids: list[uuid.UUID],
    first: f.Month,
    last: f.Month,
) -> list[f.CaseFacts]:
    c, s = tables["cases"], tables["case_spans"]
    rows = await conn.execute(
        sa.select(c.c.case_id, c.c.kind, c.c.opened_at, c.c.deadline, s.c.opened_at.label("since"),
                  s.c.closed_at)
        .join(s, s.c.case_id == c.c.case_id)
        .where(
            c.c.grid_id.in_(grids),
            s.c.opened_at < f.as_utc(last.day_end),
            sa.or_(s.c.closed_at.is_(None), s.c.closed_at >= f.as_utc(first.start)),
        )
    )  # fmt: skip
    spans: dict[uuid.UUID, list[tuple[Any, Any]]] = defaultdict(list)
    heads: dict[uuid.UUID, Any] = {}
    for x in rows:
        heads[x.case_id] = x
        spans[x.case_id].append(
            (f.aware(x.since), f.aware(x.closed_at) if x.closed_at is not None else None)
        )
    return [
        f.CaseFacts(
            kind=x.kind, opened_at=f.aware(x.opened_at),
            deadline=f.aware(x.deadline) if x.deadline is not None else None,
            spans=tuple(spans[case_id]), case_id=case_id,
        )
        for case_id, x in heads.items()
    ]  # fmt: skip


async def open_cases(
    conn: AsyncConnection, tables: roster.Tables, grid_id: uuid.UUID, *, as_of: date
) -> list[f.CaseFacts]:
    """The grid's cases open at the end of ``as_of``, by the dashboard's rule, overdue first."""
    month = f.month_of(as_of, as_of=as_of)
    return f.open_cases(await _cases(conn, tables, [grid_id], month, month), month)


async def _hazards(
    conn: AsyncConnection,
    tables: roster.Tables,
    places: roster.Tables,
    grids: list[uuid.UUID],
    start: date,
    end: date,
) -> list[f.HazardFacts]:
    h = tables["hazards"]
    rows = await conn.execute(
        sa.select(h.c.registered_on, h.c.closed_on, h.c.risk_level).where(
            _in_grids(places, h.c.place_id, grids),
            h.c.registered_on <= end,
            sa.or_(h.c.closed_on.is_(None), h.c.closed_on > start),
        )
    )
    return [f.HazardFacts(x.registered_on, x.closed_on, x.risk_level) for x in rows]


async def _training(
    conn: AsyncConnection,
    tables: roster.Tables,
    places: roster.Tables,
    grids: list[uuid.UUID],
    end: date,
) -> tuple[list[uuid.UUID], list[f.Enrolment], list[tuple[uuid.UUID, f.Credit]]]:
    """The grids' workers now (each grid's holder on the roster), their enrolments and every
    session they attended (cancelled ones earn nothing)."""
    g, w = places["grids"], places["workers"]
    workers = sorted(
        set(
            await conn.scalars(
                sa.select(g.c.worker_id)
                .join(w, w.c.worker_id == g.c.worker_id)
                .where(g.c.grid_id.in_(grids), w.c.left_on.is_(None))
            )
        )
    )
    if not workers:
        return [], [], []
    s, a, sc = tables["sessions"], tables["attendance"], tables["scores"]
    rows = await conn.execute(
        sa.select(a.c.worker_id, s.c.programme_id, s.c.module_code, s.c.starts_at, s.c.hours,
                  sc.c.score, sc.c.max_score)
        .join(s, s.c.session_id == a.c.session_id)
        .outerjoin(sc, (sc.c.session_id == a.c.session_id) & (sc.c.worker_id == a.c.worker_id))
        .where(a.c.worker_id.in_(workers), a.c.attended, sa.not_(s.c.cancelled))
    )  # fmt: skip
    credits: list[tuple[uuid.UUID, f.Credit]] = []
    by_programme: dict[tuple[Any, uuid.UUID], list[f.Credit]] = defaultdict(list)
    for x in rows:
        percent = None if x.score is None or not x.max_score else 100 * x.score / x.max_score
        credit = f.Credit(x.module_code, f.local_day(x.starts_at), x.hours, percent)
        credits.append((x.worker_id, credit))
        if x.programme_id is not None:
            by_programme[(x.programme_id, x.worker_id)].append(credit)
    m, p = tables["members"], tables["programmes"]
    members = await conn.execute(
        sa.select(m, p.c.modules, p.c.ordered, p.c.period_days)
        .join(p, p.c.programme_id == m.c.programme_id)
        .where(m.c.worker_id.in_(workers), m.c.enrolled_on <= end)
    )
    enrolments = [
        f.Enrolment(
            worker_id=x.worker_id,
            modules=tuple(
                f.Module(str(mod["code"]), float(mod["hours"]), mod.get("pass_score"))
                for mod in x.modules
            ),
            ordered=x.ordered, period_days=x.period_days, enrolled_on=x.enrolled_on,
            left_on=x.left_on, credits=tuple(by_programme[(x.programme_id, x.worker_id)]),
        )
        for x in members
    ]  # fmt: skip
    return workers, enrolments, credits
