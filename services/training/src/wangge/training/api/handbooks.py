"""``/handbooks``: the handbooks every grid worker carries (网格记事簿, 全科网格一本通), published
in editions of sections; each worker acknowledges the current edition as read, and a new edition
asks everyone again. Who still owes the current edition is a query, never a stored flag."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, status
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.db import read_only
from wangge.governance.errors import NotFound
from wangge.governance.times import local_day
from wangge.service.app import ServiceState
from wangge.service.commands import Command
from wangge.service.deps import State
from wangge.training.api.access import Enroller, Manager, Reader, acting_worker, may_read
from wangge.training.api.bounds import MAX_EDITION, Day
from wangge.training.domain import handbooks as h
from wangge.training.tables import development, roster

router = APIRouter(prefix="/handbooks", tags=["handbooks"])


class HandbookCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200, description="e.g. 全科网格一本通")
    published_on: Day | None = Field(default=None, description="today if none")
    sections: list[h.Section] = Field(min_length=1, max_length=200)


class EditionCreate(HandbookCreate):
    edition: int = Field(
        ge=1,
        le=MAX_EDITION,
        description="the edition to publish: the one after the current edition",
    )


class AcknowledgementCreate(BaseModel):
    worker_id: uuid.UUID
    edition: int | None = Field(
        default=None, ge=1, le=MAX_EDITION, description="the edition read (the current one if none)"
    )


class EditionRead(BaseModel):
    edition: int
    title: str
    published_on: date


class HandbookRead(BaseModel):
    handbook_id: uuid.UUID
    title: str = Field(description="the current edition's")
    edition: int = Field(description="the current edition")
    published_on: date
    workers: int = Field(description="workers on the roster (not left)")
    acknowledged: int = Field(description="of them, those who acknowledged the current edition")


class HandbookDetail(HandbookRead):
    sections: list[h.Section] = Field(description="the current edition's")
    editions: list[EditionRead]


class HandbookList(BaseModel):
    handbooks: list[HandbookRead]


class Acknowledgement(BaseModel):
    handbook_id: uuid.UUID
    edition: int
    worker_id: uuid.UUID
    acknowledged_on: date


class Owing(BaseModel):
    worker_id: uuid.UUID
    name: str
    acknowledged_edition: int | None = Field(description="the last edition they acknowledged")


class Outstanding(BaseModel):
    """The workers who still owe the current edition (those the caller may read)."""

    handbook_id: uuid.UUID
    edition: int
    workers: list[Owing]


class HandbookStanding(BaseModel):
    """A handbook as a worker's record shows it."""

    handbook_id: uuid.UUID
    title: str
    current_edition: int
    acknowledged_edition: int | None = Field(description="the last edition they acknowledged")
    acknowledged_on: date | None
    owes: bool = Field(description="they have not acknowledged the current edition")


def _today() -> date:
    return local_day(datetime.now(UTC))


async def _current(
    conn: AsyncConnection, tables: Mapping[str, sa.Table], handbook_id: uuid.UUID | None = None
) -> list[Any]:
    """Each handbook's current edition (its highest), by title."""
    e = tables["editions"]
    latest = sa.select(e.c.handbook_id, sa.func.max(e.c.edition).label("edition")).group_by(
        e.c.handbook_id
    )
    if handbook_id is not None:
        latest = latest.where(e.c.handbook_id == handbook_id)
    current = latest.subquery()
    same = (e.c.handbook_id == current.c.handbook_id) & (e.c.edition == current.c.edition)
    query = sa.select(e).join(current, same).order_by(e.c.title, e.c.handbook_id)
    return list((await conn.execute(query)).all())


async def _serving(conn: AsyncConnection, state: ServiceState) -> list[Any]:
    """The workers on the roster who have not left (by name)."""
    tables = await roster(conn, state)
    if tables is None:
        return []
    w = tables["workers"]
    query = sa.select(w).where(sa.or_(w.c.left_on.is_(None), w.c.left_on > _today()))
    return list((await conn.execute(query.order_by(w.c.name, w.c.worker_id))).all())


