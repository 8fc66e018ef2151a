"""``/suggestions``: needs grid workers noted on door-to-door visits (in the registry), each a
suggested case until staff open it (提人知事)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from wangge.cases.api.access import Core, Staff, roster
from wangge.cases.api.cases import CaseRead, read_case_as
from wangge.cases.bootstrap import CasesCore
from wangge.cases.domain import cases
from wangge.cases.domain.text import clear_copy
from wangge.cases.handlers import cases as handle
from wangge.cases.projections.cases import Cases
from wangge.cases.projections.roster import grid_code, open_needs, worker_of
from wangge.events.db import read_only
from wangge.governance.errors import NotFound
from wangge.governance.times import StoredTime
from wangge.service.commands import Command

router = APIRouter(prefix="/suggestions", tags=["suggestions"])


class Suggestion(BaseModel):
    """A need noted on a visit, and the case it suggests."""

    need_id: uuid.UUID
    grid_id: uuid.UUID
    dwelling_id: uuid.UUID
    person_id: uuid.UUID | None
    category: str
    description: str
    noted_at: StoredTime
    kind: str
    assistance: str | None


class SuggestionPage(BaseModel):
    items: list[Suggestion]


async def _needs(conn: Any, core: CasesCore, need_id: uuid.UUID | None = None) -> list[Any]:
    tables = await roster(conn, core)
    if tables is None:
        return []
    return await open_needs(conn, tables, (await core.tables(conn, Cases.name))["cases"], need_id)


@router.get("", response_model=SuggestionPage)
async def suggestions(principal: Staff, core: Core) -> SuggestionPage:
    """Needs in the caller's grids that no case answers yet, newest first."""
    items = []
    async with read_only(core.store.engine) as conn:
        tables = await roster(conn, core)
        for row in await _needs(conn, core):
            code = await grid_code(conn, tables, row.grid_id) if tables is not None else None
            if code is None or not principal.covers(code):
                continue
            kind, assistance = cases.suggested(row.category)
            items.append(
                Suggestion(
                    need_id=row.need_id, grid_id=row.grid_id, dwelling_id=row.dwelling_id,
                    person_id=row.person_id, category=row.category,
                    description=clear_copy(row.description),
                    noted_at=row.noted_at, kind=kind, assistance=assistance,
                )
            )  # fmt: skip
    return SuggestionPage(items=items)


@router.post("/{need_id}/case", status_code=status.HTTP_201_CREATED, response_model=CaseRead)
async def open_from_need(
    need_id: uuid.UUID, response: Response, principal: Staff, core: Core, command: Command
) -> CaseRead:
    """Open the suggested case, for the grid's worker (once: again, it answers with that case).
    The need's description is the registry's text: the case keeps its redacted copy."""
    case_id = cases.case_for(f"need:{need_id}")
    async with read_only(core.store.engine) as conn:
        rows = await _needs(conn, core, need_id)
        tables = await roster(conn, core)
        code = await grid_code(conn, tables, rows[0].grid_id) if rows and tables else None
        worker = await worker_of(conn, tables, rows[0].grid_id) if rows and tables else None
    unknown = NotFound(f"no open suggestion {need_id}", field="need_id")
    if not rows:
        existing = await core.store.stream_version(cases.stream_id(case_id))
        if not existing:
            raise unknown
        response.status_code = status.HTTP_200_OK
        try:
            return await read_case_as(core, principal, case_id)
        except NotFound:
            # the case is outside the caller's places: the need is as unknown to them as one
            # nobody noted
            raise unknown from None
    need = rows[0]
    if code is None or not principal.covers(str(code)):
        raise unknown
    await handle.open_from_need(
        command.commands, need_id=need_id, category=need.category, description=need.description,
        grid_id=need.grid_id, person_id=need.person_id, worker=worker,
    )  # fmt: skip
    return await read_case_as(core, principal, case_id)
