"""What a command route needs besides its body: who calls, which version they saw, retry safety.

``If-Match`` carries the version (the ``ETag``) the client last read, so a stale edit is a 409
instead of a lost update. ``Idempotency-Key`` makes a retried command return its first result;
keys are scoped to the caller, so two clients that pick the same key never see each other's
results, and a key sent again with another request is a 422. ``X-Correlation-Id`` names the
matter (一件事) the command's events join; one that breaks :data:`CORRELATION_ID_PATTERN` is a
422 naming ``header/X-Correlation-Id``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request, Response

from wangge.events import Metadata
from wangge.events.command import CommandRunner
from wangge.events.telemetry import current_traceparent
from wangge.governance.errors import DomainError
from wangge.service.app import ServiceState
from wangge.service.auth import CurrentPrincipal, Principal
from wangge.service.deps import IdempotencyKey, service_state
from wangge.service.responses import raises

S = TypeVar("S")

CORRELATION_ID_MAX = 200
CORRELATION_ID_PATTERN = r"^[\x21-\x7e]+$"
"""What an ``X-Correlation-Id`` may be: 1 to 200 printable ASCII characters, no space (a UUID,
a ticket number, a caller's trace id). It travels in every event's envelope to every consumer
and into their logs, so it is refused at the door, where the caller learns of it, rather than
cut or replaced, which would break the caller's own join on it without a word."""
_CORRELATION_ID = re.compile(CORRELATION_ID_PATTERN)

CorrelationId = Annotated[
    str | None,
    Header(
        alias="X-Correlation-Id",
        min_length=1,
        max_length=CORRELATION_ID_MAX,
        pattern=CORRELATION_ID_PATTERN,
        description="The matter (一件事) the command's events join: 1 to 200 printable ASCII "
        "characters, no space; without it the command's stream decides (a new stream starts a "
        "matter of its own).",
    ),
]
"""The ``X-Correlation-Id`` header of a command route (its schema says the rule)."""


class BadCorrelationId(DomainError):
    """An ``X-Correlation-Id`` header outside :data:`CORRELATION_ID_PATTERN`; the answer is the
    one the header's schema gives where a route declares it."""

    slug = "invalid-input"
    title = "The request has invalid input"


def correlation_id_of(request: Request) -> str | None:
    """The request's ``X-Correlation-Id`` (None if absent), for a route that does not declare
    the header: :class:`BadCorrelationId` unless it is of :data:`CORRELATION_ID_PATTERN`."""
    value = request.headers.get("X-Correlation-Id")
    if value is not None and (
        len(value) > CORRELATION_ID_MAX or _CORRELATION_ID.fullmatch(value) is None
    ):
        raise BadCorrelationId(
            "X-Correlation-Id must be 1 to 200 printable ASCII characters without spaces",
            field="header/X-Correlation-Id",
        )
    return value


_ETAG = re.compile(r'^(?:W/)?"?(\d{1,9})"?$')
IF_MATCH_PATTERN = r'^(?:\*|(?:W/)?"?[0-9]{1,9}"?)$'
"""What an ``If-Match`` header may be: ``*`` or the ETag of a version, as the OpenAPI says."""


class BadPrecondition(DomainError):
    """An ``If-Match`` header that names no version."""

    slug = "bad-if-match"
    title = "If-Match must be the ETag of a version"


def parse_if_match(value: str | None) -> int | None:
    """The version an ``If-Match`` header names (``"3"``, ``W/"3"`` or ``3``); None if absent."""
    if value is None or value.strip() == "*":
        return None
    match = _ETAG.match(value.strip())
    if match is None:
        raise BadPrecondition(f"{value!r} is no version ETag", field="header/If-Match")
    return int(match.group(1))


def etag(version: int) -> str:
    """The ``ETag`` of a record at ``version``."""
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    """Tell the client which version it now holds (send it back as ``If-Match``)."""
    response.headers["ETag"] = etag(version)


@dataclass(frozen=True)
class CommandContext:
    """One command request: the caller, and the command runner its headers made.

    Routes hand ``commands`` to the service's handlers (which know nothing of HTTP) and turn
    their result into a response; ``principal`` is for the route's own access checks.
    """

    request: Request
    principal: Principal
    state: ServiceState
    commands: CommandRunner


# load() 404s naming the record; If-Match, the store's version check and the domain's state
# rules 409
@raises(404, 409)
async def command_context(
    request: Request,
    principal: CurrentPrincipal,
    state: Annotated[ServiceState, Depends(service_state)],
    idempotency_key: IdempotencyKey = None,
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            # the schema says what parse_if_match takes, so a client (or a fuzzer) that follows
            # it is never refused
            pattern=IF_MATCH_PATTERN,
            description='The ETag of the version the client last read ("3"); a stale one is a 409.',
        ),
    ] = None,
    correlation_id: CorrelationId = None,
) -> CommandContext:
    """The command context of a request (a route dependency)."""
    metadata = Metadata(
        actor=principal.subject,
        correlation_id=correlation_id,
        traceparent=current_traceparent(),
    )
    commands = state.core.commands(
        metadata,
        # keys are the caller's own: two clients that pick the same key never meet
        idempotency_key=(
            hashlib.sha256(f"{principal.subject}\x1f{idempotency_key}".encode()).hexdigest()
            if idempotency_key is not None
            else None
        ),
        expected_version=parse_if_match(if_match),
        method=request.method,
        path=request.url.path,
    )
    return CommandContext(request=request, principal=principal, state=state, commands=commands)


Command = Annotated[CommandContext, Depends(command_context)]
