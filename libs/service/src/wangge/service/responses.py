"""Every problem an operation can answer, in the service's OpenAPI.

A client (and the fuzz tests) may only meet statuses and content types the OpenAPI names, so the
app factory documents the problems the kit itself can answer, by rule, on every operation:

- 503 (an outage, or records kept busy) everywhere, with its ``Retry-After``;
- 401 and 403 wherever a bearer token is read (a route then checks a role or a place);
- 404 on every operation with a path parameter, and on every command (its ``load`` 404s);
- 409 on every command (a stale ``If-Match``, a concurrent write, a rule of the state);
- 400 (a body that cannot be read as text), 413 and 422 on every operation with a body, and
  422 on every operation with parameters; FastAPI's own 422 schema, which the service never
  answers, is replaced by the problem.

The same pass takes ``null`` out of the parameters' schemas: a query parameter or header is
absent or a string, so a client that follows the schema is never refused for sending ``null``.

What only a route knows, it declares: a dependency with :func:`raises` (every route using it
inherits the answers), a route with ``responses=problems(...)``. Both take statuses or
:class:`~wangge.governance.errors.DomainError` classes (whose ``title`` describes the answer). A
status a route documents itself is left as the route wrote it, with its own content types (the
Open311 door's errors are not problem details); a ``model=Problem`` answer is moved to
``application/problem+json``, the only type a problem is ever sent as.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from starlette.routing import BaseRoute

from wangge.governance.errors import DomainError
from wangge.service.problems import OUTAGE_RETRY_AFTER, PROBLEM_JSON, Problem

Answer = int | type[DomainError]
"""A problem a route or dependency may answer: its status, or the domain error that makes it."""

F = TypeVar("F", bound=Callable[..., Any])

_MARK = "__wangge_problems__"
PROBLEM_REF = f"#/components/schemas/{Problem.__name__}"

_RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before sending the request again",
        "schema": {"type": "integer", "minimum": 0},
    }
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "the scheme to authenticate with: Bearer",
            "schema": {"type": "string"},
        }
    },
    429: _RETRY_AFTER,
    503: _RETRY_AFTER,
}
_WHY: dict[int, str] = {
    400: "the body could not be read (not text in the declared encoding)",
    401: "no bearer token, or one that is not valid",
    403: "the caller's roles or places do not allow this",
    404: "no such record, or one outside the caller's places: the same answer either way",
    409: (
        "the record changed since the client read it (a stale If-Match, or a concurrent "
        "write), or the command does not fit its current state"
    ),
    422: "invalid input; `errors` names each field at fault",
    429: "too many requests; `Retry-After` says when to try again",
    503: (
        f"a dependency is out of reach, or the records are busy; `Retry-After` (about "
        f"{OUTAGE_RETRY_AFTER} s) says when to try again, a write with the same Idempotency-Key"
    ),
}
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")


def raises(*answers: Answer) -> Callable[[F], F]:
    """Mark a dependency as one that may answer ``answers``: every route that depends on it,
    directly or through another dependency, documents them."""

    def mark(dependency: F) -> F:
        known: tuple[Answer, ...] = getattr(dependency, _MARK, ())
        setattr(dependency, _MARK, known + answers)
        return dependency

    return mark


def problems(*answers: Answer) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route that may answer ``answers`` (besides the kit's rules):
    ``@router.get(..., responses=problems(PersonalDataErased, 429))``."""
    return {status: _problem(status, why) for status, why in _described(answers).items()}


def declared(route: APIRoute) -> dict[int, list[str]]:
    """The statuses ``route``'s dependencies declare with :func:`raises`, with their reasons."""
    return _declared_by(route.dependant)


def _declared_by(dependant: Dependant) -> dict[int, list[str]]:
    answers: list[Answer] = []
    pending = [dependant]
    while pending:
        dependant = pending.pop()
        answers.extend(getattr(dependant.call, _MARK, ()))
        pending.extend(dependant.dependencies)
    return _reasons(answers)


