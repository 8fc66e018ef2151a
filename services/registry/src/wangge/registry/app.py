"""The registry's app: the service kit's factory with the registry's routes and read models."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from wangge.events import default_catalogue
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
from wangge.registry.config import RegistrySettings
from wangge.registry.personal_data import KeyRing
from wangge.registry.projections.activity import Activity
from wangge.registry.projections.organisations import OrganisationsAndThings
from wangge.registry.projections.people import People
from wangge.registry.projections.places import PlaceTree
from wangge.service import create_app

MIGRATIONS = Path(__file__).parent / "migrations"
ROUTERS = (
    places.router,
    persons.router,
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
    keyring = KeyRing(settings.kek())
    app = create_app(
        settings,
        title="Wangge registry",
        description="The base register of people, places, things and organisations (提户知人).",
        catalogue=default_catalogue,
        routers=ROUTERS,
        projections=(PlaceTree, lambda: People(keyring), Activity, OrganisationsAndThings),
        migrations=MIGRATIONS,
    )
    app.state.keyring = keyring
    return app
