"""Fuzzing a running service's OpenAPI with schemathesis: every operation gets a bounded number
of generated requests (valid and invalid), sent in-process to the app the fixtures started, as
a caller of every role.

The requests go through the service's own ``httpx`` client on the test's event loop, not through
schemathesis's ASGI transport: that one runs the app's lifespan a second time on a loop of its own
(engines, projection runners and relay twice, on one SQLite file), and the fixtures' app would
not be the app under test. Hypothesis drives the generation in a worker thread and hands each
request to the loop, so the service's background tasks keep running between requests as they do
in production.

Each operation gets, in this order: schemathesis's coverage phase (the edges of every valid
range) and ``EXAMPLES`` Hypothesis cases (a service's own ``examples``) as the first caller, who
may do the most; then ``ROLE_EXAMPLES`` cases as each other caller in turn. Path parameters, and
body fields of the same names, take the ids of records the test seeded half of the time, so that
requests get past the 404 to the handlers; the other half they are what schemathesis draws.
Query parameters and headers named apart (``known_in_query``: a feed's cursor, its ETag; apart,
as a query parameter of a common name may mean something else elsewhere) take seeded values in
those same cases, each half of the time.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Err
from schemathesis.generation.drivers import CoverageGenerator
from schemathesis.generation.feedback import NO_FEEDBACK
from schemathesis.generation.meta import REQUEST_SHAPE_PROBES, coverage_scenario
from schemathesis.generation.overrides import Override
from schemathesis.schemas import APIOperation, BaseSchema

from wangge.hotline_bridge.signing import SIGNATURE, TIMESTAMP, sign

EXAMPLES = 12
"""Hypothesis cases an operation as the first caller: enough to hit the bounds of each parameter
now and then, few enough that the four services take well under three minutes on two cores."""

ROLE_EXAMPLES = 2
"""Hypothesis cases an operation as each other caller (at least one each, so every operation
meets every role), mostly to check that a refusal by role or place is documented and never a
500."""

DEADLINE = timedelta(seconds=5)
"""Per request; generous because a shared CI machine is slow now and then, and a deadline that
trips on load would make the run flaky."""

PROBLEM = "application/problem+json"

ACCEPTED = frozenset({401, 403, 404, 409, 410, 429})
"""Refusals a request valid by the schema may still meet: who asks, what exists, its state."""

STATEFUL = frozenset({"urn:wangge:problem:idempotency-key-reused"})
"""Problem types that say what earlier requests did, not that this one breaks the schema (two
generated requests may draw the same ``Idempotency-Key``)."""

FIELDS_SHOWN = 3
"""Fields a refusal's summary names."""

FAILURES_AN_OPERATION = 3
"""Failures kept per operation: the first few say what is wrong, the rest would only repeat."""

# the keyword arguments of ``requests.Request`` among what schemathesis serializes a case into
_REQUEST_FIELDS = ("method", "url", "headers", "params", "data", "json", "files", "cookies")

Headers = Mapping[str, str]


@dataclass
class Fuzzed:
    """What one service's run found, per operation: failures (a 500, a problem of the wrong
    content type), answers its OpenAPI does not document (``"404"``, or ``"200 text/xml"`` for a
    documented status in an undocumented type), and refusals of requests valid by the schema."""

    service: str
    requests: int = 0
    by_role: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    undocumented: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    refused: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def summary(self) -> str:
        """What was sent, and what is still to document or accept, one operation a line."""
        roles = ", ".join(f"{role} {n}" for role, n in sorted(self.by_role.items()))
        lines = [f"{self.service}: {self.requests} requests ({roles})"]
        lines.append("  undocumented answers:" if self.undocumented else "  all answers documented")
        lines += [
            f"    {label}: {', '.join(sorted(answers))}"
            for label, answers in sorted(self.undocumented.items())
        ]
        lines.append(
            "  requests valid by the schema, refused:"
            if self.refused
            else "  no valid request refused"
        )
        lines += [
            f"    {label}: " + "; ".join(f"{why} (x{n})" for why, n in sorted(reasons.items()))
            for label, reasons in sorted(self.refused.items())
        ]
        return "\n".join(lines)

    def fail(self, label: str, message: str) -> None:
        if sum(1 for f in self.failures if f.startswith(f"{label}: ")) < FAILURES_AN_OPERATION:
            self.failures.append(f"{label}: {message}")


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
    callers: Mapping[str, Headers],
    signed: Callable[[bytes], dict[str, str]] | None = None,
    known: Mapping[str, Sequence[Any]] | None = None,
    known_in_query: Mapping[str, Sequence[Any]] | None = None,
    own_errors: Sequence[str] = (),
    examples: int = EXAMPLES,
) -> Fuzzed:
    """Fuzz every operation of the app behind ``client``; ``callers`` name each caller's headers
    (the first goes through the coverage phase); ``signed`` adds headers computed from the body
    sent; ``known`` gives values that exist for path parameters and body fields of those names
    (``ticket_id``), ``known_in_query`` for query parameters and headers (``after``,
    ``If-None-Match``); ``own_errors`` are path prefixes whose errors are not problem details;
    ``examples`` is the first caller's cases an operation (more for a service of few operations)."""
    response = await client.get("/openapi.json")
    assert response.status_code == 200, response.text
    schema = schemathesis.openapi.from_dict(response.json())
    loop = asyncio.get_running_loop()
    sender = _Sender(client, loop, signed)
    fuzzed = Fuzzed(service)
    run = _Run(
        schema, sender, fuzzed, dict(callers), known or {}, known_in_query or {},
        tuple(own_errors), examples,
    )  # fmt: skip
    await asyncio.to_thread(run.all)
    return fuzzed


