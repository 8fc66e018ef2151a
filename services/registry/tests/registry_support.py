"""The registry under test (migrated, started, called through HTTP with dev tokens), and a
small place tree built through its API."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from stdnum.cn import ric

from wangge.events.db import create_engine
from wangge.events.store import EventStore
from wangge.registry.app import MIGRATIONS, build_app
from wangge.registry.bootstrap import Registry as Parts
from wangge.registry.bootstrap import registry as open_parts
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
    app: FastAPI

    @property
    def store(self) -> EventStore:
        """The registry's event store, for what a test checks below the API."""
        store: EventStore = self.app.state.service.store
        return store

    def as_(self, *roles: str, places: Iterable[str] = (), subject: str | None = None) -> Any:
        """Headers of a caller with ``roles`` in ``places``."""
        token = self.issuer.issue(
            subject or f"user-{uuid.uuid4().hex[:8]}", roles=roles, places=places
        )
        return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def started(settings: RegistrySettings) -> AsyncIterator[Registry]:
    """A migrated, running registry (in a schema of its own on PostgreSQL)."""
    admin = None
    if settings.database_schema:
        admin = create_engine(settings.resolved_database_url)
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'CREATE SCHEMA "{settings.database_schema}"'))
    try:
        await asyncio.to_thread(upgrade, settings, MIGRATIONS)
        app = build_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://registry") as c:
                yield Registry(c, DevIssuer(settings.dev_key_path), settings, app)
    finally:
        if admin is not None:
            async with admin.begin() as conn:
                await conn.execute(sa.text(f'DROP SCHEMA "{settings.database_schema}" CASCADE'))
            await admin.dispose()


@asynccontextmanager
async def started_without_app(settings: RegistrySettings) -> AsyncIterator[Parts]:
    """The registry's store and read models on a migrated database, without the web app."""
    admin = None
    if settings.database_schema:
        admin = create_engine(settings.resolved_database_url)
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'CREATE SCHEMA "{settings.database_schema}"'))
    try:
        await asyncio.to_thread(upgrade, settings, MIGRATIONS)
        async with open_parts(settings) as parts:
            yield parts
    finally:
        if admin is not None:
            async with admin.begin() as conn:
                await conn.execute(sa.text(f'DROP SCHEMA "{settings.database_schema}" CASCADE'))
            await admin.dispose()


@pytest.fixture
async def registry(registry_settings: RegistrySettings) -> AsyncIterator[Registry]:
    async with started(registry_settings) as running:
        yield running


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


_serials: defaultdict[tuple[str, str, str], itertools.count[int]] = defaultdict(itertools.count)


def identity_number(birth: str = "19800101", area: str = "320111", sex: str = "male") -> str:
    """A valid 18-digit identity number, distinct from every other this process made.

    Random sequence digits collided (500 choices a birth date and sex) often enough to
    fail a test that registers a handful of people now and then; a counter never does.
    """
    serial = next(_serials[(birth, area, sex)]) % 500
    last = 2 * (serial % 5) + (1 if sex == "male" else 0)
    body = f"{area}{birth}{serial // 5:02d}{last}"
    return body + ric.calc_check_digit(body + "0")


async def register_person(registry: Registry, tree: Tree, **fields: Any) -> dict[str, Any]:
    """A person registered at the tree's dwelling by its admin; returns the masked read."""
    body = {
        "name": "张三",
        "identity_number": identity_number(),
        "phone": "13812345678",
        "hukou_type": "local",
        "residence_status": "resident",
        "dwelling_id": tree.dwelling,
        **fields,
    }
    response = await registry.client.post("/persons", json=body, headers=tree.admin)
    assert response.status_code == 201, response.text
    person: dict[str, Any] = response.json()
    return person
