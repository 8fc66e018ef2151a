"""``/xapi/statements``: the training record as xAPI 1.0.3 statements, read-only, with the
specification's basic filters, so a Learning Record Store or an analyst's tools can take them.

Workers are accounts named by their pseudonymous id (``WANGGE_XAPI_HOME_PAGE`` is the account's
home page). Voided statements are left out of lists and fetched by ``voidedStatementId``; the
statements voiding them are listed like any other. ``more`` continues a list.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from wangge.events.db import read_only
from wangge.governance.errors import DomainError, NotFound
from wangge.service.auth import Principal, require
from wangge.service.responses import problems
from wangge.training.api.access import Core
from wangge.training.bounds import MAX_SEQ, XapiMoment
from wangge.training.config import TrainingSettings
from wangge.training.projections.statements import statement, statements_page, statements_tables

router = APIRouter(prefix="/xapi", tags=["xapi"])
VERSION = "1.0.3"
MOST = 500
Analyst = Annotated[Principal, Depends(require("trainer", "subdistrict_admin", "analyst"))]


class BadXapiRequest(DomainError):
    """A parameter the xAPI specification does not allow (its status: 400)."""

    status = 400
    slug = "xapi-bad-request"
    title = "The xAPI request is not valid"


def _agent_worker(agent: str, home_page: str) -> uuid.UUID:
    try:
        parsed = json.loads(agent)
        account = parsed["account"]
        if account["homePage"] != home_page:
            raise BadXapiRequest(f"accounts here have the homePage {home_page}", field="agent")
        return uuid.UUID(account["name"])
    except (ValueError, KeyError, TypeError) as error:
        raise BadXapiRequest(
            'agent is a JSON Agent with an account: {"account": {"homePage": …, "name": …}}',
            field="agent",
        ) from error


def _statement(row: Any, settings: TrainingSettings) -> dict[str, Any]:
    home = settings.xapi_home_page
    actor = {"objectType": "Agent", "account": {"homePage": home, "name": str(row.worker_id)}}
    authority = {"objectType": "Agent", "account": {"homePage": home, "name": "wangge-training"}}
    return {**row.body, "actor": actor, "authority": authority}


def _respond(content: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(
        content,
        status_code=status,
        headers={"X-Experience-API-Consistent-Through": datetime.now(UTC).isoformat()},
    )


def install_version_header(app: FastAPI) -> None:
    """Every answer under /xapi, a problem too, carries the xAPI version (the spec's rule)."""

    @app.middleware("http")
    async def version_header(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        if request.url.path.startswith(router.prefix):
            response.headers["X-Experience-API-Version"] = VERSION
        return response


@router.get("/statements", response_class=JSONResponse, responses=problems(BadXapiRequest, 404))
async def get_statements(
    request: Request,
    principal: Analyst,
    core: Core,
    version: Annotated[
        str | None,
        # stated, not enforced by FastAPI: the xAPI specification answers another version 400
        Header(alias="X-Experience-API-Version", json_schema_extra={"pattern": r"^1\.0"}),
    ] = None,
    statement_id: Annotated[uuid.UUID | None, Query(alias="statementId")] = None,
    voided_statement_id: Annotated[uuid.UUID | None, Query(alias="voidedStatementId")] = None,
    agent: Annotated[
        str | None, Query(max_length=1000, description="a JSON Agent (an account)")
    ] = None,
    verb: Annotated[str | None, Query(max_length=200, description="a verb IRI")] = None,
    activity: Annotated[str | None, Query(max_length=300, description="an activity IRI")] = None,
    registration: Annotated[uuid.UUID | None, Query()] = None,
    since: Annotated[XapiMoment | None, Query(description="stored after")] = None,
    until: Annotated[XapiMoment | None, Query(description="stored at or before")] = None,
    limit: Annotated[int, Query(ge=0, le=MAX_SEQ, description=f"0 or over {MOST}: {MOST}")] = 0,
    ascending: Annotated[bool, Query()] = False,
    shape: Annotated[str, Query(alias="format", pattern="^(ids|exact|canonical)$")] = "exact",
    cursor: Annotated[
        int | None, Query(ge=0, le=MAX_SEQ, description="where the previous page ended")
    ] = None,
) -> JSONResponse:
    """Statements: one by ``statementId`` (or a voided one by ``voidedStatementId``), or a
    list filtered by agent, verb, activity and stored time, newest first unless ``ascending``."""
    if version is not None and not version.startswith("1.0"):
        raise BadXapiRequest(
            f"this LRS speaks xAPI {VERSION}", field="header/X-Experience-API-Version"
        )
    settings = core.settings
    single = statement_id or voided_statement_id
    if statement_id is not None and voided_statement_id is not None:
        raise BadXapiRequest(
            "ask for statementId or voidedStatementId, not both", field="statementId"
        )
    listing = (agent, verb, activity, registration, since, until, cursor)
    if single is not None and any(x is not None for x in listing):
        raise BadXapiRequest("a single statement takes no list filters", field="statementId")
    async with read_only(core.store.engine) as conn:
        tables = await statements_tables(conn, core)
        if single is not None:
            row = await statement(conn, tables, single)
            voided = row is not None and row.voided_by is not None
            if row is None or voided != (voided_statement_id is not None):
                raise NotFound(f"no statement {single}", field="statementId")
            return _respond(_statement(row, settings))
        size = min(limit or MOST, MOST)
        rows = await statements_page(
            conn, tables,
            worker_id=None if agent is None else _agent_worker(agent, settings.xapi_home_page),
            verb=verb, activity=activity, registered=registration is not None, since=since,
            until=until, cursor=cursor, ascending=ascending, size=size + 1,
        )  # fmt: skip
    more = ""
    if len(rows) > size:
        rows = rows[:size]
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        more = f"{request.url.path}?{urlencode([*params, ('cursor', str(rows[-1].seq))])}"
    return _respond({"statements": [_statement(r, settings) for r in rows], "more": more})
