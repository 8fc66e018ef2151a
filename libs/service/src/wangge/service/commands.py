"""What a command route needs besides its body: who calls, which version they saw, retry safety.

``If-Match`` carries the version (the ``ETag``) the client last read, so a stale edit is a 409
instead of a lost update. ``Idempotency-Key`` makes a retried command return its first result;
keys are scoped to the caller, so two clients that pick the same key never see each other's
results, and a key sent again with another request is a 422.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request, Response
from pydantic import BaseModel

from wangge.events import DomainEvent, Metadata
from wangge.events.command import Evolve, Loaded, UnitOfWork, check_expected, load, unit_of_work
from wangge.events.store import NO_STREAM, AppendResult
from wangge.events.telemetry import current_traceparent
from wangge.governance.errors import DomainError, NotFound
from wangge.service.app import ServiceState
from wangge.service.auth import CurrentPrincipal, Principal
from wangge.service.deps import IdempotencyKey, service_state
from wangge.service.responses import raises

S = TypeVar("S")
Also = Callable[[UnitOfWork], Awaitable[None]]
"""Writes of the command's own tables, after its appends and in their transaction."""


class NoBody(BaseModel):
    """The body of a command that has none (its fingerprint is its route and path)."""


NO_BODY = NoBody()
"""What ``CommandContext.create`` and ``change`` take for a command without a body."""

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
    """One command request: the caller, its preconditions, and where to write."""

    request: Request
    principal: Principal
    state: ServiceState
    idempotency_key: str | None
    expected_version: int | None

    @property
    def metadata(self) -> Metadata:
        """Who caused the events: the caller, the request's correlation id and trace."""
        return Metadata(
            actor=self.principal.subject,
            correlation_id=self.request.headers.get("X-Correlation-Id"),
            traceparent=current_traceparent(),
        )

    def fingerprint(self, body: BaseModel | None = None, **extra: Any) -> str:
        """What identifies the request behind an idempotency key: route, path and body."""
        payload = {
            "method": self.request.method,
            "path": self.request.url.path,
            "body": body.model_dump(mode="json") if body is not None else None,
            **extra,
        }
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()

    async def replayed(self, fingerprint: str) -> AppendResult | None:
        """The first result of this request, when it is a retry."""
        if self.idempotency_key is None:
            return None
        return await self.state.store.replayed(self.idempotency_key, fingerprint)

    async def load(self, stream_id: str, evolve: Evolve[S], *, field: str) -> Loaded[S]:
        """A stream folded into state; 404 naming ``field`` when the stream does not exist."""
        loaded = await load(self.state.store, stream_id, evolve)
        if loaded.state is None:
            raise NotFound(f"no {stream_id}", field=field)
        return loaded

    async def create(
        self,
        body: BaseModel,
        stream_id: str,
        decide: Callable[[], Sequence[DomainEvent]],
        also: Also | None = None,
    ) -> AppendResult:
        """Start a stream with the events ``decide`` returns; a retry gets the first result."""
        fingerprint = self.fingerprint(body)
        first = await self.replayed(fingerprint)
        if first is not None:
            return first
        events = decide()
        async with self.unit() as unit:
            result = await unit.append(
                stream_id,
                events,
                expected_version=NO_STREAM,
                idempotency_key=self.idempotency_key,
                request_fingerprint=fingerprint,
            )
            if also is not None:
                await also(unit)
        return result

    async def change(
        self,
        body: BaseModel,
        loaded: Loaded[S],
        decide: Callable[[S], Sequence[DomainEvent]],
        also: Also | None = None,
    ) -> AppendResult | None:
        """Decide on a loaded stream at the version the client saw (If-Match), and append.

        None when the decision changes nothing. A retry with the same Idempotency-Key gets the
        first result, even if the stream moved on since.
        """
        fingerprint = self.fingerprint(body, stream=loaded.stream_id)
        first = await self.replayed(fingerprint)
        if first is not None:
            return first
        check_expected(loaded, self.expected_version)
        assert loaded.state is not None
        events = decide(loaded.state)
        if not events:
            return None
        async with self.unit() as unit:
            result = await unit.append(
                loaded.stream_id,
                events,
                expected_version=loaded.version,
                history=loaded.events,
                idempotency_key=self.idempotency_key,
                request_fingerprint=fingerprint,
            )
            if also is not None:
                await also(unit)
        return result

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[UnitOfWork]:
        """The command's transaction, with the service's inline read models."""
        async with unit_of_work(
            self.state.store,
            projections=list(self.state.projections.values()),
            metadata=self.metadata,
        ) as unit:
            yield unit


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
) -> CommandContext:
    """The command context of a request (a route dependency)."""
    return CommandContext(
        request=request,
        principal=principal,
        state=state,
        idempotency_key=(
            hashlib.sha256(f"{principal.subject}\x1f{idempotency_key}".encode()).hexdigest()
            if idempotency_key is not None
            else None
        ),
        expected_version=parse_if_match(if_match),
    )


Command = Annotated[CommandContext, Depends(command_context)]
