"""``/handbooks``: the handbooks every grid worker carries (网格记事簿, 全科网格一本通), published
in editions of sections; each worker acknowledges the current edition as read, and a new edition
asks everyone again. Who still owes the current edition is a query, never a stored flag."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, status
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.db import read_only
from wangge.governance.times import local_day
from wangge.service.commands import Command
from wangge.training.api.access import Core, Enroller, Manager, Reader, acting_worker, may_read
from wangge.training.handlers import handbooks as handlers
from wangge.training.handlers.handbooks import AcknowledgementCreate, EditionCreate, HandbookCreate
from wangge.training.projections.development import (
    Acknowledgement,
    HandbookDetail,
    HandbookRead,
    acknowledged_current,
    current_edition,
    development_tables,
    handbook_detail,
    handbooks_by_title,
    last_acknowledged,
    last_acknowledgement,
)
from wangge.training.projections.roster_queries import roster_tables, serving

router = APIRouter(prefix="/handbooks", tags=["handbooks"])


class HandbookList(BaseModel):
    handbooks: list[HandbookRead]


class Owing(BaseModel):
    worker_id: uuid.UUID
    name: str
    acknowledged_edition: int | None = Field(description="the last edition they acknowledged")


class Outstanding(BaseModel):
    """The workers who still owe the current edition (those the caller may read)."""

    handbook_id: uuid.UUID
    edition: int
    workers: list[Owing]


async def _serving(conn: AsyncConnection, core: Core) -> set[uuid.UUID]:
    rows = await serving(conn, await roster_tables(conn, core), local_day(datetime.now(UTC)))
    return {w.worker_id for w in rows}


async def _detail(core: Core, handbook_id: uuid.UUID) -> HandbookDetail:
    async with read_only(core.store.engine) as conn:
        tables = await development_tables(conn, core)
        return await handbook_detail(conn, tables, handbook_id, await _serving(conn, core))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=HandbookDetail)
async def publish_handbook(
    body: HandbookCreate, principal: Manager, core: Core, command: Command
) -> HandbookDetail:
    """Publish a new handbook: its first edition."""
    return await _detail(core, await handlers.publish(command.commands, body))


@router.get("", response_model=HandbookList)
async def list_handbooks(principal: Reader, core: Core) -> HandbookList:
    """Every handbook at its current edition, with how many workers on the roster (not left)
    acknowledged that edition."""
    async with read_only(core.store.engine) as conn:
        tables = await development_tables(conn, core)
        found = await handbooks_by_title(conn, tables, await _serving(conn, core))
    return HandbookList(handbooks=found)


@router.get("/{handbook_id}", response_model=HandbookDetail)
async def read_handbook(handbook_id: uuid.UUID, principal: Reader, core: Core) -> HandbookDetail:
    """A handbook: its current edition's sections, and every edition published."""
    return await _detail(core, handbook_id)


@router.post("/{handbook_id}/editions", status_code=status.HTTP_201_CREATED,
             response_model=HandbookDetail)  # fmt: skip
async def publish_edition(
    handbook_id: uuid.UUID, body: EditionCreate, principal: Manager, core: Core,
    command: Command,
) -> HandbookDetail:  # fmt: skip
    """Publish the next edition (named: another edition published meanwhile is a 422 naming
    ``edition``, not an edition published unseen). Every worker owes it."""
    await handlers.publish_edition(command.commands, body, handbook_id=handbook_id)
    return await _detail(core, handbook_id)


@router.post("/{handbook_id}/acknowledgements", response_model=Acknowledgement)
async def acknowledge(
    handbook_id: uuid.UUID, body: AcknowledgementCreate, principal: Enroller, core: Core,
    command: Command,
) -> Acknowledgement:  # fmt: skip
    """A worker read the current edition (a grid worker acknowledges for themselves; trainers
    and admins for anyone). Acknowledging it again changes nothing."""
    async with read_only(core.store.engine) as conn:
        await acting_worker(
            conn, await roster_tables(conn, core), principal, body.worker_id,
            refusal="a grid worker acknowledges only for themselves",
        )  # fmt: skip
    await handlers.acknowledge(command.commands, body, handbook_id=handbook_id)
    # their newest acknowledgement: the one just recorded, or (a retry after a new edition came
    # out) the one the first request recorded
    async with read_only(core.store.engine) as conn:
        tables = await development_tables(conn, core)
        return await last_acknowledgement(conn, tables, handbook_id, body.worker_id)


@router.get("/{handbook_id}/outstanding", response_model=Outstanding)
async def outstanding(handbook_id: uuid.UUID, principal: Reader, core: Core) -> Outstanding:
    """The workers on the roster (not left) who have not acknowledged the current edition, as
    far as the caller may read their records."""
    async with read_only(core.store.engine) as conn:
        tables = await development_tables(conn, core)
        row = await current_edition(conn, tables, handbook_id)
        acknowledged = (await acknowledged_current(conn, tables, [row]))[handbook_id]
        last = await last_acknowledged(conn, tables, handbook_id)
        roster = await roster_tables(conn, core)
        owing = [
            Owing(worker_id=w.worker_id, name=w.name, acknowledged_edition=last.get(w.worker_id))
            for w in await serving(conn, roster, local_day(datetime.now(UTC)))
            if w.worker_id not in acknowledged and await may_read(conn, roster, principal, w)
        ]
    return Outstanding(handbook_id=handbook_id, edition=row.edition, workers=owing)
