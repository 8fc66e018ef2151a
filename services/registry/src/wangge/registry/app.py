"""The registry's app: the service kit's factory with the registry's routes and read models."""

from __future__ import annotations

import functools

from fastapi import FastAPI

from wangge.events import default_catalogue
from wangge.registry import MIGRATIONS as MIGRATIONS  # where the tests and tools look for it
from wangge.registry.api import (
    households,
    organisations,
    persons,
    places,
    reports,
    things,
    visits,
    workers,
)
from wangge.registry.bootstrap import bootstrap
from wangge.registry.config import RegistrySettings
from wangge.service import create_app

ROUTERS = (
    places.router,
    persons.router,
    persons.residents,
    households.router,
    workers.router,
    visits.router,
    reports.router,
    organisations.router,
    things.router,
)


def build_app(settings: RegistrySettings | None = None) -> FastAPI:
    """The registry's FastAPI app (resources are made by its lifespan, not here)."""
    settings = settings or RegistrySettings()
    return create_app(
        settings,
        title="Wangge registry",
        description="The base register of people, places, things and organisations (提户知人).",
        catalogue=default_catalogue,
        routers=ROUTERS,
        bootstrap=functools.partial(bootstrap, settings),
        migrations=MIGRATIONS,
    )
