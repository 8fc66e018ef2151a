"""The cases service's core on the embedded store, without its web app: handlers called as a
route calls them, after its access checks; the hotline bridge's and the registry's events
appended to stores of their own on the same database, for the reactions to catch up with."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from wangge.cases.bootstrap import CasesCore, bootstrap
from wangge.cases.config import CasesSettings
from wangge.cases.personal_data import metadata as key_tables
from wangge.cases.personal_data import party_keys
from wangge.events import Metadata
from wangge.events.command import CommandRunner
from wangge.service.standalone import standalone
from wangge.service.testing import backend_settings


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[CasesCore]:
    settings = backend_settings(CasesSettings, "sqlite", tmp_path, None, "cas")
    async with standalone(
        settings, functools.partial(bootstrap, settings), create_schema=True
    ) as made:
        # the key tables are migrations' (0001, 0003); a test's fresh database makes them here
        async with made.store.engine.begin() as conn:
            await conn.run_sync(key_tables.create_all)
            await conn.run_sync(party_keys.create)
        yield made


@pytest.fixture
def commands(core: CasesCore) -> Callable[..., CommandRunner]:
    """Makes a command as ``actor`` sends it (``key``: its idempotency key; ``expected``: the
    version they saw)."""

    def runner(
        actor: str = "worker-1", *, key: str | None = None, expected: int | None = None
    ) -> CommandRunner:
        return core.commands(Metadata(actor=actor), idempotency_key=key, expected_version=expected)

    return runner
