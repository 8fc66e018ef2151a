"""Every row of the views access matrix (docs/views/access.md), called as every role.

A role the matrix marks ✗ gets 403; no token gets 401; a role marked ✓ gets through. Outside
their places, a grid worker and community staff learn nothing: a resident, household, grid or
matter of another grid is answered as one that does not exist. The views read a month of every
producer's events (``scenario_support``) from the producers' event tables, or from their Kafka
topics; the documented table is generated from the same routes, and a test checks it is current.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute

from wangge.events.kafka import ensure_topics, topic_for
from wangge.events.relay import OutboxRelay
from wangge.service.access import key_of, method_of
from wangge.service.testing import (
    MATRIX_OUTSIDE,
    Running,
    every_role_as_the_matrix_says,
    matrix_headers,
    started,
)
from wangge.views.api.matrix import render, routes
from wangge.views.app import MIGRATIONS, ROUTERS, build_app
from wangge.views.config import ViewsSettings

from deployment_support import DEPLOYMENTS, deployment
from scenario_support import Scenario, play
from trio_support import eventually
from views_support import Upstream, upstream_stores

ROUTES = routes(ROUTERS)
DOCS = Path(__file__).parents[3] / "docs" / "views" / "access.md"


@dataclass
class World:
    views: Running[ViewsSettings]
    scenario: Scenario


async def _publish(upstream: Upstream, settings: ViewsSettings) -> None:
    """The producers' events on their topics (the Kafka deployment)."""
    bootstrap = settings.kafka_bootstrap_servers
    assert bootstrap is not None
    for service, store in upstream.stores.items():
        topic = topic_for(service, settings.kafka_namespace)
        await ensure_topics(bootstrap, [topic], partitions=settings.kafka_partitions)
        total = len(await store.read_all(limit=100_000))
        relay = OutboxRelay(store, bootstrap_servers=bootstrap, topic=topic)
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        await eventually(functools.partial(_done, relay, total), what=f"{service} published")
        stop.set()
        await task


async def _done(relay: OutboxRelay, total: int) -> bool:
    return relay.published >= total


@pytest.fixture(scope="module", params=DEPLOYMENTS)
async def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    data_dir = tmp_path_factory.mktemp("views-matrix")
    settings = ViewsSettings(**deployment(request, data_dir, "vw")["vw"])
    async with upstream_stores(data_dir) as upstream:
        scenario = await play(upstream)
        if settings.kafka_bootstrap_servers:
            await _publish(upstream, settings)
        async with started(settings, build_app, MIGRATIONS) as views:
            # each view catches up on its own; a grid worker's answer also needs the roster to
            # have placed the dwelling in their grid (a thing nowhere yet is the admin's only)
            worker = matrix_headers(views, "grid_worker")
            for path, headers in (
                (f"/matters/{scenario.correlation_id}", worker),
                (f"/residents/{scenario.residents[0]}", worker),
                (f"/households/{scenario.household}", worker),
                (f"/grids/{scenario.tree.grid_code}/dashboard", worker),
                ("/feeds/health", matrix_headers(views, "subdistrict_admin")),
            ):
                await eventually(functools.partial(_answers, views, path, headers), what=path)
            yield World(views, scenario)


async def _answers(views: Running[ViewsSettings], path: str, headers: Mapping[str, str]) -> bool:
    return (await views.client.get(path, headers=headers)).status_code == 200


def _path(route: APIRoute, s: Scenario) -> str:
    tree = s.tree
    return (
        route.path.replace("{person_id}", str(s.residents[0]))
        .replace("{household_id}", str(s.household))
        .replace("/grids/{code}", f"/grids/{tree.grid_code}")
        .replace("/communities/{code}", f"/communities/{tree.community_code}")
        .replace("/subdistricts/{code}", f"/subdistricts/{tree.subdistrict_code}")
        .replace("{department}", "health")
        .replace("{correlation_id}", s.correlation_id)
    )


def _params(route: APIRoute, s: Scenario) -> dict[str, str] | None:
    return {"ticket_id": str(s.ticket)} if route.path == "/matters" else None


@pytest.mark.parametrize("route", ROUTES, ids=key_of)
async def test_every_role_gets_what_the_matrix_says(world: World, route: APIRoute) -> None:
    method = method_of(route)

    async def call(headers: Mapping[str, str]) -> httpx.Response:
        return await world.views.client.request(
            method, _path(route, world.scenario), params=_params(route, world.scenario),
            headers=headers,
        )  # fmt: skip

    await every_role_as_the_matrix_says(
        route, call, lambda caller: matrix_headers(world.views, caller)
    )


@pytest.mark.parametrize("caller", ["grid_worker", "community_staff", "subdistrict_admin"])
async def test_outside_the_callers_places_a_thing_is_answered_as_one_that_does_not_exist(
    world: World, caller: str
) -> None:
    client, s = world.views.client, world.scenario
    headers = matrix_headers(world.views, caller, places=MATRIX_OUTSIDE)
    nobody = str(uuid.uuid4())
    asks = [
        (f"/residents/{s.residents[0]}", f"/residents/{nobody}"),
        (f"/households/{s.household}", f"/households/{nobody}"),
        (f"/matters/{s.correlation_id}", f"/matters/{nobody}"),
        (f"/grids/{s.tree.grid_code}/dashboard", "/grids/320111001-009-009/dashboard"),
        (f"/grids/{s.tree.grid_code}/households", "/grids/320111001-009-009/households"),
        (f"/grids/{s.tree.grid_code}/cases", "/grids/320111001-009-009/cases"),
    ]
    for theirs, none in asks:
        a, b = await client.get(theirs, headers=headers), await client.get(none, headers=headers)
        assert a.status_code == b.status_code == 404, (theirs, a.text, b.text)
        assert a.json()["type"] == b.json()["type"]


async def test_a_department_reads_only_its_own_feed(world: World) -> None:
    health = matrix_headers(world.views, "department:*")  # department:health
    client = world.views.client
    assert (await client.get("/feeds/health", headers=health)).status_code == 200
    assert (await client.get("/feeds/justice", headers=health)).status_code == 403


def test_the_documented_matrix_is_current() -> None:
    assert DOCS.read_text(encoding="utf-8") == render(ROUTES), "run wangge views access-table"
