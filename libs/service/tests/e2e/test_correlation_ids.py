"""``X-Correlation-Id``: one rule for every service, checked where a request comes in.

The id travels in every event's envelope to every consumer, so one that no consumer can be
sure to keep (too long, spaces, control or non-ASCII characters) is refused with the caller's
request, as a 422 naming the header, and nothing is recorded.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, Request, status

from wangge.events.command import NO_BODY
from wangge.service import ServiceSettings
from wangge.service.commands import Command, correlation_id_of
from wangge.service.devissuer import DevIssuer
from wangge.service.problems import PROBLEM_JSON
from wangge.service.testing import own_schema

from service_sample import Ticked, router, sample_app, sample_settings, serving

matters = APIRouter(prefix="/matters", tags=["matters"])


@matters.post("/{counter_id}", status_code=status.HTTP_201_CREATED)
async def start(counter_id: str, command: Command) -> dict[str, str | None]:
    """A command through the kit's ``Command``: its events carry the header's id."""
    await command.commands.create(NO_BODY, f"counter-{counter_id}", lambda: [Ticked(n=1)])
    events = await command.commands.store.read_stream(f"counter-{counter_id}")
    return {"correlation_id": events[0].envelope.correlationid}


@matters.post("/{counter_id}/undeclared")
async def undeclared(request: Request) -> dict[str, str | None]:
    """A route that reads the header itself (as the hotline bridge's pushes do)."""
    return {"correlation_id": correlation_id_of(request)}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings: ServiceSettings = sample_settings("sqlite", tmp_path, None, "corr")
    token = DevIssuer(settings.dev_key_path).issue("clerk", roles=["subdistrict_admin"])
    async with own_schema(settings), serving(sample_app(settings, routers=(router, matters))) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


GOOD = ["m-0196f0c2-7a1b-7c3d-9e4f-123456789abc", "GD20261127000123", "x" * 200, "a/b:c=d~!"]
BAD = ["x" * 201, "x" * 500, "two words", "tab\there", "工单123", ""]


@pytest.mark.parametrize("value", GOOD)
async def test_an_id_under_the_rule_is_the_matter_of_the_command_s_events(
    client: httpx.AsyncClient, value: str
) -> None:
    cid = uuid.uuid4().hex
    started = await client.post(f"/matters/{cid}", headers={"X-Correlation-Id": value})
    assert started.status_code == 201, started.text
    assert started.json() == {"correlation_id": value}
    read = await client.post(f"/matters/{cid}/undeclared", headers={"X-Correlation-Id": value})
    assert read.json() == {"correlation_id": value}


async def test_without_an_id_a_new_stream_starts_a_matter_of_its_own(
    client: httpx.AsyncClient,
) -> None:
    started = await client.post(f"/matters/{uuid.uuid4().hex}")
    assert started.status_code == 201
    assert uuid.UUID(started.json()["correlation_id"])
    read = await client.post(f"/matters/{uuid.uuid4().hex}/undeclared")
    assert read.json() == {"correlation_id": None}


@pytest.mark.parametrize("value", BAD)
@pytest.mark.parametrize("declared", [True, False], ids=["declared", "undeclared"])
async def test_an_id_breaking_the_rule_is_a_422_naming_the_header_and_records_nothing(
    client: httpx.AsyncClient, value: str, declared: bool
) -> None:
    cid = uuid.uuid4().hex
    path = f"/matters/{cid}" if declared else f"/matters/{cid}/undeclared"
    refused = await client.post(path, headers={b"X-Correlation-Id": value.encode()})
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == PROBLEM_JSON
    body = refused.json()
    assert body["type"] == "urn:wangge:problem:invalid-input"
    assert [e["field"] for e in body["errors"]] == ["header/X-Correlation-Id"]
    assert (await client.get(f"/counters/{cid}")).status_code == 404


async def test_openapi_states_the_rule_on_every_command(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    header = next(
        p
        for p in spec["paths"]["/matters/{counter_id}"]["post"]["parameters"]
        if p["name"] == "X-Correlation-Id"
    )
    assert header["in"] == "header"
    schema = header["schema"]["anyOf"][0] if "anyOf" in header["schema"] else header["schema"]
    assert (schema["maxLength"], schema["pattern"]) == (200, r"^[\x21-\x7e]+$")
