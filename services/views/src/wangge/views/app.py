"""The views service's app: the service kit's factory with the views' routes and projections."""

from __future__ import annotations

import functools

from fastapi import APIRouter, FastAPI

from wangge.events import default_catalogue
from wangge.service import create_app
from wangge.service.app import Worker
from wangge.views import MIGRATIONS as MIGRATIONS  # where the tests and tools look for it
from wangge.views import web
from wangge.views.api import (
    areas,
    dashboard,
    exports,
    feeds,
    grids,
    matters,
    residents,
    triage,
    warming,
)
from wangge.views.bootstrap import bootstrap
from wangge.views.config import ViewsSettings
from wangge.views.handlers import clock

ROUTERS: tuple[APIRouter, ...] = (
    dashboard.router,
    areas.router,
    feeds.router,
    matters.router,
    triage.router,
    residents.router,
    grids.router,
    exports.router,
)


def build_app(settings: ViewsSettings | None = None) -> FastAPI:
    """The views service's FastAPI app (resources are made by its lifespan, not here)."""
    settings = settings or ViewsSettings()
    app = create_app(
        settings,
        title="Wangge views",
        description="One picture across departments (一网统管), read from every service's "
        "events: resident and household 360, grid dashboards, department feeds, the lineage "
        "of a matter. Read only; it never calls another service.",
        catalogue=default_catalogue,
        routers=ROUTERS,
        bootstrap=functools.partial(bootstrap, settings),
        migrations=MIGRATIONS,
        workers=_workers(settings),
    )
    web.mount(app)
    return app


def _workers(settings: ViewsSettings) -> dict[str, Worker]:
    """The service's own loops: the day clock, and the dashboards' warming unless turned off."""
    workers: dict[str, Worker] = {"clock": clock.keep_time}
    if settings.dashboards_warm_seconds > 0:
        workers["dashboards"] = functools.partial(
            warming.keep_warm, interval=settings.dashboards_warm_seconds
        )
    return workers
