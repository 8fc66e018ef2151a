"""Migrations run as their own step; /readyz says whether the database is at the head."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from wangge.events.db import create_engine
from wangge.service import ServiceSettings
from wangge.service.migrations import upgrade
from wangge.service.testing import own_schema

from service_sample import router, sample_app, sample_settings, serving

MIGRATIONS = Path(__file__).resolve().parents[1] / "sample_migrations"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def settings(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[ServiceSettings]:
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    settings = sample_settings(request.param, tmp_path, url, "mig")
    async with own_schema(settings):
        yield settings


async def _ready(settings: ServiceSettings) -> httpx.Response:
    app = sample_app(settings, routers=[router], bootstrap=None, migrations=MIGRATIONS)
    async with serving(app) as client:
        ready = await client.get("/readyz")
        if ready.status_code == 200:
            tick = await client.post(f"/counters/{uuid.uuid4().hex}/ticks", json={"n": 1})
            assert tick.status_code == 201
        return ready


async def test_an_unmigrated_database_is_not_ready(settings: ServiceSettings) -> None:
    ready = await _ready(settings)
    assert ready.status_code == 503
    check = ready.json()["checks"]["migrations"]
    assert check == {
        "ok": False,
        "detail": "RuntimeError: the database is at None, the scripts at 0001",
    }


async def test_after_the_migration_step_the_service_is_ready_and_writes(
    settings: ServiceSettings,
) -> None:
    await asyncio.to_thread(upgrade, settings, MIGRATIONS)
    await asyncio.to_thread(upgrade, settings, MIGRATIONS)  # a second run changes nothing
    ready = await _ready(settings)
    assert ready.status_code == 200, ready.json()
    assert ready.json()["checks"]["migrations"] == {"ok": True, "detail": {"revision": "0001"}}


async def test_a_database_a_newer_release_migrated_keeps_this_one_serving(
    settings: ServiceSettings,
) -> None:
    """A rollout migrates first, then replaces the pods: the old ones stay ready meanwhile."""
    await asyncio.to_thread(upgrade, settings, MIGRATIONS)
    engine = create_engine(settings.resolved_database_url, **settings.engine_options())
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("UPDATE alembic_version SET version_num = '0002_newer'"))
    finally:
        await engine.dispose()
    ready = await _ready(settings)
    assert ready.status_code == 200, ready.json()
    assert ready.json()["checks"]["migrations"]["detail"] == {
        "revision": "0002_newer", "scripts": "0001", "newer": True,
    }  # fmt: skip
