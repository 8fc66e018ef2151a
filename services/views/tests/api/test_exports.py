"""``POST /exports``: who exported the event log, and whether pseudonymised, recorded before the
export starts; an analyst cannot export identifiers in clear, and an admin whose places do not
cover the deployment is answered as for something that does not exist."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from wangge.service.testing import Running, started
from wangge.views.app import MIGRATIONS, build_app
from wangge.views.config import ViewsSettings

from views_support import Tree, plant_tree, settings_for, upstream_stores


@dataclass(frozen=True)
class World:
    service: Running[ViewsSettings]
    tree: Tree


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    data_dir = tmp_path_factory.mktemp("views-exports")
    async with upstream_stores(data_dir) as upstream:
        tree = await plant_tree(upstream)
        async with started(settings_for("sqlite", data_dir, None), build_app, MIGRATIONS) as s:
            admin = s.as_("subdistrict_admin", places=[tree.subdistrict_code])
            for _ in range(200):  # the roster knows the subdistrict: the deployment's scope
                answer = await s.client.get(f"/grids/{tree.grid_code}/dashboard", headers=admin)
                if answer.status_code == 200:
                    break
                await asyncio.sleep(0.05)
            yield World(s, tree)


def _asked(**values: Any) -> dict[str, Any]:
    return {
        "topics": ["wangge.hotline_bridge.events", "wangge.registry.events"],
        "from_time": "2026-01-01T00:00:00+08:00",
        "format": "parquet",
        "policy": "a" * 64,
        "key": "b" * 16,
        "pseudonymised": True,
        **values,
    }


async def _exports(world: World) -> list[Any]:
    store = world.service.app.state.service.core.store
    found = await store.read_all(limit=10_000)
    return [e for e in found if e.envelope.type == "wangge.views.DatasetExported"]


async def test_an_analysts_pseudonymised_export_is_recorded_with_who_and_what(
    world: World,
) -> None:
    analyst = world.service.as_(
        "analyst", places=[world.tree.subdistrict_code], subject="analyst-li"
    )
    before = len(await _exports(world))
    answer = await world.service.client.post("/exports", json=_asked(), headers=analyst)
    assert answer.status_code == 201, answer.text
    assert answer.json()["reader"] == "analyst-li"
    recorded = (await _exports(world))[before:]
    assert len(recorded) == 1
    assert recorded[0].envelope.actor == "analyst-li"
    data = recorded[0].data
    assert (data["export_id"], data["pseudonymised"]) == (answer.json()["export_id"], True)
    assert data["topics"] == _asked()["topics"] and data["key"] == "b" * 16


async def test_an_analyst_cannot_export_in_clear_and_an_admin_can(world: World) -> None:
    code = world.tree.subdistrict_code
    analyst = world.service.as_("analyst", places=[code])
    before = len(await _exports(world))
    refused = await world.service.client.post(
        "/exports", json=_asked(pseudonymised=False), headers=analyst
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["errors"][0]["field"] == "pseudonymised"
    assert len(await _exports(world)) == before  # nothing recorded
    admin = world.service.as_("subdistrict_admin", places=[code])
    allowed = await world.service.client.post(
        "/exports", json=_asked(pseudonymised=False), headers=admin
    )
    assert allowed.status_code == 201, allowed.text
    assert (await _exports(world))[-1].data["pseudonymised"] is False


async def test_an_export_is_the_whole_deployments_and_a_bad_request_names_its_field(
    world: World,
) -> None:
    elsewhere = world.service.as_("subdistrict_admin", places=["320111002"])
    answer = await world.service.client.post("/exports", json=_asked(), headers=elsewhere)
    assert answer.status_code == 404, answer.text
    analyst = world.service.as_("analyst", places=[world.tree.subdistrict_code])
    bad = await world.service.client.post(
        "/exports", json=_asked(policy="not-a-digest"), headers=analyst
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "body/policy"
    worker = world.service.as_("grid_worker", places=[world.tree.grid_code])
    assert (
        await world.service.client.post("/exports", json=_asked(), headers=worker)
    ).status_code == 403
