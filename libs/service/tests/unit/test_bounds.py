"""Times and days are bounded to the years 1900 to 2199, and the OpenAPI says so: a request the
schema allows is taken, one it does not is a 422 naming the field."""

from __future__ import annotations

import re
from typing import Annotated, Any

import httpx
from fastapi import FastAPI, Query
from pydantic import BaseModel

from wangge.service.bounds import YEAR_PATTERN, AnyMoment, Day, Moment
from wangge.service.problems import install_problem_handlers


class Period(BaseModel):
    starts_on: Day
    at: AnyMoment | None = None


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/periods")
    async def period(body: Period, since: Annotated[Moment | None, Query()] = None) -> str:
        return "ok"

    return app


async def _post(query: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
        return await client.post("/periods", params=query, json=body)


def test_the_schema_states_the_years_as_a_pattern() -> None:
    schema = _app().openapi()
    (since,) = schema["paths"]["/periods"]["post"]["parameters"]
    moment = {"type": "string", "format": "date-time", "pattern": YEAR_PATTERN}
    assert moment in since["schema"]["anyOf"]  # the app factory then drops the null
    period = schema["components"]["schemas"]["Period"]["properties"]
    assert (period["starts_on"]["format"], period["starts_on"]["pattern"]) == ("date", YEAR_PATTERN)
    assert all(re.match(YEAR_PATTERN, f"{year}-01-01") for year in (1900, 2024, 2199))
    assert not any(re.match(YEAR_PATTERN, f"{year:04d}-01-01") for year in (1, 1899, 2200, 9999))


async def test_the_edges_are_taken_whatever_the_offset() -> None:
    taken = await _post(
        {"since": "1900-01-01T00:00:00+14:00"},
        {"starts_on": "2199-12-31", "at": "2199-12-31T23:59:59-12:00"},
    )
    assert taken.status_code == 200, taken.text


async def test_a_year_outside_is_a_422_naming_the_field() -> None:
    early = await _post({"since": "0001-01-01T00:00:00Z"}, {"starts_on": "2024-01-01"})
    late = await _post({}, {"starts_on": "2200-01-01", "at": "9999-12-31T23:59:59"})
    assert early.status_code == late.status_code == 422
    assert [e["field"] for e in early.json()["errors"]] == ["query/since"]
    assert [e["field"] for e in late.json()["errors"]] == ["body/starts_on", "body/at"]
