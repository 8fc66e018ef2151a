"""Wangge's service kit: what every service's API shares.

The app factory with a lifespan that owns the engine, the event store and (with Kafka) the outbox
relay; settings from the environment; RFC 9457 problem details for every error; ``/healthz`` and
``/readyz``; ``Idempotency-Key`` handling for command endpoints.
"""

from typing import TYPE_CHECKING, Any

from wangge.service.errors import DomainError, NotFound
from wangge.service.settings import ServiceSettings

if TYPE_CHECKING:
    from wangge.service.app import ServiceState, create_app

__all__ = ["DomainError", "NotFound", "ServiceSettings", "ServiceState", "create_app"]


def __getattr__(name: str) -> Any:
    # the app factory pulls in FastAPI; a domain package that only raises DomainError must not
    if name in ("ServiceState", "create_app"):
        from wangge.service import app

        return getattr(app, name)
    raise AttributeError(name)