@dataclass
class _Sender:
    client: httpx.AsyncClient
    loop: asyncio.AbstractEventLoop
    signed: Callable[[bytes], dict[str, str]] | None

    def send(self, case: schemathesis.Case[Any], headers: Headers) -> httpx.Response:
        """The case as the wire would carry it (schemathesis's serialization, through
        ``requests``), sent by the service's client on the service's loop."""
        kwargs = case.as_transport_kwargs(base_url=str(self.client.base_url), headers=dict(headers))
        prepared = requests.Request(
            **{key: kwargs[key] for key in _REQUEST_FIELDS if key in kwargs}
        ).prepare()
        raw = prepared.body or b""
        # requests prepares a str or bytes here: nothing this harness sends streams
        body = raw.encode() if isinstance(raw, str) else raw
        assert isinstance(body, bytes), type(body)
        for name, value in headers.items():
            # a negative case that drops the token would only ever meet the 401 (one that mangles
            # it still reaches the token parser)
            prepared.headers.setdefault(name, value)
        # a line break ends a header on the wire: what follows it never reaches a service (a
        # value drawn for the pattern ``...$`` may end with one, as Python's ``$`` allows it)
        sent = {
            name: (value.decode("latin-1") if isinstance(value, bytes) else value).strip()
            for name, value in prepared.headers.items()
        }
        if self.signed is not None:
            sent |= self.signed(body)
        assert prepared.method is not None and prepared.url is not None
        request = self.client.request(prepared.method, prepared.url, headers=sent, content=body)
        future = asyncio.run_coroutine_threadsafe(request, self.loop)
        return future.result(timeout=60)


