"""The registry service's shell: its migration step, its app, its command."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from wangge.registry.app import build_app
from wangge.registry.config import RegistrySettings
from wangge.service.cli import app as wangge


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The embedded default: SQLite under a data folder of its own, no Kafka."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("WANGGE_DATA_DIR", str(tmp_path))
    return tmp_path


def test_wangge_registry_migrate_prepares_the_embedded_database(embedded: Path) -> None:
    result = CliRunner().invoke(wangge, ["registry", "migrate"])
    assert result.exit_code == 0, result.output
    assert (embedded / "registry.db").exists()
    again = CliRunner().invoke(wangge, ["registry", "migrate"])
    assert again.exit_code == 0, again.output

    async def ready() -> dict[str, object]:
        app = build_app(RegistrySettings())
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://r") as client:
                spec = (await client.get("/openapi.json")).json()
                assert spec["info"]["title"] == "Wangge registry"
                body: dict[str, object] = (await client.get("/readyz")).json()
                return body

    body = asyncio.run(ready())
    assert body["ready"] is True
    assert body["checks"]["migrations"] == {"ok": True, "detail": {"revision": "0004"}}  # type: ignore[index]


def test_without_the_migration_step_the_registry_is_not_ready(embedded: Path) -> None:
    async def ready() -> int:
        app = build_app(RegistrySettings())
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://r") as client:
                return (await client.get("/readyz")).status_code

    assert asyncio.run(ready()) == 503
