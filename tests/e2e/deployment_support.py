"""The settings of the services a cross-service test starts together, on either deployment the
tests run on: the embedded default (each service's SQLite file under one data folder, the
services reading each other's event tables) or PostgreSQL and Kafka (a schema each, topics of a
namespace of the test's own)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

DEPLOYMENTS = [
    "sqlite",
    pytest.param("kafka", marks=[pytest.mark.postgres, pytest.mark.kafka]),
]
"""A cross-service fixture's ``params``: ``request.param`` is what :func:`deployment` reads."""


def deployment(
    request: pytest.FixtureRequest, data_dir: Path, *services: str
) -> dict[str, dict[str, Any]]:
    """Each of ``services``'s settings (short names: ``reg``, ``hot``, ``cas``, ``trn``) as
    keyword arguments of its settings class, for the deployment ``request.param`` names."""
    common: dict[str, Any] = {"environment": "test", "data_dir": data_dir}
    if request.param == "sqlite":
        common |= {"database_url": None, "kafka_bootstrap_servers": None}
        return {service: dict(common) for service in services}
    suffix = uuid.uuid4().hex[:10]
    common |= {
        "database_url": request.getfixturevalue("database_url"),
        "kafka_bootstrap_servers": request.getfixturevalue("kafka_bootstrap"),
        "kafka_namespace": f"t{suffix}",
        "kafka_partitions": 2,
    }
    return {service: {**common, "database_schema": f"{service}_{suffix}"} for service in services}
