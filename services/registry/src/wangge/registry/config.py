"""The registry's settings (``WANGGE_*`` variables; see ``wangge.service.settings``)."""

from __future__ import annotations

from pydantic import Field

from wangge.service.settings import SealingSettings


class RegistrySettings(SealingSettings):
    """Settings of the registry service."""

    service: str = "registry"
    disclosures_per_minute: int = Field(
        default=30, ge=1, description="unmasked reads of personal data one caller may make"
    )
