"""The cases, care plans and 12345 tickets in a resident's or a household's picture, each at its
stage at the end of the day asked about, and their lines in the picture's timeline
(``residents_queries`` asks the rest and puts the picture together).

A case concerns a resident by a role in it (a subject, a party) or by one of their needs it was
opened from; a ticket, by the address it was routed to while they lived there (the hotline's
events name no caller by person id), or because one of their cases answers it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.governance.times import local_day, stored
from wangge.views.domain import residents as fold
from wangge.views.personal_data import shown
from wangge.views.projections import residents_models as m
from wangge.views.projections.prepared import prepared
from wangge.views.projections.residents import PARTY, PERSON

Tables = Mapping[str, sa.Table]
Row = Any


# -- cases -----------------------------------------------------------------------------------------


async def concerns(
    conn: AsyncConnection, tables: Tables, residents: Sequence[str], need_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    """The cases that concern the residents and how: their roles in it (a subject, a party's
    role), ``need`` for a case opened from one of their needs."""
    cr, c = tables["case_residents"], tables["cases"]

    def make() -> sa.Executable:
        roles = sa.select(cr.c.case_id, cr.c.role).where(
            cr.c.resident.in_(sa.bindparam("residents", expanding=True))
        )
        from_needs = sa.select(c.c.case_id, sa.literal("need", sa.String).label("role"))
        return sa.union_all(
            roles, from_needs.where(c.c.need_id.in_(sa.bindparam("needs", expanding=True)))
        )

    # an empty list matches nothing (SQLAlchemy renders an empty IN as false)
    found = await conn.execute(
        prepared("concerns", cr, make), {"residents": list(residents), "needs": list(need_ids)}
    )
    out: dict[uuid.UUID, set[str]] = defaultdict(set)
    for r in found:
        out[r.case_id].add(r.role)
    return {k: sorted(v) for k, v in out.items()}


_CASE_WORDS = {
    "resolved": "办结", "closed": "结案", "reopened": "重办", "escalated": "上报",
    "referred": "转办", "followed_up": "回访",
}  # fmt: skip


async def cases(
    conn: AsyncConnection, tables: Tables, concerns: Mapping[uuid.UUID, list[str]], day: date
) -> tuple[list[m.Case], list[m.TimelineEntry]]:
    """The cases opened by the day, each at its stage then, newest first; and their lines."""
    if not concerns:
        return [], []
    ids = list(concerns)
    c, s, ses, a = tables["cases"], tables["case_steps"], tables["sessions"], tables["agreements"]
    steps: dict[uuid.UUID, list[Row]] = defaultdict(list)
    for r in await conn.execute(sa.select(s).where(s.c.case_id.in_(ids)).order_by(s.c.version)):
        if fold.recorded_by(r.at, day):
            steps[r.case_id].append(r)
    sessions: dict[uuid.UUID, list[datetime]] = defaultdict(list)
    for r in await conn.execute(sa.select(ses).where(ses.c.case_id.in_(ids))):
        if fold.recorded_by(r.held_at, day):
            sessions[r.case_id].append(stored(r.held_at))
    agreements = {
        r.case_id: r
        for r in await conn.execute(sa.select(a).where(a.c.case_id.in_(ids)))
        if r.signed_on <= day
    }
    parties = await _parties(conn, tables, ids)
    cases, lines = [], []
    for r in await conn.execute(sa.select(c).where(c.c.case_id.in_(ids))):
        if not fold.recorded_by(r.opened_at, day):
            continue
        own = steps[r.case_id]
        stage = fold.stage(x.step for x in own)
        held = sorted(sessions[r.case_id])
        agreement = agreements.get(r.case_id)
        mediation = None
        if r.kind == "dispute" or held or agreement is not None or parties[r.case_id]:
            mediation = m.Mediation(
                parties=parties[r.case_id], sessions_held=len(held),
                session_dates=[local_day(h) for h in held],
                agreement=_agreement(agreement, day) if agreement is not None else None,
            )  # fmt: skip
        cases.append(m.Case(
            case_id=r.case_id, kind=r.kind, assistance=r.assistance, source=r.source,
            title=r.title, opened_at=r.opened_at, stage=stage.value,
            reopened=sum(1 for x in own if x.step == "reopened"),
            open=stage in fold.OPEN_STAGES, concerns=concerns[r.case_id], ticket_id=r.ticket_id,
            mediation=mediation,
        ))  # fmt: skip
        ref = r.case_id
        lines.append(line(local_day(r.opened_at), r.opened_at, "case_opened",
                           f"立案 ({r.kind}): {r.title}", ref))  # fmt: skip
        lines += [line(local_day(x.at), x.at, f"case_{x.step}", _CASE_WORDS[x.step], ref)
                  for x in own if x.step in _CASE_WORDS]  # fmt: skip
        lines += [line(local_day(h), h, "mediation_session", "调解", ref) for h in held]
        if agreement is not None:
            lines.append(line(
                agreement.signed_on, None, "agreement_signed",
                f"调解协议, 司法确认截止 {agreement.confirmation_deadline.isoformat()}", ref,
            ))  # fmt: skip
    cases.sort(key=lambda x: (x.opened_at, str(x.case_id)), reverse=True)
    return cases, lines


async def _parties(
    conn: AsyncConnection, tables: Tables, case_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[m.Party]]:
    """Each case's parties, in the order they joined, shown erased once the party's data (or
    the resident's, for a registered one) was."""
    pt = tables["parties"]
    rows = (await conn.execute(sa.select(pt).where(pt.c.case_id.in_(list(case_ids))))).all()
    residents = {uuid.UUID(r.resident) for r in rows if r.resident and _is_uuid(r.resident)}
    e = tables["erasures"]
    erasures = (
        await conn.execute(
            sa.select(e.c.subject_id, e.c.kind).where(
                e.c.subject_id.in_([*(r.party_id for r in rows), *residents])
            )
        )
    ).all() if rows else []  # fmt: skip
    gone = {x.subject_id for x in erasures if x.kind == PARTY}
    gone_residents = {str(x.subject_id) for x in erasures if x.kind == PERSON}
    out: dict[uuid.UUID, list[m.Party]] = defaultdict(list)
    for r in sorted(rows, key=lambda r: (r.role, str(r.party_id))):
        erased = r.party_id in gone or r.resident in gone_residents
        out[r.case_id].append(m.Party(
            party_id=r.party_id, role=r.role, resident=r.resident,
            name_masked=shown(r.name_masked, erased=erased) or "",
        ))  # fmt: skip
    return out


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _agreement(row: Row, day: date) -> m.Agreement:
    followed = row.followed_up_at is not None and fold.recorded_by(row.followed_up_at, day)
    return m.Agreement(
        agreement_id=row.agreement_id, signed_on=row.signed_on, perform_by=row.perform_by,
        confirmation_deadline=row.confirmation_deadline,
        honoured=row.honoured if followed else None,
    )  # fmt: skip


# -- care plans ------------------------------------------------------------------------------------


async def care_plans(
    conn: AsyncConnection,
    tables: Tables,
    residents: Sequence[str],
    day: date,
    erased: Collection[uuid.UUID],
    *,
    running: bool = False,
) -> tuple[list[m.CarePlan], list[m.TimelineEntry]]:
    """The residents' plans started by the day (only those still running then, if ``running``),
    with their schedule on the day; and their lines."""
    p, v = tables["care_plans"], tables["care_visits"]
    # each plan with its visits by the day, one row per visit (one with none for a plan without)
    query = prepared("care_plans", p, lambda: (
        sa.select(p, v.c.visited_on)
        .outerjoin(v, sa.and_(v.c.plan_id == p.c.plan_id,
                              v.c.visited_on <= sa.bindparam("day", type_=sa.Date)))
        .where(p.c.resident.in_(sa.bindparam("residents", expanding=True)),
               p.c.starts_on <= sa.bindparam("day", type_=sa.Date))
    ))  # fmt: skip
    found = await conn.execute(query, {"residents": list(residents), "day": day})
    by_plan: dict[uuid.UUID, Row] = {}
    visited: dict[uuid.UUID, list[date]] = defaultdict(list)
    for r in found:
        by_plan[r.plan_id] = r
        if r.visited_on is not None:
            visited[r.plan_id].append(r.visited_on)
    rows = list(by_plan.values())
    plans, lines = [], []
    erased_ids = {str(i) for i in erased}
    for r in rows:
        ended = r.ended_on if r.ended_on is not None and r.ended_on <= day else None
        if running and ended is not None:
            continue
        days = sorted(visited[r.plan_id])
        schedule = fold.care_schedule(r.starts_on, r.every_days, frozenset(days), day, ended)
        plans.append(m.CarePlan(
            plan_id=r.plan_id,
            resident_masked=shown(r.resident_masked, erased=r.resident in erased_ids) or "",
            kind=r.kind, every_days=r.every_days, worker_account=r.worker_account,
            starts_on=r.starts_on, ended_on=ended, visits_done=len(days),
            last_visit_on=days[-1] if days else None, due_on=schedule.due_on,
            missed=list(schedule.missed),
        ))  # fmt: skip
        started = f"关爱计划: {r.kind}"
        lines.append(line(r.starts_on, None, "care_plan_started", started, r.plan_id))
        lines += [line(d, None, "care_visit", "关爱走访", r.plan_id) for d in days]
        if ended is not None:
            lines.append(line(ended, None, "care_plan_ended", "关爱计划结束", r.plan_id))
    plans.sort(key=lambda x: (x.starts_on, str(x.plan_id)), reverse=True)
    return plans, lines


# -- tickets ---------------------------------------------------------------------------------------


_TICKET_WORDS = {"replied": "回复", "followed_up": "回访", "reopened": "重办", "returned": "退单"}


async def tickets(
    conn: AsyncConnection,
    tables: Tables,
    stays: Sequence[fold.Home],
    answered: Sequence[uuid.UUID],
    day: date,
) -> tuple[list[m.Ticket], list[m.TimelineEntry]]:
    """Tickets received by the day that were routed (as of the day) to a dwelling while someone
    lived there (``stays``), and the tickets their cases answer; and their lines. The hotline's
    events name no caller by person id, so the address is what ties a ticket to a resident."""
    t, s = tables["tickets"], tables["ticket_steps"]
    dwellings = list({x.dwelling_id for x in stays})
    if not dwellings and not answered:
        return [], []

    def make() -> sa.Select[Any]:
        # one IN over a union: an OR of two INs, one a subquery, is a scan of every ticket
        wanted = sa.union(
            sa.select(s.c.ticket_id).where(
                s.c.step == "routed", s.c.place_id.in_(sa.bindparam("dwellings", expanding=True))
            ),
            sa.select(t.c.ticket_id).where(
                t.c.ticket_id.in_(sa.bindparam("answered", expanding=True))
            ),
        )
        # each ticket with its steps, one row per step
        return (
            sa.select(t, s.c.version, s.c.step, s.c.at, s.c.place_id, s.c.grid_id,
                      s.c.satisfaction)
            .join(s, s.c.ticket_id == t.c.ticket_id)
            .where(t.c.ticket_id.in_(wanted))
        )  # fmt: skip

    found = await conn.execute(
        prepared("tickets", t, make), {"dwellings": dwellings, "answered": list(answered)}
    )
    by_ticket: dict[uuid.UUID, Row] = {}
    steps: dict[uuid.UUID, list[Row]] = defaultdict(list)
    for r in found:
        by_ticket[r.ticket_id] = r
        if fold.recorded_by(r.at, day):
            steps[r.ticket_id].append(r)
    tickets, lines = [], []
    for r in by_ticket.values():
        if not fold.recorded_by(r.received_at, day):
            continue
        own = sorted(steps[r.ticket_id], key=lambda x: x.version)
        state = fold.ticket_state(
            fold.TicketStep(x.version, x.step, x.place_id, x.grid_id, x.satisfaction) for x in own
        )
        received = local_day(r.received_at)
        at_home = state.place_id is not None and fold.lived_at(stays, state.place_id, received)
        if not at_home and r.ticket_id not in answered:
            continue
        tickets.append(m.Ticket(
            ticket_id=r.ticket_id, ticket_number=r.ticket_number, received_at=r.received_at,
            category_name=r.category_name, kind=r.kind, status=state.status,
            satisfaction=state.satisfaction, place_id=state.place_id,
            why="at_dwelling" if at_home else "case",
        ))  # fmt: skip
        ref = r.ticket_id
        lines.append(line(received, r.received_at, "ticket_received",
                           f"12345 工单 {r.ticket_number}: {r.category_name}", ref))  # fmt: skip
        lines += [line(local_day(x.at), x.at, f"ticket_{x.step}", _TICKET_WORDS[x.step], ref)
                  for x in own if x.step in _TICKET_WORDS]  # fmt: skip
    tickets.sort(key=lambda x: (x.received_at, str(x.ticket_id)), reverse=True)
    return tickets, lines


# -- the timeline ----------------------------------------------------------------------------------


def line(on: date, at: datetime | None, kind: str, summary: str, ref: object) -> m.TimelineEntry:
    """One entry of a picture's timeline (``at``: when it happened, if the fact says)."""
    return m.TimelineEntry(
        on=on, at=stored(at) if at is not None else None, kind=kind, summary=summary, ref=str(ref)
    )
