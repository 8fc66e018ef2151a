"""The views' OpenAPI names what the routes answer, so that a client (and the fuzz tests,
``tests/fuzz``) meets no status it was not told of and is not refused a request the schema
allows. Each case here is one the fuzzing found undocumented."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from wangge.views.api.as_of import FIRST, LAST
from wangge.views.app import build_app

from views_support import settings_for

PROBLEM = "application/problem+json"
AS_OF = [
    "/residents/{person_id}",
    "/households/{household_id}",
    "/grids/{code}/dashboard",
    "/communities/{code}/dashboard",
    "/subdistricts/{code}/dashboard",
]


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data_dir: Path = tmp_path_factory.mktemp("views-openapi")
    document: dict[str, Any] = build_app(settings_for("sqlite", data_dir, None)).openapi()
    return document


def test_the_matter_of_a_ticket_or_case_documents_its_404(openapi: dict[str, Any]) -> None:
    # was undocumented: the kit adds a 404 only to operations with a path parameter, and
    # /matters?ticket_id= answers one for a ticket no matter holds
    answer = openapi["paths"]["/matters"]["get"]["responses"]["404"]
    assert PROBLEM in answer["content"]


@pytest.mark.parametrize("path", AS_OF)
def test_as_of_states_the_days_the_views_answer(openapi: dict[str, Any], path: str) -> None:
    # was a bare date: a day the schema allowed (2001-12-31, 2100-01-01) was refused with a 422
    (as_of,) = [p for p in openapi["paths"][path]["get"]["parameters"] if p["name"] == "as_of"]
    pattern = re.compile(as_of["schema"]["pattern"])
    assert as_of["schema"]["format"] == "date"
    for day in (FIRST, LAST, "2026-03-01"):
        assert pattern.match(str(day)), day
    for day in ("2001-12-31", "2100-01-01", "0001-01-01", "9999-12-31", "1999-06-30"):
        assert not pattern.match(day), day
