"""``/secondments``: a grid worker placed with a host (the service hall, a department, a
community's office) for a period under a mentor, towards goals set beforehand; extended,
evaluated goal by goal (which closes it) or cancelled."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.db import read_only
from wangge.governance.errors import NotFound
from wangge.governance.times import local_day
from wangge.service.app import ServiceState
from wangge.service.commands import Command
from wangge.service.deps import State
from wangge.service.responses import problems
from wangge.training.api.access import Manager, Reader, known_worker, may_read, readable_worker
from wangge.training.api.bounds import Day
from wangge.training.api.personal import Keys, seal_for
from wangge.training.domain import secondments as sec
from wangge.training.tables import development, roster

router = APIRouter(prefix="/secondments", tags=["secondments"])

Status = Literal["arranged", "evaluated", "cancelled"]


class SecondmentCreate(BaseModel):
    worker_id: uuid.UUID
    host_kind: sec.HostKind
    host: str = Field(min_length=1, max_length=200, description="e.g. 街道便民服务大厅")
    starts_on: Day
    ends_on: Day = Field(description="the last day of the secondment (at most 366 days)")
    mentor: str = Field(min_length=1, max_length=100)
    goals: list[sec.Goal] = Field(min_length=1, max_length=sec.MAX_GOALS)


class Extension(BaseModel):
    ends_on: Day = Field(description="the new last day")
    reason: str = Field(min_length=1, max_length=500)


class Evaluation(BaseModel):
    rating: sec.Rating
    goals_met: list[bool] = Field(
        min_length=1, max_length=sec.MAX_GOALS, description="for each goal, in order"
    )
    summary: str = Field(min_length=1, max_length=2000)
    evaluated_on: Day | None = Field(default=None, description="the day given (today if none)")


class Reason(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class SecondmentRead(BaseModel):
    secondment_id: uuid.UUID
    worker_id: uuid.UUID
    host_kind: sec.HostKind
    host: str
    starts_on: date
    ends_on: date
    days: int = Field(description="the period's days, both ends counted")
    mentor: str
    goals: list[str]
    status: Status = Field(description="evaluated and cancelled are closed")
    rating: sec.Rating | None
    summary: str | None
    goals_met: list[bool] | None
    evaluated_on: date | None
    evaluated_by: str | None
    cancelled_reason: str | None
    version: int


class SecondmentList(BaseModel):
    secondments: list[SecondmentRead]


class SecondmentBrief(BaseModel):
    """A secondment as a worker's record shows it."""

    secondment_id: uuid.UUID
    host_kind: sec.HostKind
    host: str
    starts_on: date
    ends_on: date
    status: Status
    rating: sec.Rating | None


def _read(row: Any) -> SecondmentRead:
    return SecondmentRead(
        **{k: getattr(row, k) for k in SecondmentRead.model_fields if k != "days"},
        days=sec.period_days(row.starts_on, row.ends_on),
    )


async def _row(conn: AsyncConnection, state: ServiceState, secondment_id: uuid.UUID) -> Any:
    t = (await development(conn, state))["secondments"]
    row = (await conn.execute(sa.select(t).where(t.c.secondment_id == secondment_id))).first()
    if row is None:
        raise NotFound(f"no secondment {secondment_id}", field="secondment_id")
    return row


async def _secondment(state: ServiceState, secondment_id: uuid.UUID) -> SecondmentRead:
    async with read_only(state.engine) as conn:
        return _read(await _row(conn, state, secondment_id))


async def worker_secondments(
    conn: AsyncConnection, state: ServiceState, worker_id: uuid.UUID
) -> list[SecondmentBrief]:
    """A worker's secondments, in the order they started (for their record)."""
    t = (await development(conn, state))["secondments"]
    rows = await conn.execute(
        sa.select(t).where(t.c.worker_id == worker_id).order_by(t.c.starts_on, t.c.secondment_id)
    )
    return [SecondmentBrief.model_validate(r, from_attributes=True) for r in rows]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SecondmentRead)
async def arrange_secondment(
    body: SecondmentCreate, principal: Manager, state: State, command: Command, keys: Keys
) -> SecondmentRead:
    """Arrange a secondment for a worker on the roster; the mentor's name and the goals are
    sealed with the worker's key, shown masked and redacted."""
    async with read_only(state.engine) as conn:
        await known_worker(conn, state, body.worker_id)
    seal = await seal_for(state, keys, body.worker_id, "mentor", field="worker_id")
    secondment_id = uuid.uuid4()
    events = sec.arrange(secondment_id=secondment_id, **body.model_dump(exclude={"goals"}),
                         goals=list(body.goals), seal=seal)  # fmt: skip
    result = await command.create(body, sec.stream_id(secondment_id), lambda: events)
    return await _secondment(state, uuid.UUID(result.stream_id.removeprefix("secondment-")))


