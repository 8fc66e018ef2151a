"""RFC 9457 problem details for every error a service returns, mapped once, here.

Each response is ``application/problem+json`` with ``type``, ``title``, ``status`` and ``detail``;
input errors add ``errors``, a list of ``{"field", "message"}`` naming each field at fault
(``body/identity_number``, ``query/page``, ``header/Idempotency-Key``). A server fault is a 500
that says nothing about its cause; the cause goes to the log with the request's trace id.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from aiokafka.errors import KafkaError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException

from wangge.events import (
    ConcurrencyConflict,
    EventValidationError,
    IdempotencyKeyReused,
    WriteOrderError,
)
from wangge.events.errors import StreamNotFound
from wangge.events.faults import RepeatFilter, is_outage
from wangge.governance.errors import DomainError, NotFound
from wangge.service.telemetry import LOGGED

log = logging.getLogger(__name__)
_outages = logging.getLogger(f"{__name__}.outages")
# one line per kind and minute, with a count: an outage under load fails every request
_outages.addFilter(RepeatFilter(window=60.0))

PROBLEM_JSON = "application/problem+json"
_URN = "urn:wangge:problem:"


class FieldProblem(BaseModel):
    """One input that is wrong, and why."""

    field: str
    message: str


class Problem(BaseModel):
    """The body of every error response (RFC 9457)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldProblem] | None = None


def problem(
    status: int,
    *,
    detail: str | None = None,
    slug: str | None = None,
    title: str | None = None,
    errors: list[FieldProblem] | None = None,
    instance: str | None = None,
    **extensions: Any,
) -> JSONResponse:
    """A problem+json response."""
    body = Problem(
        type=f"{_URN}{slug}" if slug else "about:blank",
        title=title or HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=instance,
        errors=errors,
    ).model_dump(exclude_none=True)
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _field(loc: tuple[int | str, ...] | list[int | str]) -> str:
    return "/".join(str(part) for part in loc) or "(request)"


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [FieldProblem(field=_field(e["loc"]), message=e["msg"]) for e in exc.errors()]
    names = ", ".join(e.field for e in errors)
    return problem(
        422,
        slug="invalid-input",
        title="The request has invalid input",
        detail=f"invalid: {names}",
        errors=errors,
        instance=request.url.path,
    )


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    response = problem(exc.status_code, detail=str(exc.detail), instance=request.url.path)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


class BodyTooLarge(HTTPException):
    """A request body passed the service's limit while it was read.

    An ``HTTPException``, because FastAPI turns any other error raised while it reads a body
    into a 400 "error parsing the body".
    """

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, detail=f"the body is over the limit of {max_bytes} bytes")
        self.max_bytes = max_bytes


def too_large(max_bytes: int, *, instance: str | None = None) -> JSONResponse:
    """The 413 for a request body over ``max_bytes``."""
    return problem(
        413,
        slug="too-large",
        title="The request body is too large",
        detail=f"the body is over the limit of {max_bytes} bytes",
        errors=[FieldProblem(field="body", message=f"at most {max_bytes} bytes")],
        instance=instance,
    )


async def _too_large(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BodyTooLarge)
    return too_large(exc.max_bytes, instance=request.url.path)


async def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    errors = [FieldProblem(field=exc.field, message=exc.detail)] if exc.field else None
    response = problem(
        exc.status,
        slug=exc.slug,
        title=exc.title,
        detail=exc.detail,
        errors=errors,
        instance=request.url.path,
    )
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def _conflict(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ConcurrencyConflict)
    return problem(
        409,
        slug="concurrency-conflict",
        title="The record changed since it was read",
        detail=f"{exc.stream_id} is at version {exc.actual}; read it again and retry",
        instance=request.url.path,
        expected_version=exc.expected,
        actual_version=exc.actual,
    )


