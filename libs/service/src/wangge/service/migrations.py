"""Alembic migrations per service, run as their own step (``wangge <service> migrate``).

A service keeps its migration scripts in its own folder; its ``env.py`` is two lines::

    from wangge.service.migrations import run_env
    run_env(target_metadata=None)

Migrations never run on import or at app start-up in production; ``/readyz`` reports whether the
database is at the head revision.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events.db import create_engine
from wangge.events.projection import ProjectionRunner
from wangge.events.store.tables import build_tables
from wangge.service.settings import ServiceSettings


def alembic_config(settings: ServiceSettings, script_location: Path) -> Config:
    """An Alembic configuration for one service, without an ini file."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["settings"] = settings
    return config


def upgrade(settings: ServiceSettings, script_location: Path, revision: str = "head") -> None:
    """Bring the service's database to ``revision`` (the migration step of a deployment)."""
    command.upgrade(alembic_config(settings, script_location), revision)


def run_env() -> None:
    """The body of every service's ``env.py``: migrate online, on the async engine."""
    settings: ServiceSettings = context.config.attributes["settings"]
    engine = create_engine(settings.resolved_database_url, **settings.engine_options())

    def migrate(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        async with engine.begin() as conn:
            await conn.run_sync(migrate)
        await engine.dispose()

    asyncio.run(run())


def create_event_store(connection: Connection) -> None:
    """The event store's and the projection runner's tables, for a service's first migration."""
    build_tables(connection.dialect.name).metadata.create_all(connection)
    ProjectionRunner.state_metadata().create_all(connection)


def create_runner_state(connection: Connection) -> None:
    """The projection runner's tables that a newer release added (parked events), for a
    service's later migration: only the missing ones are made."""
    ProjectionRunner.state_metadata().create_all(connection)


async def revision_gap(engine: AsyncEngine, script_location: Path) -> tuple[str | None, str]:
    """The database's revision and the scripts' head (equal when migrations are done)."""
    head = ScriptDirectory(str(script_location)).get_current_head() or ""

    def current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as conn:
        revision = await conn.run_sync(current)
    return revision, head


def newer_than_scripts(script_location: Path, revision: str) -> bool:
    """Whether the database is at a revision these scripts do not know: a newer release's
    migration step ran (its rollout migrates first, then replaces the pods that run these)."""
    try:
        return ScriptDirectory(str(script_location)).get_revision(revision) is None
    except CommandError:  # alembic's own words for a revision it cannot find
        return True


__all__ = [
    "alembic_config",
    "create_event_store",
    "create_runner_state",
    "newer_than_scripts",
    "revision_gap",
    "run_env",
    "upgrade",
]
