"""A service under faults, through HTTP: a poison event parks one stream while the rest flow,
an operator retries or skips it, and a database out of reach is a 503 with ``Retry-After``."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from wangge.events.db import create_engine
from wangge.events.projection import active_tables
from wangge.service.app import ServiceState
from wangge.service.devissuer import DevIssuer
from wangge.service.problems import PROBLEM_JSON
from wangge.service.testing import own_schema

from service_sample import CounterTotals, router, sample_app, sample_settings, serving


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def service(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, ServiceState, DevIssuer]]:
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    settings = sample_settings(request.param, tmp_path, url, "faults")
    CounterTotals.fixed = False
    try:
        async with own_schema(settings):
            app = sample_app(settings, routers=[router])
            async with serving(app) as client:
                yield client, app.state.service, DevIssuer(settings.dev_key_path)
    finally:
        CounterTotals.fixed = False


async def eventually(check: Callable[[], Awaitable[Any]], what: str) -> Any:
    for _ in range(200):
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def totals(state: ServiceState) -> dict[str, int]:
    async with state.engine.connect() as conn:
        table = (await active_tables(conn, state.service_projection(CounterTotals.name)))["totals"]
        rows = await conn.execute(sa.select(table.c.stream_id, table.c.total))
        return {row.stream_id: row.total for row in rows}


async def test_a_poison_event_parks_its_stream_while_every_other_stream_flows(
    service: tuple[httpx.AsyncClient, ServiceState, DevIssuer],
) -> None:
    client, state, issuer = service
    operator = {"Authorization": f"Bearer {issuer.issue('ops', roles=['operator'])}"}
    stuck, other = uuid.uuid4().hex, uuid.uuid4().hex
    for counter, n in ((stuck, 2), (stuck, CounterTotals.UNLUCKY), (stuck, 5), (other, 7)):
        assert (await client.post(f"/counters/{counter}/ticks", json={"n": n})).status_code == 201

    async def flowed() -> bool:
        return (await totals(state)).get(f"counter-{other}") == 7

    await eventually(flowed, "the other counter's tick applied")
    # the stream waits behind its parked event, in order: 2 applied, 13 and 5 parked
    assert (await totals(state))[f"counter-{stuck}"] == 2
    ready = (await client.get("/readyz")).json()
    assert ready["ready"] is True
    assert ready["checks"]["workers"]["detail"]["status"] == "degraded"
    assert ready["checks"]["workers"]["detail"]["parked"] == {CounterTotals.name: 2}

    listed = await client.get("/admin/parked", headers=operator)
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [(i["stream_id"], i["sequence"]) for i in items] == [
        (f"counter-{stuck}", 2),
        (f"counter-{stuck}", 3),
    ]
    assert items[0]["reason"] == "ValueError: a tick of 13 is not counted"
    assert items[0]["attempts"] == 1
    assert items[1]["reason"] == "waits behind an earlier parked event"

    # a retry before the fix: the handler still fails, both stay parked, in order
    again = await client.post(f"/admin/parked/{CounterTotals.name}/retry", headers=operator)
    assert again.status_code == 200
    assert again.json()["handled"] == 0
    # the handler failed once more on the first; the one behind it was never tried
    assert [i["attempts"] for i in again.json()["still_parked"]] == [2, 0]

    CounterTotals.fixed = True  # the fix is deployed
    done = await client.post(
        f"/admin/parked/{CounterTotals.name}/retry",
        params={"stream": f"counter-{stuck}"},
        headers=operator,
    )
    assert done.json()["handled"] == 2
    assert done.json()["still_parked"] == []
    assert (await totals(state))[f"counter-{stuck}"] == 2 + 13 + 5
    # applied once: the stream flows on from there
    await client.post(f"/counters/{stuck}/ticks", json={"n": 1})

    async def moved_on() -> bool:
        return (await totals(state))[f"counter-{stuck}"] == 21

    await eventually(moved_on, "the next tick applied after the retry")
    ready = (await client.get("/readyz")).json()
    assert ready["checks"]["workers"]["detail"]["status"] == "running"


async def test_a_skipped_event_frees_its_stream_without_being_applied(
    service: tuple[httpx.AsyncClient, ServiceState, DevIssuer],
) -> None:
    client, state, issuer = service
    operator = {"Authorization": f"Bearer {issuer.issue('ops', roles=['operator'])}"}
    counter = uuid.uuid4().hex
    await client.post(f"/counters/{counter}/ticks", json={"n": CounterTotals.UNLUCKY})

    async def parked() -> bool:
        listed = await client.get("/admin/parked", headers=operator)
        return bool(listed.json()["count"])

    await eventually(parked, "the unlucky tick parked")
    skipped = await client.post(
        f"/admin/parked/{CounterTotals.name}/skip",
        params={"stream": f"counter-{counter}"},
        headers=operator,
    )
    assert skipped.json()["handled"] == 1
    await client.post(f"/counters/{counter}/ticks", json={"n": 4})

    async def applied() -> bool:
        return (await totals(state)).get(f"counter-{counter}") == 4

    await eventually(applied, "the tick after the skipped one applied")


async def test_parked_events_are_for_operators_only(
    service: tuple[httpx.AsyncClient, ServiceState, DevIssuer],
) -> None:
    client, _, issuer = service
    for roles in (["subdistrict_admin"], ["analyst"], ["grid_worker"]):
        token = issuer.issue("someone", roles=roles, places=["320111001"])
        headers = {"Authorization": f"Bearer {token}"}
        assert (await client.get("/admin/parked", headers=headers)).status_code == 403
        retried = await client.post(f"/admin/parked/{CounterTotals.name}/retry", headers=headers)
        assert retried.status_code == 403
    assert (await client.get("/admin/parked")).status_code == 401
    operator = {"Authorization": f"Bearer {issuer.issue('ops', roles=['operator'])}"}
    unknown = await client.post("/admin/parked/no_such_projection/retry", headers=operator)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == PROBLEM_JSON


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.postgres
async def test_a_database_out_of_reach_is_a_503_that_says_when_and_how_to_retry(
    database_url: str, tmp_path: Path
) -> None:
    settings = sample_settings("postgres", tmp_path, database_url, "faults")
    app = sample_app(settings, routers=[router], bootstrap=None)
    async with own_schema(settings), serving(app) as client:
        state: ServiceState = app.state.service
        # the server goes away: every new connection is refused, as while it restarts
        url = sa.make_url(database_url).set(port=_closed_port())
        gone = create_engine(url.render_as_string(hide_password=False))
        state.engine = state.store.engine = gone
        write = await client.post(f"/counters/{uuid.uuid4().hex}/ticks", json={"n": 1})
        read = await client.get(f"/counters/{uuid.uuid4().hex}")
        ready = await client.get("/readyz")
    for response in (write, read):
        assert response.status_code == 503
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.headers["Retry-After"].isdigit()
        assert response.json()["type"] == "urn:wangge:problem:unavailable"
    assert "Idempotency-Key" in write.json()["detail"]
    assert ready.status_code == 503
    assert ready.headers["Retry-After"].isdigit()
