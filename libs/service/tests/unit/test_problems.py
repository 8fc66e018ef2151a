"""Errors become problem details: a write overtaken on every attempt is a 503 to retry, a 429
says when to try again."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from wangge.events import WriteOrderError
from wangge.governance.errors import DomainError
from wangge.service.problems import install_problem_handlers


async def _answer_to(error: Exception) -> httpx.Response:
    """What a client gets from a route that raises ``error``."""
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/things")
    async def write() -> None:
        raise error

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post("/things")
    assert response.headers["content-type"] == "application/problem+json"
    return response


async def test_a_write_overtaken_on_every_attempt_is_busy_and_says_when_to_retry() -> None:
    response = await _answer_to(WriteOrderError("overtaken"))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["type"] == "urn:wangge:problem:busy"


async def test_a_domain_refusal_to_retry_later_says_when_in_retry_after() -> None:
    class TooMany(DomainError):
        status = 429
        slug = "too-many"

    response = await _answer_to(TooMany("slow down", retry_after=17))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "17"
