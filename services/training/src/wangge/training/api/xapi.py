"""``/xapi``: the service as an xAPI 1.0.3 Learning Record Store. It serves the statements it
derives from the training record and those learning record providers send it (POST or PUT of
``/xapi/statements``), with the specification's filters, ``more`` links and voiding.

Callers authenticate as the specification asks of an LRS, with HTTP Basic credentials the
service issues per client (:mod:`wangge.training.xapi_clients`), or with the deployment's
bearer tokens. Every request but ``/xapi/about`` names the xAPI version it speaks
(``X-Experience-API-Version``); every answer names this one. Bad parameters and bad statements
are 400 problems naming the field, never 422 (the specification's status).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import (
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.exceptions import HTTPException

from wangge.events import Metadata
from wangge.events.command import CommandRunner
from wangge.events.db import read_only
from wangge.events.telemetry import current_traceparent
from wangge.governance.errors import DomainError, NotFound
from wangge.service.auth import current_principal
from wangge.service.commands import correlation_id_of
from wangge.service.problems import PROBLEM_JSON
from wangge.service.responses import problems, raises
from wangge.training.api.access import Core
from wangge.training.bootstrap import TrainingCore
from wangge.training.bounds import MAX_SEQ, XapiMoment
from wangge.training.domain import xapi_rules
from wangge.training.domain.received_statements import MAX_IRI, StatementConflict
from wangge.training.domain.xapi_rules import InvalidStatement
from wangge.training.handlers import received_statements as handlers
from wangge.training.personal_data import PersonalDataErased
from wangge.training.projections.statements_queries import (
    derived_statement,
    received_statement,
    statement,
    statements_page,
    statements_tables,
)

router = APIRouter(prefix="/xapi", tags=["xapi"])
about_router = APIRouter(prefix="/xapi", tags=["xapi"])
"""``/xapi/about``, open to all as the specification says (so outside the access matrix)."""
VERSION = "1.0.3"
VERSION_HEADER = "X-Experience-API-Version"
MOST = 500
REALM = "wangge-training xAPI"
READERS = ("trainer", "subdistrict_admin", "analyst")
WRITERS = ("trainer", "subdistrict_admin")
_VERSION = re.compile(r"^1\.0(\.\d+)?$")
GET_PARAMETERS = frozenset({
    "statementId", "voidedStatementId", "agent", "verb", "activity", "registration",
    "related_activities", "related_agents", "since", "until", "limit", "format", "attachments",
    "ascending", "cursor",
})  # fmt: skip


class BadXapiRequest(DomainError):
    """A parameter or header the xAPI specification does not allow (its status: 400)."""

    status = 400
    slug = "xapi-bad-request"
    title = "The xAPI request is not valid"


# -- who calls ----------------------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="A JWT from the deployment's issuer")
_basic = HTTPBasic(
    auto_error=False, realm=REALM, description="An xAPI client's key and secret (issued per client)"
)


@dataclass(frozen=True)
class XapiCaller:
    """Who sends or reads statements: a staff account (bearer) or an xAPI client (Basic)."""

    subject: str
    """The envelope's actor of what it sends."""
    authority: str
    """The account name of the ``authority`` of the statements it sends."""


def _unauthorised(detail: str, challenge: str) -> HTTPException:
    return HTTPException(401, detail=detail, headers={"WWW-Authenticate": challenge})


def _caller(roles: Sequence[str], *, write: bool) -> Callable[..., Awaitable[XapiCaller]]:
    """A dependency letting through bearer tokens with one of ``roles`` and the clients whose
    role may read (or, with ``write``, send) statements."""

    @raises(401, 403)
    async def dependency(
        request: Request,
        core: Core,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        basic: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
    ) -> XapiCaller:
        if bearer is not None:
            principal = await current_principal(request, bearer)
            if not principal.has_any(roles):
                raise HTTPException(403, detail=f"needs one of the roles: {', '.join(roles)}")
            return XapiCaller(subject=principal.subject, authority=principal.subject)
        if basic is None:
            raise _unauthorised(
                "credentials are required: an xAPI client's (HTTP Basic) or a bearer token",
                f'Basic realm="{REALM}", Bearer',
            )
        client = await core.xapi_clients.verify(core.store.engine, basic.username, basic.password)
        if client is None:
            raise _unauthorised("the client's key or secret is wrong", f'Basic realm="{REALM}"')
        if write and not client.may_write:
            raise HTTPException(403, detail=f"the client {client.key} reads statements only")
        return XapiCaller(subject=f"xapi-client:{client.key}", authority=client.key)

    dependency.__wangge_roles__ = tuple(roles)  # type: ignore[attr-defined]
    return dependency


