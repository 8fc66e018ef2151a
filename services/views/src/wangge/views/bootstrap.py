"""The views service's composition root below HTTP: the app's lifespan, the CLI and the tests
build the service here, so they run the same views."""

from __future__ import annotations

from dataclasses import dataclass, field

from wangge.events.core import ServiceCore
from wangge.events.store import EventStore
from wangge.views.config import ViewsSettings
from wangge.views.domain import catalogue
from wangge.views.projections.dashboard import Dashboard
from wangge.views.projections.feeds import Feeds
from wangge.views.projections.matters import Matters
from wangge.views.projections.residents import Residents
from wangge.views.projections.roster import Roster


@dataclass
class ViewsCore(ServiceCore):
    """The views service's store (the audit of feed reads) and its views."""

    settings: ViewsSettings = field(kw_only=True)


def bootstrap(settings: ViewsSettings, store: EventStore) -> ViewsCore:
    """The views service on ``store``."""
    feeds = Feeds(catalogue.load(settings.feeds_catalogue))
    return ViewsCore(
        store, [Roster(), Dashboard(), feeds, Residents(), Matters()], settings=settings
    )
