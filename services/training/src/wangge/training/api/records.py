"""``/workers``: the roster and each worker's full training record; ``/coverage``: how many
of the subdistrict's (or a community's) workers a session, or a topic, reached."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from wangge.events.db import read_only
from wangge.governance.errors import DomainError
from wangge.governance.times import StoredTime, local_day, utc
from wangge.service.auth import Principal
from wangge.service.deps import State
from wangge.training.api.access import MANAGERS, Reader, may_read, readable_worker
from wangge.training.api.bounds import Moment
from wangge.training.api.handbooks import HandbookStanding, worker_handbooks
from wangge.training.api.secondments import SecondmentBrief, worker_secondments
from wangge.training.domain.sessions import ATTENDED, Attendance
from wangge.training.records import ProgrammeProgress, progress_of
from wangge.training.tables import roster, sessions_tables

router = APIRouter(tags=["records"])


class WorkerRead(BaseModel):
    worker_id: uuid.UUID
    account: str
    name: str
    appointed_on: date
    left_on: date | None


class WorkerList(BaseModel):
    workers: list[WorkerRead]


class TopicHours(BaseModel):
    topic: str
    hours: float
    sessions: int


class Attended(BaseModel):
    session_id: uuid.UUID
    topic: str
    starts_at: StoredTime
    hours: float = Field(description="credited: the session's hours when present or late")
    attendance: Attendance
    score: float | None
    max_score: float | None


class WorkerRecord(BaseModel):
    """A worker's whole training record; a worker who left keeps it."""

    worker: WorkerRead
    hours: float
    hours_by_topic: list[TopicHours]
    sessions: list[Attended]
    programmes: list[ProgrammeProgress]
    completed_modules: list[str] = Field(description="programme_id/module code")
    missing_modules: list[str] = Field(description="still to complete in programmes followed")
    secondments: list[SecondmentBrief] = Field(
        default_factory=list, description="in the order they started, with status and rating"
    )
    handbooks: list[HandbookStanding] = Field(
        default_factory=list, description="per handbook: current edition, last acknowledged"
    )


class AreaCoverage(BaseModel):
    community_id: uuid.UUID | None
    community: str
    workers: int
    reached: int


class Coverage(BaseModel):
    """e.g. 80 of 169 workers attended the May session."""

    workers: int = Field(description="workers on the roster then (appointed, not yet left)")
    reached: int = Field(description="of them, those who attended (present or late)")
    by_community: list[AreaCoverage]


class NoSelection(DomainError):
    slug = "invalid-input"
    title = "The request has invalid input"


@router.get("/workers", response_model=WorkerList)
async def list_workers(principal: Reader, state: State) -> WorkerList:
    """The roster (from the registry's events), as far as the caller may see it."""
    async with read_only(state.engine) as conn:
        tables = await roster(conn, state)
        if tables is None:
            return WorkerList(workers=[])
        w = tables["workers"]
        rows = (await conn.execute(sa.select(w).order_by(w.c.name, w.c.worker_id))).all()
        visible = [r for r in rows if await may_read(conn, state, principal, r)]
    return WorkerList(workers=[WorkerRead.model_validate(r, from_attributes=True) for r in visible])


@router.get("/workers/{worker_id}/record", response_model=WorkerRecord)
async def worker_record(worker_id: uuid.UUID, principal: Reader, state: State) -> WorkerRecord:
    """Hours by topic, sessions, programmes with modules done and missing, all derived."""
    async with read_only(state.engine) as conn:
        worker = await readable_worker(conn, state, principal, worker_id)
        tables = await sessions_tables(conn, state)
        s, a, sc = tables["sessions"], tables["attendance"], tables["scores"]
        rows = (
            await conn.execute(
                sa.select(
                    s.c.session_id, s.c.topic, s.c.starts_at, s.c.hours, a.c.attendance,
                    sc.c.score, sc.c.max_score,
                )
                .join(s, s.c.session_id == a.c.session_id)
                .outerjoin(
                    sc, (sc.c.session_id == a.c.session_id) & (sc.c.worker_id == a.c.worker_id)
                )
                .where(a.c.worker_id == worker_id)
                .order_by(s.c.starts_at)
            )
        ).all()  # fmt: skip
        programmes = [x.progress for x in await progress_of(conn, state, worker_id=worker_id)]
        secondments = await worker_secondments(conn, state, worker_id)
        handbooks = await worker_handbooks(conn, state, worker_id)
    attended = [
        Attended(
            session_id=r.session_id, topic=r.topic, starts_at=r.starts_at,
            hours=r.hours if r.attendance in ATTENDED else 0.0,
            attendance=r.attendance, score=r.score, max_score=r.max_score,
        )
        for r in rows
    ]  # fmt: skip
    by_topic: dict[str, list[Attended]] = defaultdict(list)
    for x in attended:
        if x.hours:
            by_topic[x.topic].append(x)
    return WorkerRecord(
        worker=WorkerRead.model_validate(worker, from_attributes=True),
        hours=sum(x.hours for x in attended),
        hours_by_topic=[
            TopicHours(topic=t, hours=sum(x.hours for x in xs), sessions=len(xs))
            for t, xs in sorted(by_topic.items())
        ],
        sessions=attended,
        programmes=programmes,
        completed_modules=[
            f"{g.programme_id}/{m.code}" for g in programmes for m in g.modules if m.completed_on
        ],
        missing_modules=[
            f"{g.programme_id}/{code}" for g in programmes if g.left_on is None
            for code in g.missing
        ],
        secondments=secondments,
        handbooks=handbooks,
    )  # fmt: skip