async def xapi_version(
    version: Annotated[
        str,
        Header(
            alias=VERSION_HEADER,
            description="the xAPI version the client speaks: 1.0.x",
            # stated, and checked below with the specification's reason
            json_schema_extra={"pattern": _VERSION.pattern},
        ),
    ],
) -> str:
    """The request's xAPI version: required, and 1.0.x (checked once the caller is known)."""
    if not _VERSION.match(version):
        raise BadXapiRequest(
            f"{VERSION_HEADER} is required, and this LRS speaks xAPI {VERSION}",
            field=f"header/{VERSION_HEADER}",
        )
    return version


Reader = Annotated[XapiCaller, Depends(_caller(READERS, write=False))]
Provider = Annotated[XapiCaller, Depends(_caller(WRITERS, write=True))]
Version = Annotated[str, Depends(xapi_version)]


# -- the answers' headers and problems ------------------------------------------------------------


def _is_xapi(path: str) -> bool:
    return path == router.prefix or path.startswith(router.prefix + "/")


def install(app: FastAPI) -> None:
    """Every answer under /xapi, a problem too, carries the xAPI version, and invalid input
    there is a 400 (the specification's status, and so the OpenAPI's) where the rest of the
    API answers 422."""

    @app.middleware("http")
    async def version_header(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        if _is_xapi(request.url.path):
            response.headers[VERSION_HEADER] = VERSION
        return response

    unprocessable = app.exception_handlers[RequestValidationError]

    async def bad_request(request: Request, exc: Exception) -> Response:
        response: Response = await unprocessable(request, exc)  # type: ignore[misc]
        if not _is_xapi(request.url.path):
            return response
        body = json.loads(bytes(response.body))
        body["status"] = 400
        return JSONResponse(body, status_code=400, media_type=PROBLEM_JSON)

    app.add_exception_handler(RequestValidationError, bad_request)
    schema_of = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = schema_of()
            for path, item in schema.get("paths", {}).items():
                if _is_xapi(path):  # what the rest of the API answers 422 is a 400 here
                    for operation in item.values():
                        operation.get("responses", {}).pop("422", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _only_parameters(request: Request, allowed: frozenset[str]) -> None:
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise BadXapiRequest(
            f"{unknown[0]} is not a parameter of this resource", field=f"query/{unknown[0]}"
        )


def _consistent(content: Any, status_code: int = 200) -> JSONResponse:
    # the read models are written in each command's transaction: a read sees every statement
    # stored until it began
    return JSONResponse(
        content,
        status_code=status_code,
        headers={"X-Experience-API-Consistent-Through": datetime.now(UTC).isoformat()},
    )


# -- reading ------------------------------------------------------------------------------------


def _agent_actor(agent: str, core: TrainingCore) -> uuid.UUID:
    """The pseudonymous id of the actor an ``agent`` parameter names."""
    try:
        parsed = json.loads(agent)
        xapi_rules.actor(parsed, "query/agent")
    except ValueError as error:
        raise BadXapiRequest("agent is a JSON Agent or Group", field="query/agent") from error
    except InvalidStatement as error:
        raise BadXapiRequest(error.detail, field="query/agent") from error
    return handlers.actor_id(core, parsed)


async def _served(conn: AsyncConnection, core: TrainingCore, rows: Sequence[Any]) -> list[Any]:
    """The rows as statements: derived ones with their worker's account, received ones opened
    with their actor's key."""
    home = core.settings.xapi_home_page
    keys = await core.keyring.keys(conn, list({r.actor_id for r in rows if r.sealed is not None}))
    return [
        derived_statement(r, home)
        if r.sealed is None
        else received_statement(r, home, keys.get(r.actor_id))
        for r in rows
    ]


@router.get("/statements", response_class=JSONResponse, responses=problems(BadXapiRequest, 404))
async def get_statements(
    request: Request,
    caller: Reader,
    version: Version,
    core: Core,
    statement_id: Annotated[uuid.UUID | None, Query(alias="statementId")] = None,
    voided_statement_id: Annotated[uuid.UUID | None, Query(alias="voidedStatementId")] = None,
    agent: Annotated[
        str | None, Query(max_length=1000, description="a JSON Agent or Group: its statements")
    ] = None,
    verb: Annotated[str | None, Query(max_length=MAX_IRI, description="a verb IRI")] = None,
    activity: Annotated[
        str | None, Query(max_length=MAX_IRI, description="an activity IRI")
    ] = None,
    registration: Annotated[uuid.UUID | None, Query()] = None,
    related_activities: Annotated[
        bool, Query(description="taken; activities match the object only")
    ] = False,
    related_agents: Annotated[
        bool, Query(description="taken; agents match the actor only")
    ] = False,
    since: Annotated[XapiMoment | None, Query(description="stored after")] = None,
    until: Annotated[XapiMoment | None, Query(description="stored at or before")] = None,
    limit: Annotated[int, Query(ge=0, le=MAX_SEQ, description=f"0 or over {MOST}: {MOST}")] = 0,
    ascending: Annotated[bool, Query()] = False,
    shape: Annotated[str, Query(alias="format", pattern="^(ids|exact|canonical)$")] = "exact",
    attachments: Annotated[bool, Query(description="statements here have none")] = False,
    cursor: Annotated[
        int | None, Query(ge=0, le=MAX_SEQ, description="where the previous page ended")
    ] = None,
) -> JSONResponse:
    """Statements, derived and received: one by ``statementId`` (or a voided one by
    ``voidedStatementId``), or a list filtered by agent, verb, activity, registration and
    stored time, newest first unless ``ascending``; ``more`` continues a list."""
    _only_parameters(request, GET_PARAMETERS)
    single = statement_id or voided_statement_id
    if statement_id is not None and voided_statement_id is not None:
        raise BadXapiRequest(
            "ask for statementId or voidedStatementId, not both", field="query/statementId"
        )
    listing = (agent, verb, activity, registration, since, until, cursor)
    if single is not None and any(x is not None for x in listing):
        raise BadXapiRequest("a single statement takes no list filters", field="query/statementId")
    actor_id = None if agent is None else _agent_actor(agent, core)
    async with read_only(core.store.engine) as conn:
        tables = await statements_tables(conn, core)
        if single is not None:
            row = await statement(conn, tables, single)
            voided = row is not None and row.voided_by is not None
            if row is None or voided != (voided_statement_id is not None):
                raise NotFound(f"no statement {single}", field="query/statementId")
            return _consistent((await _served(conn, core, [row]))[0])
        size = min(limit or MOST, MOST)
        rows = await statements_page(
            conn, tables, actor_id=actor_id, verb=verb, activity=activity,
            registration=registration, since=since, until=until, cursor=cursor,
            ascending=ascending, size=size + 1,
        )  # fmt: skip
        more = ""
        if len(rows) > size:
            rows = rows[:size]
            params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
            more = f"{request.url.path}?{urlencode([*params, ('cursor', str(rows[-1].seq))])}"
        served = await _served(conn, core, rows)
    return _consistent({"statements": served, "more": more})


# -- receiving ----------------------------------------------------------------------------------


async def _body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError as error:
        raise BadXapiRequest("the body is not JSON", field="body") from error


def _commands(core: TrainingCore, request: Request, caller: XapiCaller) -> CommandRunner:
    metadata = Metadata(
        actor=caller.subject,
        correlation_id=correlation_id_of(request),
        traceparent=current_traceparent(),
    )
    return core.commands(metadata, method=request.method, path=request.url.path)


_STATEMENTS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "description": "an xAPI 1.0.3 statement, or a list of them",
                    "oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}],
                }
            }
        },
    }
}
_RECEIPT_PROBLEMS = problems(
    BadXapiRequest, InvalidStatement, StatementConflict, PersonalDataErased
)


