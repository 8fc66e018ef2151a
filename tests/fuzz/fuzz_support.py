"""Fuzzing a running service's OpenAPI with schemathesis: every operation gets a bounded number
of generated requests (valid and invalid), sent in-process to the app the fixtures started.

The requests go through the service's own ``httpx`` client on the test's event loop, not through
schemathesis's ASGI transport: that one runs the app's lifespan a second time on a loop of its own
(engines, projection runners and relay twice, on one SQLite file), and the fixtures' app would
not be the app under test. Hypothesis drives the generation in a worker thread and hands each
request to the loop, so the service's background tasks keep running between requests as they do
in production.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.core.transport import Response
from schemathesis.generation.drivers import CoverageGenerator
from schemathesis.generation.feedback import NO_FEEDBACK
from schemathesis.generation.overrides import Override
from schemathesis.schemas import APIOperation, BaseSchema

from wangge.hotline_bridge.signing import SIGNATURE, TIMESTAMP, sign

EXAMPLES = 12
"""Generated requests per operation: enough to hit the bounds of each parameter now and then,
few enough that the four services take about two minutes on two cores."""

DEADLINE = timedelta(seconds=5)
"""Per request; generous because a shared CI machine is slow now and then, and a deadline that
trips on load would make the run flaky."""

PROBLEM = "application/problem+json"

# the keyword arguments of ``requests.Request`` among what schemathesis serializes a case into
_REQUEST_FIELDS = ("method", "url", "headers", "params", "data", "json", "files", "cookies")


@dataclass
class Fuzzed:
    """What one service's run found: failures (a 500, a problem of the wrong content type) and
    statuses the OpenAPI does not document, per operation."""

    service: str
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    undocumented: defaultdict[str, set[int]] = field(default_factory=lambda: defaultdict(set))

    def summary(self) -> str:
        """The undocumented statuses, one operation a line, for the next step of the issue (every
        status documented) to start from."""
        lines = [f"{self.service}: {self.requests} requests, undocumented statuses:"]
        lines += [
            f"  {label}: {', '.join(map(str, sorted(statuses)))}"
            for label, statuses in sorted(self.undocumented.items())
        ]
        return "\n".join(lines)


def hotline_signature(secret: bytes) -> Callable[[bytes], dict[str, str]]:
    """Headers that make a body a signed message from the hotline (a push, a follow-up)."""

    def headers(body: bytes) -> dict[str, str]:
        sent = int(time.time())
        return {TIMESTAMP: str(sent), SIGNATURE: sign(secret, sent, body)}

    return headers


async def fuzz(
    service: str,
    client: httpx.AsyncClient,
    *,
    headers: Mapping[str, str],
    signed: Callable[[bytes], dict[str, str]] | None = None,
    known: Mapping[str, str] | None = None,
    excluded: Mapping[str, str] | None = None,
) -> Fuzzed:
    """Fuzz every operation of the app behind ``client`` as the caller of ``headers``; ``signed``
    adds headers computed from the body sent; ``known`` names path parameters (``ticket_id``)
    whose value exists, so that generated bodies reach the handler past its 404; ``excluded``
    maps operation labels (``"POST /tickets"``) to why they are left out."""
    response = await client.get("/openapi.json")
    assert response.status_code == 200, response.text
    schema = schemathesis.openapi.from_dict(response.json())
    loop = asyncio.get_running_loop()
    sender = _Sender(client, loop, dict(headers), signed)
    fuzzed = Fuzzed(service)
    await asyncio.to_thread(_run, schema, sender, fuzzed, known or {}, excluded or {})
    return fuzzed


@dataclass
class _Sender:
    client: httpx.AsyncClient
    loop: asyncio.AbstractEventLoop
    headers: dict[str, str]
    signed: Callable[[bytes], dict[str, str]] | None

    def send(self, case: schemathesis.Case[Any]) -> httpx.Response:
        """The case as the wire would carry it (schemathesis's serialization, through
        ``requests``), sent by the service's client on the service's loop."""
        kwargs = case.as_transport_kwargs(base_url=str(self.client.base_url), headers=self.headers)
        prepared = requests.Request(
            **{key: kwargs[key] for key in _REQUEST_FIELDS if key in kwargs}
        ).prepare()
        raw = prepared.body or b""
        # requests prepares a str or bytes here: nothing this harness sends streams
        body = raw.encode() if isinstance(raw, str) else raw
        assert isinstance(body, bytes), type(body)
        for name, value in self.headers.items():
            # a negative case that drops the token would only ever meet the 401 (one that mangles
            # it still reaches the token parser)
            prepared.headers.setdefault(name, value)
        sent = {
            name: value.decode("latin-1") if isinstance(value, bytes) else value
            for name, value in prepared.headers.items()
        }
        if self.signed is not None:
            sent |= self.signed(body)
        assert prepared.method is not None and prepared.url is not None
        request = self.client.request(prepared.method, prepared.url, headers=sent, content=body)
        future = asyncio.run_coroutine_threadsafe(request, self.loop)
        return future.result(timeout=60)


def _run(
    schema: BaseSchema,
    sender: _Sender,
    fuzzed: Fuzzed,
    known: Mapping[str, str],
    excluded: Mapping[str, str],
) -> None:
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            fuzzed.failures.append(f"an operation the OpenAPI does not describe: {result.err()}")
            continue
        operation = result.ok()
        if operation.label in excluded:
            continue
        try:
            _fuzz_operation(operation, sender, fuzzed, known)
        # schemathesis's FailureGroup is a BaseExceptionGroup, not an Exception
        except (Exception, FailureGroup) as error:
            fuzzed.failures.append(f"{operation.label}: {error}")


def _fuzz_operation(
    operation: APIOperation[Any, Any, Any, Any],
    sender: _Sender,
    fuzzed: Fuzzed,
    known: Mapping[str, str],
) -> None:
    documented = set(operation.definition.raw.get("responses", {}))

    def exchange(case: schemathesis.Case[Any]) -> None:
        response = sender.send(case)
        fuzzed.requests += 1
        status = response.status_code
        if str(status) not in documented and f"{status // 100}XX" not in documented:
            fuzzed.undocumented[operation.label].add(status)
        case.validate_response(Response.from_httpx(response, verify=True), [not_a_server_error])
        # Open311 (GeoReport v2) answers errors in its own format, as its clients expect
        if status >= 400 and not operation.path.startswith("/open311/"):
            media_type = response.headers.get("content-type", "").split(";")[0].strip()
            assert media_type == PROBLEM, (
                f"{status} answered as {media_type!r}, not {PROBLEM}: {response.text[:500]}"
            )

    # Schemathesis's coverage phase first: the edges of every valid range (the longest string,
    # the largest number, the first and last dates), which is where a missing bound turns into
    # a 500. Deterministic and a few dozen cases an operation at most.
    coverage = CoverageGenerator(
        operation=operation,
        generation_modes=[GenerationMode.POSITIVE],
        generation_config=operation.schema.config.generation_for(
            operation=operation, phase="coverage"
        ),
        auth_storage=None,
        override=Override(),
        feedback=NO_FEEDBACK,
    )
    for case in coverage:
        exchange(case)
    # then Hypothesis, valid and invalid requests, with the ids that exist: the coverage phase
    # has already sent ids that do not
    existing = {
        parameter.name: known[parameter.name]
        for parameter in operation.path_parameters
        if parameter.name in known
    }
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE, path_parameters=existing),
        operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=existing),
    )

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,  # the same requests every run: a failure in CI is one to reproduce
        database=None,
        deadline=DEADLINE,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: it has no bound in time
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=cases)
    def check(case: schemathesis.Case[Any]) -> None:
        exchange(case)

    check()
