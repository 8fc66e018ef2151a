"""The registry under test (migrated, started, called through HTTP with dev tokens), and a
small place tree built through its API."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from stdnum.cn import ric

from wangge.registry.app import MIGRATIONS, build_app
from wangge.registry.bootstrap import RegistryCore
from wangge.registry.bootstrap import registry as open_parts
from wangge.registry.config import RegistrySettings
from wangge.service.migrations import upgrade
from wangge.service.testing import Running, backend_settings, own_schema
from wangge.service.testing import started as start_service


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def registry_settings(request: pytest.FixtureRequest, tmp_path: Path) -> RegistrySettings:
    """The embedded default and PostgreSQL (a schema per test); never Kafka here."""
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    return backend_settings(RegistrySettings, request.param, tmp_path, url, "reg")


Registry = Running[RegistrySettings]
"""A running registry and a way to call it as anyone."""


@asynccontextmanager
async def started(settings: RegistrySettings) -> AsyncIterator[Registry]:
    """A migrated, running registry (in a schema of its own on PostgreSQL)."""
    async with start_service(settings, build_app, MIGRATIONS) as running:
        yield running


@asynccontextmanager
async def started_without_app(settings: RegistrySettings) -> AsyncIterator[RegistryCore]:
    """The registry's store and read models on a migrated database, without the web app."""
    async with own_schema(settings):
        await asyncio.to_thread(upgrade, settings, MIGRATIONS)
        async with open_parts(settings) as parts:
            yield parts


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


async def created(
    registry: Registry, path: str, body: dict[str, Any], headers: Any
) -> dict[str, Any]:
    """What a POST of ``body`` to ``path`` answered, once asserted that it created (201)."""
    response = await registry.client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


async def build_tree(registry: Registry, subdistrict: str = SUBDISTRICT) -> Tree:
    """One branch of a place tree, registered by a subdistrict admin."""
    admin = registry.as_(ADMIN, places=[subdistrict])

    async def post(**body: Any) -> str:
        place_id: str = (await created(registry, "/places", body, admin))["place_id"]
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


async def add_place(registry: Registry, tree: Tree, parent: str, **body: Any) -> str:
    """A place registered under ``parent`` by the tree's admin: its id."""
    made = await created(registry, "/places", {**body, "parent_id": parent}, tree.admin)
    place_id: str = made["place_id"]
    return place_id


async def second_grid(registry: Registry, tree: Tree) -> tuple[str, str]:
    """Grid 002 of the tree's community with one dwelling: its code and the dwelling's id."""
    code = f"{tree.community_code}-002"
    parent = tree.community
    for body in (
        {"kind": "grid", "name": "第2网格", "code": code},
        {"kind": "building", "name": "3栋", "number": "3栋"},
        {"kind": "unit", "name": "1单元", "number": "1单元"},
        {"kind": "dwelling", "name": "302", "number": "302", "usage": "owner_occupied"},
    ):
        parent = await add_place(registry, tree, parent, **body)
    return code, parent


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
    return await created(registry, "/persons", body, tree.admin)


async def register_household(
    registry: Registry, tree: Tree, head: str, **fields: Any
) -> dict[str, Any]:
    """A family household at the tree's dwelling, headed by ``head`` (a person id), registered
    by its admin; returns the household card."""
    body = {
        "number": f"H-{uuid.uuid4().hex[:6]}",
        "type": "family",
        "dwelling_id": tree.dwelling,
        "head_person_id": head,
        "on": "2020-01-01",
        **fields,
    }
    return await created(registry, "/households", body, tree.admin)