@router.get("/coverage", response_model=Coverage)
async def coverage(
    principal: Reader,
    state: State,
    session_id: Annotated[uuid.UUID | None, Query(description="one session")] = None,
    topic: Annotated[str | None, Query(max_length=200, description="its sessions")] = None,
    since: Annotated[Moment | None, Query(description="sessions from")] = None,
    until: Annotated[Moment | None, Query(description="sessions before")] = None,
) -> Coverage:
    """How many workers one session, or the sessions of a topic in a period, reached: per
    community and in all (community staff see their communities)."""
    if session_id is None and topic is None and since is None:
        raise NoSelection("name a session_id, a topic, or a period (since)", field="session_id")
    async with read_only(state.engine) as conn:
        tables = await sessions_tables(conn, state)
        s, a = tables["sessions"], tables["attendance"]
        query = sa.select(s.c.session_id, s.c.starts_at).where(s.c.cancelled_reason.is_(None))
        if session_id is not None:
            query = query.where(s.c.session_id == session_id)
        if topic is not None:
            query = query.where(s.c.topic == topic)
        if since is not None:
            query = query.where(s.c.starts_at >= utc(since))
        if until is not None:
            query = query.where(s.c.starts_at < utc(until))
        chosen = (await conn.execute(query)).all()
        reached: set[Any] = set()
        if chosen:
            reached = set(
                await conn.scalars(
                    sa.select(a.c.worker_id).where(
                        a.c.session_id.in_([r.session_id for r in chosen]),
                        a.c.attendance.in_([str(x) for x in ATTENDED]),
                    )
                )
            )
        day = max((local_day(r.starts_at) for r in chosen), default=None)
        areas = await _workers_by_community(conn, state, day)
    rows = [
        AreaCoverage(community_id=cid, community=name, workers=len(ws), reached=len(ws & reached))
        for (cid, name, code), ws in sorted(areas.items(), key=lambda x: x[0][1])
        if _sees(principal, code)
    ]  # fmt: skip
    everyone = set().union(*(ws for (_, _, code), ws in areas.items() if _sees(principal, code)))
    return Coverage(workers=len(everyone), reached=len(everyone & reached), by_community=rows)


def _sees(principal: Principal, code: str | None) -> bool:
    return principal.has_any(MANAGERS) or (code is not None and principal.covers(code))


async def _workers_by_community(
    conn: Any, state: Any, day: date | None
) -> dict[tuple[uuid.UUID | None, str, str | None], set[uuid.UUID]]:
    """The workers on the roster on ``day`` (today when None), by their grids' communities."""
    tables = await roster(conn, state)
    if tables is None:
        return {}
    w, ar = tables["workers"], tables["areas"]
    day = day or local_day(datetime.now(UTC))
    workers = (
        await conn.execute(
            sa.select(w.c.worker_id, w.c.grid_ids).where(
                w.c.appointed_on <= day, sa.or_(w.c.left_on.is_(None), w.c.left_on > day)
            )
        )
    ).all()
    places = {r.place_id: r for r in (await conn.execute(sa.select(ar))).all()}
    out: dict[tuple[uuid.UUID | None, str, str | None], set[uuid.UUID]] = defaultdict(set)
    for worker in workers:
        for grid in worker.grid_ids:
            row = places.get(uuid.UUID(grid))
            community = places.get(row.parent_id) if row is not None else None
            key = (
                (community.place_id, community.name, community.code)
                if community is not None
                else (None, "(unknown community)", None)
            )
            out[key].add(worker.worker_id)
    return out
