"""The registry's app: the service kit's factory with the registry's routes and read models."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from wangge.events import default_catalogue
from wangge.registry.api import places
from wangge.registry.config import RegistrySettings
from wangge.registry.projections.places import PlaceTree
from wangge.service import create_app

MIGRATIONS = Path(__file__).parent / "migrations"
ROUTERS = (places.router,)
PROJECTIONS = (PlaceTree,)


def build_app(settings: RegistrySettings | None = None) -> FastAPI:
    """The registry's FastAPI app (resources are made by its lifespan, not here)."""
    return create_app(
        settings or RegistrySettings(),
        title="Wangge registry",
        description="The base register of people, places, things and organisations (提户知人).",
        catalogue=default_catalogue,
        routers=ROUTERS,
        projections=PROJECTIONS,
        migrations=MIGRATIONS,
    )
