"""The training service's app: the service kit's factory with the session, programme and record
routes, the read models, and the roster that follows the registry's events."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from wangge.events import default_catalogue
from wangge.service import create_app
from wangge.training.api import programmes, records, sessions
from wangge.training.config import TrainingSettings
from wangge.training.projections.roster import Roster
from wangge.training.projections.sessions import Sessions

MIGRATIONS = Path(__file__).parent / "migrations"


def build_app(settings: TrainingSettings | None = None) -> FastAPI:
    """The training service's FastAPI app (resources are made by its lifespan, not here)."""
    settings = settings or TrainingSettings()
    return create_app(
        settings,
        title="Wangge training",
        description="Grid workers' training records (提情知策): sessions, programmes, records.",
        catalogue=default_catalogue,
        routers=(sessions.router, programmes.router, records.router),
        projections=[Sessions, Roster],
        migrations=MIGRATIONS,
    )