@router.post(
    "/statements",
    response_class=JSONResponse,
    responses={200: {"description": "the statements' ids, in order"}, **_RECEIPT_PROBLEMS},
    openapi_extra=_STATEMENTS_BODY,
)
async def post_statements(
    request: Request, caller: Provider, version: Version, core: Core
) -> JSONResponse:
    """Store a statement or a list of them (all or none): their ids, in order. A statement
    sent again with the same content is stored once; another content under a held id is a
    409. ``stored`` and ``authority`` (the client) are the LRS's own."""
    _only_parameters(request, frozenset())
    body = await _body(request)
    single = not isinstance(body, list)
    ids = await handlers.receive(
        _commands(core, request, caller), core, [body] if single else body,
        authority=caller.authority, single=single,
    )  # fmt: skip
    return _consistent([str(i) for i in ids])


@router.put(
    "/statements",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=_RECEIPT_PROBLEMS,
    openapi_extra=_STATEMENTS_BODY,
)
async def put_statement(
    request: Request,
    caller: Provider,
    version: Version,
    core: Core,
    statement_id: Annotated[uuid.UUID, Query(alias="statementId")],
) -> Response:
    """Store one statement under ``statementId`` (its own id, if any, must be the same)."""
    _only_parameters(request, frozenset({"statementId"}))
    body = await _body(request)
    if not isinstance(body, dict):
        raise InvalidStatement("a PUT stores one statement, a JSON object", field="body")
    await handlers.receive(
        _commands(core, request, caller), core, [body],
        authority=caller.authority, single=True, statement_id=statement_id,
    )  # fmt: skip
    return Response(status_code=204)


@about_router.get("/about", response_class=JSONResponse)
async def about() -> JSONResponse:
    """The xAPI versions this LRS speaks (open to all, without a version header)."""
    return JSONResponse({"version": [VERSION], "extensions": {}})
