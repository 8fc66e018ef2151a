"""The registry's settings (``WANGGE_*`` variables; see ``wangge.service.settings``)."""

from __future__ import annotations

from wangge.service import ServiceSettings


class RegistrySettings(ServiceSettings):
    """Settings of the registry service."""

    service: str = "registry"
