"""Every service side by side: the registry, the hotline bridge and the cases service of
``trio_support``, with the training service and the views service beside them on the same
deployment (the embedded default, each reading the others' SQLite files in one data folder, or
PostgreSQL schemas and Kafka topics of the test's own namespace). The views reach the others
only through their events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from wangge.service.testing import Running, started
from wangge.training.app import MIGRATIONS as TRAINING_MIGRATIONS
from wangge.training.app import build_app as build_training
from wangge.training.config import TrainingSettings
from wangge.views.app import MIGRATIONS as VIEWS_MIGRATIONS
from wangge.views.app import build_app as build_views
from wangge.views.config import ViewsSettings

from trio_support import Trio


@dataclass
class Quintet:
    trio: Trio
    training: Running[TrainingSettings]
    views: Running[ViewsSettings]

    def staff(self, role: str = "subdistrict_admin", places: list[str] | None = None) -> Any:
        """A caller of the views with ``role`` in ``places`` (the subdistrict by default)."""
        code = places or [self.trio.tree.community_code.split("-")[0]]
        return self.views.as_(role, places=code, subject=f"{role}-1")


def _alongside(trio: Trio) -> dict[str, Any]:
    """The deployment the trio runs on, for one more service (a schema of its own)."""
    hot = trio.hotline.settings
    common: dict[str, Any] = {
        "environment": "test",
        "data_dir": hot.data_dir,
        "database_url": hot.database_url,
        "kafka_bootstrap_servers": hot.kafka_bootstrap_servers,
        "kafka_namespace": hot.kafka_namespace,
        "kafka_partitions": hot.kafka_partitions,
    }
    if hot.database_schema:
        common["database_schema"] = f"vw_{uuid.uuid4().hex[:10]}"
    return common


@asynccontextmanager
async def views_rebuilt(trio: Trio) -> AsyncIterator[Running[ViewsSettings]]:
    """A second views service on the same deployment, its views built anew from every
    producer's first event: a database of its own, consumer groups of its own (its own service
    name), the same topics or event tables."""
    settings = ViewsSettings(**_alongside(trio), service="views_rebuilt")
    async with started(settings, build_views, VIEWS_MIGRATIONS) as views:
        yield views


@pytest.fixture
async def quintet(trio: Trio) -> AsyncIterator[Quintet]:
    async with AsyncExitStack() as stack:
        training = await stack.enter_async_context(
            started(TrainingSettings(**_alongside(trio)), build_training, TRAINING_MIGRATIONS)
        )
        views = await stack.enter_async_context(
            started(ViewsSettings(**_alongside(trio)), build_views, VIEWS_MIGRATIONS)
        )
        yield Quintet(trio, training, views)