async def _stream_not_found(request: Request, exc: Exception) -> JSONResponse:
    # the same problem as the domain's NotFound: a client cannot tell a record the command
    # runner found missing from one a query did
    assert isinstance(exc, StreamNotFound)
    return await _domain(request, NotFound(str(exc), field=exc.field))


async def _overtaken(request: Request, exc: Exception) -> JSONResponse:
    # still overtaken after its retries: nothing was written, and the same request shortly
    # after passes
    assert isinstance(exc, WriteOrderError)
    log.warning("%s %s overtaken on every attempt: %s", request.method, request.url.path, exc)
    response = problem(
        503,
        slug="busy",
        title="The records this request writes are busy",
        detail="other requests kept changing the same records; nothing was written, retry",
        instance=request.url.path,
    )
    response.headers["Retry-After"] = "1"
    return response


async def _key_reused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IdempotencyKeyReused)
    return problem(
        422,
        slug="idempotency-key-reused",
        title="The Idempotency-Key was used for a different request",
        detail=str(exc),
        instance=request.url.path,
        errors=[
            FieldProblem(
                field="header/Idempotency-Key", message="already used for a different request"
            )
        ],
    )


async def _invalid_event(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EventValidationError)
    errors = [FieldProblem(field=f"body/{e.field}", message=e.message) for e in exc.errors]
    return problem(
        422,
        slug="invalid-input",
        title="The request has invalid input",
        detail=str(exc),
        errors=errors,
        instance=request.url.path,
    )


OUTAGE_RETRY_AFTER = 5
"""Seconds a client is asked to wait while the database or the broker is out of reach: about
how long a restart takes, and what a worker's backoff allows before it is back."""

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def note_outage(request: Request, exc: Exception) -> None:
    """Log a request that met a dependency out of reach (one line per kind and minute): the
    API's 503 and any other answer given for it (the web dashboard's page) log alike."""
    _outages.warning(
        "%s %s: a dependency is out of reach (%s)",
        request.method, request.url.path, type(exc).__name__,
    )  # fmt: skip


def outage(request: Request, exc: Exception) -> JSONResponse:
    """503 with ``Retry-After`` while a dependency is out of reach.

    A write that failed that way may have committed just before the connection broke, so the
    client is told to send it again with the same ``Idempotency-Key``: a retry then returns the
    first result instead of writing twice.
    """
    note_outage(request, exc)
    if request.method in _SAFE_METHODS:
        detail = "the service's database or broker is out of reach for a moment; retry"
    else:
        detail = (
            "the service's database or broker is out of reach for a moment; the request may or "
            "may not have been recorded: send it again with the same Idempotency-Key header, "
            "which returns the first result if it was"
        )
    response = problem(
        503,
        slug="unavailable",
        title="A dependency of the service is out of reach",
        detail=detail,
        instance=request.url.path,
    )
    response.headers["Retry-After"] = str(OUTAGE_RETRY_AFTER)
    return response


async def _dependency(request: Request, exc: Exception) -> JSONResponse:
    # registered for the database's, the broker's and the network's errors, so that Starlette
    # answers them like any handled error (its catch-all 500 handler re-raises to the server,
    # which would log a traceback per request of an outage)
    if is_outage(exc):
        return outage(request, exc)
    return await _unexpected(request, exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    setattr(exc, LOGGED, True)  # the server's own traceback of it is left out (telemetry)
    return problem(500, detail="an unexpected error; it has been logged", instance=request.url.path)


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error to problem details; call once in the app factory."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(BodyTooLarge, _too_large)
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(ConcurrencyConflict, _conflict)
    app.add_exception_handler(StreamNotFound, _stream_not_found)
    app.add_exception_handler(IdempotencyKeyReused, _key_reused)
    app.add_exception_handler(WriteOrderError, _overtaken)
    app.add_exception_handler(EventValidationError, _invalid_event)
    for dependency_error in (SQLAlchemyError, OSError, KafkaError):
        app.add_exception_handler(dependency_error, _dependency)
    app.add_exception_handler(Exception, _unexpected)