@dataclass
class _Run:
    schema: BaseSchema
    sender: _Sender
    fuzzed: Fuzzed
    callers: dict[str, Headers]
    known: Mapping[str, Sequence[Any]]
    known_in_query: Mapping[str, Sequence[Any]]
    own_errors: tuple[str, ...]
    examples: int

    def all(self) -> None:
        for result in self.schema.get_all_operations():
            if isinstance(result, Err):
                self.fuzzed.failures.append(
                    f"an operation the OpenAPI does not describe: {result.err()}"
                )
                continue
            operation = result.ok()
            try:
                self.operation(operation)
            except Exception as error:  # the harness's own trouble, reported with the operation
                self.fuzzed.fail(operation.label, f"{type(error).__name__}: {error}")

    def operation(self, operation: APIOperation[Any, Any, Any, Any]) -> None:
        first, *others = self.callers
        met: set[str] = set()
        sent: list[schemathesis.Case[Any]] = []

        def exchange(case: schemathesis.Case[Any], role: str) -> None:
            response = self.sender.send(case, self.callers[role])
            self.fuzzed.requests += 1
            self.fuzzed.by_role[role] += 1
            met.add(role)
            sent.append(case)
            self.check(operation, case, response)

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
            exchange(case, first)
        cases = st.one_of(self.cases(operation, GenerationMode.POSITIVE),
                          self.cases(operation, GenerationMode.NEGATIVE))  # fmt: skip

        # two test functions, so that Hypothesis's derandomized seeds (one per function) give
        # the other callers other requests than the first one's
        @_bounded(self.examples)
        @given(case=cases)
        def as_first(case: schemathesis.Case[Any]) -> None:
            exchange(case, first)

        turns = itertools.cycle(others)

        @_bounded(ROLE_EXAMPLES * len(others))
        @given(case=cases)
        def as_each_other(case: schemathesis.Case[Any]) -> None:
            exchange(case, next(turns))

        as_first()
        if others:
            as_each_other()
        # an operation with little to draw (no parameters) runs out of distinct cases before
        # every caller had a turn: the rest get the first request sent
        for role in others:
            if role not in met and sent:
                exchange(sent[0], role)

    def cases(
        self, operation: APIOperation[Any, Any, Any, Any], mode: GenerationMode
    ) -> st.SearchStrategy[schemathesis.Case[Any]]:
        known, in_query = self.known, self.known_in_query
        names = [p.name for p in operation.path_parameters if p.name in known]
        queried = [p.name for p in operation.query if p.name in in_query]
        headers = [p.name for p in operation.headers if p.name in in_query]

        @st.composite
        def seeded(draw: st.DrawFn) -> schemathesis.Case[Any]:
            existing: dict[str, Any] = {}
            query: dict[str, Any] = {}
            header: dict[str, Any] = {}
            if draw(st.booleans()):
                existing = {name: draw(st.sampled_from(known[name])) for name in names}
                query = _some(draw, in_query, queried)
                header = _some(draw, in_query, headers)
            case = draw(
                operation.as_strategy(
                    mode, path_parameters=existing, query=query or None, headers=header or None
                )
            )
            body = case.body
            if mode.is_positive and isinstance(body, dict) and draw(st.booleans()):
                for name in sorted(set(body) & set(known)):
                    body[name] = draw(st.sampled_from(known[name]))
            return case

        return seeded()

    def check(
        self,
        operation: APIOperation[Any, Any, Any, Any],
        case: schemathesis.Case[Any],
        response: httpx.Response,
    ) -> None:
        label, status = operation.label, response.status_code
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        if status >= 500 and status != 503:
            self.fuzzed.fail(label, f"{status} on {_request(case)}: {response.text[:300]}")
            return
        own = operation.path.startswith(self.own_errors) if self.own_errors else False
        if status >= 400 and not own and media_type != PROBLEM:
            self.fuzzed.fail(
                label, f"{status} answered as {media_type!r}, not {PROBLEM}: {response.text[:300]}"
            )
        answer = _undocumented(operation.definition.raw.get("responses", {}), status, media_type,
                               bool(response.content))  # fmt: skip
        if answer is not None:
            self.fuzzed.undocumented[label].add(answer)
        meta = case.meta
        if (
            400 <= status < 500
            and status not in ACCEPTED
            and meta is not None
            and meta.generation.mode.is_positive
            and coverage_scenario(case) not in REQUEST_SHAPE_PROBES
        ):
            why = _why(status, response)
            if why is not None:
                self.fuzzed.refused[label][why] += 1


def _some(
    draw: st.DrawFn, values: Mapping[str, Sequence[Any]], names: Sequence[str]
) -> dict[str, Any]:
    """A seeded value for each of ``names`` half of the time, each on its own: two parameters
    that exclude each other (a matter's ``ticket_id`` and ``case_id``) would otherwise always
    come together."""
    return {name: draw(st.sampled_from(values[name])) for name in names if draw(st.booleans())}


def _bounded(examples: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return settings(
        max_examples=examples,
        derandomize=True,  # the same requests every run: a failure in CI is one to reproduce
        database=None,
        deadline=DEADLINE,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: it has no bound in time
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


def _undocumented(
    responses: Mapping[str, Any], status: int, media_type: str, has_body: bool
) -> str | None:
    """``"404"`` for a status the operation does not document, ``"200 text/xml"`` for a
    documented status sent in a content type it does not name; None if both are documented."""
    documented = responses.get(str(status)) or responses.get(f"{status // 100}XX")
    if documented is None:
        return str(status)
    if not has_body:
        return None
    content = documented.get("content", {}) if isinstance(documented, dict) else {}
    for named in content:
        main, _, sub = str(named).partition("/")
        if named == media_type or named == "*/*" or (sub == "*" and media_type.startswith(main)):
            return None
    return f"{status} {media_type or '(no content type)'}"


def _why(status: int, response: httpx.Response) -> str | None:
    """A refusal in a few words: status, problem type, the fields it names; None for a refusal
    that earlier requests explain."""
    try:
        body = response.json()
    except ValueError:
        return str(status)
    if not isinstance(body, dict):
        return str(status)
    if body.get("type") in STATEFUL:
        return None
    kind = str(body.get("type", "")).removeprefix("urn:wangge:problem:")
    fields = sorted({str(e.get("field")) for e in body.get("errors") or [] if isinstance(e, dict)})
    if len(fields) > FIELDS_SHOWN:  # a union's every branch (a GeoJSON boundary's are hundreds)
        fields = [*fields[:FIELDS_SHOWN], f"{len(fields) - FIELDS_SHOWN} more"]
    return f"{status} {kind}" + (f" [{', '.join(fields)}]" if fields else "")


def _request(case: schemathesis.Case[Any]) -> str:
    return f"{case.method} {case.formatted_path} query={case.query} body={str(case.body)[:200]}"
