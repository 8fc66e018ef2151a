"""The questions asked of the residents view: a resident's picture and a household's, as they
stood at the end of a day (``as_of``; today when not given).

What is as of the day: residence status and its history, where they lived (moves are dated),
household membership and roles, tags (valid_from / valid_until / untagged on), visits, needs,
cases (opened, each step, sessions held, agreement signed), care plans (started, visited,
ended), tickets (received, each step). What is not: the masks (the registry's latest correction
is shown), merges, the grid worker (who holds the grid now), the roster's place tree, and an
erasure, which holds for every day.

``tables``: the residents view's active tables; ``roster``: the views roster's.

A picture is read with a statement per kind of row (the person and the records merged into
them with their erasure, their facts, tags, households with their facts, cases with their
roles, ...), each fetching every row of that kind at once, joined where one kind names the
other: the statements, not the rows, are what a read costs (each a round trip and about 0.1 ms
of the views' CPU on PostgreSQL, once built: ``projections.prepared``). The cases, care plans
and tickets are asked in ``residents_dealings``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.governance.times import CHINA, local_day
from wangge.views.domain import residents as fold
from wangge.views.personal_data import shown
from wangge.views.projections import residents_dealings as dealt
from wangge.views.projections import residents_models as m
from wangge.views.projections.prepared import prepared
from wangge.views.projections.residents import PERSON
from wangge.views.projections.residents_dealings import line

Tables = Mapping[str, sa.Table]
Row = Any
PERSONAL_DATA = "/persons/{person_id}/personal-data"
"""The registry's route for a person's unmasked data (audited, within the reader's places)."""
MAX_MERGES = 16
"""How far a chain of merges is followed (a cycle would be the registry's bug, not a hang)."""


def today() -> date:
    """The day it is in the subdistrict."""
    return datetime.now(CHINA).date()


# -- resident --------------------------------------------------------------------------------------


async def resident(
    conn: AsyncConnection,
    tables: Tables,
    roster: Tables,
    person_id: uuid.UUID,
    *,
    as_of: date | None = None,
) -> m.ResidentPicture | None:
    """A resident's picture at the end of ``as_of`` (today if None); None for a person the
    registry had not registered by then. A merged record answers with its survivor's picture."""
    day = as_of or today()
    survivor, merged, flags = await _person_and_merged(conn, tables, person_id)
    if survivor is None:
        return None
    ids = [survivor.person_id, *merged]
    facts = await _person_facts(conn, tables, survivor.person_id)
    first = min([local_day(survivor.registered_at), *(f.on for f in facts if f.on is not None)])
    if first > day:
        return None
    if all(i in flags for i in ids):
        erased = {i for i in ids if flags[i]}
    else:  # merges followed past the first statement
        erased = await _erased(conn, tables, PERSON, ids)
    history = fold.residence(facts, day)
    stays = fold.homes(facts, day)
    home = fold.home_on(stays, day)
    households = await _memberships(conn, tables, ids, day)
    home_id = home.dwelling_id if home else None
    if home_id is None and not stays and households:
        home_id = households[0].dwelling_id  # registered in a household, no move recorded
    last_id = home_id or (stays[-1].dwelling_id if stays else None)
    around = {s.dwelling_id for s in stays} | {d for d in (home_id, last_id) if d is not None}
    dwellings, workers = await _dwellings(conn, roster, around)
    grid_id = dwellings[last_id].grid_id if last_id in dwellings else None

    visits = await _visits(conn, tables, ids, stays, day)
    needs = await _needs(conn, tables, ids, stays, day)
    residents = [str(i) for i in ids]
    concerns = await dealt.concerns(conn, tables, residents, [n.need_id for n in needs])
    cases, case_lines = await dealt.cases(conn, tables, concerns, day)
    plans, plan_lines = await dealt.care_plans(conn, tables, residents, day, erased)
    tickets, ticket_lines = await dealt.tickets(
        conn, tables, stays, [c.ticket_id for c in cases if c.ticket_id is not None], day
    )
    tag_rows = await _tag_rows(conn, tables, ids)
    lines = [
        *_person_lines(facts, history, dwellings, day),
        *_tag_lines(tag_rows, day),
        *(line(local_day(v.visited_at), v.visited_at, "visit", "走访", v.visit_id)
          for v in visits),
        *(line(n.noted_on, None, "need", f"需求: {n.category}", n.need_id) for n in needs),
        *case_lines, *plan_lines, *ticket_lines,
    ]  # fmt: skip
    is_erased = survivor.person_id in erased
    return m.ResidentPicture(
        person_id=survivor.person_id, requested_id=person_id, merged_from=merged,
        as_of=as_of, erased=is_erased,
        name_masked=shown(survivor.name_masked, erased=is_erased),
        identity_masked=shown(survivor.identity_masked, erased=is_erased),
        phone_masked=shown(survivor.phone_masked, erased=is_erased),
        sex=survivor.sex, birth_year=survivor.birth_year,
        age_band=fold.age_band(survivor.birth_year, day), hukou_type=survivor.hukou_type,
        residence_status=history[-1].status if history else None,
        residence_history=[m.StatusChange(on=h.on, status=h.status) for h in history],
        personal_data=m.PersonalDataLink(
            path=PERSONAL_DATA.format(person_id=survivor.person_id)
        ),
        dwelling=dwellings.get(home_id) if home_id else None,
        last_dwelling=dwellings.get(last_id) if last_id else None,
        households=households,
        grid_worker=workers.get(grid_id) if grid_id is not None else None,
        tags=_tags(tag_rows, day),
        visits=visits, needs=needs, cases=cases, care_plans=plans, tickets=tickets,
        timeline=_timeline(lines),
    )  # fmt: skip


async def _person_and_merged(
    conn: AsyncConnection, tables: Tables, person_id: uuid.UUID
) -> tuple[Row | None, list[uuid.UUID], dict[uuid.UUID, bool]]:
    """The record that answers for ``person_id`` (its survivor, if merged), the records merged
    into it, and whether each record read in the first statement was erased: in one statement
    unless there are merges to follow."""
    p, e = tables["persons"], tables["erasures"]

    def make() -> sa.Select[Any]:
        gone = sa.exists().where(e.c.kind == PERSON, e.c.subject_id == p.c.person_id)
        return sa.select(p, gone.label("gone")).where(
            sa.or_(p.c.person_id == sa.bindparam("id"), p.c.merged_into == sa.bindparam("id"))
        )

    rows = (await conn.execute(prepared("person_and_merged", p, make), {"id": person_id})).all()
    flags = {r.person_id: bool(r.gone) for r in rows}
    row = next((r for r in rows if r.person_id == person_id), None)
    if row is None:
        return None, [], flags
    if row.merged_into is not None:
        survivor = await _survivor(conn, p, person_id)
        if survivor is None:
            return None, [], flags
        return survivor, await _merged_into(conn, p, survivor.person_id), {}
    if all(r.person_id == person_id for r in rows):
        return row, [], flags
    return row, await _merged_into(conn, p, person_id), flags


async def _survivor(conn: AsyncConnection, p: sa.Table, person_id: uuid.UUID) -> Row | None:
    row = (await conn.execute(sa.select(p).where(p.c.person_id == person_id))).first()
    seen = {person_id}
    while row is not None and row.merged_into is not None and len(seen) < MAX_MERGES:
        into = (await conn.execute(sa.select(p).where(p.c.person_id == row.merged_into))).first()
        if into is None or into.person_id in seen:
            break  # merged into a record not copied yet: answer with the record itself
        seen.add(into.person_id)
        row = into
    return row


async def _merged_into(conn: AsyncConnection, p: sa.Table, survivor: uuid.UUID) -> list[uuid.UUID]:
    """The records merged into ``survivor``, also through records merged into those."""
    found: list[uuid.UUID] = []
    frontier = [survivor]
    while frontier and len(found) < MAX_MERGES:
        rows = await conn.scalars(sa.select(p.c.person_id).where(p.c.merged_into.in_(frontier)))
        frontier = [r for r in rows if r not in found and r != survivor]
        found.extend(frontier)
    return sorted(found)


async def _person_facts(
    conn: AsyncConnection, tables: Tables, person_id: uuid.UUID
) -> list[fold.Fact]:
    f = tables["person_facts"]
    query = prepared("facts", f, lambda: sa.select(f).where(f.c.person_id == sa.bindparam("id")))
    rows = await conn.execute(query, {"id": person_id})
    return [
        fold.Fact(r.version, fold.PersonFact(r.kind), r.on, r.status, r.dwelling_id) for r in rows
    ]


async def _erased(
    conn: AsyncConnection, tables: Tables, kind: str, ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these persons (or parties) had their data erased, by any producer."""
    if not ids:
        return set()
    e = tables["erasures"]
    query = prepared("erased", e, lambda: sa.select(e.c.subject_id).where(
        e.c.kind == sa.bindparam("kind"), e.c.subject_id.in_(sa.bindparam("ids", expanding=True))
    ))  # fmt: skip
    return set(await conn.scalars(query, {"kind": kind, "ids": list(ids)}))


# -- households ------------------------------------------------------------------------------------


async def _household_facts(
    conn: AsyncConnection, tables: Tables, household_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[fold.MemberFact]]:
    hf = tables["household_facts"]
    out: dict[uuid.UUID, list[fold.MemberFact]] = defaultdict(list)
    if household_ids:
        rows = await conn.execute(sa.select(hf).where(hf.c.household_id.in_(list(household_ids))))
        for r in rows:
            out[r.household_id].append(fold.MemberFact(
                r.version, fold.HouseholdFact(r.kind), r.on, r.person_id, r.relationship
            ))  # fmt: skip
    return out


async def _memberships(
    conn: AsyncConnection, tables: Tables, ids: Sequence[uuid.UUID], day: date
) -> list[m.HouseholdMembership]:
    hf, hh = tables["household_facts"], tables["households"]

    def make() -> sa.Select[Any]:
        theirs = sa.select(hf.c.household_id).where(
            hf.c.person_id.in_(sa.bindparam("ids", expanding=True))
        )
        return (
            sa.select(hf, hh.c.number, hh.c.type, hh.c.dwelling_id, hh.c.registered_on)
            .join(hh, hh.c.household_id == hf.c.household_id)
            .where(hf.c.household_id.in_(theirs))
        )

    found = await conn.execute(prepared("memberships", hf, make), {"ids": list(ids)})
    facts: dict[uuid.UUID, list[fold.MemberFact]] = defaultdict(list)
    rows: dict[uuid.UUID, Row] = {}
    for r in found:
        rows[r.household_id] = r
        facts[r.household_id].append(fold.MemberFact(
            r.version, fold.HouseholdFact(r.kind), r.on, r.person_id, r.relationship
        ))  # fmt: skip
    out = []
    ordered = sorted(rows.items(), key=lambda kv: (kv[1].registered_on, str(kv[0])))
    for household_id, row in ordered:
        for member in fold.members(facts[household_id], day):
            if member.person_id in ids:
                out.append(m.HouseholdMembership(
                    household_id=household_id, number=row.number, type=row.type,
                    dwelling_id=row.dwelling_id, relationship=member.relationship,
                    since=member.since,
                ))  # fmt: skip
    return out


async def household(
    conn: AsyncConnection,
    tables: Tables,
    roster: Tables,
    household_id: uuid.UUID,
    *,
    as_of: date | None = None,
) -> m.HouseholdPicture | None:
    """A household's picture at the end of ``as_of`` (today if None); None for a household the
    registry had not registered by then."""
    day = as_of or today()
    hh, p = tables["households"], tables["persons"]
    row = (await conn.execute(sa.select(hh).where(hh.c.household_id == household_id))).first()
    if row is None or row.registered_on > day:
        return None
    facts = (await _household_facts(conn, tables, [household_id]))[household_id]
    now = fold.members(facts, day)
    ids = [x.person_id for x in now]
    found = await conn.execute(sa.select(p).where(p.c.person_id.in_(ids)))
    persons = {r.person_id: r for r in found}
    erased = await _erased(conn, tables, PERSON, ids)
    tags = await _tag_rows(conn, tables, ids)
    members = []
    for x in now:
        person = persons.get(x.person_id)
        gone = x.person_id in erased
        members.append(m.Member(
            person_id=x.person_id, relationship=x.relationship, since=x.since,
            name_masked=shown(person.name_masked, erased=gone) if person else None,
            erased=gone, sex=person.sex if person else None,
            age_band=fold.age_band(person.birth_year, day) if person else None,
            tags=[t.tag for t in _tags([r for r in tags if r.person_id == x.person_id], day)
                  if t.state == fold.TagState.ACTIVE],
        ))  # fmt: skip
    residents = [str(i) for i in ids]
    n = tables["needs"]
    need_ids = list(await conn.scalars(
        sa.select(n.c.need_id).where(sa.or_(n.c.household_id == household_id,
                                            n.c.person_id.in_(ids)))
    ))  # fmt: skip
    concerns = await dealt.concerns(conn, tables, residents, need_ids)
    cases, case_lines = await dealt.cases(conn, tables, concerns, day)
    plans, plan_lines = await dealt.care_plans(conn, tables, residents, day, erased, running=True)
    at_dwelling = [fold.Home(row.dwelling_id, row.registered_on, None)]
    tickets, ticket_lines = await dealt.tickets(conn, tables, at_dwelling, [], day)
    placed, workers = await _dwellings(conn, roster, [row.dwelling_id])
    dwelling = placed.get(row.dwelling_id)
    member_lines = [
        line(f.on, None, f"household_{f.kind}", f"{_MEMBER_WORDS[f.kind]}", f.person_id)
        for f in facts if f.on <= day
    ]  # fmt: skip
    return m.HouseholdPicture(
        household_id=household_id, number=row.number, type=row.type,
        registered_on=row.registered_on, as_of=as_of,
        dwelling=dwelling or m.Dwelling(dwelling_id=row.dwelling_id),
        grid_worker=workers.get(dwelling.grid_id) if dwelling and dwelling.grid_id else None,
        members=members, open_cases=[c for c in cases if c.open], care_plans=plans,
        tickets=tickets,
        timeline=_timeline([*member_lines, *case_lines, *plan_lines, *ticket_lines]),
    )  # fmt: skip


async def grid_households(
    conn: AsyncConnection,
    tables: Tables,
    roster: Tables,
    grid_id: uuid.UUID,
    *,
    as_of: date | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[int, list[m.HouseholdInGrid]]:
    """The households living in the grid's dwellings at the end of ``as_of`` (registered by
    then, with a member), by building, dwelling and number: how many, and a page of them with
    their members (masked). Four statements, whatever the page's size."""
    day = as_of or today()
    hh, places = tables["households"], roster["places"]
    b = places.alias("b")
    rows = (await conn.execute(
        sa.select(hh.c.household_id, hh.c.number, hh.c.type, places.c.name.label("dwelling"),
                  b.c.name.label("building"))
        .join(places, places.c.place_id == hh.c.dwelling_id)
        .outerjoin(b, b.c.place_id == places.c.building_id)
        .where(places.c.grid_id == grid_id, hh.c.registered_on <= day)
        .order_by(b.c.name, places.c.name, hh.c.number)
    )).all()  # fmt: skip
    facts = await _household_facts(conn, tables, [r.household_id for r in rows])
    living = [(r, now) for r in rows if (now := fold.members(facts[r.household_id], day))]
    page = living[offset : offset + limit]
    ids = [x.person_id for _, now in page for x in now]
    p = tables["persons"]
    persons = {
        r.person_id: r for r in await conn.execute(sa.select(p).where(p.c.person_id.in_(ids)))
    }
    erased = await _erased(conn, tables, PERSON, ids)
    tags: dict[uuid.UUID, list[Row]] = defaultdict(list)
    for t in await _tag_rows(conn, tables, ids):
        tags[t.person_id].append(t)
    out = []
    for r, now in page:
        members = []
        for x in now:
            person, gone = persons.get(x.person_id), x.person_id in erased
            members.append(m.Member(
                person_id=x.person_id, relationship=x.relationship, since=x.since,
                name_masked=shown(person.name_masked, erased=gone) if person else None,
                erased=gone, sex=person.sex if person else None,
                age_band=fold.age_band(person.birth_year, day) if person else None,
                tags=[t.tag for t in _tags(tags[x.person_id], day)
                      if t.state == fold.TagState.ACTIVE],
            ))  # fmt: skip
        out.append(m.HouseholdInGrid(
            household_id=r.household_id, number=r.number, type=r.type,
            building_name=r.building, dwelling_name=r.dwelling, members=members,
        ))  # fmt: skip
    return len(living), out


async def case_titles(
    conn: AsyncConnection, tables: Tables, case_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Each case's title as the cases service published it (redacted at the source)."""
    if not case_ids:
        return {}
    c = tables["cases"]
    rows = await conn.execute(
        sa.select(c.c.case_id, c.c.title).where(c.c.case_id.in_(list(case_ids)))
    )
    return {r.case_id: r.title for r in rows}


_MEMBER_WORDS = {
    fold.HouseholdFact.JOINED: "成员加入", fold.HouseholdFact.LEFT: "成员离开",
    fold.HouseholdFact.HEAD: "户主变更",
}  # fmt: skip


# -- places ----------------------------------------------------------------------------------------


Workers = dict[uuid.UUID, m.GridWorker]
"""The worker holding each grid now, by grid id (the grids of the dwellings asked about)."""


async def _dwellings(
    conn: AsyncConnection, roster: Tables, dwelling_ids: Collection[uuid.UUID]
) -> tuple[dict[uuid.UUID, m.Dwelling], Workers]:
    """Each dwelling placed in its building, grid and community (those the roster knows), and
    the worker who holds each of their grids now (the roster's ``worker_of``): one statement."""
    if not dwelling_ids:
        return {}, {}
    places, grids, workers = roster["places"], roster["grids"], roster["workers"]

    def make() -> sa.Select[Any]:
        b, g, c = places.alias("b"), places.alias("g"), places.alias("c")
        return (
            sa.select(
                places.c.place_id, places.c.name, places.c.building_id, places.c.grid_id,
                places.c.community_id, b.c.name.label("building_name"),
                g.c.code.label("grid_code"), g.c.name.label("grid_name"),
                c.c.code.label("community_code"), c.c.name.label("community_name"),
                workers.c.worker_id, workers.c.account.label("worker_account"),
                workers.c.name.label("worker_name"),
            )
            .outerjoin(b, b.c.place_id == places.c.building_id)
            .outerjoin(g, g.c.place_id == places.c.grid_id)
            .outerjoin(c, c.c.place_id == places.c.community_id)
            .outerjoin(grids, grids.c.grid_id == places.c.grid_id)
            .outerjoin(workers, sa.and_(workers.c.worker_id == grids.c.worker_id,
                                        workers.c.left_on.is_(None)))
            .where(places.c.place_id.in_(sa.bindparam("ids", expanding=True)))
        )  # fmt: skip

    out, held = {}, {}
    for r in await conn.execute(prepared("dwellings", places, make), {"ids": list(dwelling_ids)}):
        if r.grid_id is not None and r.worker_id is not None:
            held[r.grid_id] = m.GridWorker(
                worker_id=r.worker_id, account=r.worker_account, name=r.worker_name
            )
        out[r.place_id] = m.Dwelling(
            dwelling_id=r.place_id, dwelling_name=r.name,
            building_id=r.building_id, building_name=r.building_name,
            grid_id=r.grid_id, grid_code=r.grid_code, grid_name=r.grid_name,
            community_id=r.community_id, community_code=r.community_code,
            community_name=r.community_name,
        )  # fmt: skip
    for dwelling_id in dwelling_ids:
        out.setdefault(dwelling_id, m.Dwelling(dwelling_id=dwelling_id))
    return out, held


# -- tags, visits, needs ---------------------------------------------------------------------------


async def _tag_rows(conn: AsyncConnection, tables: Tables, ids: Sequence[uuid.UUID]) -> list[Row]:
    t = tables["tags"]
    query = prepared("tags", t, lambda: sa.select(t).where(
        t.c.person_id.in_(sa.bindparam("ids", expanding=True))
    ).order_by(t.c.version))  # fmt: skip
    return list((await conn.execute(query, {"ids": list(ids)})).all())


def _tags(rows: Iterable[Row], day: date) -> list[m.Tag]:
    """Each tag's latest tagging valid by the day (a re-tagging replaces the one before, as in
    the registry), with its state on the day."""
    latest: dict[str, tuple[Row, fold.TagState]] = {}
    for r in rows:
        state = fold.tag_state(r.valid_from, r.valid_until, r.untagged_on, day)
        if state is not None:
            latest[r.tag] = (r, state)
    return [
        m.Tag(tag=r.tag, source=r.source, valid_from=r.valid_from, valid_until=r.valid_until,
              untagged_on=r.untagged_on if state == fold.TagState.UNTAGGED else None,
              state=state.value)
        for r, state in sorted(latest.values(), key=lambda pair: pair[0].tag)
    ]  # fmt: skip


def _tag_lines(rows: Iterable[Row], day: date) -> list[m.TimelineEntry]:
    """A tagging and its end, once: a merge gives the duplicate's tags to the record kept, so
    the survivor and the record merged into it may carry the same period."""
    lines = []
    seen: set[tuple[str, date, str, date | None]] = set()
    for r in rows:
        period = (r.tag, r.valid_from, r.source, r.untagged_on)
        if period in seen:
            continue
        seen.add(period)
        if r.valid_from <= day:
            lines.append(line(r.valid_from, None, "tagged", f"标记: {r.tag} ({r.source})", r.tag))
        if r.untagged_on is not None and r.untagged_on <= day:
            lines.append(line(r.untagged_on, None, "untagged", f"取消标记: {r.tag}", r.tag))
    return lines


async def _visits(
    conn: AsyncConnection,
    tables: Tables,
    ids: Sequence[uuid.UUID],
    stays: Sequence[fold.Home],
    day: date,
) -> list[m.Visit]:
    """Visits that named them, or came to a dwelling while they lived there, by the day."""
    v, vp = tables["visits"], tables["visit_persons"]

    def make() -> sa.Select[Any]:
        # one IN over a union: an OR of two INs, one a subquery, is a scan of every visit
        at = v.alias("at")
        wanted = sa.union(
            sa.select(vp.c.visit_id).where(vp.c.person_id.in_(sa.bindparam("ids", expanding=True))),
            sa.select(at.c.visit_id).where(
                at.c.dwelling_id.in_(sa.bindparam("dwellings", expanding=True))
            ),
        )
        return sa.select(v).where(v.c.visit_id.in_(wanted))

    dwellings = list({s.dwelling_id for s in stays})
    rows = await conn.execute(
        prepared("visits", v, make), {"ids": list(ids), "dwellings": dwellings}
    )
    out = []
    for r in rows:
        visited = local_day(r.visited_at)
        if visited > day:
            continue
        if str_in(ids, r.persons) or fold.lived_at(stays, r.dwelling_id, visited):
            out.append(m.Visit(
                visit_id=r.visit_id, visited_at=r.visited_at, worker_account=r.worker_account,
                dwelling_id=r.dwelling_id, household_id=r.household_id,
            ))  # fmt: skip
    return sorted(out, key=lambda x: x.visited_at, reverse=True)


def str_in(ids: Iterable[uuid.UUID], listed: Iterable[str]) -> bool:
    """Whether one of ``ids`` is in a list of ids kept as strings."""
    return bool({str(i) for i in ids} & set(listed))


async def _needs(
    conn: AsyncConnection,
    tables: Tables,
    ids: Sequence[uuid.UUID],
    stays: Sequence[fold.Home],
    day: date,
) -> list[m.Need]:
    """Needs noted for them, or for no one in particular at a dwelling while they lived there;
    dated by their visit (when it was noted, if the visit is not copied)."""
    n, v = tables["needs"], tables["visits"]
    query = prepared("needs", n, lambda: (
        sa.select(n, v.c.visited_at)
        .outerjoin(v, v.c.visit_id == n.c.visit_id)
        .where(sa.or_(n.c.person_id.in_(sa.bindparam("ids", expanding=True)),
                      sa.and_(n.c.person_id.is_(None),
                              n.c.dwelling_id.in_(sa.bindparam("dwellings", expanding=True)))))
    ))  # fmt: skip
    dwellings = list({s.dwelling_id for s in stays})
    rows = await conn.execute(query, {"ids": list(ids), "dwellings": dwellings})
    out = []
    for r in rows:
        noted = local_day(r.visited_at if r.visited_at is not None else r.noted_at)
        if noted > day:
            continue
        if r.person_id is not None or fold.lived_at(stays, r.dwelling_id, noted):
            out.append(m.Need(need_id=r.need_id, visit_id=r.visit_id, noted_on=noted,
                              category=r.category, description=r.description))  # fmt: skip
    return sorted(out, key=lambda x: (x.noted_on, str(x.need_id)), reverse=True)


# -- the timeline ----------------------------------------------------------------------------------


_STATUS_WORDS = {
    "resident": "常住", "floating": "流动", "lodging": "寄住", "moved_out": "流出",
    "deceased": "死亡",
}  # fmt: skip


def _person_lines(
    facts: Sequence[fold.Fact],
    history: Sequence[fold.StatusChange],
    dwellings: Mapping[uuid.UUID, m.Dwelling],
    day: date,
) -> list[m.TimelineEntry]:
    lines = []
    for f in facts:
        if (
            f.on is None
            or f.on > day
            or f.kind not in (fold.PersonFact.MOVED_IN, fold.PersonFact.MOVED_OUT)
        ):
            continue  # fmt: skip
        known = dwellings.get(f.dwelling_id) if f.dwelling_id else None
        where = known.dwelling_name if known and known.dwelling_name else ""
        word = "迁入" if f.kind == fold.PersonFact.MOVED_IN else "迁出"
        lines.append(line(f.on, None, f.kind.value, f"{word} {where}".strip(),
                           f.dwelling_id or ""))  # fmt: skip
    for h in history:
        if h.on is not None:
            word = _STATUS_WORDS.get(h.status, h.status)
            lines.append(line(h.on, None, "residence_status", f"居住状态: {word}", h.status))
    return lines


def _timeline(lines: Iterable[m.TimelineEntry]) -> list[m.TimelineEntry]:
    """Newest first; on one day, timed entries after the dated-only ones (which hold all day)."""

    def key(x: m.TimelineEntry) -> tuple[Any, ...]:
        return (x.on, x.at is not None, x.at.timestamp() if x.at else 0.0, x.kind, x.ref)

    return sorted(lines, key=key, reverse=True)
