"""The registry, the hotline bridge and the cases service running side by side, talking only
through events: on the embedded default (each reading the others' SQLite files in one data
folder) or each in its PostgreSQL schema over Kafka (topics of a namespace of their own)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from wangge.cases.app import MIGRATIONS as CASES_MIGRATIONS
from wangge.cases.app import build_app as build_cases
from wangge.cases.config import CasesSettings
from wangge.cases.projections.roster import Roster, grid_code, worker_of
from wangge.events.projection import active_tables
from wangge.hotline_bridge.app import MIGRATIONS as HOTLINE_MIGRATIONS
from wangge.hotline_bridge.app import build_app as build_hotline
from wangge.hotline_bridge.config import HotlineSettings
from wangge.registry.config import RegistrySettings
from wangge.service.testing import Running, started

from deployment_support import DEPLOYMENTS, deployment
from registry_support import Registry, Tree, build_tree
from registry_support import started as start_registry

WORKER = "worker-zhang"
OTHER_WORKER = "worker-li"


@dataclass
class Trio:
    registry: Registry
    hotline: Running[HotlineSettings]
    cases: Running[CasesSettings]
    tree: Tree
    worker_id: str
    second_grid: str

    def worker(self, account: str = WORKER, grid: str | None = None) -> Any:
        """A grid worker's headers (their grid: the tree's, unless another code is given)."""
        return self.cases.as_("grid_worker", places=[grid or self.tree.grid_code], subject=account)

    def staff(self) -> Any:
        code = self.tree.community_code.split("-")[0]
        return self.cases.as_("subdistrict_admin", places=[code], subject="admin")


async def eventually(
    check: Callable[[], Awaitable[Any]], *, seconds: float = 20.0, what: str = "it"
) -> Any:
    """Poll ``check`` until it returns something truthy (events cross services asynchronously)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} did not happen within {seconds} s")
        await asyncio.sleep(0.05)


async def worker_known(trio: Trio, grid_id: str, account: str = WORKER) -> bool:
    """Whether the cases service's roster knows the grid (its place) and has ``account`` as its
    worker: the two come from different registry streams, so over Kafka they may arrive on
    different partitions in either order."""
    state = trio.cases.app.state.service
    async with state.engine.connect() as conn:
        try:
            tables = await active_tables(conn, state.projections[Roster.name])
        except LookupError:
            return False
        worker = await worker_of(conn, tables, uuid.UUID(grid_id))
        code = await grid_code(conn, tables, uuid.UUID(grid_id))
    return code is not None and worker is not None and worker[1] == account


@pytest.fixture(params=DEPLOYMENTS)
async def trio(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Trio]:
    marker = request.node.get_closest_marker("hotline")
    hotline_extra: dict[str, Any] = dict(marker.kwargs) if marker else {}
    settings = deployment(request, tmp_path, "reg", "hot", "cas")
    async with AsyncExitStack() as stack:
        registry = await stack.enter_async_context(
            start_registry(RegistrySettings(**settings["reg"]))
        )
        tree = await build_tree(registry)
        second = await registry.client.post(
            "/places",
            json={"kind": "grid", "name": "第2网格", "code": f"{tree.community_code}-002",
                  "parent_id": tree.community},
            headers=tree.admin,
        )  # fmt: skip
        assert second.status_code == 201, second.text
        appointed = await registry.client.post(
            "/workers",
            json={"account": WORKER, "name": "张伟", "grid_ids": [tree.grid], "on": "2026-01-01"},
            headers=tree.admin,
        )
        assert appointed.status_code == 201, appointed.text
        hotline = await stack.enter_async_context(
            started(
                HotlineSettings(**settings["hot"], **hotline_extra),
                build_hotline, HOTLINE_MIGRATIONS,
            )
        )  # fmt: skip
        cases = await stack.enter_async_context(
            started(CasesSettings(**settings["cas"]), build_cases, CASES_MIGRATIONS)
        )
        trio = Trio(
            registry, hotline, cases, tree, appointed.json()["worker_id"], second.json()["place_id"]
        )
        await eventually(lambda: worker_known(trio, tree.grid), what="the roster")
        await eventually(lambda: _mapped(trio), what="the hotline's grid map")
        yield trio


async def _mapped(trio: Trio) -> bool:
    state = trio.hotline.app.state.service
    async with state.engine.connect() as conn:
        try:
            places = (await active_tables(conn, state.projections["hotline_grid_map"]))["places"]
        except LookupError:
            return False
        address = await conn.scalar(
            sa.select(places.c.address).where(places.c.place_id == uuid.UUID(trio.tree.dwelling))
        )
    return address is not None


async def json_of(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()
