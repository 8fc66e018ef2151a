"""Wangge's service kit: what every service's API shares.

The app factory with a lifespan that owns the engine, the event store and (with Kafka) the outbox
relay; settings from the environment; RFC 9457 problem details for every error; ``/healthz`` and
``/readyz``; ``Idempotency-Key`` handling for command endpoints.
"""

from typing import TYPE_CHECKING, Any

from wangge.governance.errors import DomainError, NotFound

if TYPE_CHECKING:
    from wangge.service.app import ServiceState, create_app
    from wangge.service.settings import ServiceSettings

__all__ = ["DomainError", "NotFound", "ServiceSettings", "ServiceState", "create_app"]


def __getattr__(name: str) -> Any:
    # Python runs this file before any module of the package, so a domain that imports only the
    # errors (itself, or through the governance kernel's personal data checks) would otherwise
    # load what these pull in: the app factory FastAPI and SQLAlchemy, the settings
    # pydantic-settings and the dev issuer's JWT
    if name in ("ServiceState", "create_app"):
        from wangge.service import app

        return getattr(app, name)
    if name == "ServiceSettings":
        from wangge.service import settings

        return settings.ServiceSettings
    raise AttributeError(name)
