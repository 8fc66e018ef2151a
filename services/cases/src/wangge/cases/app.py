"""The cases service's app: the service kit's factory with the case, care and inbox routes, the
read models, and the reactions to the registry's and the hotline bridge's events."""

from __future__ import annotations

import functools

from fastapi import FastAPI

from wangge.cases import MIGRATIONS as MIGRATIONS  # where the tests and tools look for it
from wangge.cases.api import care, cases, inbox, queues, suggestions
from wangge.cases.bootstrap import bootstrap
from wangge.cases.config import CasesSettings
from wangge.cases.jobs import sweep
from wangge.events import default_catalogue
from wangge.service import create_app

ROUTERS = (cases.router, care.router, inbox.router, queues.router, suggestions.router)
"""The service's API, in the order of its OpenAPI document and access matrix."""


def build_app(settings: CasesSettings | None = None) -> FastAPI:
    """The cases service's FastAPI app (resources are made by its lifespan, not here)."""
    settings = settings or CasesSettings()
    return create_app(
        settings,
        title="Wangge cases",
        description="Cases of the grid, their mediation, and care plans (提人知事, 提事知情).",
        catalogue=default_catalogue,
        routers=ROUTERS,
        bootstrap=functools.partial(bootstrap, settings),
        migrations=MIGRATIONS,
        workers={"sweeper": sweep},
    )