async def _acknowledged(
    conn: AsyncConnection, tables: Mapping[str, sa.Table], current: list[Any]
) -> dict[uuid.UUID, set[uuid.UUID]]:
    """Per handbook, the workers who acknowledged its current edition."""
    a = tables["acknowledgements"]
    out: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for row in current:
        workers = await conn.scalars(
            sa.select(a.c.worker_id).where(
                a.c.handbook_id == row.handbook_id, a.c.edition == row.edition
            )
        )
        out[row.handbook_id] = set(workers)
    return out


def _read(row: Any, serving: set[uuid.UUID], acknowledged: set[uuid.UUID]) -> HandbookRead:
    return HandbookRead(
        handbook_id=row.handbook_id, title=row.title, edition=row.edition,
        published_on=row.published_on, workers=len(serving),
        acknowledged=len(serving & acknowledged),
    )  # fmt: skip


async def _detail(state: ServiceState, handbook_id: uuid.UUID) -> HandbookDetail:
    async with read_only(state.engine) as conn:
        tables = await development(conn, state)
        current = await _current(conn, tables, handbook_id)
        if not current:
            raise NotFound(f"no handbook {handbook_id}", field="handbook_id")
        e = tables["editions"]
        editions = (
            await conn.execute(
                sa.select(e.c.edition, e.c.title, e.c.published_on)
                .where(e.c.handbook_id == handbook_id)
                .order_by(e.c.edition)
            )
        ).all()
        serving = {w.worker_id for w in await _serving(conn, state)}
        acknowledged = (await _acknowledged(conn, tables, current))[handbook_id]
    [row] = current
    return HandbookDetail(
        **_read(row, serving, acknowledged).model_dump(),
        sections=[h.Section.model_validate(x) for x in row.sections],
        editions=[EditionRead.model_validate(x, from_attributes=True) for x in editions],
    )


async def worker_handbooks(
    conn: AsyncConnection, state: ServiceState, worker_id: uuid.UUID
) -> list[HandbookStanding]:
    """Per handbook: its current edition, the last one the worker acknowledged, whether they
    owe the current one (for their record)."""
    tables = await development(conn, state)
    a = tables["acknowledgements"]
    theirs: dict[uuid.UUID, dict[int, date]] = defaultdict(dict)
    rows = await conn.execute(
        sa.select(a.c.handbook_id, a.c.edition, a.c.acknowledged_on).where(
            a.c.worker_id == worker_id
        )
    )
    for r in rows:
        theirs[r.handbook_id][r.edition] = r.acknowledged_on
    out = []
    for row in await _current(conn, tables):
        acks = theirs.get(row.handbook_id, {})
        last = max(acks, default=None)
        out.append(
            HandbookStanding(
                handbook_id=row.handbook_id, title=row.title, current_edition=row.edition,
                acknowledged_edition=last, acknowledged_on=acks.get(last) if last else None,
                owes=h.owes(row.edition, set(acks)),
            )
        )  # fmt: skip
    return out


@router.post("", status_code=status.HTTP_201_CREATED, response_model=HandbookDetail)
async def publish_handbook(
    body: HandbookCreate, principal: Manager, state: State, command: Command
) -> HandbookDetail:
    """Publish a new handbook: its first edition."""
    handbook_id = uuid.uuid4()
    events = h.publish(
        None, handbook_id=handbook_id, title=body.title, edition=1,
        published_on=body.published_on or _today(), sections=body.sections,
    )  # fmt: skip
    result = await command.create(body, h.stream_id(handbook_id), lambda: events)
    return await _detail(state, uuid.UUID(result.stream_id.removeprefix("handbook-")))


@router.get("", response_model=HandbookList)
async def list_handbooks(principal: Reader, state: State) -> HandbookList:
    """Every handbook at its current edition, with how many workers on the roster (not left)
    acknowledged that edition."""
    async with read_only(state.engine) as conn:
        tables = await development(conn, state)
        current = await _current(conn, tables)
        serving = {w.worker_id for w in await _serving(conn, state)}
        acknowledged = await _acknowledged(conn, tables, current)
    return HandbookList(handbooks=[_read(r, serving, acknowledged[r.handbook_id]) for r in current])


