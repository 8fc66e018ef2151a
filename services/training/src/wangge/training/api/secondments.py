"""``/secondments``: a grid worker placed with a host (the service hall, a department, a
community's office) for a period under a mentor, towards goals set beforehand; extended,
evaluated goal by goal (which closes it) or cancelled."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from wangge.events.db import read_only
from wangge.governance.errors import NotFound
from wangge.service.commands import Command
from wangge.service.responses import problems
from wangge.training.api.access import Core, Manager, Reader, readable, readable_worker
from wangge.training.handlers import secondments as handlers
from wangge.training.handlers.secondments import Evaluation, Extension, Reason, SecondmentCreate
from wangge.training.projections.development import (
    SecondmentRead,
    Status,
    development_tables,
    secondment,
    secondments_in_order,
)
from wangge.training.projections.roster_queries import roster_tables, workers_by_id

router = APIRouter(prefix="/secondments", tags=["secondments"])


class SecondmentList(BaseModel):
    secondments: list[SecondmentRead]


async def _secondment(core: Core, secondment_id: uuid.UUID) -> SecondmentRead:
    async with read_only(core.store.engine) as conn:
        return await secondment(conn, await development_tables(conn, core), secondment_id)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SecondmentRead)
async def arrange_secondment(
    body: SecondmentCreate, principal: Manager, core: Core, command: Command
) -> SecondmentRead:
    """Arrange a secondment for a worker on the roster; the mentor's name and the goals are
    sealed with the worker's key, shown masked and redacted."""
    return await _secondment(core, await handlers.arrange(command.commands, core, body))


@router.get("", response_model=SecondmentList, responses=problems(404))
async def list_secondments(
    principal: Reader,
    core: Core,
    worker_id: Annotated[uuid.UUID | None, Query(description="one worker's")] = None,
    secondment_status: Annotated[Status | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SecondmentList:
    """Secondments in the order they start, of the workers whose records the caller reads."""
    async with read_only(core.store.engine) as conn:
        roster = await roster_tables(conn, core)
        if worker_id is not None:
            await readable_worker(conn, roster, principal, worker_id)
        found = await secondments_in_order(
            conn, await development_tables(conn, core), worker_id=worker_id,
            status=secondment_status,
        )  # fmt: skip
        rows = await workers_by_id(conn, roster, {x.worker_id for x in found})
        visible = {r.worker_id for r in await readable(conn, roster, principal, rows.values())}
    return SecondmentList(secondments=[x for x in found if x.worker_id in visible][:limit])


@router.get("/{secondment_id}", response_model=SecondmentRead)
async def read_secondment(
    secondment_id: uuid.UUID, principal: Reader, core: Core
) -> SecondmentRead:
    """A secondment (404 unless the caller reads the worker's record)."""
    async with read_only(core.store.engine) as conn:
        found = await secondment(conn, await development_tables(conn, core), secondment_id)
        try:
            await readable_worker(conn, await roster_tables(conn, core), principal, found.worker_id)
        except NotFound:
            raise NotFound(f"no secondment {secondment_id}", field="secondment_id") from None
    return found


@router.post("/{secondment_id}/extend", response_model=SecondmentRead)
async def extend_secondment(
    secondment_id: uuid.UUID, body: Extension, principal: Manager, core: Core, command: Command
) -> SecondmentRead:
    """A later last day (never an earlier one: cancel, or evaluate early)."""
    await handlers.extend(command.commands, core.keyring, body, secondment_id=secondment_id)
    return await _secondment(core, secondment_id)


@router.post("/{secondment_id}/evaluate", response_model=SecondmentRead)
async def evaluate_secondment(
    secondment_id: uuid.UUID, body: Evaluation, principal: Manager, core: Core, command: Command
) -> SecondmentRead:
    """The closing evaluation: a rating, whether each goal was met, a summary. It closes the
    secondment."""
    await handlers.evaluate(command.commands, core.keyring, body, secondment_id=secondment_id)
    return await _secondment(core, secondment_id)


@router.post("/{secondment_id}/cancel", response_model=SecondmentRead)
async def cancel_secondment(
    secondment_id: uuid.UUID, body: Reason, principal: Manager, core: Core, command: Command
) -> SecondmentRead:
    """Call the secondment off (before its evaluation)."""
    await handlers.cancel(command.commands, core.keyring, body, secondment_id=secondment_id)
    return await _secondment(core, secondment_id)
