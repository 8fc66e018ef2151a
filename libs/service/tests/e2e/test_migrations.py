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
from wangge.service import ServiceSettings, create_app
from wangge.service.migrations import upgrade

from service_sample import catalogue, router

MIGRATIONS = Path(__file__).resolve().parents[1] / "sample_migrations"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def settings(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[ServiceSettings]:
    if request.param == "sqlite":
        yield ServiceSettings(
            service="counters",
            environment="test",
            data_dir=tmp_path,
            database_url=None,
            kafka_bootstrap_servers=None,
        )
        return
    url = request.getfixturevalue("database_url")
    schema = f"mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    async with admin.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    yield ServiceSettings(
        service="counters",
        environment="test",
        database_url=url,
        database_schema=schema,
        kafka_bootstrap_servers=None,
    )
    async with admin.begin() as conn:
        await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    await admin.dispose()


async def _ready(settings: ServiceSettings) -> httpx.Response:
    app = create_app(
        settings, title="Counters", routers=[router], catalogue=catalogue, migrations=MIGRATIONS
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://c") as client:
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
