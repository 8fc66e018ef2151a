"""Every service refuses a request body over ``WANGGE_MAX_BODY_BYTES`` with a 413 problem, whether
the body says its length or streams in chunks, and documents the 413 in its OpenAPI."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
import pytest

from wangge.service import ServiceSettings
from wangge.service.problems import PROBLEM_JSON
from wangge.service.testing import own_schema

from service_sample import sample_app, sample_settings, serving

DEFAULT_LIMIT = 1_048_576
Client = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Client:
    """Starts the sample service on a backend, with the body limit given (or the default)."""

    @asynccontextmanager
    async def running(max_body_bytes: int = DEFAULT_LIMIT) -> AsyncIterator[httpx.AsyncClient]:
        url = request.getfixturevalue("database_url") if request.param == "postgres" else None
        settings = sample_settings(
            request.param, tmp_path, url, "limits", max_body_bytes=max_body_bytes
        )
        async with own_schema(settings), serving(sample_app(settings)) as client:
            yield client

    return running


def padded_tick(size: int) -> bytes:
    """A valid tick of exactly ``size`` bytes (JSON allows the spaces)."""
    head, tail = b'{"n": 1', b"}"
    return head + b" " * (size - len(head) - len(tail)) + tail


def tick_path() -> str:
    return f"/counters/{uuid.uuid4().hex}/ticks"


def assert_too_large(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["type"] == "urn:wangge:problem:too-large"
    assert body["status"] == 413
    assert [e["field"] for e in body["errors"]] == ["body"]
    assert str(limit) in body["errors"][0]["message"]


JSON = {"content-type": "application/json"}


async def test_a_body_over_the_default_limit_by_its_length_is_a_413_problem_naming_the_body(
    service: Client,
) -> None:
    async with service() as client:
        response = await client.post(
            tick_path(), content=padded_tick(DEFAULT_LIMIT + 1), headers=JSON
        )
        assert "content-length" in response.request.headers
        assert_too_large(response, DEFAULT_LIMIT)
        # refused before any route runs, so a route that takes no body says the same
        read = await client.request(
            "GET", f"/counters/{uuid.uuid4().hex}", content=b"x" * (DEFAULT_LIMIT + 1)
        )
        assert_too_large(read, DEFAULT_LIMIT)


async def test_a_body_at_or_just_under_the_limit_passes(service: Client) -> None:
    async with service() as client:
        for size in (DEFAULT_LIMIT - 1, DEFAULT_LIMIT):
            response = await client.post(tick_path(), content=padded_tick(size), headers=JSON)
            assert response.status_code == 201, (size, response.text)


async def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(service: Client) -> None:
    limit, chunk = 1000, 100
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"n": 1'
        for _ in range(100):  # ten times the limit, if anybody read it all
            sent += 1
            yield b" " * chunk
        yield b"}"

    async with service(max_body_bytes=limit) as client:
        response = await client.post(tick_path(), content=chunks(), headers=JSON)
    assert "content-length" not in response.request.headers
    assert_too_large(response, limit)
    assert sent <= limit // chunk + 1


async def test_the_limit_is_configurable(service: Client) -> None:
    async with service(max_body_bytes=100) as client:
        small = await client.post(tick_path(), content=padded_tick(100), headers=JSON)
        over = await client.post(tick_path(), content=padded_tick(101), headers=JSON)
    assert small.status_code == 201, small.text
    assert_too_large(over, 100)


def test_the_limit_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANGGE_MAX_BODY_BYTES", "2048")
    assert ServiceSettings(service="counters").max_body_bytes == 2048
    monkeypatch.delenv("WANGGE_MAX_BODY_BYTES")
    assert ServiceSettings(service="counters").max_body_bytes == DEFAULT_LIMIT


async def test_the_413_is_documented_on_every_route_that_takes_a_body(service: Client) -> None:
    async with service() as client:
        schema = (await client.get("/openapi.json")).json()
    tick = schema["paths"]["/counters/{counter_id}/ticks"]["post"]["responses"]["413"]
    assert str(DEFAULT_LIMIT) in tick["description"]
    ref = tick["content"][PROBLEM_JSON]["schema"]["$ref"]
    assert ref == "#/components/schemas/Problem"
    assert "errors" in schema["components"]["schemas"]["Problem"]["properties"]
    assert "FieldProblem" in schema["components"]["schemas"]
    read = schema["paths"]["/counters/{counter_id}"]["get"]["responses"]
    assert "413" not in read
