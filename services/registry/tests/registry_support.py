"""The registry under test (migrated, started, called through HTTP with dev tokens), and a
small place tree built through its API."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from wangge.events.db import create_engine
from wangge.registry.app import MIGRATIONS, build_app
from wangge.registry.config import RegistrySettings
from wangge.service.devissuer import DevIssuer
from wangge.service.migrations import upgrade


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def registry_settings(request: pytest.FixtureRequest, tmp_path: Path) -> RegistrySettings:
    """The embedded default and PostgreSQL (a schema per test); never Kafka here."""
    if request.param == "sqlite":
        return RegistrySettings(
            environment="test", data_dir=tmp_path, database_url=None, kafka_bootstrap_servers=None
        )
    return RegistrySettings(
        environment="test",
        data_dir=tmp_path,
        database_url=request.getfixturevalue("database_url"),
        database_schema=f"reg_{uuid.uuid4().hex[:10]}",
        kafka_bootstrap_servers=None,
    )


@dataclass
class Registry:
    """A running registry and a way to call it as anyone."""

    client: httpx.AsyncClient
    issuer: DevIssuer
    settings: RegistrySettings

    def as_(self, *roles: str, places: Iterable[str] = (), subject: str | None = None) -> Any:
        """Headers of a caller with ``roles`` in ``places``."""
        token = self.issuer.issue(
            subject or f"user-{uuid.uuid4().hex[:8]}", roles=roles, places=places
        )
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def registry(registry_settings: RegistrySettings) -> AsyncIterator[Registry]:
    settings = registry_settings
    admin = None
    if settings.database_schema:
        admin = create_engine(settings.resolved_database_url)
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'CREATE SCHEMA "{settings.database_schema}"'))
    await asyncio.to_thread(upgrade, settings, MIGRATIONS)
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
            yield Registry(client, DevIssuer(settings.dev_key_path), settings)
    if admin is not None:
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA "{settings.database_schema}" CASCADE'))
        await admin.dispose()


ADMIN = "subdistrict_admin"
SUBDISTRICT = "320111001"


@dataclass(frozen=True)
class Tree:
    """The ids and codes of one branch: subdistrict → community → grid → building → unit →
    dwelling."""

    admin: Any
    subdistrict: str
    community: str
    community_code: str
    grid: str
    grid_code: str
    building: str
    unit: str
    dwelling: str


async def build_tree(registry: Registry, subdistrict: str = SUBDISTRICT) -> Tree:
    """One branch of a place tree, registered by a subdistrict admin."""
    admin = registry.as_(ADMIN, places=[subdistrict])

    async def post(**body: Any) -> str:
        response = await registry.client.post("/places", json=body, headers=admin)
        assert response.status_code == 201, response.text
        place_id: str = response.json()["place_id"]
        return place_id

    community_code = f"{subdistrict}-001"
    grid_code = f"{community_code}-001"
    sub = await post(kind="subdistrict", name="沿江街道", code=subdistrict)
    community = await post(kind="community", name="滨江社区", code=community_code, parent_id=sub)
    grid = await post(kind="grid", name="第1网格", code=grid_code, parent_id=community)
    building = await post(kind="building", name="12栋", number="12栋", parent_id=grid)
    unit = await post(kind="unit", name="2单元", number="2单元", parent_id=building)
    dwelling = await post(
        kind="dwelling", name="1201", number="1201", parent_id=unit, usage="rented"
    )
    return Tree(admin, sub, community, community_code, grid, grid_code, building, unit, dwelling)
