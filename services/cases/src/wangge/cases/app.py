"""The cases service's app: the service kit's factory with the case, care and inbox routes, the
read models, and the reactions to the registry's and the hotline bridge's events."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from wangge.cases.api import care, cases, inbox, suggestions
from wangge.cases.config import CasesSettings
from wangge.cases.personal_data import keyrings
from wangge.cases.projections.care import CarePlans
from wangge.cases.projections.cases import Cases
from wangge.cases.projections.residents import Residents
from wangge.cases.projections.roster import Roster
from wangge.cases.reactions import FromHotline, FromRegistry
from wangge.events import default_catalogue
from wangge.service import create_app

MIGRATIONS = Path(__file__).parent / "migrations"
ROUTERS = (cases.router, care.router, inbox.router, suggestions.router)
"""The service's API, in the order of its OpenAPI document and access matrix."""


def build_app(settings: CasesSettings | None = None) -> FastAPI:
    """The cases service's FastAPI app (resources are made by its lifespan, not here)."""
    settings = settings or CasesSettings()
    app = create_app(
        settings,
        title="Wangge cases",
        description="Cases of the grid, their mediation, and care plans (提人知事, 提事知情).",
        catalogue=default_catalogue,
        routers=ROUTERS,
        projections=[Cases, CarePlans, Roster, Residents, FromHotline, FromRegistry],
        migrations=MIGRATIONS,
    )
    app.state.keyrings = keyrings(settings.kek())
    return app
