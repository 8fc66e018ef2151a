"""The training service's composition root below HTTP: the app's lifespan, the CLI and the
handler tests all build the service here, so they run the same read models."""

from __future__ import annotations

from dataclasses import dataclass, field

from wangge.events.core import ServiceCore
from wangge.events.sealing import KeyRing
from wangge.events.store import EventStore
from wangge.training.config import TrainingSettings
from wangge.training.personal_data import ActorPseudonyms, keyring
from wangge.training.projections.development import Development
from wangge.training.projections.roster import Roster
from wangge.training.projections.sessions import Sessions
from wangge.training.projections.statements import Statements
from wangge.training.xapi_clients import ClientVerifier


@dataclass
class TrainingCore(ServiceCore):
    """The training service's store and read models, the key ring its handlers seal with, the
    keyed hashes of xAPI actors, and the check of xAPI clients' credentials."""

    settings: TrainingSettings = field(kw_only=True)
    keyring: KeyRing = field(kw_only=True)
    pseudonyms: ActorPseudonyms = field(kw_only=True)
    xapi_clients: ClientVerifier = field(kw_only=True, default_factory=ClientVerifier)


def bootstrap(settings: TrainingSettings, store: EventStore) -> TrainingCore:
    """The training service on ``store``."""
    return TrainingCore(
        store,
        [Sessions(), Development(), Statements(), Roster()],
        settings=settings,
        keyring=keyring(settings.kek()),
        pseudonyms=ActorPseudonyms(settings.kek()),
    )
