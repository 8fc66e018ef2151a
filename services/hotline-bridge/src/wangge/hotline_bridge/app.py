"""The hotline bridge's app: the service kit's factory with the ticket routes and read models."""

from __future__ import annotations

import functools

from fastapi import FastAPI

from wangge.events import default_catalogue
from wangge.hotline_bridge import MIGRATIONS as MIGRATIONS  # where the tests and tools look for it
from wangge.hotline_bridge import monitoring
from wangge.hotline_bridge.adapters import ADAPTERS
from wangge.hotline_bridge.api import erasure, handling, open311, rates, tickets
from wangge.hotline_bridge.bootstrap import bootstrap
from wangge.hotline_bridge.config import HotlineSettings
from wangge.hotline_bridge.jobs import deliver_replies, sweep
from wangge.service import create_app

ROUTERS = (tickets.router, handling.router, erasure.router, rates.router)
"""The API's routers (Open311 is installed beside them, with its own error format)."""
MATRIX_ROUTERS = (*ROUTERS, open311.router)
"""Every router of the API, as its access matrix lists them."""


def build_app(settings: HotlineSettings | None = None) -> FastAPI:
    """The hotline bridge's FastAPI app (resources are made by its lifespan, not here)."""
    settings = settings or HotlineSettings()
    if settings.hotline_format not in ADAPTERS:
        raise ValueError(
            f"WANGGE_HOTLINE_FORMAT={settings.hotline_format!r} is none of {sorted(ADAPTERS)}"
        )
    app = create_app(
        settings,
        title="Wangge hotline bridge",
        description="12345 hotline tickets in, routed to grids, replies back (提事知情).",
        catalogue=default_catalogue,
        routers=ROUTERS,
        bootstrap=functools.partial(bootstrap, settings),
        migrations=MIGRATIONS,
        workers={"reply delivery": deliver_replies, "sweeper": sweep},
        gauges=[monitoring.gauges],
    )
    open311.install(app)
    return app