@router.get("", response_model=SecondmentList, responses=problems(404))
async def list_secondments(
    principal: Reader,
    state: State,
    worker_id: Annotated[uuid.UUID | None, Query(description="one worker's")] = None,
    secondment_status: Annotated[Status | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SecondmentList:
    """Secondments in the order they start, of the workers whose records the caller reads."""
    async with read_only(state.engine) as conn:
        t = (await development(conn, state))["secondments"]
        query = sa.select(t).order_by(t.c.starts_on, t.c.secondment_id)
        if worker_id is not None:
            await readable_worker(conn, state, principal, worker_id)
            query = query.where(t.c.worker_id == worker_id)
        if secondment_status is not None:
            query = query.where(t.c.status == secondment_status)
        rows = (await conn.execute(query)).all()
        workers = await _roster_rows(conn, state, {r.worker_id for r in rows})
        visible = []
        for row in rows:
            worker = workers.get(row.worker_id)
            if worker is not None and await may_read(conn, state, principal, worker):
                visible.append(row)
                if len(visible) == limit:
                    break
    return SecondmentList(secondments=[_read(r) for r in visible])


async def _roster_rows(
    conn: AsyncConnection, state: ServiceState, ids: set[uuid.UUID]
) -> dict[uuid.UUID, Any]:
    tables = await roster(conn, state)
    if tables is None or not ids:
        return {}
    w = tables["workers"]
    return {r.worker_id: r for r in await conn.execute(sa.select(w).where(w.c.worker_id.in_(ids)))}


@router.get("/{secondment_id}", response_model=SecondmentRead)
async def read_secondment(
    secondment_id: uuid.UUID, principal: Reader, state: State
) -> SecondmentRead:
    """A secondment (404 unless the caller reads the worker's record)."""
    async with read_only(state.engine) as conn:
        row = await _row(conn, state, secondment_id)
        try:
            await readable_worker(conn, state, principal, row.worker_id)
        except NotFound:
            raise NotFound(f"no secondment {secondment_id}", field="secondment_id") from None
    return _read(row)


async def _change(
    command: Any, keys: Any, secondment_id: uuid.UUID, body: BaseModel, text: str, decide: Any
) -> Any:
    """``decide(secondment, seal)``: ``text`` sealed with the secondment's worker's key."""
    loaded = await command.load(sec.stream_id(secondment_id), sec.evolve, field="secondment_id")
    worker_id = loaded.state.worker_id
    seal = await seal_for(command.state, keys, worker_id, text, field="secondment_id")
    await command.change(body, loaded, lambda x: decide(x, seal))
    return await _secondment(command.state, secondment_id)


@router.post("/{secondment_id}/extend", response_model=SecondmentRead)
async def extend_secondment(
    secondment_id: uuid.UUID, body: Extension, principal: Manager, command: Command, keys: Keys
) -> SecondmentRead:
    """A later last day (never an earlier one: cancel, or evaluate early)."""
    result: SecondmentRead = await _change(
        command, keys, secondment_id, body, body.reason,
        lambda x, seal: sec.extend(x, ends_on=body.ends_on, reason=body.reason, seal=seal),
    )  # fmt: skip
    return result


@router.post("/{secondment_id}/evaluate", response_model=SecondmentRead)
async def evaluate_secondment(
    secondment_id: uuid.UUID, body: Evaluation, principal: Manager, command: Command, keys: Keys
) -> SecondmentRead:
    """The closing evaluation: a rating, whether each goal was met, a summary. It closes the
    secondment."""
    today = local_day(datetime.now(UTC))
    result: SecondmentRead = await _change(
        command, keys, secondment_id, body, body.summary,
        lambda x, seal: sec.evaluate(
            x, evaluated_on=body.evaluated_on or today, rating=body.rating,
            goals_met=body.goals_met, summary=body.summary, by=principal.subject, today=today,
            seal=seal,
        ),
    )  # fmt: skip
    return result


@router.post("/{secondment_id}/cancel", response_model=SecondmentRead)
async def cancel_secondment(
    secondment_id: uuid.UUID, body: Reason, principal: Manager, command: Command, keys: Keys
) -> SecondmentRead:
    """Call the secondment off (before its evaluation)."""
    result: SecondmentRead = await _change(
        command,
        keys,
        secondment_id,
        body,
        body.reason,
        lambda x, seal: sec.cancel(x, reason=body.reason, seal=seal),
    )
    return result
