"""The training service's app: the service kit's factory with the routes, the read models, the
xAPI statements, the roster that follows the registry's events, and (in development) the seeding
of a year of training."""

from __future__ import annotations

import functools

from fastapi import FastAPI

from wangge.events import default_catalogue
from wangge.service import create_app
from wangge.training import MIGRATIONS as MIGRATIONS  # where the tests and tools look for it
from wangge.training.api import (
    forums,
    handbooks,
    personal,
    programmes,
    records,
    secondments,
    sessions,
    xapi,
    xapi_clients,
)
from wangge.training.bootstrap import bootstrap
from wangge.training.config import TrainingSettings
from wangge.training.seeding import seed_year

ROUTERS = (
    sessions.router,
    programmes.router,
    records.router,
    secondments.router,
    handbooks.router,
    forums.router,
    personal.router,
    xapi.router,
    xapi_clients.router,
)


def build_app(settings: TrainingSettings | None = None) -> FastAPI:
    """The training service's FastAPI app (resources are made by its lifespan, not here)."""
    settings = settings or TrainingSettings()
    app = create_app(
        settings,
        title="Wangge training",
        description="Grid workers' training records (提情知策): sessions, programmes, "
        "secondments, handbooks, forums, each worker's record and coverage, xAPI statements.",
        catalogue=default_catalogue,
        routers=ROUTERS,
        bootstrap=functools.partial(bootstrap, settings),
        migrations=MIGRATIONS,
        workers={"seeding": seed_year},
    )
    app.include_router(xapi.about_router)  # open to all: outside the access matrix's routers
    xapi.install(app)
    return app
