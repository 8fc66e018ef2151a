"""Every problem an operation can answer is in the OpenAPI, as problem+json: by the kit's rules
(token, path parameter, body, command, outage) and by what a route or dependency declares."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from wangge.service import DomainError, ServiceSettings, create_app
from wangge.service.auth import Principal, require
from wangge.service.commands import Command
from wangge.service.problems import PROBLEM_JSON, Problem
from wangge.service.responses import PROBLEM_REF, problems, raises


class Erased(DomainError):
    status = 410
    slug = "erased"
    title = "The person's personal data was erased"


class Body(BaseModel):
    n: int


@raises(429)
async def rate_limited(principal: Annotated[Principal, Depends(require("analyst"))]) -> None:
    """A dependency that may refuse a caller asking too often."""


router = APIRouter()


@router.get("/open")
async def open_read() -> dict[str, str]:
    return {}


@router.get("/list")
async def listing(page: int | None = None) -> dict[str, str]:
    return {}


@router.get("/things/{thing_id}", dependencies=[Depends(require("analyst"))])
async def read_thing(thing_id: str) -> dict[str, str]:
    return {}


@router.post("/things", status_code=201)
async def make_thing(body: Body, command: Command) -> dict[str, str]:
    return {}


@router.get(
    "/people/{person_id}/secrets",
    dependencies=[Depends(rate_limited)],
    responses=problems(Erased),
)
async def read_secrets(person_id: str) -> dict[str, str]:
    return {}


@router.get(
    "/spec/{name}.{fmt}",
    responses={
        404: {"description": "the specification's own error", "content": {"text/xml": {}}},
        409: {"model": Problem, "description": "a conflict a route declares the FastAPI way"},
    },
)
async def own_errors(name: str, fmt: str) -> dict[str, str]:
    return {}


def _schema(tmp_path: Path, max_body_bytes: int = 1000) -> dict[str, Any]:
    settings = ServiceSettings(
        service="things", environment="test", data_dir=tmp_path,
        database_url=None, kafka_bootstrap_servers=None, max_body_bytes=max_body_bytes,
    )  # fmt: skip
    schema: dict[str, Any] = create_app(settings, title="Things", routers=[router]).openapi()
    return schema


def _responses(schema: dict[str, Any], path: str, method: str = "get") -> dict[str, Any]:
    responses: dict[str, Any] = schema["paths"][path][method]["responses"]
    return responses


def _is_problem(answer: dict[str, Any]) -> bool:
    return bool(answer["content"] == {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}})


def test_an_open_read_without_input_can_only_meet_an_outage(tmp_path: Path) -> None:
    responses = _responses(_schema(tmp_path), "/open")
    assert sorted(responses) == ["200", "503"]
    assert _is_problem(responses["503"])
    assert "Retry-After" in responses["503"]["headers"]


def test_a_read_behind_a_role_with_a_path_parameter(tmp_path: Path) -> None:
    responses = _responses(_schema(tmp_path), "/things/{thing_id}")
    assert sorted(responses) == ["200", "401", "403", "404", "422", "503"]
    assert all(_is_problem(responses[s]) for s in ("401", "403", "404", "422", "503"))
    assert "WWW-Authenticate" in responses["401"]["headers"]


def test_a_command_with_a_body_documents_every_refusal(tmp_path: Path) -> None:
    responses = _responses(_schema(tmp_path, max_body_bytes=1234), "/things", "post")
    assert sorted(responses) == ["201", "400", "401", "403", "404", "409", "413", "422", "503"]
    assert "1234 bytes" in responses["413"]["description"]
    assert "If-Match" in responses["409"]["description"]
    assert all(_is_problem(a) for s, a in responses.items() if s != "201")


def test_what_a_route_and_its_dependencies_declare_is_documented(tmp_path: Path) -> None:
    responses = _responses(_schema(tmp_path), "/people/{person_id}/secrets")
    assert sorted(responses) == ["200", "401", "403", "404", "410", "422", "429", "503"]
    assert responses["410"]["description"] == Erased.title
    assert _is_problem(responses["410"]) and _is_problem(responses["429"])
    assert "Retry-After" in responses["429"]["headers"]


def test_a_routes_own_answer_stays_and_a_problem_model_is_problem_json(tmp_path: Path) -> None:
    responses = _responses(_schema(tmp_path), "/spec/{name}.{fmt}")
    assert responses["404"]["content"] == {"text/xml": {}}
    assert _is_problem(responses["409"])
    assert responses["409"]["description"] == "a conflict a route declares the FastAPI way"


def test_fastapis_validation_error_schema_is_gone(tmp_path: Path) -> None:
    schema = _schema(tmp_path)
    assert "HTTPValidationError" not in str(schema)
    components = schema["components"]["schemas"]
    assert {"Problem", "FieldProblem"} <= set(components)


def test_an_optional_parameter_is_absent_or_a_value_never_null(tmp_path: Path) -> None:
    (page,) = _schema(tmp_path)["paths"]["/list"]["get"]["parameters"]
    assert page["schema"]["type"] == "integer"
    assert "anyOf" not in page["schema"] and "default" not in page["schema"]
