"""The training service under test, alone (no registry: its roster stays empty), on both
backends; tests that need workers on the roster live in the top-level ``tests/e2e``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from wangge.service.testing import Running, backend_settings, started
from wangge.training.app import MIGRATIONS, build_app
from wangge.training.config import TrainingSettings

Training = Running[TrainingSettings]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def training_settings(request: pytest.FixtureRequest, tmp_path: Path) -> TrainingSettings:
    """The embedded default and PostgreSQL (a schema per test); never Kafka here."""
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    return backend_settings(TrainingSettings, request.param, tmp_path, url, "trn")


@pytest.fixture
async def training(training_settings: TrainingSettings) -> AsyncIterator[Training]:
    async with started(training_settings, build_app, MIGRATIONS) as running:
        yield running