def document_problems(app: FastAPI, *, max_body_bytes: int) -> None:
    """Add the problems of the kit's rules to every operation of ``app``'s OpenAPI."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            # build() keeps the schema in app.openapi_schema, where this pass changes it
            _document(build(), app.routes, max_body_bytes)
        return build()

    # FastAPI's documented way to extend the generated schema
    app.openapi = openapi  # type: ignore[method-assign]


def _document(schema: dict[str, Any], routes: Iterable[BaseRoute], max_body_bytes: int) -> None:
    models = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(models.pop("$defs", {}))
    components.setdefault(Problem.__name__, models)
    # the routes as the app serves them: an included router's under its prefix, with its
    # dependencies
    by_operation = {
        (context.path_format, method.lower()): context
        for context in iter_route_contexts(list(routes))
        if isinstance(context.original_route, APIRoute)
        for method in context.methods or ()
    }
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if isinstance(operation, dict):
                route = by_operation.get((path, method))
                _document_operation(operation, route, max_body_bytes)
    _drop_unused(schema, components)


def _document_operation(
    operation: dict[str, Any], route: RouteContext | None, max_body_bytes: int
) -> None:
    for parameter in operation.get("parameters", []):
        _never_null(parameter)
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for key, answer in list(responses.items()):
        if key.isdigit() and int(key) >= 400:
            responses[key] = _as_problem(answer)
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    rules: dict[int, list[str]] = {503: [_WHY[503]]}
    if route is not None:
        for status, reasons in _declared_by(route.dependant).items():
            rules.setdefault(status, []).extend(reasons)
    if any(parameter.get("in") == "path" for parameter in parameters):
        rules.setdefault(404, [_WHY[404]])
    if has_body:
        # only a body FastAPI reads itself can fail to decode; a route reading raw bytes
        # (a signed push) says what it answers
        if route is None or route.body_field is not None:
            rules.setdefault(400, [_WHY[400]])
        rules[413] = [f"the request body is over the limit of {max_body_bytes} bytes"]
    if has_body or parameters:
        rules.setdefault(422, [_WHY[422]])
    for status, reasons in sorted(rules.items()):
        known = responses.get(str(status))
        if known is None or _is_fastapi_validation(known):
            responses[str(status)] = _problem(status, "; ".join(dict.fromkeys(reasons)))
    for status, headers in _HEADERS.items():
        if str(status) in responses:
            documented = responses[str(status)].setdefault("headers", {})
            for name, header in headers.items():
                documented.setdefault(name, header)


def _never_null(parameter: dict[str, Any]) -> None:
    """An optional parameter is absent or a string on the wire, never null: FastAPI's ``X | None``
    says ``anyOf: [X, null]``, and a client that sends the null sends the text ``null``, which
    the service refuses (a time, a number, an ETag)."""
    schema = parameter.get("schema", {})
    branches = schema.get("anyOf")
    if not isinstance(branches, list) or {"type": "null"} not in branches:
        return
    rest = [branch for branch in branches if branch != {"type": "null"}]
    del schema["anyOf"]
    if len(rest) == 1:
        schema.update({key: value for key, value in rest[0].items() if key not in schema})
    else:
        schema["anyOf"] = rest
    if schema.get("default", 0) is None:
        del schema["default"]


def _as_problem(answer: dict[str, Any]) -> dict[str, Any]:
    """A route's own error answer; a Problem model FastAPI filed as JSON moved to its type."""
    content = answer.get("content")
    if not isinstance(content, dict) or set(content) != {"application/json"}:
        return answer
    if content["application/json"].get("schema", {}).get("$ref") != PROBLEM_REF:
        return answer
    return {**answer, "content": {PROBLEM_JSON: content["application/json"]}}


def _is_fastapi_validation(answer: dict[str, Any]) -> bool:
    """FastAPI's 422, added to every operation with input: the service never sends it (its
    validation errors are problems)."""
    for media in answer.get("content", {}).values():
        ref = media.get("schema", {}).get("$ref", "")
        if ref.rsplit("/", 1)[-1] == _FASTAPI_VALIDATION[0]:
            return True
    return False


def _drop_unused(schema: dict[str, Any], components: dict[str, Any]) -> None:
    """FastAPI's validation error schemas, once no operation refers to them."""
    text = repr(schema.get("paths", {}))
    if not any(f"/{name}'" in text for name in _FASTAPI_VALIDATION):
        for name in _FASTAPI_VALIDATION:
            components.pop(name, None)


def _problem(status: int, why: str) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": why,
        "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
    }
    if status in _HEADERS:
        answer["headers"] = dict(_HEADERS[status])
    return answer


def _reasons(answers: Iterable[Answer]) -> dict[int, list[str]]:
    reasons: dict[int, list[str]] = {}
    for answer in answers:
        if isinstance(answer, int):
            status, why = answer, _WHY.get(answer, HTTPStatus(answer).phrase.lower())
        else:
            status, why = answer.status, answer.title
        reasons.setdefault(status, []).append(why)
    return reasons


def _described(answers: Iterable[Answer]) -> dict[int, str]:
    return {status: "; ".join(dict.fromkeys(whys)) for status, whys in _reasons(answers).items()}
