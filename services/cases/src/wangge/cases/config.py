"""The cases service's settings (``WANGGE_*`` variables; see ``wangge.service.settings``)."""

from __future__ import annotations

from wangge.service.settings import SealingSettings


class CasesSettings(SealingSettings):
    """Settings of the cases service."""

    service: str = "cases"