@router.get("/{handbook_id}", response_model=HandbookDetail)
async def read_handbook(handbook_id: uuid.UUID, principal: Reader, state: State) -> HandbookDetail:
    """A handbook: its current edition's sections, and every edition published."""
    return await _detail(state, handbook_id)


@router.post("/{handbook_id}/editions", status_code=status.HTTP_201_CREATED,
             response_model=HandbookDetail)  # fmt: skip
async def publish_edition(
    handbook_id: uuid.UUID, body: EditionCreate, principal: Manager, state: State,
    command: Command,
) -> HandbookDetail:  # fmt: skip
    """Publish the next edition (named: another edition published meanwhile is a 422 naming
    ``edition``, not an edition published unseen). Every worker owes it."""
    loaded = await command.load(h.stream_id(handbook_id), h.evolve, field="handbook_id")
    await command.change(
        body, loaded,
        lambda x: h.publish(
            x, handbook_id=handbook_id, title=body.title, edition=body.edition,
            published_on=body.published_on or _today(), sections=body.sections,
        ),
    )  # fmt: skip
    return await _detail(state, handbook_id)


@router.post("/{handbook_id}/acknowledgements", response_model=Acknowledgement)
async def acknowledge(
    handbook_id: uuid.UUID, body: AcknowledgementCreate, principal: Enroller, state: State,
    command: Command,
) -> Acknowledgement:  # fmt: skip
    """A worker read the current edition (a grid worker acknowledges for themselves; trainers
    and admins for anyone). Acknowledging it again changes nothing."""
    async with read_only(state.engine) as conn:
        await acting_worker(
            conn,
            state,
            principal,
            body.worker_id,
            refusal="a grid worker acknowledges only for themselves",
        )
    loaded = await command.load(h.stream_id(handbook_id), h.evolve, field="handbook_id")
    assert loaded.state is not None
    edition = body.edition or loaded.state.edition
    await command.change(
        body, loaded,
        lambda x: h.acknowledge(
            x, edition=edition, worker_id=body.worker_id, acknowledged_on=_today()
        ),
    )  # fmt: skip
    # their newest acknowledgement: the one just recorded, or (a retry after a new edition came
    # out) the one the first request recorded
    async with read_only(state.engine) as conn:
        a = (await development(conn, state))["acknowledgements"]
        row = (
            await conn.execute(
                sa.select(a)
                .where(a.c.handbook_id == handbook_id, a.c.worker_id == body.worker_id)
                .order_by(a.c.edition.desc())
                .limit(1)
            )
        ).one()
    return Acknowledgement.model_validate(row, from_attributes=True)


@router.get("/{handbook_id}/outstanding", response_model=Outstanding)
async def outstanding(handbook_id: uuid.UUID, principal: Reader, state: State) -> Outstanding:
    """The workers on the roster (not left) who have not acknowledged the current edition, as
    far as the caller may read their records."""
    async with read_only(state.engine) as conn:
        tables = await development(conn, state)
        current = await _current(conn, tables, handbook_id)
        if not current:
            raise NotFound(f"no handbook {handbook_id}", field="handbook_id")
        [row] = current
        acknowledged = (await _acknowledged(conn, tables, current))[handbook_id]
        a = tables["acknowledgements"]
        rows = await conn.execute(
            sa.select(a.c.worker_id, sa.func.max(a.c.edition).label("edition"))
            .where(a.c.handbook_id == handbook_id)
            .group_by(a.c.worker_id)
        )
        last: dict[uuid.UUID, int] = {r.worker_id: r.edition for r in rows}
        owing = [
            Owing(worker_id=w.worker_id, name=w.name, acknowledged_edition=last.get(w.worker_id))
            for w in await _serving(conn, state)
            if w.worker_id not in acknowledged and await may_read(conn, state, principal, w)
        ]
    return Outstanding(handbook_id=handbook_id, edition=row.edition, workers=owing)
