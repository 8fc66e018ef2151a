"""A service's core without its web app: for its CLI commands (import, seed) and handler tests.

The same ``bootstrap`` the app's lifespan calls builds it, on the configured database (or a
test's embedded one), so a command run here updates the same read models, with the same
reactions, as one sent over HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from wangge.events import Catalogue, default_catalogue
from wangge.events.core import ServiceCore
from wangge.events.db import create_engine
from wangge.events.runner_state import GenerationMemo
from wangge.events.store import EventStore, open_store
from wangge.service.settings import ServiceSettings

C = TypeVar("C", bound=ServiceCore)


@asynccontextmanager
async def standalone(
    settings: ServiceSettings,
    bootstrap: Callable[[EventStore], C],
    *,
    catalogue: Catalogue = default_catalogue,
    create_schema: bool = False,
) -> AsyncIterator[C]:
    """The service's core on its database, its read models set up; ``create_schema`` makes the
    event tables first (a test's fresh database; a deployment migrates instead)."""
    generations = GenerationMemo()
    engine = create_engine(
        settings.resolved_database_url, generations=generations, **settings.engine_options()
    )
    try:
        store = open_store(engine, service=settings.service, catalogue=catalogue)
        if create_schema:
            await store.create_schema()
        core = bootstrap(store)
        await core.setup(generations)
        yield core
    finally:
        await engine.dispose()
