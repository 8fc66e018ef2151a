"""Resident and household 360 (居民/家庭 360): one person's or one household's picture across
the registry, the cases service and the hotline bridge, as it stood at the end of ``as_of``
(``projections.residents_queries`` says what is as-of-able). Staff read it within their places:
the person's (last) dwelling's grid or community, the household's dwelling's; outside them, 404
as for someone unknown. A person placed nowhere by ``as_of`` is placed by where they live, or
last lived, today; one nothing places (never housed, or in a dwelling the roster does not know)
is read only by those whose places cover the whole deployment (``access.in_scope``)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.governance.errors import NotFound
from wangge.service.auth import Principal
from wangge.service.deps import ReadConnection
from wangge.service.responses import problems
from wangge.views.api.access import (
    Core,
    Staff,
    ViewNotReady,
    require_scope,
    roster_tables,
    view_tables,
)
from wangge.views.api.as_of import AsOfDay, checked
from wangge.views.api.params import single_valued
from wangge.views.projections import residents_queries as queries
from wangge.views.projections.residents import Residents
from wangge.views.projections.residents_models import Dwelling, HouseholdPicture, ResidentPicture

router = APIRouter(tags=["residents"], dependencies=[single_valued])
AsOf = Annotated[
    AsOfDay | None,
    Query(description="answer as at the end of this day (Asia/Shanghai); today if none"),
]


def _json(picture: ResidentPicture | HouseholdPicture) -> Response:
    """The picture as the queries built it, already valid: FastAPI would dump it and validate
    it again against ``response_model`` (which stays for the OpenAPI document) before
    rendering, a third of a read's CPU for a long timeline."""
    return Response(content=picture.model_dump_json(), media_type="application/json")


def _codes(dwelling: Dwelling | None) -> list[str | None]:
    return [dwelling.grid_code, dwelling.community_code] if dwelling is not None else []


@router.get(
    "/residents/{person_id}",
    response_model=ResidentPicture,
    responses=problems(NotFound, ViewNotReady),
)
async def read_resident(
    person_id: uuid.UUID, principal: Staff, conn: ReadConnection, core: Core, as_of: AsOf = None
) -> Response:
    """A resident's picture: who (masked), where, household, grid worker, tags, visits, needs,
    cases, care plans and tickets, and all of it as one timeline, newest first. A merged record
    answers with its survivor's picture (``requested_id`` is the id asked for)."""
    return _json(await resident_picture(conn, core, principal, person_id, checked(as_of)))


async def resident_picture(
    conn: AsyncConnection, core: Core, principal: Principal, person_id: uuid.UUID,
    day: date | None,
) -> ResidentPicture:  # fmt: skip
    """A resident's picture as ``principal`` may read it (404 outside their places)."""
    tables = await view_tables(conn, core, Residents.name)
    roster = await roster_tables(conn, core)
    picture = await queries.resident(conn, tables, roster, person_id, as_of=day)
    if picture is None:
        raise NotFound(f"no person {person_id}", field="person_id")
    codes = _codes(picture.last_dwelling)
    if not any(codes) and day is not None:
        # not housed yet on that day: still somebody's, those of where they live or last lived
        latest = await queries.resident(conn, tables, roster, person_id)
        codes = _codes(latest.last_dwelling) if latest is not None else []
    await require_scope(conn, roster, principal, codes, "person", field="person_id")
    return picture


@router.get(
    "/households/{household_id}",
    response_model=HouseholdPicture,
    responses=problems(NotFound, ViewNotReady),
)
async def read_household(
    household_id: uuid.UUID, principal: Staff, conn: ReadConnection, core: Core, as_of: AsOf = None
) -> Response:
    """A household's picture: its dwelling, members (with their masked names and active tags),
    open cases, the members' running care plans and the tickets at the dwelling."""
    day = checked(as_of)
    tables = await view_tables(conn, core, Residents.name)
    roster = await roster_tables(conn, core)
    picture = await queries.household(conn, tables, roster, household_id, as_of=day)
    if picture is None:
        raise NotFound(f"no household {household_id}", field="household_id")
    await require_scope(
        conn, roster, principal, _codes(picture.dwelling), "household", field="household_id"
    )
    return _json(picture)
