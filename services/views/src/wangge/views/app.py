"""The views service's app: the service kit's factory with the views' routes and projections."""

from __future__ import annotations

import functools
from pathlib import Path

from fastapi import APIRouter, FastAPI

from wangge.events import default_catalogue
from wangge.service import create_app
from wangge.views.api import dashboard, feeds, matters, residents
from wangge.views.bootstrap import bootstrap
from wangge.views.config import ViewsSettings
from wangge.views.handlers import clock

MIGRATIONS = Path(__file__).parent / "migrations"
ROUTERS: tuple[APIRouter, ...] = (dashboard.router, feeds.router, matters.router, residents.router)


def build_app(settings: ViewsSettings | None = None) -> FastAPI:
    """The views service's FastAPI app (resources are made by its lifespan, not here)."""
    settings = settings or ViewsSettings()
    return create_app(
        settings,
        title="Wangge views",
        description="One picture across departments (一网统管), read from every service's "
        "events: resident and household 360, grid dashboards, department feeds, the lineage "
        "of a matter. Read only; it never calls another service.",
        catalogue=default_catalogue,
        routers=ROUTERS,
        bootstrap=functools.partial(bootstrap, settings),
        migrations=MIGRATIONS,
        workers={"clock": clock.keep_time},
    )
