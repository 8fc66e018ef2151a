"""The training service's core without its web app, on the embedded store (on PostgreSQL for a
test marked ``postgres``): handlers called as a route calls
them; workers reach the roster as its runner hands it the registry's events."""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from wangge.events import Envelope, RecordedEvent
from wangge.events.projection import ApplyContext, active_tables
from wangge.service.standalone import standalone
from wangge.service.testing import backend_settings, own_schema
from wangge.training.bootstrap import TrainingCore, bootstrap
from wangge.training.config import TrainingSettings
from wangge.training.consumed.registry import GridWorkerAppointed, GridWorkerLeft
from wangge.training.personal_data import metadata as key_tables
from wangge.training.projections.roster import Roster
from wangge.training.xapi_clients import metadata as client_tables


@asynccontextmanager
async def core_on(settings: TrainingSettings) -> AsyncIterator[TrainingCore]:
    """The core on the settings' database (a PostgreSQL schema made for it, and dropped)."""
    async with (
        own_schema(settings),
        standalone(settings, functools.partial(bootstrap, settings), create_schema=True) as made,
    ):
        # the keys and xAPI clients tables are migrations' (0003, 0004); a test's fresh
        # database makes them here
        async with made.store.engine.begin() as conn:
            await conn.run_sync(key_tables.create_all)
            await conn.run_sync(client_tables.create_all)
        yield made


@pytest.fixture
async def core(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TrainingCore]:
    """On the embedded store; on PostgreSQL (a schema of its own) for a test marked so."""
    if request.node.get_closest_marker("postgres") is not None:
        url = request.getfixturevalue("database_url")
        settings = backend_settings(TrainingSettings, "postgres", tmp_path, url, "trn")
    else:
        settings = backend_settings(TrainingSettings, "sqlite", tmp_path, None, "trn")
    async with core_on(settings) as made:
        yield made


async def _on_roster(core: TrainingCore, data: GridWorkerAppointed | GridWorkerLeft) -> None:
    """Apply a registry event about a worker to the training roster, as its consumer would."""
    envelope = Envelope(
        id=uuid.uuid4(), source="/wangge/registry", type=data.event_type,
        subject=f"worker-{data.worker_id}", time=datetime.now(UTC),
        dataschema=f"urn:wangge:schema:{data.event_type}:1", sequence=1,
    )  # fmt: skip
    roster = core.projection(Roster.name)
    async with core.store.engine.begin() as conn:
        ctx = ApplyContext(conn=conn, tables=await active_tables(conn, roster))
        await roster.apply_many(ctx, [RecordedEvent(envelope=envelope, data=data)], set())


@pytest.fixture
def appoint(core: TrainingCore) -> Callable[[], Awaitable[uuid.UUID]]:
    """Puts a newly appointed worker on the training roster, as the registry's event would."""

    async def appointed() -> uuid.UUID:
        worker_id = uuid.uuid4()
        await _on_roster(core, GridWorkerAppointed(
            worker_id=worker_id, account=f"worker-{worker_id.hex[:6]}", name="网格员",
            grid_ids=[uuid.uuid4()], on=date(2026, 1, 1),
        ))  # fmt: skip
        return worker_id

    return appointed


@pytest.fixture
def leave(core: TrainingCore) -> Callable[[uuid.UUID, date], Awaitable[None]]:
    """A worker on the roster leaves their post on a day, as the registry's event would say."""

    async def left(worker_id: uuid.UUID, on: date) -> None:
        await _on_roster(core, GridWorkerLeft(worker_id=worker_id, on=on))

    return left
