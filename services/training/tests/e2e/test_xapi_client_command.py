"""``wangge training xapi-client``: the deployment issues a provider's credentials from the
command line, prints the secret once, and keeps only its hash."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from wangge.events.db import create_engine
from wangge.service.cli import app as wangge
from wangge.training.config import TrainingSettings
from wangge.training.xapi_clients import ClientVerifier, clients


def test_the_command_issues_credentials_kept_only_hashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("WANGGE_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    assert runner.invoke(wangge, ["training", "migrate"]).exit_code == 0
    refused = runner.invoke(wangge, ["training", "xapi-client", "平台", "--role", "owner"])
    assert refused.exit_code != 0
    issued = runner.invoke(wangge, ["training", "xapi-client", "街道学习平台", "--role", "reader"])
    assert issued.exit_code == 0, issued.output
    lines = dict(line.split(":", 1) for line in issued.output.strip().splitlines())
    key, secret = lines["key"].strip(), lines["secret"].strip()

    async def kept() -> tuple[str, bool, bool]:
        engine = create_engine(TrainingSettings().resolved_database_url)
        try:
            async with engine.connect() as conn:
                stored = await conn.scalar(
                    sa.select(clients.c.secret_hash).where(clients.c.client_key == key)
                )
            verifier = ClientVerifier()
            right = await verifier.verify(engine, key, secret)
            wrong = await verifier.verify(engine, key, secret + "x")
        finally:
            await engine.dispose()
        return str(stored), right is not None and not right.may_write, wrong is None

    stored, reads_only, refused_wrong = asyncio.run(kept())
    assert stored.startswith("scrypt$") and secret not in stored
    assert reads_only and refused_wrong
