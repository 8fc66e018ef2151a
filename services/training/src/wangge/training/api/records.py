"""``/workers``: the roster and each worker's full training record; ``/coverage``: how many
of the subdistrict's (or a community's) workers a session, or a topic, reached."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, NamedTuple

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from wangge.events.db import read_only
from wangge.governance.errors import DomainError
from wangge.governance.roster import Community
from wangge.governance.times import local_day
from wangge.service.auth import Principal
from wangge.training.api.access import (
    MANAGERS,
    Core,
    Overseer,
    Reader,
    readable,
    readable_worker,
)
from wangge.training.bounds import Moment
from wangge.training.projections.development import (
    HandbookStanding,
    SecondmentBrief,
    development_tables,
    worker_handbooks,
    worker_secondments,
)
from wangge.training.projections.roster_queries import (
    roster_tables,
    workers,
    workers_by_community,
)
from wangge.training.projections.sessions import (
    Attended,
    ProgrammeProgress,
    TopicHours,
    attended,
    hours_by_topic,
    progress_of,
    reached,
    sessions_tables,
)

router = APIRouter(tags=["records"])


class WorkerRead(BaseModel):
    worker_id: uuid.UUID
    account: str
    name: str
    appointed_on: date
    left_on: date | None


class WorkerList(BaseModel):
    workers: list[WorkerRead]


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
async def list_workers(principal: Reader, core: Core) -> WorkerList:
    """The roster (from the registry's events), as far as the caller may see it."""
    async with read_only(core.store.engine) as conn:
        roster = await roster_tables(conn, core)
        visible = await readable(conn, roster, principal, await workers(conn, roster))
    return WorkerList(workers=[WorkerRead.model_validate(r, from_attributes=True) for r in visible])


@router.get("/workers/{worker_id}/record", response_model=WorkerRecord)
async def worker_record(worker_id: uuid.UUID, principal: Reader, core: Core) -> WorkerRecord:
    """Hours by topic, sessions, programmes with modules done and missing, all derived."""
    async with read_only(core.store.engine) as conn:
        worker = await readable_worker(conn, await roster_tables(conn, core), principal, worker_id)
        tables = await sessions_tables(conn, core)
        sessions = await attended(conn, tables, worker_id)
        programmes = await progress_of(conn, tables, worker_id=worker_id)
        development = await development_tables(conn, core)
        secondments = await worker_secondments(conn, development, worker_id)
        handbooks = await worker_handbooks(conn, development, worker_id)
    return WorkerRecord(
        worker=WorkerRead.model_validate(worker, from_attributes=True),
        hours=sum(x.hours for x in sessions),
        hours_by_topic=hours_by_topic(sessions),
        sessions=sessions,
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
    principal: Overseer,
    core: Core,
    session_id: Annotated[uuid.UUID | None, Query(description="one session")] = None,
    topic: Annotated[str | None, Query(max_length=200, description="its sessions")] = None,
    since: Annotated[Moment | None, Query(description="sessions from")] = None,
    until: Annotated[Moment | None, Query(description="sessions before")] = None,
) -> Coverage:
    """How many workers one session, or the sessions of a topic in a period, reached: per
    community and in all (community staff see their communities)."""
    if session_id is None and topic is None and since is None:
        raise NoSelection("name a session_id, a topic, or a period (since)", field="session_id")
    async with read_only(core.store.engine) as conn:
        came, day = await reached(
            conn, await sessions_tables(conn, core), session_id=session_id, topic=topic,
            since=since, until=until,
        )  # fmt: skip
        areas = await workers_by_community(
            conn, await roster_tables(conn, core), day or local_day(datetime.now(UTC))
        )
    named = [(_named(c), ws) for c, ws in areas.items()]
    rows = [
        AreaCoverage(community_id=c.place_id, community=c.name, workers=len(ws),
                     reached=len(ws & came))
        for c, ws in sorted(named, key=lambda x: x[0].name)
        if _sees(principal, c.code)
    ]  # fmt: skip
    everyone = set().union(*(ws for c, ws in named if _sees(principal, c.code)))
    return Coverage(workers=len(everyone), reached=len(everyone & came), by_community=rows)


def _named(community: Community | None) -> _Area:
    if community is None:
        return _Area(None, "(unknown community)", None)
    return _Area(community.place_id, community.name, community.code)


class _Area(NamedTuple):
    """A community, or the placeholder of grids whose community the roster lacks."""

    place_id: uuid.UUID | None
    name: str
    code: str | None


def _sees(principal: Principal, code: str | None) -> bool:
    return principal.has_any(MANAGERS) or (code is not None and principal.covers(code))
