"""The registry and the training service side by side, the training roster following the
registry through its event table (embedded) or its Kafka topic (a namespace of its own)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from wangge.registry.config import RegistrySettings
from wangge.service.testing import Running, started
from wangge.training.app import MIGRATIONS, build_app
from wangge.training.config import TrainingSettings

from deployment_support import DEPLOYMENTS, deployment
from registry_support import Registry, Tree, build_tree
from registry_support import started as start_registry


@dataclass
class Duo:
    registry: Registry
    training: Running[TrainingSettings]
    tree: Tree
    second_community: str
    second_grid: str

    def trainer(self) -> Any:
        return self.training.as_("trainer", places=["320111001"], subject="trainer-wang")

    def staff(self, community_code: str) -> Any:
        return self.training.as_("community_staff", places=[community_code], subject="staff")

    def worker(self, account: str, grid_code: str | None = None) -> Any:
        return self.training.as_(
            "grid_worker", places=[grid_code or self.tree.grid_code], subject=account
        )

    async def appoint(self, account: str, name: str, grid_id: str | None = None) -> str:
        """A worker appointed in the registry; returns their id once the roster has them."""
        response = await self.registry.client.post(
            "/workers",
            json={"account": account, "name": name, "grid_ids": [grid_id or self.tree.grid],
                  "on": "2026-01-01"},
            headers=self.tree.admin,
        )  # fmt: skip
        assert response.status_code == 201, response.text
        worker_id: str = response.json()["worker_id"]
        await self.on_roster(worker_id)
        return worker_id

    async def on_roster(self, worker_id: str, *, left: bool = False) -> dict[str, Any]:
        """Wait until the training roster shows the worker (as having left, if ``left``)."""
        for _ in range(400):
            response = await self.training.client.get("/workers", headers=self.trainer())
            found = [w for w in response.json()["workers"] if w["worker_id"] == worker_id]
            if found and (found[0]["left_on"] is not None) == left:
                row: dict[str, Any] = found[0]
                return row
            await asyncio.sleep(0.05)
        raise AssertionError(f"worker {worker_id} never reached the training roster")


@pytest.fixture(params=DEPLOYMENTS)
async def duo(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Duo]:
    settings = deployment(request, tmp_path, "reg", "trn")
    async with start_registry(RegistrySettings(**settings["reg"])) as registry:
        tree = await build_tree(registry)

        async def place(**body: Any) -> str:
            response = await registry.client.post("/places", json=body, headers=tree.admin)
            assert response.status_code == 201, response.text
            place_id: str = response.json()["place_id"]
            return place_id

        community = await place(
            kind="community", name="江心社区", code="320111001-002", parent_id=tree.subdistrict
        )
        grid = await place(
            kind="grid", name="第1网格", code="320111001-002-001", parent_id=community
        )
        async with started(TrainingSettings(**settings["trn"]), build_app, MIGRATIONS) as training:
            yield Duo(registry, training, tree, community, grid)


async def json_of(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()
