"""Settings come from the environment and refuse a default secret in production."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from wangge.service import ServiceSettings


def test_production_refuses_the_default_secret_and_the_dev_issuer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WANGGE_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="WANGGE_SECRET_KEY must be set"):
        ServiceSettings(service="registry")
    monkeypatch.setenv("WANGGE_SECRET_KEY", "a-real-secret")
    with pytest.raises(ValidationError, match="identity provider"):
        ServiceSettings(service="registry")
    monkeypatch.setenv("WANGGE_AUTH_ISSUER", "https://sso.example.gov.cn")
    monkeypatch.setenv("WANGGE_AUTH_JWKS_FILE", "/etc/wangge/jwks.json")
    assert ServiceSettings(service="registry").environment == "production"


def test_the_plain_database_and_kafka_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/wangge")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    settings = ServiceSettings(service="registry")
    assert settings.resolved_database_url == "postgresql://db/wangge"
    assert settings.kafka_bootstrap_servers == "kafka:9092"


def test_the_embedded_default_is_sqlite_under_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = ServiceSettings(service="registry", data_dir=tmp_path)
    assert settings.resolved_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.resolved_database_url.endswith("registry.db")
