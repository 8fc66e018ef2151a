"""The training service's settings (``WANGGE_*`` variables; see ``wangge.service.settings``)."""

from __future__ import annotations

from wangge.service.settings import ServiceSettings


class TrainingSettings(ServiceSettings):
    """Settings of the training service."""

    service: str = "training"
